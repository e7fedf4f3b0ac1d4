"""The RQ worker class the deployment runs (`rq worker -w app.jobs.worker.Worker`)."""
from __future__ import annotations

from rq import SimpleWorker as RQSimpleWorker
from rq import Worker as RQWorker


class PromptStop:
    """RQ listens for its commands (`rq suspend`, kill horse) on a pub/sub thread that waits up
    to a minute per read. When the worker stops, the thread can take the reply to its own
    unsubscribe before it is told to stop, and then sleeps out the rest of that minute while
    the worker joins it: a burst run or a Ctrl-C could hang for 60 s. Reading in one-second
    slices bounds that wait to one second; an idle worker wakes once a second, nothing more."""

    LISTEN_SLICE = 1.0

    def subscribe(self):
        self.pubsub = self.connection.pubsub()
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        self.pubsub_thread = self.pubsub.run_in_thread(
            sleep_time=self.LISTEN_SLICE, daemon=True,
            exception_handler=self._pubsub_exception_handler)


class SimpleWorker(PromptStop, RQSimpleWorker):
    """RQ's in-process worker with the prompt stop (tests and one-off runs)."""


class Worker(PromptStop, RQWorker):
    """RQ's worker, forking a work horse for each job as usual (a job that crashes or leaks
    takes only its horse with it), except that the app is built, and the PDF renderer imported,
    once in the worker itself before its first job. Each horse inherits them through fork()
    instead of spending seconds building them again for every close, reminder or report."""

    def work(self, *args, **kwargs):
        preload()
        return super().work(*args, **kwargs)

    def main_work_horse(self, job, queue):
        after_fork()
        return super().main_work_horse(job, queue)


def preload() -> None:
    from . import worker_app
    worker_app()
    import weasyprint  # noqa: F401  (seconds to import; shared by every horse after fork)


def after_fork() -> None:
    """No database connection crosses the fork: the horse opens its own (the worker itself
    opens none, but a pool is not something to share by accident)."""
    from ..extensions import db
    from . import worker_app
    with worker_app().app_context():
        for engine in db.engines.values():
            engine.dispose(close=False)
