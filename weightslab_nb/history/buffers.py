"""In-memory columnar buffers of the history store."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class GrowableColumns:
    """Rows appended as tuples (cheap on the hot path), read back as numpy columns."""

    def __init__(self, dtypes: dict[str, np.dtype]):
        self._dtypes = dtypes
        self._rows: list[tuple] = []

    @property
    def n(self) -> int:
        return len(self._rows)

    def append(self, row: tuple) -> None:
        """Append one row, its values in the order of ``dtypes``."""
        self._rows.append(row)

    def view(self, start: int = 0) -> dict[str, np.ndarray]:
        """Columns of rows ``[start, n)`` as fresh arrays; safe to hand to another thread."""
        rows = self._rows[start:]
        if not rows:
            return {k: np.empty(0, dtype=d) for k, d in self._dtypes.items()}
        cols = zip(*rows)
        return {k: np.fromiter(c, dtype=d, count=len(rows))
                for (k, d), c in zip(self._dtypes.items(), cols)}


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
