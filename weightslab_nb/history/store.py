"""History store: columnar in-memory buffers flushed by a writer thread into a DuckDB file.

Three layers, each row carrying the experiment it belongs to:

* global   — one row per (signal, step): mean, min, max and count of the logged batch values;
* sample   — one row per (signal, sample, step): the per-sample value;
* instance — one row per (signal, sample, annotation, step): per-instance values.

The sample and instance layers share one table keyed by sample-table row: a row stands for one
``(sample_id, annotation_id)``, and ``annotation_id >= 1`` makes it an instance.

Appends (any thread) take a short lock to hand over a reference to the batch's arrays.
:meth:`HistoryStore.flush` moves pending chunks into DuckDB; the session's recorder calls it
from its ingest thread every flush interval (see :mod:`weightslab_nb.ledger.recorder`): the
store is a passive sink that starts no thread and calls nobody back. Queries read DuckDB and
the rows not yet flushed, so a value is visible as soon as it was appended. The global layer is
also kept whole in memory, because live curves read it many times a second.

Two derived structures make the per-sample layer cheap to read: running per-row statistics
(:mod:`~weightslab_nb.history.sample_stats`, for grid sorts and the suspects ranking) and a
row-ordered copy of the flushed rows (:mod:`~weightslab_nb.history.row_order`, for one
sample's history).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

from weightslab_nb.history.buffers import (
    GLOBAL_DTYPES,
    GlobalBlock,
    GlobalPoints,
    GrowableColumns,
    SampleChunk,
    chunk_steps,
    concat_chunks,
)
from weightslab_nb.history.row_order import COPY_SCHEMA, RUN_ROWS, RowOrderedCopy
from weightslab_nb.history.sample_stats import REBUILD_SQL, STAT_NAMES, SampleStats

log = logging.getLogger(__name__)

PARALLEL_FOLD_ROWS = 100_000  # new rows from which a flush folds them beside the DuckDB write

SampleDims = Callable[[int], tuple]
"""``f(start) -> (sample_ids, annotation_ids, (origin_codes, origin_names))`` of the
sample-table rows ``start, ...``: ids an int64 array (every id an int) or a list, annotation
ids and origin codes arrays, the origin of row ``i`` being ``origin_names[origin_codes[i]]``."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS signals (id INTEGER PRIMARY KEY, name VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS experiments (id INTEGER PRIMARY KEY, hash VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS samples (row BIGINT PRIMARY KEY, sample_id VARCHAR NOT NULL,
                                    id_is_int BOOLEAN NOT NULL, annotation_id INTEGER NOT NULL,
                                    origin VARCHAR);
CREATE TABLE IF NOT EXISTS global_history (signal INTEGER, step BIGINT, mean DOUBLE,
                                           min DOUBLE, max DOUBLE, count BIGINT, exp INTEGER);
CREATE TABLE IF NOT EXISTS sample_history (signal INTEGER USING COMPRESSION rle, row BIGINT,
                                           step BIGINT USING COMPRESSION rle,
                                           value DOUBLE USING COMPRESSION alprd,
                                           exp INTEGER USING COMPRESSION rle);
