"""Errors a service raises; each carries a message for the user, in the user's language."""


class TransitionError(Exception):
    """The action was refused and nothing was changed."""

    def __init__(self, message, problems: list | None = None):
        super().__init__(str(message))
        self.message = message
        self.problems = list(problems or [])


class Forbidden(TransitionError):
    pass


class WindowClosed(TransitionError):
    pass


class Conflict(TransitionError):
    """Someone else changed the record first (expected state or version did not match)."""


class Invalid(TransitionError):
    pass


class Recorded(Invalid):
    """A refusal that is itself kept (SR-SUPERV-1): `record()` adds its rows. Whoever catches it
    rolls back what it had begun, then calls `keep()` to write them in a commit of their own."""

    def __init__(self, message, record, problems: list | None = None):
        super().__init__(message, problems)
        self.record = record

    def keep(self) -> None:
        from ..extensions import db
        self.record()
        db.session.commit()
