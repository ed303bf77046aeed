"""Rank 0's control source when the hub is another process (the notebook kernel that launched
the ranks): the hub pushes its run state and changes over the channel, rank 0 relays them."""

from __future__ import annotations

import threading
from collections.abc import Callable

from weightslab_nb.distributed.relay import PAUSE, RUN


class MirroredSource:
    """A :class:`~weightslab_nb.distributed.relay.ControlSource` fed by the hub's pushes.

    Parameters
    ----------
    report : callable, optional
        ``report(message)`` sends a message to the hub (``("held", bool)`` when every rank is
        held at a boundary or goes on again).
    """

    def __init__(self, report: Callable[[object], None] | None = None):
        self._cond = threading.Condition()
        self._state = RUN
        self._changes: list = []
        self.report = report  # set once the channel to the hub exists

    def push(self, message) -> None:
        """A hub push ``(state, changes)`` (the channel's reader thread); changes queue up in
        order until the next poll."""
        state, changes = message
        with self._cond:
            self._state = int(state)
            if changes is not None:
                self._changes.extend(changes if isinstance(changes, list) else [changes])
            self._cond.notify_all()

    def poll(self) -> tuple[int, object | None]:
        """``(state, changes)``: the last pushed state and every change set pushed since the
        last poll, as a list (None when there was none)."""
        with self._cond:
            changes, self._changes = self._changes, []
            return self._state, (changes or None)

    def wait(self, timeout: float) -> None:
        """Return after ``timeout`` seconds, or at once when the hub pushes something."""
        with self._cond:
            self._cond.wait_for(lambda: self._state != PAUSE or self._changes, timeout)

    def held(self, paused: bool) -> None:
        """Tell the hub every rank is held (or goes on)."""
        if self.report is not None:
            self.report(("held", paused))
