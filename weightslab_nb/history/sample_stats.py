"""Per-sample statistics of the history, kept up to date as values are recorded.

For every (signal, sample-table row) the store keeps, in numpy columns indexed by row: how many
values were recorded and how many of them were NaN, their sum, the sum of their negative parts
``max(-value, 0)``, their minimum and maximum, and the value at the highest step (the latest
arrival wins a tie). That is enough for every statistic the grid sorts by (mean, last, max, min,
count) and for the sums the suspects ranking reads, so neither needs a scan of the history.

The results are those of a DuckDB ``GROUP BY row`` over the same values: a NaN makes the sum,
the mean and the maximum NaN, and the minimum ignores it unless every value is NaN (DuckDB
orders NaN above every number). Columns grow (capacity doubling) as rows appear; updates are
vectorised per batch of recorded values (``ufunc.at``, several times faster here than a
sort-based group reduction on chunks of 10^5 values).

Every update also notes the rows it touched (:meth:`SampleStats.changes`), so a sorted view
(:class:`~weightslab_nb.ledger.live_order.LiveOrder`) re-sorts only the rows whose statistic
moved since it last looked.

Not thread-safe by itself: :class:`~weightslab_nb.history.HistoryStore` serialises calls.
"""

from __future__ import annotations

import itertools
from bisect import bisect_right

import numpy as np

from weightslab_nb.ledger.sample_table import last_occurrences

#: Statistics :meth:`SampleStats.statistics` returns.
STAT_NAMES = ("mean", "min", "max", "last", "count")

_EPOCHS = itertools.count()  # tokens of one SampleStats never match another's
_NO_STEP = np.iinfo(np.int64).min
# counts are stored as int32 (2^31 values of one sample is beyond any run; 4 bytes a row less
# each at a million samples) and read out as int64
_COLUMNS = {"count": (np.int32, 0), "nans": (np.int32, 0), "sum": (np.float64, 0.0),
            "neg": (np.float64, 0.0), "min": (np.float64, np.inf), "max": (np.float64, -np.inf),
            "last": (np.float64, np.nan), "last_step": (np.int64, _NO_STEP)}


class _SignalColumns:
    """The accumulator columns of one signal, ``capacity`` rows long (``n`` rows in use)."""

    def __init__(self):
        self.n = 0
        self.cols = {k: np.empty(0, dtype=d) for k, (d, _) in _COLUMNS.items()}
        self.top_step = _NO_STEP  # the highest step folded in so far

    def reserve(self, n: int) -> None:
        """Make rows ``[0, n)`` addressable (new rows start empty)."""
        if n <= self.n:
            return
        capacity = len(self.cols["count"])
        if n > capacity:
            capacity = max(n, 2 * capacity, 1024)
            for k, (dtype, empty) in _COLUMNS.items():
                grown = np.full(capacity, empty, dtype=dtype)
                grown[:self.n] = self.cols[k][:self.n]
                self.cols[k] = grown
        self.n = n


class _Touched:
    """The rows updates touched, in the order noted; a position counts every row ever noted.
    Beyond ``keep`` rows the oldest are forgotten (readers from before then start over)."""

    def __init__(self):
        self.parts: list[np.ndarray] = []
        self.ends: list[int] = []  # position after each part
        self.start = 0  # position of the first part kept
        self.end = 0

    def note(self, rows: np.ndarray, keep: int) -> None:
        """Append ``rows`` (copied); past ``keep`` rows kept, forget them all."""
        self.end += len(rows)
        if self.end - self.start > keep:
            self.parts, self.ends, self.start = [], [], self.end
            return
        self.parts.append(rows.copy())
        self.ends.append(self.end)

    def since(self, pos: int) -> np.ndarray | None:
        """Rows noted after position ``pos`` (a value of ``end``), or None if forgotten."""
        if pos < self.start or pos > self.end:
            return None
        parts = self.parts[bisect_right(self.ends, pos):]
        if not parts:
            return np.empty(0, dtype=np.int64)
        return np.concatenate(parts) if len(parts) > 1 else parts[0]


