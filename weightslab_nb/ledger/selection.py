"""The selection shared by the panels (the grid selects, the tag editor applies)."""

from __future__ import annotations

import threading


class Selection:
    """A thread-safe, ordered set of sample ids with a version that grows on every change."""

    def __init__(self):
        self._lock = threading.Lock()
        self._ids: list = []
        self.version = 0

    def set(self, sample_ids) -> None:
        with self._lock:
            self._ids = list(dict.fromkeys(sample_ids))
            self.version += 1

    def clear(self) -> None:
        self.set([])

    def get(self) -> list:
        with self._lock:
            return list(self._ids)

    def __len__(self) -> int:
        with self._lock:
            return len(self._ids)
