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
