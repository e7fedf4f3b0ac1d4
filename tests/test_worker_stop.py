"""A worker stops promptly even when its command listener has already taken the reply to its
own unsubscribe (the race that made a burst run or a Ctrl-C hang for a minute)."""
from __future__ import annotations

import threading
import time

import pytest
from rq import Queue

from app.jobs.worker import SimpleWorker, Worker


def listener_done_before_stop(worker_class, conn) -> bool:
    """Subscribe, let the listener read the unsubscribe reply, then stop the worker; True when
    the stop returns within ten seconds. RQ's own listener (rq 3.0, redis-py 8.2) is still
    stopping after those ten seconds in this sequence: it waits out a sixty-second read."""
    worker = worker_class([Queue("stop-race", connection=conn)], connection=conn)
    worker.subscribe()
    deadline = time.monotonic() + 10
    while not worker.pubsub.subscribed and time.monotonic() < deadline:
        time.sleep(0.01)
    assert worker.pubsub.subscribed
    worker.pubsub.unsubscribe()
    while worker.pubsub.subscribed and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not worker.pubsub.subscribed  # the listener took the reply: now it waits to resubscribe
    stopping = threading.Thread(target=worker.unsubscribe, daemon=True)
    stopping.start()
    stopping.join(10)
    return not stopping.is_alive()


@pytest.mark.parametrize("worker_class", [Worker, SimpleWorker])
def test_the_deployed_workers_stop_within_seconds(redis_conn, worker_class):
    assert listener_done_before_stop(worker_class, redis_conn)

