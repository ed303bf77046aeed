"""UI state shared by the panels of one session: the selection (the grid selects, the tag editor
applies) and the step highlight (a curve click sets it, the grid shows its batch)."""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass

from weightslab_nb.errors import InvalidValueError


class Selection:
    """A thread-safe, ordered set of sample ids with a version that grows on every change."""

    def __init__(self):
        self._lock = threading.Lock()
        self._ids: list = []
        self.version = 0

    def set(self, sample_ids) -> None:
        """Replace the selection with ``sample_ids`` (duplicates dropped, order kept)."""
        with self._lock:
            self._ids = list(dict.fromkeys(sample_ids))
            self.version += 1

    def clear(self) -> None:
        """Empty the selection."""
        self.set([])

    def get(self) -> list:
        """A copy of the selected ids, in selection order."""
        with self._lock:
            return list(self._ids)

    def __len__(self) -> int:
        with self._lock:
            return len(self._ids)


#: Most ids one highlight may hold (a step's batch is far smaller in practice).
MAX_HIGHLIGHT = 1_000_000


@dataclass(frozen=True)
class Highlight:
    """One highlighted step: ``sample_ids`` recorded ``signal`` at training step ``step``."""

    version: int
    signal: str
    step: int
    sample_ids: tuple
    members: frozenset

    @property
    def count(self) -> int:
        return len(self.sample_ids)

    def info(self) -> dict:
        """What the views get (no ids: the grid asks for its pages)."""
        return {"version": self.version, "signal": self.signal, "step": self.step,
                "count": self.count}

    def __contains__(self, sample_id) -> bool:
        return sample_id in self.members


class HighlightBus:
    """The current highlight of one session; thread-safe.

    ``version`` grows on every change (set or clear); panels poll it and registered publishers
    are woken at once (:meth:`add_listener`).
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._version = 0
        self._current: Highlight | None = None
        self._listeners: weakref.WeakSet = weakref.WeakSet()

    @property
    def version(self) -> int:
        return self._version

    def get(self) -> Highlight | None:
        """The current highlight, or None."""
        with self._lock:
            return self._current

    def info(self) -> dict:
        """``Highlight.info()`` of the current highlight, or ``{"version"}`` alone when none."""
        with self._lock:
            if self._current is None:
                return {"version": self._version}
            return self._current.info()

    def set(self, signal: str, step: int, sample_ids) -> Highlight:
        ids = tuple(dict.fromkeys(sample_ids))
        if len(ids) > MAX_HIGHLIGHT:
            raise InvalidValueError(f"sample_ids: at most {MAX_HIGHLIGHT} ids can be highlighted")
        with self._lock:
            self._version += 1
            self._current = Highlight(self._version, signal, int(step), ids, frozenset(ids))
            current = self._current
        self._notify()
        return current

    def clear(self) -> bool:
        """Remove the highlight; False when there was none (nothing changes then)."""
        with self._lock:
            if self._current is None:
                return False
            self._version += 1
            self._current = None
        self._notify()
        return True

    def add_listener(self, publisher) -> None:
        """Wake ``publisher`` (anything with ``wake()``) on every change; held weakly."""
        self._listeners.add(publisher)

    def remove_listener(self, publisher) -> None:
        self._listeners.discard(publisher)

    def _notify(self) -> None:
        for p in list(self._listeners):
            try:
                p.wake()
            except Exception:  # a closed panel: never let one listener break the others
                pass
