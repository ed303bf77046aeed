"""Rank 0's control source when the hub is another process (the notebook kernel that launched
the ranks): the hub pushes its run state and changes over the channel, rank 0 relays them.

While rank 0 evaluates for the hub (:mod:`weightslab_nb.distributed.remote_eval`), the source
reports a pause whatever the hub pushes (a resume or a stop waits for the pass to end), so every
rank stays held at the boundary where the pass started."""

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
        self._holds = 0      # evaluations that keep every rank held now
        self._polls = 0      # polls so far
        self._held = False   # every rank is held at a boundary (the relay said so)
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
            self._polls += 1
            return self._now(), (changes or None)

    def _now(self) -> int:
        return PAUSE if self._holds else self._state

    def wait(self, timeout: float) -> None:
        """Return after ``timeout`` seconds, or at once when the hub pushes something (or an
        evaluation that held the ranks ended)."""
        with self._cond:
            self._cond.wait_for(lambda: self._now() != PAUSE or self._changes, timeout)

    def hold(self) -> int:
        """Keep every rank held from the next poll on, until :meth:`release`; returns the
        number of polls so far (for :meth:`wait_held`)."""
        with self._cond:
            self._holds += 1
            return self._polls

    def release(self) -> None:
        """End one :meth:`hold`: the hub's pushed state applies again."""
        with self._cond:
            self._holds -= 1
            self._cond.notify_all()

    def wait_held(self, since: int, timeout: float) -> bool:
        """Wait until every rank is held by a poll made after ``since`` polls (so they stay
        held while a :meth:`hold` lasts); False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self._polls > since and self._held, timeout)

    def held(self, paused: bool) -> None:
        """Tell the hub every rank is held (or goes on)."""
        with self._cond:
            self._held = paused
            self._cond.notify_all()
        if self.report is not None:
            self.report(("held", paused))
