"""One error family for everything deeploop refuses or cannot do.

Every error carries structured fields and renders as one line a person
understands. The CLI maps ``exit_code`` to the process exit status: 2 for bad
usage or bad input (the default), 1 for a run that failed.
"""
from __future__ import annotations


class DeeploopError(Exception):
    """Base of the family. ``str(err)`` is the one-line message."""

    exit_code = 2

    def __init__(self, message: str, **fields):
        super().__init__(message)
        self.message = message
        self.fields = fields
        for key, value in fields.items():
            setattr(self, key, value)

    def __str__(self) -> str:
        return self.message.splitlines()[0] if self.message else type(self).__name__


class InputError(DeeploopError):
    """Bad input from a person: a missing file, an invalid id, a bad value."""


class NotFound(InputError):
    """A named thing (node, run, notebook, tag) does not exist."""


class RunLocked(InputError):
    """Another process is already working on this run."""


class ModelError(DeeploopError):
    """A model could not answer (bad spec, missing program, API failure)."""

    exit_code = 1


class BudgetRefused(ModelError):
    """A model call was not made: at its worst it would cross the dollar cap."""


class KeyRejected(ModelError):
    """The API rejected the key (401/403): no later call can work, so the run
    ends ``failed`` instead of recording one failed proposal after another."""


class JudgeError(DeeploopError):
    """A node's judge raised, exited non-zero or returned nonsense."""

    exit_code = 1


class RunFailed(DeeploopError):
    """A run finished with a failing status; the run folder holds the story."""

    exit_code = 1


class MissingDependency(DeeploopError):
    """An optional dependency is not installed; the message says which extra."""

    def __init__(self, module: str, extra: str):
        super().__init__(
            f"{module} is not installed: pip install 'deeploop[{extra}]'",
            module=module, extra=extra)


def require(module: str, extra: str):
    """Import an optional dependency or raise an actionable MissingDependency."""
    import importlib
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependency(module, extra) from exc
