"""The recorder: the one path from the training thread to the sample table and the history.

The training thread hands a validated batch over (:meth:`Recorder.record_rows`: the batch
reduced to what the ledger stores, off its autograd graph and device, and one list append).
One ingest thread (``wl-recorder``) wakes every ``flush_interval`` seconds, or sooner when many
rows wait (``BatchQueue.busy_rows`` queued, or the store's ``flush_rows`` applied), and

1. drains the queue: converts the batches to numpy (the classification evidence of all of them
   at once, :mod:`weightslab_nb.ledger.evidence_bulk`), writes the latest values into the sample
   table under the session lock (one vectorised write per column) and appends them to the
   history store's buffers;
2. calls the ``on_applied`` listeners with the batches (dynamic signals hand them to their own
   thread);
3. flushes the history store to its DuckDB file;
4. calls the ``on_flush`` hooks (snapshots, the edit journal's fsync, tracking runs).

Readers drain too before they read (:meth:`Recorder.drain`), so they see everything recorded
before their call. The store is a passive sink: it never calls back.

A thread may *capture* its recordings instead (:meth:`Recorder.capture`): an evaluation pass
keeps its values apart from the training curves until it commits them.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable

import numpy as np

from weightslab_nb.ledger.convert import class_predictions, per_sample, scalar_targets, to_values
from weightslab_nb.ledger import evidence_bulk
from weightslab_nb.ledger.evidence import evidence_name
from weightslab_nb.ledger.host_copy import batch_to_host
from weightslab_nb.ledger.pending import BatchQueue, PendingBatch, PreparedBatch
from weightslab_nb.ledger.sample_table import bare_signal_name, signal_column
from weightslab_nb.ledger.top_classes import TopClasses

log = logging.getLogger(__name__)

ROUND_ROWS = 1 << 19  # rows a round converts and writes together at most (see Recorder.flush)

HOLD_TIMEOUT = 2.0  # seconds a recording waits at most for room in a full queue

NO_EXPERIMENT = -1  # history rows recorded before any model or hyperparameters were watched


class Capture:
    """What one thread recorded while capturing (see :meth:`Recorder.capture`), converted."""

    def __init__(self, thread: threading.Thread):
        self.thread = thread
        self.samples: dict[str, list[tuple]] = {}  # name -> [(rows, values, preds, targets)]
        self.scalars: dict[str, list[tuple[float, float, float, int]]] = {}

    def add_samples(self, name: str, rows: np.ndarray, values: np.ndarray,
                    preds: np.ndarray | None = None, targets: np.ndarray | None = None) -> None:
        """Keep one batch of per-sample values (and predictions/targets) of signal ``name``."""
        self.samples.setdefault(name, []).append((rows, values, preds, targets))

    def add_scalar(self, name: str, mean: float, vmin: float, vmax: float, count: int) -> None:
        """Keep one scalar (batch-level) value of signal ``name`` with its band and count."""
        self.scalars.setdefault(name, []).append((mean, vmin, vmax, count))

    def summary(self) -> dict[str, tuple[float, float, float, int]]:
        """Signal -> (mean, min, max, count) over everything captured, in order of first record."""
        out = {}
        for name, parts in self.samples.items():
            values = np.concatenate([p[1] for p in parts])
            if len(values):
                out[name] = (float(values.mean()), float(values.min()), float(values.max()),
                             len(values))
        for name, parts in self.scalars.items():
            counts = np.array([p[3] for p in parts], dtype=np.float64)
            means = np.array([p[0] for p in parts])
            out[name] = (float((means * counts).sum() / counts.sum()),
                         min(p[1] for p in parts), max(p[2] for p in parts), int(counts.sum()))
        return out


class Recorder:
    """Queue, bulk apply and ingest thread between the training loop and the ledger.

    Parameters
    ----------
    table : SampleTable
        Written under ``lock``.
    lock : threading.RLock
        The session lock; held for the vectorised writes only.
    store : HistoryStore
        Receives the history rows; flushed by the ingest thread.
    controller : Controller
        Gives the current training step of a recording without an explicit step.
    changes : ChangeCounters
        ``table`` and ``history`` grow with every recording.
    flush_interval : float
        Seconds between two rounds of the ingest thread.

    Attributes
    ----------
    experiment_id : int
        History id of the current experiment hash (the session keeps it current).
    loss_column : str or None
        The first per-sample signal recorded (the grid's default sort column).
    top_classes : dict of str to TopClasses
        Per loss column (with classification evidence): each row's latest top-k classes and
        probabilities (:mod:`weightslab_nb.ledger.top_classes`); written and read under
        ``lock``.
    on_applied : list of callable
        ``fn(batches)`` after each bulk apply, in the draining thread, with the
        :class:`~weightslab_nb.ledger.pending.PreparedBatch` list; no lock is held.
    on_flush : list of callable
        ``fn()`` after each flush of the store (ingest thread, :meth:`flush`, :meth:`close`);
        no lock is held; a failing hook is logged and the others still run.
    captures : dict
        Thread id -> :class:`Capture` of the threads capturing now (read it, never change it:
        a hot path checks it for truthiness instead of calling :meth:`capturing`).
    on_drain : list of callable
        ``fn()`` at the start of every :meth:`drain` (readers, the ingest thread), in the
        draining thread, no lock held: a source that buffers values of its own (a tracking
        run) hands them over there, so readers see them. A failing source is logged.
    """

    def __init__(self, table, lock, store, controller, changes, flush_interval: float = 0.5):
        self.table = table
        self.lock = lock
        self.store = store
        self.controller = controller
        self.changes = changes
        self.flush_interval = flush_interval
        self.queue = BatchQueue()
        self.experiment_id = NO_EXPERIMENT
        self.loss_column: str | None = None
        self.top_classes: dict[str, TopClasses] = {}
        self.on_applied: list[Callable] = []
        self.on_flush: list[Callable[[], None]] = []
        self.on_drain: list[Callable[[], None]] = []
        # under DDP (weightslab_nb.distributed): a rank that feeds a hub elsewhere hands its
        # drained batches and its scalars over instead of applying them; the hub's own
        # batches pass the before_apply hooks first (their curve statistics are merged)
        self.divert: Callable[[list[PreparedBatch]], None] | None = None
        self.divert_scalar: Callable[..., None] | None = None
        self.before_apply: list[Callable[[list[PreparedBatch]], None]] = []
        self._sinks: dict[str, tuple[str, int]] = {}
        self._captures: dict[int, Capture] = {}
        self.captures = self._captures  # read-only outside: truthy while a thread captures
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._thread_lock = threading.Lock()
        self._flushed = threading.Condition()
        self.flushes = 0  # completed rounds of the ingest thread
        self.flush_error: BaseException | None = None

    # ---------------------------------------------------------------- the hot path
    def sink(self, name: str) -> tuple[str, int]:
        """(table column, history signal id) of a signal name, cached."""
        sink = self._sinks.get(name)
        if sink is None:
            column = signal_column(name)
            sink = self._sinks[name] = (column, self.store.signal_id(bare_signal_name(column)))
        return sink

    def record_rows(self, name: str, rows: np.ndarray, values, preds=None, targets=None,
                    step: int | None = None, log: bool = True, exp: int | None = None,
                    evidence: bool = False) -> None:
        """Hand over one validated batch of signal ``name`` for sample-table ``rows``.

        ``values`` is a detached tensor or an array of ``len(rows)`` entries (checked by the
        caller); ``preds``/``targets`` are detached or None. ``step`` defaults to the current
        training step, ``exp`` to the current experiment. With ``evidence=True`` and ``[B, C]``
        scores with class targets, the classification evidence is derived when the batch is
        applied (see :mod:`weightslab_nb.ledger.evidence`). A capturing thread keeps the batch
        in its :class:`Capture` instead. The batch is reduced at once to what the ledger
        stores and moved off the step (:func:`~weightslab_nb.ledger.host_copy.batch_to_host`:
        detached compact CPU tensors, asynchronous copies into pinned memory on CUDA), so no
        autograd graph or large tensor outlives it; the conversion happens in :meth:`drain`.
        """
        if self._captures:
            capture = self._captures.get(threading.get_ident())
            if capture is not None:
                n = len(rows)
                capture.add_samples(name, rows, per_sample(to_values(values, name), n, name),
                                    class_predictions(preds, n), scalar_targets(targets, n))
                return
        column, sig = self._sinks.get(name) or self.sink(name)
        if self.loss_column is None:
            self.loss_column = column
        step = self.controller.step if step is None else int(step)
        values, preds, targets = batch_to_host(values, preds, targets, len(rows), evidence)
        if self.queue.put(PendingBatch(column, sig, rows, values, preds, targets, step,
                                       self.experiment_id if exp is None else exp, log,
                                       evidence)):
            self._wake.set()  # many rows wait: the ingest thread starts on them now
        if self.queue.full:
            self._hold_back()
        changes = self.changes
        changes.table += 1
        if log:
            changes.history += 1
        if self._thread is None:
            self.start()

    def record_scalar(self, name: str, value: float, count: int = 1, vmin: float | None = None,
                      vmax: float | None = None, step: int | None = None) -> None:
        """Record one global point (mean ``value``, band ``[vmin, vmax]``) of ``name``."""
        vmin = value if vmin is None else vmin
        vmax = value if vmax is None else vmax
        capture = self._captures.get(threading.get_ident())
        if capture is not None:
            capture.add_scalar(name, value, vmin, vmax, count)
            return
        step = self.controller.step if step is None else int(step)
        divert = self.divert_scalar
        if divert is not None:
            divert(name, value, count, vmin, vmax, step)
            return
        self.record_point(name, value, count, vmin, vmax, step)

    def record_point(self, name: str, value: float, count: int, vmin: float, vmax: float,
                     step: int) -> None:
        """Record one global point of signal ``name`` as it is, never captured nor diverted
        (the hub of a distributed run records the points it merged from the ranks this way).

        ``value`` is the mean of ``count`` (>= 1) values whose band is ``[vmin, vmax]``, in the
        signal's own unit; ``step`` is the training step (an int >= 0). Nothing is checked
        here and nothing is raised: callers pass what they validated or computed."""
        self.store.append_global(self.store.signal_id(name), step, value, vmin, vmax, count,
                                 self.experiment_id)
        self.changes.history += 1
        self.start()

    def record_scalar_series(self, name: str, steps, values, exp: int | None = None) -> None:
        """Record one global point of ``name`` per ``(step, value)`` in one bulk append (each
        point its own band, count 1). ``steps``, ``values``: equal-length sequences or arrays;
        ``exp`` defaults to the current experiment. Never captured: a caller that captures
        (see :meth:`capture`) records through :meth:`record_scalar` instead."""
        self.store.append_global_many(self.store.signal_id(name), steps, values,
                                      self.experiment_id if exp is None else exp)
        self.changes.history += 1
        self.start()

    @contextlib.contextmanager
    def capture(self):
        """Within the block, the calling thread's recordings go to the yielded
        :class:`Capture` instead of the table and the history."""
        me = threading.current_thread()
        capture = Capture(me)
        self._captures[me.ident] = capture
        try:
            yield capture
        finally:
            self._captures.pop(me.ident, None)

    def capturing(self) -> bool:
        """True when some thread captures its recordings now."""
        return bool(self._captures)

    def _hold_back(self) -> None:
        """Backpressure: the recording thread waits (at most :data:`HOLD_TIMEOUT` seconds)
        until the ingest thread took the backlog of a full queue. Recording then costs the
        training thread time only when it outruns the DuckDB writer for a million rows (a
        loop that records and does nothing else): without it the queue grows by what the
        writer cannot keep up with, hundreds of MB at a million samples. Never waits in the
        ingest thread, inside a drain, or when no ingest thread runs (a closed recorder)."""
        self.wake()
        thread = self._thread
        if thread is None or thread is threading.current_thread() or not thread.is_alive():
            return
        self.queue.wait_for_room(HOLD_TIMEOUT)

    # ---------------------------------------------------------------- applying
    def drain(self, max_rows: int | None = None) -> int:
        """Apply every batch recorded so far (or the oldest, up to about ``max_rows`` rows);
        return how many were applied.

        The ``on_drain`` sources hand over what they buffered first. Must not be called
        while holding ``lock``.
        """
        for source in list(self.on_drain):
            try:
                source()
            except Exception:
                log.exception("a drain source failed")
        return self.queue.drain(self._hand_over, max_rows)

    def _hand_over(self, batches: list[PreparedBatch]) -> None:
        divert = self.divert
        if divert is not None:
            divert(batches)
            return
        for hook in list(self.before_apply):
            hook(batches)
        self._apply(batches)

    def _apply(self, batches: list[PreparedBatch]) -> None:
        by_column: dict[str, list[PreparedBatch]] = {}
        for p in batches:
            by_column.setdefault(p.batch.column, []).append(p)
        with self.lock:
            # the latest value per row: each row's last occurrence in arrival order, written
            # once (SampleTable.last_occurrences: a scatter of positions, no global sort)
            latest = self.table.last_occurrences
            runs = []  # per column: what the history store gets in one append
            for column, group in by_column.items():
                rows = np.concatenate([p.batch.rows for p in group])
                distinct, last = latest(rows)
                values = np.concatenate([p.values for p in group])
                self.table.write_signal(distinct, column, values[last])
                steps = np.fromiter((p.batch.step for p in group), np.int64, len(group))
                sizes = np.fromiter((len(p.values) for p in group), np.int64, len(group))
                ends = np.cumsum(sizes)
                self.table.last_step[distinct] = steps[np.searchsorted(ends, last, "right")]
                runs.append((group, rows, values, steps, sizes))
            for attr in ("preds", "targets"):
                known = [p for p in batches if getattr(p, attr) is not None]
                if known:
                    distinct, last = latest(np.concatenate([p.batch.rows for p in known]))
                    values = np.concatenate([getattr(p, attr) for p in known])
                    column = "prediction" if attr == "preds" else "target"
                    self.table.write_column(column, distinct, values[last])
            by_loss: dict[str, list] = {}  # in recording order: forgetting and votes follow
            for p in batches:              # presentations
                if p.evidence is not None:
                    by_loss.setdefault(p.batch.column, []).append((p.batch.rows, p.evidence))
            for column, parts in by_loss.items():
                evidence_bulk.write(self.table, self.top_classes, column, parts)
        for group, rows, values, steps, sizes in runs:
            self._append_run(group, rows, values, steps, sizes)
        for p in batches:
            if p.evidence is not None:
                b = p.batch
                margin_signal = self.sink(evidence_name(b.column, "margin"))[1]
                self.store.append_samples(margin_signal, b.step, b.rows, p.evidence.margin,
                                          b.exp)
        for listener in list(self.on_applied):
            try:  # e.g. dynamic signals; they may record and drain again (re-entrant)
                listener(batches)
            except Exception:
                log.exception("an applied-batch listener failed")
        if self.store.wants_flush():
            self._wake.set()

    def _append_run(self, group: list[PreparedBatch], rows, values, steps, sizes) -> None:
        """Hand the batches of one column to the history store in one append: their rows and
        values (concatenated, in arrival order) and a global point per logged batch."""
        exps = np.fromiter((p.batch.exp for p in group), np.int32, len(group))
        logged = [k for k, p in enumerate(group) if p.stats is not None]
        points = None
        if logged:
            stats = np.array([group[k].stats for k in logged], dtype=np.float64).reshape(-1, 3)
            points = {"step": steps[logged], "mean": stats[:, 0], "min": stats[:, 1],
                      "max": stats[:, 2], "count": sizes[logged], "exp": exps[logged]}
        # one column is one signal: sink() derives the signal id from the column
        self.store.append_sample_run(group[0].batch.signal, rows, values, steps, sizes, exps,
                                     points)

    # ---------------------------------------------------------------- forking ranks
    @contextlib.contextmanager
    def fork_guard(self):
        """Hold every lock the recorder, its queue and its store take while the caller forks
        processes, so no child inherits a lock held mid-way by a thread that does not exist in
        it (released here afterwards, and in each child by :meth:`after_fork`). The locks are
        taken all-or-none with a short timeout and retried, so the order other threads take
        them in cannot deadlock this."""
        locks = self._fork_locks()
        while not _acquire_all(locks, timeout=0.05):
            pass
        try:
            yield
        finally:
            for lock in reversed(locks):
                lock.release()

    def _fork_locks(self) -> tuple:
        return (self._flush_lock, *self.queue.locks(), self.lock, *self.store.locks())

    def after_fork(self) -> None:
        """In a child forked inside :meth:`fork_guard`: release the inherited locks and forget
        the parent's ingest thread (the next recording starts one in this process)."""
        for lock in reversed(self._fork_locks()):
            lock.release()
        self._thread = None
        self._thread_lock = threading.Lock()
        self._wake = threading.Event()
        self._flushed = threading.Condition()

    # ---------------------------------------------------------------- the ingest thread
    def start(self) -> None:
        """Start the ingest thread if it is not running (cheap when it is)."""
        if self._thread is None and not self._stop.is_set():
            with self._thread_lock:
                if self._thread is None and not self._stop.is_set():
                    self._thread = threading.Thread(target=self._run, name="wl-recorder",
                                                    daemon=True)
                    self._thread.start()

    def wake(self) -> None:
        """Ask the ingest thread for a round now (it is started if needed)."""
        self.start()
        self._wake.set()

    def _run(self) -> None:
        next_round = time.monotonic() + self.flush_interval
        while not self._stop.is_set():
            # rounds start every flush_interval (not flush_interval after the last one ended),
            # so history on disk is never older than one interval plus one round
            self._wake.wait(max(0.0, next_round - time.monotonic()))
            self._wake.clear()
            next_round = time.monotonic() + self.flush_interval
            if self._stop.is_set():
                break
            try:
                self.flush()
            except Exception as exc:  # keep training alive; reported by close()
                self.flush_error = exc
                log.exception("history flush failed")
            with self._flushed:
                self.flushes += 1
                self._flushed.notify_all()

    def wait_for_flush(self, flushes: int = 1, timeout: float | None = None) -> bool:
        """Wait until the ingest thread completed ``flushes`` more rounds; False on timeout."""
        self.wake()
        with self._flushed:
            target = self.flushes + flushes
            return self._flushed.wait_for(lambda: self.flushes >= target, timeout)

    def flush(self) -> None:
        """One round now, from the calling thread: drain, flush the store, run the hooks.

        The queue is drained once before the round's lock too (as any reader may), so the
        batches recorded since the last round are converted and applied while another round
        may still be writing to DuckDB. A backlog longer than ``ROUND_ROWS`` rows (recording
        faster than the file is written) is converted and written in parts of that size, so
        the copies a round makes stay bounded."""
        self.drain(ROUND_ROWS)
        with self._flush_lock:
            while True:  # a long backlog in parts, each written before the next is converted
                self.drain(ROUND_ROWS)
                self.store.flush()
                if not self.queue.rows:
                    break
            for hook in list(self.on_flush):
                try:
                    hook()
                except Exception:
                    log.exception("a flush hook failed")

    def close(self, timeout: float = 10.0) -> None:
        """Stop the ingest thread and run a last round (safe to call twice)."""
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        self.flush()


def _acquire_all(locks, timeout: float) -> bool:
    """Acquire every lock of ``locks`` in order, or none: False (all released) when one of them
    could not be had within ``timeout`` seconds."""
    taken = []
    for lock in locks:
        if not lock.acquire(timeout=timeout):
            for held in reversed(taken):
                held.release()
            return False
        taken.append(lock)
    return True
