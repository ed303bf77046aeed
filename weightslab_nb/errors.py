"""Exceptions raised by weightslab_nb.

Every exception the package raises on purpose derives from :class:`WeightslabError` *and* from
the standard exception it refines (``InvalidValueError`` is a ``ValueError``,
``UnknownSampleError`` a ``KeyError``...), so a caller can catch either ours or the builtin.
Every message names the argument that was wrong and what is accepted, so a user can fix the call
without reading our source. When one of these is raised by a function that changes state,
nothing was changed.
"""

from __future__ import annotations


class WeightslabError(Exception):
    """Base class of every error weightslab_nb raises on purpose."""


class InvalidValueError(WeightslabError, ValueError):
    """An argument has the right type but a value that is not accepted (the message names the
    argument and the accepted values)."""


class InvalidTypeError(WeightslabError, TypeError):
    """An argument has a type that is not accepted (the message names the argument and the
    accepted types)."""


class ArgumentError(WeightslabError, ValueError):
    """A command's (or a panel message's) argument is malformed: missing, unexpected, or of a
    type or shape the command does not take. It is refused before anything is looked up in the
    session; nothing was changed. (The console backend answers it with HTTP 400; what the
    session refuses, such as unknown samples or tags, keeps its own error class.)"""


class _KeyMessage(KeyError):
    """A ``KeyError`` whose ``str()`` is its message (the builtin quotes it like a key)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class UnknownNameError(WeightslabError, _KeyMessage):
    """A name (loader, tag, signal, hyperparameter, column...) that is not known; the message
    lists the known ones."""


class UnknownSampleError(WeightslabError, _KeyMessage):
    """Raised when sample ids are not in the sample table; nothing was changed.

    Attributes
    ----------
    missing : list
        Up to the first 10 unknown ids, in the order they were given.
    argument : str
        The argument that held them.
    total : int
        How many ids were unknown.
    """

    def __init__(self, missing: list, argument: str = "sample_ids", total: int | None = None):
        self.missing = list(missing)[:10]
        self.argument = argument
        self.total = len(missing) if total is None else total
        super().__init__(self.__str__())

    def __str__(self) -> str:
        shown = ", ".join(repr(m) for m in self.missing)
        hidden = self.total - len(self.missing)
        more = f" (and {hidden} more)" if hidden > 0 else ""
        return (f"{self.argument}: {self.total} unknown sample id(s): {shown}{more}. "
                "Ids come from a watched loader (the dataset index or the ids the dataset "
                "provides); see session.dataframe for the known ids.")


class AmbiguousSampleError(WeightslabError, ValueError):
    """A sample id that several origins (splits) hold, given without ``origin=``.

    Attributes
    ----------
    sample_id : int or str
    origins : list of str
        The origins that hold it.
    argument : str
    """

    def __init__(self, sample_id, origins: list[str], argument: str = "sample_ids"):
        self.sample_id = sample_id
        self.origins = list(origins)
        self.argument = argument
        super().__init__(
            f"{argument}: sample id {sample_id!r} exists in origins {self.origins}; pass "
            f"origin= (one of {self.origins}) to say which one is meant")


class StateError(WeightslabError, RuntimeError):
    """The request is valid but not possible in the current state (a run in progress, an
    evaluation holding training, a finished run, a closed session...)."""


class ReadOnlyError(StateError):
    """A change refused because the session was opened on a finished run to look at it
    (:func:`weightslab_nb.open`); nothing was changed.

    Attributes
    ----------
    operation : str
        What was refused (``"tag_samples"``, ``"start_training"``...).
    root_log_dir : str
        The run directory the session was opened on.
    """

    def __init__(self, message: str, operation: str = "", root_log_dir: str = ""):
        super().__init__(message)
        self.operation = operation
        self.root_log_dir = root_log_dir


class MissingFileError(WeightslabError, FileNotFoundError):
    """A file the call needs does not exist (the message names the argument and the path)."""


class MissingExtraError(WeightslabError, ImportError):
    """An optional dependency a feature needs is not installed (the message names the extra to
    install, e.g. ``pip install 'weightslab-nb[plotly]'``)."""


class CheckpointError(WeightslabError, ValueError):
    """A checkpoint file that cannot be loaded safely or does not match the watched objects."""


class TrainingStopped(WeightslabError):
    """Raised inside the training thread by a watched loader when a stop was requested.

    :func:`weightslab_nb.start_training` treats it as a clean stop; a loop run without it
    sees the exception leave its ``for batch in loader`` statement.
    """


class RankError(WeightslabError, RuntimeError):
    """A rank of a distributed run failed: it raised, died, or stopped answering the other
    ranks' collectives within their timeout.

    Attributes
    ----------
    rank : int or None
        The rank that failed, when known (a rank that only saw a collective fail does not know
        which peer is gone; the hub does).
    """

    def __init__(self, message: str, rank: int | None = None):
        super().__init__(message)
        self.rank = rank
