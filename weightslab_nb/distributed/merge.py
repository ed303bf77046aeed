"""One curve point per step of a DDP run: the ranks' batch statistics merged at the hub.

Under DDP a step trains on every rank's batch at once, so a logged per-sample signal gets one
global point per step, over all ranks' samples (the point a single process with a batch of
``batch_size * world`` would record): mean weighted by each rank's sample count, min of the
minima, max of the maxima. Each rank reports ``(name, step, sum, count, min, max)`` for its
batch; the point is emitted once every rank reported that step of that signal, or once every
rank reported a later step of any signal (a signal only some ranks record, e.g. an evaluation
on rank 0), or at :meth:`StepMerger.close` with what arrived (a rank that ended early).
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class StepMerger:
    """Merge the ranks' per-batch statistics into one point per (signal, step).

    Parameters
    ----------
    world : int
        Number of ranks that report.
    emit : callable
        ``emit(name, step, mean, count, vmin, vmax)`` for each merged point, in the thread that
        completed it (a rank's reader on the hub).
    """

    def __init__(self, world: int, emit: Callable[[str, int, float, int, float, float], None]):
        self.world = world
        self._emit = emit
        self._lock = threading.Lock()
        self._open: dict[tuple[str, int], list] = {}  # -> [sum, count, min, max, ranks]
        self._latest = [-1] * world  # the latest step each rank reported

    def add(self, rank: int, name: str, step: int, total: float, count: int, vmin: float,
            vmax: float) -> None:
        """One rank's batch of ``name`` at ``step``: ``total`` is the sum of its ``count``
        values."""
        key = (name, step)
        with self._lock:
            acc = self._open.get(key)
            if acc is None:
                acc = self._open[key] = [0.0, 0, vmin, vmax, set()]
            acc[0] += total
            acc[1] += count
            acc[2] = min(acc[2], vmin)
            acc[3] = max(acc[3], vmax)
            acc[4].add(rank)
            ready = []
            if len(acc[4]) >= self.world:
                ready.append((key, self._open.pop(key)))
            if step > self._latest[rank]:
                before = min(self._latest)
                self._latest[rank] = step
                if min(self._latest) > before:  # every rank is past some more steps
                    ready += self._passed(min(self._latest))
        for key, acc in ready:
            self._point(key, acc)

    def _passed(self, step: int) -> list:
        """Take the open points of steps every rank has gone past (call under the lock)."""
        keys = sorted((k for k in self._open if k[1] < step), key=lambda k: (k[1], k[0]))
        return [(k, self._open.pop(k)) for k in keys]

    def _point(self, key, acc) -> None:
        if acc[1]:
            self._emit(key[0], key[1], acc[0] / acc[1], acc[1], acc[2], acc[3])

    def pending(self) -> int:
        """Points still waiting for a rank."""
        with self._lock:
            return len(self._open)

    def close(self) -> None:
        """Emit every point still waiting, with the ranks that reported it, in step order."""
        with self._lock:
            left, self._open = sorted(self._open.items(), key=lambda kv: (kv[0][1], kv[0][0])), {}
        for key, acc in left:
            self._point(key, acc)
