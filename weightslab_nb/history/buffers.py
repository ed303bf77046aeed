"""In-memory columnar buffers of the history store."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class GrowableColumns:
    """Parallel numpy columns appended to in place (amortised doubling)."""

    def __init__(self, dtypes: dict[str, np.dtype], capacity: int = 256):
        self._cols = {k: np.empty(capacity, dtype=d) for k, d in dtypes.items()}
        self.n = 0

    def append(self, **values) -> None:
        n = self.n
        if n == len(next(iter(self._cols.values()))):
            self._cols = {k: np.resize(v, 2 * len(v)) for k, v in self._cols.items()}
        for k, v in values.items():
            self._cols[k][n] = v
        self.n = n + 1

    def view(self, start: int = 0) -> dict[str, np.ndarray]:
        """Copies of rows ``[start, n)``; safe to hand to another thread."""
        return {k: v[start : self.n].copy() for k, v in self._cols.items()}


GLOBAL_DTYPES = {"step": np.int64, "mean": np.float64, "min": np.float64, "max": np.float64,
                 "count": np.int64, "exp": np.int32}


@dataclass
class SampleChunk:
    """One batch of per-sample values waiting to be written: all rows share signal, step, run."""

    signal: int
    step: int
    exp: int
    rows: np.ndarray    # int64 row positions in the sample table
    values: np.ndarray  # float64

    def __len__(self) -> int:
        return len(self.rows)


def concat_chunks(chunks: list[SampleChunk]) -> dict[str, np.ndarray]:
    """Columns ``signal, row, step, value, exp`` of several chunks, ready for an Arrow table."""
    sizes = np.fromiter((len(c) for c in chunks), dtype=np.int64, count=len(chunks))
    return {
        "signal": np.repeat(np.fromiter((c.signal for c in chunks), np.int32, len(chunks)), sizes),
        "row": np.concatenate([c.rows for c in chunks]).astype(np.int64, copy=False),
        "step": np.repeat(np.fromiter((c.step for c in chunks), np.int64, len(chunks)), sizes),
        "value": np.concatenate([c.values for c in chunks]).astype(np.float64, copy=False),
        "exp": np.repeat(np.fromiter((c.exp for c in chunks), np.int32, len(chunks)), sizes),
    }
