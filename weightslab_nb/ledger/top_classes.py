"""The latest top-k classes of each sample, with their probabilities (one store per loss).

Written by the recorder's thread when a classification batch is applied (see
:mod:`weightslab_nb.ledger.evidence`), read by the sample detail view. Two small arrays per
loss, grown by doubling like the sample table: ``classes`` (int32, -1 = none) and ``probs``
(float32, NaN = none), ``[rows, TOP_K]``. Latest values only: no history, not persisted.

Not thread-safe by itself: the recorder writes and the session reads under the session lock.
"""

from __future__ import annotations

import numpy as np

from weightslab_nb.ledger.evidence import TOP_K


class TopClasses:
    """Per sample-table row: the classes of the latest top-k, most probable first, and their
    softmax probabilities."""

    def __init__(self, k: int = TOP_K):
        self.k = k
        self.classes = np.full((0, k), -1, dtype=np.int32)
        self.probs = np.full((0, k), np.nan, dtype=np.float32)

    def _grow(self, need: int) -> None:
        cap = len(self.classes)
        if need <= cap:
            return
        cap = max(need, 2 * cap, 1024)
        classes = np.full((cap, self.k), -1, dtype=np.int32)
        probs = np.full((cap, self.k), np.nan, dtype=np.float32)
        classes[: len(self.classes)] = self.classes
        probs[: len(self.probs)] = self.probs
        self.classes, self.probs = classes, probs

    def write(self, rows: np.ndarray, classes: np.ndarray, probs: np.ndarray) -> None:
        """Set rows ``rows`` (unique) to ``classes`` / ``probs`` (``[len(rows), j]``, j <= k;
        the rest of each row is cleared)."""
        if len(rows) == 0:
            return
        self._grow(int(rows.max()) + 1)
        j = min(classes.shape[1], self.k)
        self.classes[rows] = -1
        self.probs[rows] = np.nan
        self.classes[rows, :j] = classes[:, :j]
        self.probs[rows, :j] = probs[:, :j]

    def of(self, row: int) -> list[tuple[int, float]]:
        """``[(class, probability)]`` of one row, most probable first; empty when none was
        seen."""
        if row >= len(self.classes):
            return []
        return [(int(c), float(p)) for c, p in zip(self.classes[row], self.probs[row])
                if c >= 0]