class SampleStats:
    """Running per-row statistics of every signal's per-sample history (see the module doc)."""

    def __init__(self):
        self._signals: dict[int, _SignalColumns] = {}
        self._touched: dict[int, _Touched] = {}
        self._epoch = next(_EPOCHS)  # new when rows change other than by update (clear, load)

    def clear(self) -> None:
        """Forget everything (before a rebuild)."""
        self._signals = {}
        self._touched = {}
        self._epoch = next(_EPOCHS)

    def changes(self, signal: int, since) -> tuple[np.ndarray | None, tuple]:
        """``(rows, token)``: the rows (int64, unsorted, maybe repeated) whose statistics of
        ``signal`` changed since ``since`` (a token from an earlier call, or None), or None
        when that is unknown (no token, or one too old: read every row again); ``token`` marks
        now."""
        touched = self._touched.get(signal)
        token = (self._epoch, 0 if touched is None else touched.end)
        if since is None or since[0] != self._epoch:
            return None, token
        if touched is None:
            return np.empty(0, dtype=np.int64), token
        return touched.since(since[1]), token

    def update(self, signal: int, rows: np.ndarray, steps: np.ndarray,
               values: np.ndarray) -> None:
        """Fold recorded values in: ``rows`` (int64 table rows >= 0), ``steps`` (int64) and
        ``values`` (float64) are equal-length 1-d arrays, in recording order; ``steps`` may be
        one int (every value's step)."""
        if not len(rows):
            return
        rows = np.asarray(rows, dtype=np.int64)
        steps = np.asarray(steps, dtype=np.int64)
        if steps.ndim == 0:
            steps = np.broadcast_to(steps, rows.shape)  # a view: no array per value
        values = np.asarray(values, dtype=np.float64)
        acc = self._signals.get(signal)
        if acc is None:
            acc = self._signals[signal] = _SignalColumns()
        acc.reserve(int(rows.max()) + 1)
        c = acc.cols
        np.add.at(c["count"], rows, 1)
        lowest = np.fmin.reduce(values)  # NaN only when every value is NaN
        nan = np.isnan(values)
        has_nan = bool(nan.any())
        if has_nan:
            np.add.at(c["nans"], rows[nan], 1)
        np.add.at(c["sum"], rows, values)
        if has_nan or not lowest >= 0.0:  # no negative part to add when all values are >= 0
            np.add.at(c["neg"], rows, np.maximum(-values, 0.0))  # NaN stays NaN, as in DuckDB
        np.fmin.at(c["min"], rows, values)
        np.fmax.at(c["max"], rows, values)
        if int(steps[0]) >= acc.top_step and (len(steps) < 2 or steps.strides == (0,) or
                                              bool((steps[1:] >= steps[:-1]).all())):
            # steps never go back (the common case): each row's last arrival has its highest
            # step, at or past every step folded before
            distinct, last = last_occurrences(rows, acc.n)
            c["last_step"][distinct] = steps[last]
            c["last"][distinct] = values[last]
        else:
            np.maximum.at(c["last_step"], rows, steps)
            latest = np.flatnonzero(steps >= c["last_step"][rows])
            # rows repeated at their highest step: the one recorded last stays
            distinct, last = last_occurrences(rows[latest], acc.n)
            c["last"][distinct] = values[latest[last]]
        acc.top_step = max(acc.top_step, int(steps[0] if steps.strides == (0,) else steps.max()))
        self._touched.setdefault(signal, _Touched()).note(rows, max(1 << 16, acc.n // 4))

    def load(self, signal: int, columns: dict[str, np.ndarray]) -> None:
        """Set the rows of one signal from aggregates (a reopened file): ``row`` and the
        columns ``count, nans, sum, neg, min, max, last, last_step`` of one row each, rows
        unique. ``min``/``max`` may be NaN where DuckDB gave NaN (the NaN count decides)."""
        rows = np.asarray(columns["row"], dtype=np.int64)
        if not len(rows):
            return
        acc = self._signals.get(signal)
        if acc is None:
            acc = self._signals[signal] = _SignalColumns()
        acc.reserve(int(rows.max()) + 1)
        self._epoch = next(_EPOCHS)
        for k, (dtype, _) in _COLUMNS.items():
            acc.cols[k][rows] = np.asarray(columns[k], dtype=dtype)
        acc.top_step = max(acc.top_step, int(acc.cols["last_step"][rows].max()))
        # a min/max of NaN only means "no number yet"; later numbers must still count
        acc.cols["min"][rows] = np.where(np.isnan(acc.cols["min"][rows]), np.inf,
                                         acc.cols["min"][rows])
        acc.cols["max"][rows] = np.where(np.isnan(acc.cols["max"][rows]), -np.inf,
                                         acc.cols["max"][rows])

    def _column(self, signal: int, key: str, n_rows: int) -> np.ndarray:
        """Column ``key`` of rows ``[0, n_rows)`` (a copy; empty rows past the end)."""
        dtype, empty = _COLUMNS[key]
        out = np.full(n_rows, empty, dtype=_read_dtype(dtype))
        acc = self._signals.get(signal)
        if acc is not None:
            m = min(n_rows, acc.n)
            out[:m] = acc.cols[key][:m]
        return out

    def _column_at(self, signal: int, key: str, rows: np.ndarray) -> np.ndarray:
        """Column ``key`` at the int64 ``rows`` (empty rows past the end)."""
        dtype, empty = _COLUMNS[key]
        out = np.full(len(rows), empty, dtype=_read_dtype(dtype))
        acc = self._signals.get(signal)
        if acc is not None:
            inside = rows < acc.n
            out[inside] = acc.cols[key][rows[inside]]
        return out

    def statistics(self, signal: int, n_rows: int,
                   which: tuple[str, ...] = STAT_NAMES) -> dict[str, np.ndarray]:
        """Statistics of rows ``[0, n_rows)``: ``mean``, ``min``, ``max``, ``last`` (float64,
        NaN for a row without values) and ``count`` (int64), those named in ``which``."""
        return _derive(lambda key: self._column(signal, key, n_rows), which)

    def statistics_at(self, signal: int, rows: np.ndarray,
                      which: tuple[str, ...] = STAT_NAMES) -> dict[str, np.ndarray]:
        """As :meth:`statistics`, for the int64 table ``rows`` only (any order)."""
        rows = np.asarray(rows, dtype=np.int64)
        return _derive(lambda key: self._column_at(signal, key, rows), which)

    def sums(self, signal: int, n_rows: int,
             negative_part: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """``(sum, count)`` of rows ``[0, n_rows)``: float64 sums (of ``max(-value, 0)`` with
        ``negative_part``) and int64 counts, 0 for rows without values."""
        return (self._column(signal, "neg" if negative_part else "sum", n_rows),
                self._column(signal, "count", n_rows))


def _read_dtype(dtype) -> type:
    """The dtype a stored column is read out as (int64 for the int32 counts)."""
    return np.int64 if dtype is np.int32 else dtype


def _derive(column, which: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The statistics ``which`` from the accumulator columns ``column(key)`` gives."""
    count = column("count")
    seen = count > 0
    out = {}
    if "count" in which:
        out["count"] = count
    if "mean" in which:
        with np.errstate(invalid="ignore", divide="ignore"):
            out["mean"] = np.where(seen, column("sum") / np.maximum(count, 1), np.nan)
    if "last" in which:
        out["last"] = column("last")
    if "min" in which or "max" in which:
        nans = column("nans")
        if "min" in which:
            out["min"] = np.where(seen & (nans < count), column("min"), np.nan)
        if "max" in which:
            out["max"] = np.where(seen & (nans == 0), column("max"), np.nan)
    return out


#: The DuckDB aggregates :meth:`SampleStats.load` takes, per (signal, row).
REBUILD_SQL = (
    "SELECT signal, row, count(*) AS count, count_if(isnan(value)) AS nans, "
    "sum(value) AS sum, sum(greatest(-value, 0)) AS neg, min(value) AS min, max(value) AS max, "
    "arg_max(value, step) AS last, max(step) AS last_step "
    "FROM sample_history GROUP BY signal, row")
