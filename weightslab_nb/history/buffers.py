"""In-memory columnar buffers of the history store."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class GrowableColumns:
    """Rows appended as tuples (cheap on the hot path) or as columns in bulk, read back as
    numpy columns. Tuples are moved into the columns (capacity doubling) when columns are
    appended or read, so a long curve is converted once, not at every read."""

    def __init__(self, dtypes: dict[str, np.dtype]):
        self._dtypes = dtypes
        self._columns = {k: np.empty(0, dtype=d) for k, d in dtypes.items()}
        self._settled = 0                # rows held in the columns
        self._capacity = 0
        self._rows: list[tuple] = []     # rows appended after them, not converted yet

    @property
    def n(self) -> int:
        return self._settled + len(self._rows)

    def append(self, row: tuple) -> None:
        """Append one row, its values in the order of ``dtypes``."""
        self._rows.append(row)

    def extend_columns(self, columns: dict) -> None:
        """Append rows given as one array per column (all of ``dtypes``; the first an array
        giving the number of rows, the others arrays of that length or scalars)."""
        self._settle()
        self._put(columns)

    def view(self, start: int = 0) -> dict[str, np.ndarray]:
        """Columns of rows ``[start, n)`` as fresh arrays; safe to hand to another thread."""
        self._settle()
        return {k: c[start:self._settled].copy() for k, c in self._columns.items()}

    def _settle(self) -> None:
        rows, n = self._rows, len(self._rows)
        if not n:
            return
        self._rows = []
        self._put({k: np.fromiter(c, dtype=d, count=n)
                   for (k, d), c in zip(self._dtypes.items(), zip(*rows))})

    def _put(self, columns: dict) -> None:
        end = self._settled + len(next(iter(columns.values())))
        if end > self._capacity:
            self._capacity = max(end, 2 * self._capacity, 64)
            for k, c in self._columns.items():
                grown = np.empty(self._capacity, dtype=c.dtype)
                grown[:self._settled] = c[:self._settled]
                self._columns[k] = grown
        for k, c in self._columns.items():
            c[self._settled:end] = columns[k]
        self._settled = end


@dataclass
class GlobalBlock:
    """Global points recorded in bulk, waiting to be written: one point per step, each its
    own band (min = max = mean = value) of count 1."""

    signal: int
    exp: int
    steps: np.ndarray   # int64
    values: np.ndarray  # float64


GLOBAL_DTYPES = {"step": np.int64, "mean": np.float64, "min": np.float64, "max": np.float64,
                 "count": np.int64, "exp": np.int32}


@dataclass
class GlobalPoints:
    """Global points of one signal recorded in bulk, waiting to be written: ``columns`` holds
    one array per :data:`GLOBAL_DTYPES` key (one entry per point, in the order recorded)."""

    signal: int
    columns: dict[str, np.ndarray]


@dataclass(slots=True)
class SampleChunk:
    """Per-sample values waiting to be written: one batch (all rows share signal, step, run),
    or several batches of one signal and run appended at once, then ``steps`` gives each row's
    step (``step`` is the first one)."""

    signal: int
    step: int
    exp: int
    rows: np.ndarray    # int64 row positions in the sample table
    values: np.ndarray  # float64
    steps: np.ndarray | None = None  # int64 per row, for a chunk of several steps

    def __len__(self) -> int:
        return len(self.rows)

    def step_bounds(self) -> tuple[int, int]:
        """``(lowest, highest)`` step of its rows."""
        if self.steps is None:
            return self.step, self.step
        return int(self.steps.min()), int(self.steps.max())


def chunk_steps(chunks: list[SampleChunk]) -> np.ndarray:
    """The int64 step of every row of ``chunks``, in order."""
    if all(c.steps is None for c in chunks):
        sizes = np.fromiter((len(c) for c in chunks), dtype=np.int64, count=len(chunks))
        return np.repeat(np.fromiter((c.step for c in chunks), np.int64, len(chunks)), sizes)
    return np.concatenate([c.steps if c.steps is not None else np.full(len(c), c.step, np.int64)
                           for c in chunks])


def concat_chunks(chunks: list[SampleChunk]) -> dict[str, np.ndarray]:
    """Columns ``signal, row, step, value, exp`` of several chunks, ready for an Arrow table
    (typed as the DuckDB table: int32, int64, int64, float64, int32)."""
    if len(chunks) == 1:
        c = chunks[0]
        n = len(c)
        return {"signal": np.full(n, c.signal, np.int32),
                "row": c.rows.astype(np.int64, copy=False),
                "step": chunk_steps(chunks),
                "value": c.values.astype(np.float64, copy=False),
                "exp": np.full(n, c.exp, np.int32)}
    sizes = np.fromiter((len(c) for c in chunks), dtype=np.int64, count=len(chunks))
    return {
        "signal": np.repeat(np.fromiter((c.signal for c in chunks), np.int32, len(chunks)), sizes),
        "row": np.concatenate([c.rows for c in chunks]).astype(np.int64, copy=False),
        "step": chunk_steps(chunks),
        "value": np.concatenate([c.values for c in chunks]).astype(np.float64, copy=False),
        "exp": np.repeat(np.fromiter((c.exp for c in chunks), np.int32, len(chunks)), sizes),
    }
