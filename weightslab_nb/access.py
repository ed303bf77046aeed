"""What a session may change: everything (a live run), or nothing but edits, or nothing at all
(a finished run opened to look at it, see :mod:`weightslab_nb.offline`).

A :class:`RunAccess` is handed to the :class:`~weightslab_nb.session.Session` when it is made
and never changes afterwards. The session, its run files and its features ask it before they
change anything: :meth:`RunAccess.check_edit` before a user edit (tags, categorical tags,
discards), :meth:`RunAccess.check_recording` before recording values, training, evaluating or
watching objects. A refusal is a :class:`~weightslab_nb.errors.ReadOnlyError` that names the
operation, raised before anything changed. The checks cost one attribute read in a live
session.
"""

from __future__ import annotations

import contextlib
import threading

from weightslab_nb.errors import InvalidValueError, ReadOnlyError

MODES = ("live", "edits", "read-only")


class RunAccess:
    """The changes a session accepts.

    Parameters
    ----------
    mode : {"live", "edits", "read-only"}, default "live"
        ``"live"``: everything (a session that records a run). ``"edits"``: tags, categorical
        tags and discards are made and persisted (journal, ledger snapshot); recording,
        training, evaluating and the history file are refused. ``"read-only"``: nothing is
        changed and no file is written.
    root_log_dir : str, optional
        The run directory, named by the refusals.

    Raises
    ------
    InvalidValueError
        An unknown ``mode``.
    """

    __slots__ = ("_replay", "edits", "mode", "records", "root_log_dir")

    def __init__(self, mode: str = "live", root_log_dir: str | None = None):
        if mode not in MODES:
            raise InvalidValueError(f"mode: expected one of {MODES}, got {mode!r}")
        self.mode = mode
        self.root_log_dir = "" if root_log_dir is None else str(root_log_dir)
        self.edits = mode != "read-only"  # user edits accepted (and their files written)
        self.records = mode == "live"     # recording, training, the history file
        self._replay = threading.local()

    @contextlib.contextmanager
    def replaying(self):
        """Within the block, the calling thread's edits are let through: the run's own
        journal replayed into the table when it is opened (that writes no file)."""
        self._replay.on = True
        try:
            yield
        finally:
            self._replay.on = False

    @property
    def writes_files(self) -> bool:
        """True when the session may write under its run directory at all."""
        return self.edits

    def check_edit(self, operation: str, hint: str = "") -> None:
        """Raise :class:`~weightslab_nb.errors.ReadOnlyError` when user edits (and any file
        under the run directory) are refused.

        ``operation`` names what was asked (``"tag_samples"``); ``hint`` ends the advice."""
        if not self.edits and not getattr(self._replay, "on", False):
            raise ReadOnlyError(
                f"{operation}: the run {self.root_log_dir} was opened read-only with "
                f"wl.open(...); pass writable=True to edit{hint} (nothing was changed)",
                operation, self.root_log_dir)

    def check_recording(self, operation: str, hint: str = "") -> None:
        """Raise :class:`~weightslab_nb.errors.ReadOnlyError` when recording values, training
        and evaluating are refused; ``hint`` ends the message."""
        if not self.records:
            raise ReadOnlyError(
                f"{operation}: the run {self.root_log_dir} was opened with wl.open(...) to look "
                "at it: recording, training and evaluating are refused (it has no model). To "
                "continue the run, create Session(root_log_dir=...) in a fresh process and "
                f"watch its model and data again{hint} (nothing was changed)",
                operation, self.root_log_dir)

    def __repr__(self) -> str:
        return f"<RunAccess {self.mode} {self.root_log_dir!r}>"


#: The access of every session that records a run.
LIVE = RunAccess()