"""
# The per-sample log's compression is chosen, not analysed per row group: signal, step and exp
# come in long runs (a batch shares them), and a loss is a float32 widened to DOUBLE (ALP-RD is
# what DuckDB's analysis picks for those anyway). Skipping the analysis takes about a quarter
# off the writer's DuckDB time (0.55 -> 0.41 s of CPU per 5M rows) for the same file size.


class HistoryStore:
    """Buffered, persisted history of every logged signal.

    Parameters
    ----------
    path : callable
        Returns the DuckDB file to use; asked on the first flush, when the file and its
        directory are created (so the run directory can still be chosen until then).
    sample_dims : callable
        Gives the ids and origins of sample-table rows, so the file can name samples.
    flush_rows : int, default 200_000
        Pending per-sample rows from which :meth:`wants_flush` says a flush is due early.
    copy_run_rows : int, default :data:`~weightslab_nb.history.row_order.RUN_ROWS`
        Rows per sorted run of the row-ordered copy (see :mod:`~weightslab_nb.history.row_order`).
    read_only : bool, default False
        Open an existing file read-only and never write it (a finished run opened to look at
        it): :meth:`flush` writes nothing, the file is not created, repaired nor removed. A
        write-ahead log a killed writer left is replayed in memory only (DuckDB leaves both
        files as they are). Opening fails while another process writes the file (DuckDB's
        lock).
    """

    def __init__(self, path: Callable[[], Path], sample_dims: SampleDims,
                 flush_rows: int = 200_000, copy_run_rows: int = RUN_ROWS,
                 read_only: bool = False):
        self._path = path
        self.path: Path | None = None
        self.read_only = read_only
        self._sample_dims = sample_dims
        self._flush_rows = flush_rows
        # write the sample rows even when no value was recorded (the owner sets it once the
        # rows carry state worth keeping, e.g. journaled edits)
        self.persist_samples = False
        self._lock = threading.Lock()        # buffers; held for list appends only
        self._flush_lock = threading.Lock()  # DuckDB + the hand-over of pending rows
        self._signal_ids: dict[str, int] = {}
        self._exp_ids: dict[str, int] = {}
        self._global: dict[int, GrowableColumns] = {}
        self._global_pending: list = []  # point tuples and GlobalBlocks, in the order recorded
        self._markers: list[tuple] = []
        self._pending: list[SampleChunk] = []
        self._pending_rows = 0
        # per-row statistics (sample_stats.py); chunks appended since the last fold wait in
        # _unfolded, folded in bulk by the writer's flush or by a reader that needs them
        self._stats = SampleStats()
        self._unfolded: list[SampleChunk] = []
        self._stats_lock = threading.Lock()  # taken before _lock, never inside it
        self._detached = False  # see detach
        self._inherited = None  # a connection inherited through fork: kept, never used
        self._written = {"signals": 0, "experiments": 0, "samples": 0}
        self._con = None
        self._by_row = RowOrderedCopy(copy_run_rows)  # one sample's rows without a scan

    # ---------------------------------------------------------------- dimensions
    def signal_id(self, name: str) -> int:
        """The int id of a signal name (assigned on first use)."""
        with self._lock:
            sid = self._signal_ids.get(name)
            if sid is None:
                sid = self._signal_ids[name] = len(self._signal_ids)
            return sid

    def experiment_id(self, exp_hash: str) -> int:
        """The int id of an experiment hash (assigned on first use)."""
        with self._lock:
            eid = self._exp_ids.get(exp_hash)
            if eid is None:
                eid = self._exp_ids[exp_hash] = len(self._exp_ids)
            return eid

    @property
    def connected(self) -> bool:
        """True once the DuckDB file was opened (the run directory is fixed from then on)."""
        return self._con is not None

    def has_data(self) -> bool:
        """True once anything was recorded (flushed or not)."""
        with self._lock:
            return self._con is not None or bool(self._pending) or bool(self._global_pending)

    def signal_names(self) -> list[str]:
        """Every signal name known to the store, in the order first seen."""
        with self._lock:
            return list(self._signal_ids)

    def signal_ids_of(self, names) -> list[int]:
        """The ids of signal ``names`` (-1 for a name never recorded)."""
        with self._lock:
            return [self._signal_ids.get(n, -1) for n in names]

    @property
    def written_samples(self) -> int:
        """How many sample-table rows the file names (rows are written in order)."""
        return self._written["samples"]

    def wants_flush(self) -> bool:
        """True when so many per-sample rows wait that a flush should not wait for its turn."""
        return self._pending_rows >= self._flush_rows

    def restore(self) -> tuple[list[tuple], int] | None:
        """Reopen an existing file: load its signal and experiment names and the global curves.

        Returns ``(samples, last_step)``, ``samples`` being ``(sample_id, annotation_id,
        origin)`` per sample-table row in row order (ids typed back to int where they were), or
        None when the file does not exist yet. Call before anything is appended.

        An empty file (0 bytes: a kill between DuckDB creating it and writing its header)
        holds nothing: it is removed, and the run reopens as one with no history yet.
        """
        path = Path(self._path())
        if self.read_only and path.is_file() and path.stat().st_size == 0:
            return None  # never written: nothing to read (and nothing removed)
        if path.is_file() and not path.is_symlink() and path.stat().st_size == 0:
            log.info("removed %s: empty, left by a run killed while it was being created", path)
            path.unlink()
        if not path.exists():
            return None
        con = self._connect()
        with self._flush_lock, self._lock:
            self._signal_ids = {n: i for i, n in con.execute(
                "SELECT id, name FROM signals ORDER BY id").fetchall()}
            self._exp_ids = {h: i for i, h in con.execute(
                "SELECT id, hash FROM experiments ORDER BY id").fetchall()}
            glob = con.execute("SELECT signal, step, mean, min, max, count, exp "
                               "FROM global_history ORDER BY rowid").fetchall()
            marker_exps = {i for h, i in self._exp_ids.items() if _is_marker_hash(h)}
            for signal, *point in glob:
                if point[-1] in marker_exps:
                    self._markers.append((signal, *point))
                    continue
                cols = self._global.get(signal)
                if cols is None:
                    cols = self._global[signal] = GrowableColumns(GLOBAL_DTYPES)
                cols.append(tuple(point))
            samples = [(int(s) if is_int else s, ann, origin) for s, is_int, ann, origin in
                       con.execute("SELECT sample_id, id_is_int, annotation_id, origin "
                                   "FROM samples ORDER BY row").fetchall()]
            last = con.execute("SELECT greatest((SELECT max(step) FROM global_history), "
                               "(SELECT max(step) FROM sample_history))").fetchone()[0]
            self._rebuild_stats(con)
            self._written = {"signals": len(self._signal_ids),
                             "experiments": len(self._exp_ids), "samples": len(samples)}
        return samples, int(last or 0)

    # ---------------------------------------------------------------- appends
    def append_global(self, signal: int, step: int, mean: float, vmin: float, vmax: float,
                      count: int, exp: int) -> None:
        """Record one per-step aggregate of ``signal``."""
        with self._lock:
            self._append_global_locked(signal, step, mean, vmin, vmax, count, exp)

    def append_global_many(self, signal: int, steps, values, exp: int) -> None:
        """Record one point of ``signal`` per ``(step, value)``: ``steps`` and ``values`` are
        equal-length sequences or arrays; each point is its own band (min = max = mean) of
        count 1, as :meth:`append_global` with one value. One lock hold, no per-point work.

        Raises
        ------
        ValueError
            ``steps`` and ``values`` are not 1-d of one length.
        """
        steps = np.array(steps, dtype=np.int64)  # copies: the caller may reuse its arrays
        values = np.array(values, dtype=np.float64)
        if steps.shape != values.shape or steps.ndim != 1:
            raise ValueError(f"append_global_many: steps {steps.shape} and values "
                             f"{values.shape} must be 1-d of one length")
        if not len(steps):
            return
        with self._lock:
            cols = self._global.get(signal)
            if cols is None:
                cols = self._global[signal] = GrowableColumns(GLOBAL_DTYPES)
            cols.extend_columns({"step": steps, "mean": values, "min": values, "max": values,
                                 "count": 1, "exp": exp})
            self._global_pending.append(GlobalBlock(signal, exp, steps, values))

    def append_marker(self, signal: int, step: int, mean: float, vmin: float, vmax: float,
                      count: int, exp: int) -> None:
        """Record an evaluation marker: persisted in the global layer (under the evaluation's
        experiment id) but kept out of the in-memory training curves; see :meth:`markers`."""
        with self._lock:
            self._markers.append((signal, step, mean, vmin, vmax, count, exp))
            self._global_pending.append((signal, step, mean, vmin, vmax, count, exp))

    def markers(self) -> list[dict]:
        """Evaluation markers recorded so far: ``{signal, step, mean, min, max, count,
        experiment_hash}`` dicts in the order recorded."""
        with self._lock:
            names = {v: k for k, v in self._signal_ids.items()}
            exps = {v: k for k, v in self._exp_ids.items()}
            return [{"signal": names[s], "step": st, "mean": m, "min": lo, "max": hi,
                     "count": c, "experiment_hash": exps.get(e)}
                    for s, st, m, lo, hi, c, e in self._markers]

    def _append_global_locked(self, signal, step, mean, vmin, vmax, count, exp) -> None:
        cols = self._global.get(signal)
        if cols is None:
            cols = self._global[signal] = GrowableColumns(GLOBAL_DTYPES)
        cols.append((step, mean, vmin, vmax, count, exp))
        self._global_pending.append((signal, step, mean, vmin, vmax, count, exp))

    def append_samples(self, signal: int, step: int, rows: np.ndarray, values: np.ndarray,
                       exp: int, stats: tuple[float, float, float] | None = None) -> None:
        """Record per-sample values; ``rows`` and ``values`` must not be modified afterwards.

        ``stats`` = (mean, min, max) also records one global point of ``len(values)`` samples.
        """
        chunk = SampleChunk(signal, step, exp, rows, values)
        with self._lock:
            self._pending.append(chunk)
            self._unfolded.append(chunk)
            self._pending_rows += len(chunk)
            if stats is not None:
                self._append_global_locked(signal, step, *stats, len(values), exp)

    def append_sample_run(self, signal: int, rows: np.ndarray, values: np.ndarray,
                          steps: np.ndarray, sizes: np.ndarray, exps: np.ndarray,
                          points: dict[str, np.ndarray] | None = None) -> None:
        """Record many batches of one signal at once, as :meth:`append_samples` of each in
        turn would (the same history rows and global points).

        ``rows``/``values`` (int64 / float64, not modified afterwards) hold the batches one
        after the other; batch ``k`` has ``sizes[k]`` rows, recorded at ``steps[k]`` in
        experiment ``exps[k]`` (1-d arrays of one length). ``points``: the global points of the
        logged batches, in order, one array per :data:`GLOBAL_DTYPES` key, or None.
        """
        ends = np.cumsum(sizes)
        cuts = np.flatnonzero(exps[1:] != exps[:-1]) + 1  # one chunk per run of one experiment
        chunks = []
        for a, b in zip([0, *cuts.tolist()], [*cuts.tolist(), len(sizes)]):
            lo, hi = (int(ends[a - 1]) if a else 0), int(ends[b - 1])
            if hi == lo:
                continue
            seg = steps[a:b]
            per_row = None if (seg == seg[0]).all() else np.repeat(seg, sizes[a:b])
            chunks.append(SampleChunk(signal, int(seg[0]), int(exps[a]), rows[lo:hi],
                                      values[lo:hi], per_row))
        with self._lock:
            self._pending += chunks
            self._unfolded += chunks
            self._pending_rows += len(rows)
            if points is not None and len(points["step"]):
                cols = self._global.get(signal)
                if cols is None:
                    cols = self._global[signal] = GrowableColumns(GLOBAL_DTYPES)
                cols.extend_columns(points)
                self._global_pending.append(GlobalPoints(signal, points))

    # ---------------------------------------------------------------- reads
    def global_names(self) -> list[str]:
        """Signals that have at least one global point, in the order they first appeared."""
        with self._lock:
            names = {v: k for k, v in self._signal_ids.items()}
            return [names[s] for s in self._global]

    def global_series(self, name: str, start: int = 0) -> dict[str, np.ndarray]:
        """Points ``start, start+1, ...`` of a signal's global curve (empty arrays if none)."""
        with self._lock:
            sid = self._signal_ids.get(name)
            cols = self._global.get(sid) if sid is not None else None
            if cols is None:
                return {k: np.empty(0, dtype=d) for k, d in GLOBAL_DTYPES.items()}
            return cols.view(start)

    def global_count(self, name: str) -> int:
        """Number of global (curve) points of a signal; 0 for an unknown name."""
        with self._lock:
            sid = self._signal_ids.get(name)
            cols = self._global.get(sid) if sid is not None else None
            return 0 if cols is None else cols.n

    def query_samples(self, rows: np.ndarray | None = None, signal: str | None = None,
                      exp_hash: str | None = None,
                      step: int | tuple[int, int] | None = None) -> dict[str, np.ndarray]:
        """Per-sample history as columns ``signal, row, step, value, exp`` (ids, not names).

        ``rows`` restricts to those sample-table rows; ``signal``/``exp_hash`` to one
        signal/run (an unknown name gives no rows); ``step`` to one step, or with a pair
        ``(lo, hi)`` to the steps ``lo <= step <= hi``. Sorted by (row, signal, step).
        """
        sig = self._signal_ids.get(signal) if signal is not None else None
        exp = self._exp_ids.get(exp_hash) if exp_hash is not None else None
        if (signal is not None and sig is None) or (exp_hash is not None and exp is None):
            return _empty_sample_columns()
        with self._flush_lock:
            with self._lock:
                pending = list(self._pending)
            parts = [self._query_db(rows, sig, exp, step)]
            if pending:
                parts.append(_filter(concat_chunks(pending), rows, sig, exp, step))
        out = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        order = np.lexsort((out["step"], out["signal"], out["row"]))
        return {k: v[order] for k, v in out.items()}

    def signal_trajectories(self, signal: str) -> dict[str, np.ndarray]:
        """Every per-sample value of one signal, as columns ``row`` (int64), ``step`` (int64)
        and ``value`` (float64), sorted by row then step: each row's trajectory, oldest first.

        The whole-population read of :mod:`weightslab_nb.loss_shapes`: one DuckDB scan plus
        the unflushed rows and one sort on a packed ``(row, step)`` key, several times faster
        than :meth:`query_samples` on millions of rows (no experiment column, no stable
        three-key sort). Values recorded twice for one row at one step keep both, in an
        unspecified order. An unknown name gives empty columns.
        """
        empty = {k: v for k, v in _empty_sample_columns().items() if k in ("row", "step", "value")}
        sig = self._signal_ids.get(signal)
        if sig is None:
            return empty
        parts = []
        with self._flush_lock:
            with self._lock:
                pending = [c for c in self._pending if c.signal == sig]
            if self._con is not None:
                res = self._con.execute("SELECT row, step, value FROM sample_history "
                                        "WHERE signal = ?", [sig]).fetchnumpy()
                parts.append({k: np.asarray(res[k]) for k in ("row", "step", "value")})
        if pending:
            cols = concat_chunks(pending)
            parts.append({k: cols[k] for k in ("row", "step", "value")})
        if not parts:
            return empty
        row = np.concatenate([p["row"] for p in parts]).astype(np.int64, copy=False)
        step = np.concatenate([p["step"] for p in parts]).astype(np.int64, copy=False)
        value = np.concatenate([p["value"] for p in parts]).astype(np.float64, copy=False)
        if len(row) and row.min() >= 0 and step.min() >= 0 and row.max() < 2**31 \
                and step.max() < 2**32:
            order = np.argsort((row << 32) | step)  # one int64 key: ~3x faster than lexsort
        else:
            order = np.lexsort((step, row))
        return {"row": row[order], "step": step[order], "value": value[order]}

    def query_global(self, signal: str | None = None,
                     exp_hash: str | None = None) -> dict[str, np.ndarray]:
        """Global points as columns ``signal, step, mean, min, max, count, exp`` (ids), in the
        order recorded per signal, evaluation markers included (after the training points).
        ``signal``/``exp_hash`` restrict (an unknown name: no rows)."""
        names = [signal] if signal is not None else self.global_names()
        exp = self._exp_ids.get(exp_hash) if exp_hash is not None else None
        parts = []
        for name in names:
            cols = self.global_series(name)
            sig = self._signal_ids.get(name)
            if sig is None or (exp_hash is not None and exp is None):
                continue
            keep = cols["exp"] == exp if exp is not None else slice(None)
            part = {k: v[keep] for k, v in cols.items()}
            part["signal"] = np.full(len(part["step"]), sig, dtype=np.int32)
            parts.append(part)
        with self._lock:
            marks = [m for m in self._markers
                     if (signal is None or m[0] == self._signal_ids.get(signal))
                     and (exp_hash is None or m[6] == exp)]
        if marks:
            cols = dict(zip(("signal", *GLOBAL_DTYPES), zip(*marks)))
            parts.append({k: np.asarray(v, dtype=np.int32 if k == "signal" else GLOBAL_DTYPES[k])
                          for k, v in cols.items()})
        keys = ("signal", *GLOBAL_DTYPES)
        if not parts:
            return {k: np.empty(0, dtype=np.int32 if k == "signal" else GLOBAL_DTYPES[k])
                    for k in keys}
        return {k: np.concatenate([p[k] for p in parts]) for k in keys}

    def names_by_id(self) -> tuple[dict[int, str], dict[int, str]]:
        """``(signal id -> name, experiment id -> hash)`` dicts, for turning query columns into
        names."""
        with self._lock:
            return ({v: k for k, v in self._signal_ids.items()},
                    {v: k for k, v in self._exp_ids.items()})

    def sample_stats(self, signal: str, n_rows: int,
                     which: tuple[str, ...] = STAT_NAMES) -> dict[str, np.ndarray]:
        """Per-row statistics of a signal's whole per-sample history, arrays of ``n_rows``:
        ``mean``, ``min``, ``max``, ``last`` (value at the highest step) and ``count``
        (NaN / 0 for rows without values), or those named in ``which``. Read from the running
        statistics (:mod:`~weightslab_nb.history.sample_stats`): no scan of the history."""
        sig = self._signal_ids.get(signal)
        with self._stats_lock:
            self._fold_locked()
            return self._stats.statistics(-1 if sig is None else sig, n_rows, which)

    @contextlib.contextmanager
    def stats_view(self, signal: str):
        """``with store.stats_view(name) as (stats, sig):`` the running statistics, brought up
        to date and locked for the block (read them only: ``stats.changes``,
        ``stats.statistics``, ``stats.statistics_at``), and the signal's id there."""
        sig = self._signal_ids.get(signal)
        with self._stats_lock:
            self._fold_locked()
            yield self._stats, -1 if sig is None else sig

    def sample_sums(self, signal: str, n_rows: int, negative_part: bool = False,
                    max_step: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Per-row ``(sum, count)`` of a signal's per-sample history: float64 sums and int64
        counts, arrays of ``n_rows`` (0 for rows without values). ``negative_part=True`` sums
        ``max(-value, 0)`` instead of the values; ``max_step`` keeps steps ``<= max_step``.
        Without ``max_step`` read from the running statistics; with it aggregated inside
        DuckDB plus the unflushed rows."""
        sig = self._signal_ids.get(signal)
        if max_step is None:
            with self._stats_lock:
                self._fold_locked()
                return self._stats.sums(-1 if sig is None else sig, n_rows, negative_part)
        total, count = np.zeros(n_rows), np.zeros(n_rows, np.int64)
        if sig is None:
            return total, count
        expr = "greatest(-value, 0)" if negative_part else "value"
        sql = f"SELECT row, sum({expr}) AS sum, count(*) AS count FROM sample_history " \
              "WHERE signal = ? AND step <= ? GROUP BY row"
        with self._flush_lock:
            with self._lock:
                pending = [c for c in self._pending if c.signal == sig]
            parts = []
            if self._con is not None:
                res = self._con.execute(sql, [sig, int(max_step)]).fetchnumpy()
                parts.append((np.asarray(res["row"]), np.asarray(res["sum"], np.float64),
                              np.asarray(res["count"], np.int64)))
        if pending:
            cols = concat_chunks(pending)
            keep = cols["step"] <= max_step
            rows, values = cols["row"][keep], cols["value"][keep]
            values = np.maximum(-values, 0.0) if negative_part else values
            parts.append((rows, values, np.ones(len(rows), np.int64)))
        for rows, sums, counts in parts:
            keep = rows < n_rows
            np.add.at(total, rows[keep], sums[keep])
            np.add.at(count, rows[keep], counts[keep])
        return total, count

    def fold_stats(self) -> None:
        """Bring the running statistics up to date with every value appended so far (done by
        :meth:`flush` and by the statistics readers; cheap when nothing is new)."""
        with self._stats_lock:
            self._fold_locked()

    def _fold_locked(self) -> None:
        """Fold the appended chunks into the statistics; call holding ``_stats_lock``."""
        with self._lock:
            chunks, self._unfolded = self._unfolded, []
        if not chunks:
            return
        by_signal: dict[int, list[SampleChunk]] = {}
        for c in chunks:
            by_signal.setdefault(c.signal, []).append(c)
        for sig, group in by_signal.items():
            if len(group) <= 4:  # a few (large) chunks: folded one by one, nothing copied
                for c in group:
                    self._stats.update(sig, c.rows, c.step if c.steps is None else c.steps,
                                       c.values)
                continue
            self._stats.update(sig, np.concatenate([c.rows for c in group]), chunk_steps(group),
                               np.concatenate([c.values for c in group]))

    def _rebuild_stats(self, con) -> None:
        """Recompute the running statistics from the file (one GROUP BY, at reopen)."""
        self._stats.clear()
        res = con.execute(REBUILD_SQL).fetchnumpy()
        signal = np.asarray(res["signal"])
        for sig in np.unique(signal):
            mine = signal == sig
            self._stats.load(int(sig), {k: np.asarray(v)[mine] for k, v in res.items()})

    def step_range(self, signal: str) -> tuple[int, int] | None:
        """``(first, last)`` step of a signal's per-sample history, or None without any."""
        sig = self._signal_ids.get(signal)
        if sig is None:
            return None
        lo, hi = [], []
        with self._flush_lock:
            with self._lock:
                bounds = [c.step_bounds() for c in self._pending if c.signal == sig]
            if self._con is not None:
                first, last = self._con.execute(
                    "SELECT min(step), max(step) FROM sample_history WHERE signal = ?",
                    [sig]).fetchone()
                if first is not None:
                    lo.append(int(first))
                    hi.append(int(last))
        lo += [b[0] for b in bounds]
        hi += [b[1] for b in bounds]
        return (min(lo), max(hi)) if lo else None

    def _query_db(self, rows, sig, exp, step=None) -> dict[str, np.ndarray]:
        if self._con is None:
            return _empty_sample_columns()
        where, params = [], []
        if rows is not None:
            rows = np.asarray(rows, dtype=np.int64)
            if len(rows) == 1:
                where.append("row = ?")
                params.append(int(rows[0]))
            else:
                where.append("row IN (SELECT unnest(?::BIGINT[]))")
                params.append(rows.tolist())
        if sig is not None:
            where.append("signal = ?")
            params.append(sig)
        if exp is not None:
            where.append("exp = ?")
            params.append(exp)
        if isinstance(step, tuple):
            where.append("step BETWEEN ? AND ?")
            params.extend((int(step[0]), int(step[1])))
        elif step is not None:
            where.append("step = ?")
            params.append(int(step))
        if rows is not None and len(rows) == 1:  # one sample: the row-ordered copy
            res = self._by_row.query_row(self._con, int(rows[0]), where[1:], params[1:])
            return {k: np.asarray(res[k]) for k in ("signal", "row", "step", "value", "exp")}
        sql = "SELECT signal, row, step, value, exp FROM sample_history"
        if where:
            sql += " WHERE " + " AND ".join(where)
        res = self._con.execute(sql, params).fetchnumpy()
        return {k: np.asarray(res[k]) for k in ("signal", "row", "step", "value", "exp")}

    def locks(self) -> tuple:
        """The store's locks, in the order a flush takes them (for fork guards)."""
        return (self._flush_lock, self._stats_lock, self._lock)

    # ---------------------------------------------------------------- writing
    def detach(self) -> None:
        """Never open, write or read the history file again (a DDP rank's session: the hub
        keeps the history). A connection inherited from the process that forked this one is
        kept referenced and never used or closed: closing it here would write to that
        process's file. Values appended later are dropped at the next flush."""
        with self._flush_lock:
            self._detached = True
            self._inherited, self._con = self._con, None

    def flush(self) -> None:
        """Write every pending row to DuckDB now (from the calling thread).

        Creates the file on the first flush that has something to write. On failure the rows
        stay pending for the next flush and the exception propagates.

        The running statistics are brought up to date too (the writer thread folds in bulk, so
        readers rarely need to): many new rows are folded by a helper thread while DuckDB
        writes (it releases the GIL), few in the calling thread first.
        """
        if self._detached:
            with self._lock:
                self._pending, self._pending_rows, self._global_pending = [], 0, []
                self._unfolded = []
            return
        if self.read_only:  # nothing is written; what was appended stays readable
            self.fold_stats()
            return
        with self._lock:
            many = sum(len(c) for c in self._unfolded) >= PARALLEL_FOLD_ROWS
        if not many:
            self.fold_stats()
            self._flush_pending()
            return
        folding = _Folding(self.fold_stats)
        try:
            self._flush_pending()
        except BaseException:
            folding.join(reraise=False)  # the write's error is the one to report
            raise
        folding.join()

    def _flush_pending(self) -> None:
        """The DuckDB part of :meth:`flush`."""
        with self._flush_lock:
            with self._lock:
                chunks, self._pending, self._pending_rows = self._pending, [], 0
                glob, self._global_pending = self._global_pending, []
                signals = list(self._signal_ids.items())
                exps = list(self._exp_ids.items())
            new_dims = (len(signals) > self._written["signals"]
                        or len(exps) > self._written["experiments"])
            dims = self._sample_dims(self._written["samples"])
            new_rows = len(dims[0]) > 0
            if not (chunks or glob or ((new_dims or new_rows)
                                       and (self._con is not None or self.persist_samples))):
                if self._con is not None:  # nothing new, but the copy may have runs to do
                    self._by_row.extend(self._con)
                return  # nothing recorded yet: create no file
            try:
                self._write(chunks, glob, signals, exps, dims)
            except BaseException:
                with self._lock:  # put the rows back: nothing recorded is lost
                    self._pending[:0] = chunks
                    self._pending_rows += sum(len(c) for c in chunks)
                    self._global_pending[:0] = glob
                raise
            self._by_row.extend(self._con)  # a sorted run, once the unsorted tail is long

    def _write(self, chunks, glob, signals, exps, dims) -> None:
        import pyarrow as pa

        con = self._connect()
        con.execute("BEGIN")
        try:
            for table, items in (("signals", signals), ("experiments", exps)):
                new = items[self._written[table]:]
                if new:
                    con.executemany(f"INSERT INTO {table} VALUES (?, ?)", [(i, n) for n, i in new])
            ids, annotations, origins = dims
            if len(ids):
                start, (codes, names) = self._written["samples"], origins
                if isinstance(ids, np.ndarray):  # int ids: converted by Arrow, no str per id
                    text, is_int = pa.array(ids).cast(pa.string()), np.ones(len(ids), bool)
                else:
                    text, is_int = [str(s) for s in ids], [isinstance(s, int) for s in ids]
                con.from_arrow(pa.table({
                    "row": np.arange(start, start + len(ids), dtype=np.int64),
                    "sample_id": text, "id_is_int": is_int,
                    "annotation_id": np.asarray(annotations, dtype=np.int32),
                    "origin": np.asarray(names, dtype=object)[codes]})).insert_into("samples")
            for part in _global_parts(glob):  # in the order recorded
                if isinstance(part, GlobalPoints):
                    n = len(part.columns["step"])
                    con.from_arrow(pa.table({"signal": np.full(n, part.signal, np.int32),
                                             **_typed_points(part.columns)})
                                   ).insert_into("global_history")
                elif isinstance(part, GlobalBlock):  # its constant columns made by DuckDB
                    points = con.from_arrow(pa.table({"step": part.steps,
                                                      "value": part.values}))
                    points.project(f"{int(part.signal)}::INTEGER, step, value, value, value, "
                                   f"1::BIGINT, {int(part.exp)}::INTEGER"
                                   ).insert_into("global_history")
                else:
                    con.from_arrow(pa.table(part)).insert_into("global_history")
            logged = 0
            if chunks:
                cols = concat_chunks(chunks)
                logged = len(cols["row"])
                con.from_arrow(pa.table(cols)).insert_into("sample_history")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        self._by_row.appended(logged)
        self._written["signals"] = len(signals)
        self._written["experiments"] = len(exps)
        self._written["samples"] += len(ids)

    def _connect(self):
        if self._con is None:
            import duckdb

            self.path = Path(self._path())
            if self.read_only:
                self._con = _connect_read_only(self.path, self._by_row)
                return self._con
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._con = duckdb.connect(str(self.path))
            # DuckDB keeps every block it wrote or read (up to 80% of RAM by default) and its
            # allocator caches what it freed: at 10M history rows that was a few hundred MiB
            # of the process. Bounded here; what a query needs beyond it spills to disk.
            self._con.execute(f"SET memory_limit = '{DUCKDB_MEMORY}'; "
                              "SET allocator_flush_threshold = '8MB'; "
                              "SET allocator_bulk_deallocation_flush_threshold = '8MB'")
            self._con.execute(_SCHEMA + COPY_SCHEMA)
            self._by_row.open(self._con)
        return self._con

    def close(self) -> None:
        """Flush what is left and close the file. Safe to call twice."""
        self.flush()
        with self._flush_lock:
            if self._con is not None:
                self._con.close()
                self._con = None


#: DuckDB's buffer pool limit for the history file: at 1M samples x 10 epochs, point queries
#: stay at ~2.5 ms (p95) and a grid page sorted by a statistic at <1 ms (bench/scale.py), while
#: the process's peak RSS drops by ~25 MiB against 128 MB (~60 against 192 MB).
DUCKDB_MEMORY = "96MB"


def _connect_read_only(path: Path, by_row: RowOrderedCopy):
    """A read-only connection to an existing history file (nothing created or written)."""
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        con.execute(f"SET memory_limit = '{DUCKDB_MEMORY}'")
        tables = {name for (name,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()"
        ).fetchall()}
        if "sample_by_row" in tables:  # files of earlier versions have no copy
            by_row.open(con)
        else:
            by_row.logged = con.execute("SELECT count(*) FROM sample_history").fetchone()[0]
    except BaseException:
        con.close()
        raise
    return con


class _Folding:
    """``fold()`` run by a helper thread; :meth:`join` waits for it and re-raises its error."""

    def __init__(self, fold: Callable[[], None]):
        self._fold = fold
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="wl-fold", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._fold()
        except BaseException as exc:  # noqa: BLE001 -- handed to the joining thread
            self._error = exc

    def join(self, reraise: bool = True) -> None:
        """Wait for the fold; raise what it raised (with ``reraise``; else log it)."""
        self._thread.join()
        if self._error is not None:
            if not reraise:
                log.error("folding the history statistics failed", exc_info=self._error)
                return
            raise self._error


def _is_marker_hash(exp_hash: str) -> bool:
    """Evaluation markers carry ``<experiment hash>_<N>``."""
    base, sep, n = exp_hash.rpartition("_")
    return bool(sep and base and n.isdigit())


def _empty_sample_columns() -> dict[str, np.ndarray]:
    return {"signal": np.empty(0, np.int32), "row": np.empty(0, np.int64),
            "step": np.empty(0, np.int64), "value": np.empty(0, np.float64),
            "exp": np.empty(0, np.int32)}


def _filter(cols: dict[str, np.ndarray], rows, sig, exp, step=None) -> dict[str, np.ndarray]:
    mask = np.ones(len(cols["row"]), dtype=bool)
    if isinstance(step, tuple):
        mask &= (cols["step"] >= step[0]) & (cols["step"] <= step[1])
    elif step is not None:
        mask &= cols["step"] == step
    if rows is not None:
        mask &= np.isin(cols["row"], rows)
    if sig is not None:
        mask &= cols["signal"] == sig
    if exp is not None:
        mask &= cols["exp"] == exp
    return {k: v[mask] for k, v in cols.items()}


_GLOBAL_COLUMNS = ("signal", "step", "mean", "min", "max", "count", "exp")


def _typed_points(columns: dict) -> dict[str, np.ndarray]:
    """Global point columns with the dtypes of the DuckDB table (no cast on insert)."""
    return {k: np.asarray(columns[k], dtype=d) for k, d in GLOBAL_DTYPES.items()}


def _global_parts(pending: list) -> list:
    """Pending global points (tuples, :class:`GlobalBlock` s and :class:`GlobalPoints`, in the
    order recorded) as blocks and column dicts, consecutive tuples merged into one dict."""
    parts, run = [], []
    for item in pending:
        if isinstance(item, tuple):
            run.append(item)
            continue
        if run:
            parts.append(dict(zip(_GLOBAL_COLUMNS, map(list, zip(*run)))))
            run = []
        parts.append(item)
    if run:
        parts.append(dict(zip(_GLOBAL_COLUMNS, map(list, zip(*run)))))
    return parts
