"""The Session: the one object that owns every piece of state of a run.

Module-level functions (``wl.tag_samples(...)``) act on the *current* session, created on first
use. Tests and advanced users create their own (``Session(root_log_dir=...)``) and call the same
methods on it. Every mutation takes ``session.lock`` for a vectorised write only, never across
user code, I/O or a flush.
"""

from __future__ import annotations

import atexit
import functools
import logging
import threading
import time
import weakref
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from weightslab_nb import steering
from weightslab_nb.control import Controller, TrainingHandle
from weightslab_nb.experiment import data_state_digest, default_root_log_dir, experiment_hash
from weightslab_nb.history import HistoryStore
from weightslab_nb.errors import UnknownSampleError
from weightslab_nb.ledger.ids import SampleId, normalize_ids
from weightslab_nb.ledger.query import GridPage, GridQuery, page_rows, select_rows, sortable_columns
from weightslab_nb.ledger.registry import Registry
from weightslab_nb.ledger.sample_table import SampleTable, signal_column, tag_column
from weightslab_nb.ledger.selection import HighlightBus, Selection
from weightslab_nb.ledger.pending import (BatchQueue, PendingBatch, PreparedBatch, check_values,
                                          detach, last_wins)
from weightslab_nb.ledger.sample_table import annotation_ids
from weightslab_nb.watch.batches import class_predictions, per_sample, scalar_targets, to_values
from weightslab_nb.watch.data import last_batch_rows

log = logging.getLogger(__name__)

TAG_MODES = ("add", "remove", "set")
UNASSIGNED_ORIGIN = "unassigned"
HISTORY_STATS = ("mean", "last", "max", "min", "count")
NO_EXPERIMENT = -1  # history rows recorded before any model or hyperparameters were watched


@dataclass
class ChangeCounters:
    """Counters that only grow; panels poll them to know what to refresh."""

    table: int = 0
    history: int = 0
    controller: int = 0
    tags: int = 0
    hyperparameters: int = 0


class Session:
    """All state of one training run: watched objects, samples, history and training control.

    Parameters
    ----------
    root_log_dir : str or Path, optional
        Where the run writes its files (the history database, exports). Default: the
        ``root_log_dir`` key of the watched hyperparameters, else a fresh
        ``./weightslab_runs/<experiment_name>-<timestamp>-<hex>`` directory. Nothing is
        written until the first value is recorded.
    flush_interval : float, default 0.5
        Seconds between background flushes of the history to disk.
    checkpoint_every : int, optional
        Save model and optimizer state every this many training steps (default: the
        ``checkpoint_every`` hyperparameter, else never; :meth:`save_checkpoint` saves on
        demand).

    Reopening: when ``root_log_dir`` (given here, or by the hyperparameters before any data is
    watched) already holds a run, its samples, tags, categorical values, discards, latest
    signals and history are loaded, and the step count continues where it stopped. Watch the
    same data again (same sample ids and origins) to keep training it.

    Use as a context manager to make it current and close it afterwards::

        with Session(root_log_dir=tmp) as s:
            loader = s.watch_or_edit(dataset, flag="data", loader_name="train_loader")
    """

    def __init__(self, root_log_dir: str | Path | None = None, flush_interval: float = 0.5,
                 checkpoint_every: int | None = None):
        self.lock = threading.RLock()
        self.changes = ChangeCounters()
        self.registry = Registry()
        self.table = SampleTable()
        self.selection = Selection()
        self.controller = Controller(on_change=self._controller_changed,
                                     resume_blocker=lambda: self.evaluation.busy())
        self._root_log_dir = Path(root_log_dir) if root_log_dir is not None else None
        self._hp = None
        self._exp_hash: str | None = None
        self._exp_id = NO_EXPERIMENT
        self._loss_column: str | None = None
        self._sinks: dict[str, tuple[str, int]] = {}
        self._pending = BatchQueue()
        self._applied_listeners: list = []
        self.history = HistoryStore(lambda: self.root_log_dir / "history.duckdb", self._sample_dims,
                                    flush_interval=flush_interval, before_flush=self._before_flush)
        self._checkpoint_every = checkpoint_every
        self.steering = None  # weightslab_nb.steering state, once hyperparameters are watched
        self.highlight = HighlightBus()  # the step highlight the curves set and the grid shows
        self._manifest_pending: list[dict] = []
        self._architectures: list[str] = []  # repr of each watched model
        self._hash_inputs: tuple | None = None  # what the current experiment hash was made of
        self._persisted = (0, 0, 0)  # change counters at the last ledger snapshot
        self._next_snapshot = 0.0
        from weightslab_nb.signals import SignalRegistry

        self.signals = SignalRegistry(self)  # @signal registrations; dynamic ones fire on apply
        self.add_applied_listener(self.signals.on_applied)
        from weightslab_nb.evaluation import EvaluationController

        self.evaluation = EvaluationController(self)
        self._closed = False
        self._previous: Session | None = None
        # flush and close the history file when the interpreter exits without close()
        self._at_exit = functools.partial(_close_at_exit, weakref.ref(self))
        atexit.register(self._at_exit)
        if self._root_log_dir is not None:
            self._restore_if_present()

    # ---------------------------------------------------------------- lifecycle
    @property
    def root_log_dir(self) -> Path:
        """The run directory (decided on first use; see the class docstring)."""
        if self._root_log_dir is None:
            name = self._hp.get("experiment_name") if self._hp is not None else None
            self._root_log_dir = default_root_log_dir(name if isinstance(name, str) else None)
        return self._root_log_dir

    def set_root_log_dir(self, path: str | Path) -> None:
        """Choose the run directory; raises ``RuntimeError`` once history was written elsewhere."""
        path = Path(path)
        if self.history.connected and path != self._root_log_dir:
            raise RuntimeError(f"root_log_dir: history is already written under "
                               f"{self._root_log_dir}; set the directory before training starts")
        self._root_log_dir = path
        self._restore_if_present()

    def _restore_if_present(self) -> None:
        """Load the run stored under ``root_log_dir``, if any (only into an empty session)."""
        from weightslab_nb.ledger import persist

        with self.lock:
            if len(self.table) or self.history.connected:
                return
            restored = self.history.restore()
            if restored is None:
                return
            samples, last_step = restored
            for start, end in _runs(samples):
                _, annotation, origin = samples[start]
                self.table.add_samples([s for s, _, _ in samples[start:end]], origin, annotation)
            step = persist.restore(self._root_log_dir, self.table)
            self.controller.step = max(last_step, step or 0)
            self._persisted = (self.changes.table, self.changes.tags, self.table.discard_version)
            self.changes.table += 1
            self.changes.tags += 1
            self._refresh_experiment_hash()
            self.changes.history += 1

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran."""
        return self._closed

    def activate(self) -> "Session":
        """Make this the session that module-level ``wl.*`` functions act on."""
        set_current_session(self)
        return self

    def close(self, timeout: float = 10.0) -> None:
        """Stop training (at the next batch boundary), flush history and close files.

        Safe to call twice. A training thread that does not reach a batch boundary within
        ``timeout`` seconds is left running (it is a daemon thread) and a warning is logged.
        """
        if self._closed:
            return
        self._closed = True
        steering.close(self)
        self.evaluation.close()
        self.controller.stop()
        if not self.controller.join(timeout):
            log.warning("training thread did not stop within %.1f s", timeout)
        self.history.close()  # drains, then saves the ledger and manifest (see _before_flush)
        atexit.unregister(self._at_exit)
        if current_session(create=False) is self:
            set_current_session(self._previous)

    def __enter__(self) -> "Session":
        self._previous = current_session(create=False)
        return self.activate()

    def __exit__(self, *exc) -> None:
        self.close()

    # ---------------------------------------------------------------- watching
    def watch_or_edit(self, obj, obj_name: str | None = None, flag: str | None = None, **kwargs):
        """Register a model, data, optimizer, logger, loss/metric or hyperparameters.

        Parameters
        ----------
        obj : object
            What to watch: a ``torch.nn.Module`` (``flag="model"``), a map-style ``Dataset`` or a
            ``DataLoader`` over one (``"data"``/``"dataset"``/``"dataloader"``), a
            ``torch.optim.Optimizer`` (``"optimizer"``), any logger object (``"logger"``), a
            callable loss or metric (``"loss"``/``"metric"``/``"signal"``) or a dict
            (``"hyperparameters"``/``"hp"``/``"params"``/``"parameters"``).
        obj_name : str, optional
            Name to register under (a loader's ``loader_name``, a signal's name).
        flag : str, optional
            One of the names above, matched exactly. None infers the kind from the type.
        **kwargs
            model: ``device``. data: ``loader_name`` (default ``"train_loader"``), ``origin``
            (default: the loader name without a trailing ``_loader``), ``batch_size`` (default
            32, or the DataLoader's), ``shuffle``, ``drop_last``, ``is_training`` (default: the
            origin is not val/valid/validation/test/eval), ``sample_ids`` (one per dataset
            index; default the index, or the dataset's ``sample_ids`` attribute), ``id_prefix``,
            ``seed``, and any other ``DataLoader`` keyword (``num_workers``, ``collate_fn``...).
            loss/metric: ``signal_name`` or ``name``, ``per_sample`` (default False),
            ``log`` (default True). logger: ``log_dir``.

        Returns
        -------
        The model (moved to ``device``), a :class:`~weightslab_nb.watch.data.WatchedLoader`, the
        optimizer, the logger, a :class:`~weightslab_nb.watch.metric.WatchedSignal`, or a live
        :class:`~weightslab_nb.watch.hyperparameters.HyperParameters` handle.

        Raises
        ------
        ValueError
            Unknown flag (the message lists the accepted ones) or bad argument values.
        TypeError
            An object of the wrong type for its flag, or unexpected keywords.
        """
        from weightslab_nb.watch import watch_or_edit

        return watch_or_edit(self, obj, obj_name, flag, **kwargs)

    def _register(self, kind: str, name: str, obj) -> None:
        with self.lock:
            self.registry.add(kind, name, obj)
            if kind == "model":
                self._architectures = [repr(m) for m in self.registry.all("model").values()]
                self._refresh_experiment_hash()

    def _register_hyperparameters(self, name: str, data: dict):
        from weightslab_nb.watch.hyperparameters import HyperParameters

        handle = HyperParameters(data, on_change=self._hyperparameter_changed)
        with self.lock:
            self._hp = handle
            self.registry.add("hyperparameters", name, handle)
            root = data.get("root_log_dir")
            if root is not None:
                self.set_root_log_dir(root)
            self._refresh_experiment_hash()
        return handle

    def _hyperparameter_changed(self, key: str, value) -> None:
        with self.lock:
            self.changes.hyperparameters += 1
            self._refresh_experiment_hash()

    def _refresh_experiment_hash(self) -> None:
        """Recompute the hash (call under ``self.lock``); a new one is queued for the manifest."""
        if self._hp is None and not self._architectures:
            return  # no experiment yet: nothing defines one
        # what the hash depends on; tag memberships (which move every step) are not part of it
        inputs = (id(self._hp), self.changes.hyperparameters, tuple(self._architectures),
                  self.table.discard_version, self.table.registry_key())
        if inputs == self._hash_inputs:
            return
        self._hash_inputs = inputs
        hp = self._hp.to_dict() if self._hp is not None else {}
        new = experiment_hash(hp, self._architectures, data_state_digest(self.table))
        if new == self._exp_hash:
            return
        self._exp_hash = new
        self._exp_id = self.history.experiment_id(new)
        models = self._architectures
        tags = self.table.tag_names()
        pending = self._manifest_pending
        if pending and pending[-1]["recorded_before"] == self.changes.history:
            pending.pop()  # nothing was recorded under that hash: only the newer one matters
        pending.append({
            "recorded_before": self.changes.history,
            "experiment_hash": new, "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "step": self.controller.step, "hyperparameters": hp, "models": models,
            "discarded": int(self.table.discarded[: len(self.table)].sum()), "tags": tags})

    # ---------------------------------------------------------------- persistence
    def _before_flush(self) -> None:
        """Run by every history flush (writer thread, close): apply queued batches, then save
        the manifest and, when the ledger changed, a snapshot of it."""
        from weightslab_nb.experiment import Manifest
        from weightslab_nb.ledger import persist

        self.drain()
        with self.lock:
            entries, self._manifest_pending = self._manifest_pending, []
            state = (self.changes.table, self.changes.tags, self.table.discard_version)
            # registering samples alone is not worth a file; recordings, tags and discards are
            worth = self.history.has_data() or state[1:] != self._persisted[1:]
            due = state != self._persisted and worth and (
                self._closed or time.monotonic() >= self._next_snapshot)
            if due:
                cols, registry = persist.snapshot(self.table)
                step = self.controller.step
        if not (entries or due) or not (due or self.history.has_data()):
            self._manifest_pending[:0] = entries
            return
        if entries:
            Manifest(self.root_log_dir).record(
                [{k: v for k, v in e.items() if k != "recorded_before"} for e in entries])
        if due:
            started = time.monotonic()
            persist.save(self.root_log_dir, cols, registry, step)
            self._persisted = state
            # keep snapshots to a small share of the time: at least 5 s apart
            self._next_snapshot = time.monotonic() + max(5.0, 20 * (time.monotonic() - started))

    def save_checkpoint(self) -> Path:
        """Save every watched model's and optimizer's state now; return the file.

        The file is ``<root_log_dir>/checkpoints/<experiment hash>/step_<step>.pt``. Call it
        between steps (from the training loop, or while paused) for a consistent state.
        """
        from weightslab_nb.experiment import save_checkpoint

        return save_checkpoint(self.root_log_dir, self._exp_hash, self.controller.step,
                               self.registry.all("model"), self.registry.all("optimizer"))

    def load_checkpoint(self, path: str | Path) -> int:
        """Load a checkpoint into the watched models and optimizers (by name); return its step.

        Raises ``KeyError`` if a watched model or optimizer is missing from the file.
        """
        from weightslab_nb.experiment import load_checkpoint

        return load_checkpoint(Path(path), self.registry.all("model"),
                               self.registry.all("optimizer"))

    def _after_step(self, step: int) -> None:
        """Called by training loaders after each step: pending hyperparameter changes, then
        periodic checkpoints."""
        steering.apply_pending(self, step)
        every = self._checkpoint_every
        if every is None and self._hp is not None:
            every = self._hp.get("checkpoint_every")
        if every and step % int(every) == 0:
            self.save_checkpoint()

    def get_current_experiment_hash(self) -> str | None:
        """Hash of the current hyperparameters and model architecture (24 hex digits).

        None until a model or hyperparameters are watched.
        """
        return self._exp_hash

    def _register_samples(self, sample_ids: list, origin: str,
                          targets: np.ndarray | None) -> np.ndarray:
        with self.lock:
            rows = self.table.add_samples(sample_ids, origin)
            if targets is not None:
                self.table.write_column("target", rows, targets)
            self.changes.table += 1
        return rows

    def _sample_dims(self, start: int) -> tuple[list, list, list]:
        with self.lock:
            n = len(self.table)
            ids = self.table.sample_id[start:n].tolist()
            annotations = self.table.annotation_id[start:n].tolist()
            codes = self.table.origin_code[start:n]
            return ids, annotations, [self.table.origins[c] for c in codes]

    # ---------------------------------------------------------------- recording (hot path)
    def record_batch(self, name: str, batch_ids, values, preds=None, targets=None,
                     step: int | None = None, log: bool = True) -> None:
        """Record one per-sample value for each sample of a batch.

        Parameters
        ----------
        name : str
            Signal name; the table column is ``signals//<name>``.
        batch_ids : LongTensor, ndarray or sequence of int/str, length B
        values : Tensor, ndarray or sequence, shape ``[B]`` or ``[B, ...]`` (averaged per sample)
        preds, targets : optional
            ``[B, C]`` scores or ``[B]`` values; ``[B]`` targets. Stored as ``prediction`` /
            ``target`` when they have one value per sample, ignored otherwise.
        step : int, optional
            Defaults to the current training step.
        log : bool, default True
            Also record the batch mean/min/max as one global point.

        Shapes are checked at once; the conversion to numpy and the writes happen when the
        batch is applied, in bulk, by the next reader or the history writer (within
        ``flush_interval``). Tensors are referenced until then, not copied: do not modify them
        in place after recording (losses and model outputs never are in an ordinary loop).

        Raises
        ------
        UnknownSampleError
            If an id was never registered by a watched loader (nothing is recorded).
        ValueError
            If ``values`` does not have one entry per id.
        """
        rows = last_batch_rows(self, batch_ids)
        if rows is None:
            rows = self.table.rows_for(batch_ids, argument="batch_ids")
        values = check_values(values, len(rows), f"values (signal {name!r})")
        buffer = self.evaluation.buffer
        if buffer is not None and buffer.thread is threading.current_thread():
            buffer.add_samples(name, rows, per_sample(to_values(values, name), len(rows), name),
                               class_predictions(detach(preds), len(rows)),
                               scalar_targets(detach(targets), len(rows)))
            return  # evaluation mode: kept apart from the training curves until the pass ends
        self._enqueue(name, rows, values, detach(preds), detach(targets), step, log)

    def _sink(self, name: str) -> tuple[str, int]:
        """(table column, history signal id) of a signal name, cached."""
        sink = self._sinks.get(name)
        if sink is None:
            column = signal_column(name)
            sink = self._sinks[name] = (column, self.history.signal_id(_history_name(column)))
        return sink

    def _enqueue(self, name, rows, values, preds, targets, step, log, exp=None) -> None:
        """Hand a validated batch over to the queue (the hot path: no conversion, no lock
        beyond one list append). ``exp`` overrides the current experiment id."""
        column, sig = self._sink(name)
        if self._loss_column is None:
            self._loss_column = column
        step = self.controller.step if step is None else int(step)
        self._pending.put(PendingBatch(column, sig, rows, values, preds, targets, step,
                                       self._exp_id if exp is None else exp, log))
        self.changes.table += 1
        if log:
            self.changes.history += 1
        self.history.wake_soon()

    def drain(self) -> None:
        """Apply every batch recorded so far to the sample table and history buffers.

        Readers call it before reading; the history writer calls it before each flush. Values
        that dynamic signals record while a drain runs are applied too (a few rounds at most).
        Must not be called while holding ``session.lock``.
        """
        for _ in range(4):
            if not self._pending.drain(self._apply_batches) or not len(self._pending):
                return

    def _apply_batches(self, batches: list[PreparedBatch]) -> None:
        by_column: dict[str, list[PreparedBatch]] = {}
        for p in batches:
            by_column.setdefault(p.batch.column, []).append(p)
        with self.lock:
            for column, group in by_column.items():
                rows = np.concatenate([p.batch.rows for p in group])
                values = np.concatenate([p.values for p in group])
                steps = np.concatenate([np.full(len(p.values), p.batch.step) for p in group])
                rows_l, values_l, steps_l = last_wins(rows, values, steps)
                self.table.write_signal(rows_l, column, values_l)
                self.table.last_step[rows_l] = steps_l
            for attr in ("preds", "targets"):
                known = [p for p in batches if getattr(p, attr) is not None]
                if known:
                    rows, values = last_wins(np.concatenate([p.batch.rows for p in known]),
                                             np.concatenate([getattr(p, attr) for p in known]))
                    column = "prediction" if attr == "preds" else "target"
                    self.table.write_column(column, rows, values)
        for p in batches:
            b = p.batch
            self.history.append_samples(b.signal, b.step, b.rows, p.values, b.exp, p.stats)
        for listener in self._applied_listeners:
            try:  # e.g. dynamic signals; they may call session methods (drain re-enters)
                listener(batches)
            except Exception:
                log.exception("an applied-batch listener failed")

    def add_applied_listener(self, listener) -> None:
        """Call ``listener(batches)`` after each bulk apply, from the draining thread, with the
        :class:`~weightslab_nb.ledger.pending.PreparedBatch` list just applied. No session lock
        is held then: the listener may read and write through session methods."""
        self._applied_listeners.append(listener)

    def record_scalar(self, name: str, value: float, count: int = 1, vmin: float | None = None,
                      vmax: float | None = None, step: int | None = None) -> None:
        """Record one global point (mean ``value``, band ``[vmin, vmax]``) for ``name``."""
        buffer = self.evaluation.buffer
        if buffer is not None and buffer.thread is threading.current_thread():
            buffer.add_scalar(name, value, value if vmin is None else vmin,
                              value if vmax is None else vmax, count)
            return
        step = self.controller.step if step is None else int(step)
        sig = self.history.signal_id(name)
        self.history.append_global(sig, step, value, value if vmin is None else vmin,
                                   value if vmax is None else vmax, count, self._exp_id)
        self.changes.history += 1

    def save_signals(self, signals: dict, batch_ids, preds_raw=None, targets=None, preds=None,
                     step: int | None = None, log: bool = True) -> None:
        """Record per-sample signals of one batch, with optional predictions and targets.

        Parameters
        ----------
        signals : dict[str, Tensor | ndarray | float]
            Name -> values of shape ``[B]`` (``[B, ...]`` is averaged per sample; a scalar is
            broadcast to the batch). Names may carry the ``signals//`` prefix or not.
        batch_ids : sequence of int/str or LongTensor, length B
            Ids not seen before are added (origin ``"unassigned"``).
        preds_raw : ``[B, C]`` scores, optional
            Their argmax is stored as the prediction when ``preds`` is not given.
        targets : ``[B]``, optional
        preds : ``[B]``, optional
        step : int, optional
            Defaults to the current training step.
        log : bool, default True
            Also record each signal's batch mean/min/max as a global curve point.

        Raises
        ------
        TypeError, ValueError
            Wrong types, or a signal whose first dimension is not B; nothing is recorded then.
        """
        if not isinstance(signals, dict) or not signals:
            raise TypeError("signals: expected a non-empty dict of name -> values")
        try:  # known ids: vectorised look-up
            rows, ids = self.table.rows_for(batch_ids, argument="batch_ids"), None
            n = len(rows)
        except UnknownSampleError:
            rows, ids = None, normalize_ids(batch_ids, "batch_ids")
            n = len(ids)
        checked = []
        for name, values in signals.items():
            if not isinstance(name, str) or not name:
                raise TypeError(f"signals: names must be non-empty strings, got {name!r}")
            checked.append((name, check_values(values, n, f"signals[{name!r}]")))
        preds = detach(preds if preds is not None else preds_raw)
        if rows is None:
            with self.lock:
                unknown = [s for s in ids if not self.table.has(s)]
                self.table.add_samples(unknown, UNASSIGNED_ORIGIN)
                rows = self.table.rows_for(ids, argument="batch_ids")
        for i, (name, values) in enumerate(checked):
            self._enqueue(name, rows, values, preds if i == 0 else None,
                          detach(targets) if i == 0 else None, step, log)

    def save_instance_signals(self, signals: dict, batch_ids, batch_idx, step: int | None = None,
                              origin: str | None = None, targets=None, log: bool = True) -> None:
        """Record per-instance values (detection boxes, segmentation masks) of one batch.

        Parameters
        ----------
        signals : dict[str, Tensor | ndarray]
            Name -> flat values, one per instance (length N, all instances of the batch).
        batch_ids : sequence of int/str or LongTensor, length B
            The sample id of each batch position.
        batch_idx : sequence of int or LongTensor, length N
            For each instance, the batch position (0..B-1) of its sample.
        step : int, optional
            Defaults to the current training step.
        origin : str, optional
            Origin of samples not registered yet (default ``"unassigned"``); known samples keep
            theirs.
        targets : length-N sequence, optional
            One target per instance; stored when each is a single number.
        log : bool, default True
            Also record each signal's mean/min/max over the instances as a global point.

        Instances get annotation ids 1, 2, ... in the order they appear for each sample within
        this call (annotation id 0 is the sample's own row); the values land at
        ``(sample_id, annotation_id)`` rows of the sample table and in the instance history.

        Raises
        ------
        ValueError
            A ``batch_idx`` entry outside ``0..B-1`` or a signal whose length is not N; nothing
            is recorded then.
        TypeError
            Non-numeric values or ids of the wrong type.
        """
        if not isinstance(signals, dict) or not signals:
            raise TypeError("signals: expected a non-empty dict of name -> values")
        ids = normalize_ids(batch_ids, "batch_ids")
        positions = np.asarray(to_values(batch_idx, "batch_idx"))
        if positions.ndim != 1 or not np.all(positions == np.round(positions)):
            raise ValueError("batch_idx: expected a flat sequence of integer batch positions")
        positions = positions.astype(np.int64)
        if positions.size and (positions.min() < 0 or positions.max() >= len(ids)):
            raise ValueError(f"batch_idx: positions must lie in 0..{len(ids) - 1}")
        checked = [(name, check_values(values, len(positions), f"signals[{name!r}]"))
                   for name, values in signals.items()]
        annotation = annotation_ids(positions)
        with self.lock:
            unknown = [s for s in ids if not self.table.has(s)]
            if unknown:
                self.table.add_samples(unknown, origin or UNASSIGNED_ORIGIN)
            sample_rows = self.table.rows_for(ids, argument="batch_ids")
            rows = np.empty(len(positions), dtype=np.int64)
            for ann in np.unique(annotation):
                at = np.flatnonzero(annotation == ann)
                for code in np.unique(self.table.origin_code[sample_rows[positions[at]]]):
                    part = at[self.table.origin_code[sample_rows[positions[at]]] == code]
                    rows[part] = self.table.add_samples([ids[p] for p in positions[part]],
                                                        self.table.origins[code], int(ann))
            self.changes.table += 1
        for i, (name, values) in enumerate(checked):
            self._enqueue(name, rows, values, None, detach(targets) if i == 0 else None, step,
                          log)

    # ---------------------------------------------------------------- tags and discards
    def tag_samples(self, sample_ids, tag: str, mode: str = "add") -> None:
        """Add, remove or set a boolean tag on samples.

        Parameters
        ----------
        sample_ids : int, str or sequence of them
        tag : str
            Tag name; the table column is ``tag:<tag>``. Created by ``"add"``/``"set"``.
        mode : {"add", "remove", "set"}, default "add"
            ``"set"`` replaces the tag's membership within the origins of the given samples: they
            have the tag afterwards, every other sample of those origins loses it. (The reference
            implementation treats "set" as "add"; we implement what the word says.)

        Raises
        ------
        UnknownSampleError
            Unknown ids (nothing changes).
        ValueError
            Bad ``mode``, an empty tag name, ``"remove"`` of a tag that does not exist, or a
            categorical tag's name.
        """
        if mode not in TAG_MODES:
            raise ValueError(f"mode: expected one of {TAG_MODES}, got {mode!r}")
        _check_name(tag, "tag")
        with self.lock:
            rows = self.table.rows_for(sample_ids)
            if mode == "remove":
                if tag_column(tag) not in self.table.bool_tags:
                    raise ValueError(f"tag: no boolean tag named {tag!r}; known tags: "
                                     f"{self.table.tag_names()}")
                self.table.bool_tags[tag_column(tag)][rows] = False
            else:
                col = self.table.ensure_bool_tag(tag)
                if mode == "set":
                    origins = np.unique(self.table.origin_code[rows])
                    col[: len(self.table)][np.isin(self.table.origin_code[: len(self.table)],
                                                   origins)] = False
                col[rows] = True
            self.changes.table += 1
            self.changes.tags += 1
            self._refresh_experiment_hash()

    def register_tag(self, name: str) -> None:
        """Create an empty boolean tag (so panels can offer it before any sample has it)."""
        _check_name(name, "name")
        with self.lock:
            self.table.ensure_bool_tag(name)
            self.changes.tags += 1
            self.changes.table += 1

    def register_categorical_tag(self, name: str, values) -> None:
        """Declare a categorical tag and its allowed values (extends an existing one).

        Parameters
        ----------
        name : str
        values : sequence of str
            Non-empty, distinct strings; order is kept (panels show them in this order).

        Raises
        ------
        TypeError, ValueError
            Values that are not non-empty strings, or a name already used by a boolean tag.
        """
        _check_name(name, "name")
        if isinstance(values, str) or not hasattr(values, "__iter__"):
            raise TypeError(f"values: expected a list of strings, got {type(values).__name__}")
        values = list(values)
        for v in values:
            if not isinstance(v, str) or not v:
                raise TypeError(f"values: every value must be a non-empty string, got {v!r}")
        with self.lock:
            self.table.ensure_categorical(name, list(dict.fromkeys(values)))
            self.changes.tags += 1
            self.changes.table += 1

    def set_categorical_tag(self, sample_ids, tag: str, value: str | None) -> None:
        """Set one value of a categorical tag on samples; ``""`` or None clears it.

        A value not yet registered is added to the tag's values; a tag not yet registered is
        created.

        Raises
        ------
        UnknownSampleError
            Unknown ids (nothing changes).
        TypeError, ValueError
            A non-string value, or a name used by a boolean tag.
        """
        _check_name(tag, "tag")
        if value is not None and not isinstance(value, str):
            raise TypeError(f"value: expected a string, '' or None, got {type(value).__name__}")
        with self.lock:
            rows = self.table.rows_for(sample_ids)
            cat = self.table.ensure_categorical(tag, [])
            cat.codes[rows] = -1 if not value else cat.code_of(value)
            self.changes.table += 1
            self.changes.tags += 1
            self._refresh_experiment_hash()

    def discard_samples(self, sample_ids, discarded: bool = True) -> None:
        """Mark samples as discarded (skipped by watched loaders from the next batch on) or
        restore them with ``discarded=False``.

        Raises
        ------
        UnknownSampleError
            Unknown ids (nothing changes).
        TypeError
            ``discarded`` is not a bool.
        """
        if not isinstance(discarded, (bool, np.bool_)):
            raise TypeError(f"discarded: expected True or False, got {discarded!r}")
        with self.lock:
            rows = self.table.rows_for(sample_ids)
            self.table.set_discarded(rows, bool(discarded))
            self.changes.table += 1
            self._refresh_experiment_hash()

    def get_samples_by_tag(self, tag: str, origin: str | None = "train",
                           limit: int | None = None) -> list[SampleId]:
        """Ids of samples having ``tag`` (a boolean tag, or any value of a categorical one).

        Parameters
        ----------
        tag : str
            ``"name"``, or ``"name=value"`` for one value of a categorical tag.
        origin : str or None, default "train"
            An origin or a loader name (``"train_loader"`` means ``"train"``); None for all.
        limit : int, optional
            At most this many ids, in table order.

        Raises
        ------
        ValueError
            Unknown tag or origin, or a negative limit.
        """
        from weightslab_nb.ledger.query import _tag_filter

        with self.lock:
            mask = _tag_filter(self.table, tag) & self._origin_mask(origin)
            return self._ids_limited(mask, limit)

    def get_discarded_samples(self, origin: str | None = "train",
                              limit: int | None = None) -> list[SampleId]:
        """Ids of discarded samples of ``origin`` (an origin or loader name; None for all)."""
        with self.lock:
            n = len(self.table)
            mask = self.table.discarded[:n] & self._origin_mask(origin)
            return self._ids_limited(mask, limit)

    def resolve_origin(self, origin: str) -> str:
        """The origin meant by ``origin``: itself, or the origin of a loader of that name.

        Raises ``ValueError`` listing the known origins when neither matches.
        """
        if origin in self.table.origins:
            return origin
        loader = self.registry.all("data").get(origin)
        if loader is not None:
            return loader.origin
        raise ValueError(f"origin: unknown origin {origin!r}; "
                         f"known: {self.table.origins or 'none'}")

    def _origin_mask(self, origin: str | None) -> np.ndarray:
        n = len(self.table)
        mask = self.table.annotation_id[:n] == 0
        if origin is not None:
            code = self.table.origins.index(self.resolve_origin(origin))
            mask &= self.table.origin_code[:n] == code
        return mask

    def _ids_limited(self, mask: np.ndarray, limit: int | None) -> list[SampleId]:
        if limit is not None and (not isinstance(limit, int) or limit < 0):
            raise ValueError(f"limit: expected a non-negative int or None, got {limit!r}")
        rows = np.flatnonzero(mask)
        if limit is not None:
            rows = rows[:limit]
        return self.table.ids_of(rows)

    # ---------------------------------------------------------------- history queries
    def query_signal_history(self, signal_name: str, exp_hash: str | None = None) -> list[tuple]:
        """Every per-sample value of a signal: ``[(sample_id, step, value, experiment_hash)]``.

        Sorted by sample (table order) then step. ``exp_hash`` restricts to one run.
        """
        self.drain()
        cols = self.history.query_samples(signal=_history_name(signal_name), exp_hash=exp_hash)
        _, exps = self.history.names_by_id()
        ids = self.table.sample_id[cols["row"]]
        return [(sid, int(st), float(v), exps.get(int(e)))
                for sid, st, v, e in zip(ids, cols["step"], cols["value"], cols["exp"])]

    def query_sample_history(self, sample_id, signal_name: str | None = None,
                             exp_hash: str | None = None) -> list[tuple]:
        """The logged history of one sample: ``[(signal_name, step, value, experiment_hash)]``.

        Sorted by signal then step.

        Raises
        ------
        UnknownSampleError
            If ``sample_id`` is not known.
        """
        rows = self.table.rows_for([sample_id], argument="sample_id")
        self.drain()
        cols = self.history.query_samples(rows=rows, signal=None if signal_name is None else
                                          _history_name(signal_name), exp_hash=exp_hash)
        sigs, exps = self.history.names_by_id()
        return [(sigs[int(s)], int(st), float(v), exps.get(int(e)))
                for s, st, v, e in zip(cols["signal"], cols["step"], cols["value"], cols["exp"])]

    def query_instance_history(self, sample_id, annotation_id: int, signal_name: str | None = None,
                               exp_hash: str | None = None) -> list[tuple]:
        """The logged history of one instance: ``[(signal_name, step, value, experiment_hash)]``.

        ``annotation_id`` is 1-based (0 is the sample's own row, see
        :meth:`query_sample_history`). Sorted by signal then step.

        Raises
        ------
        UnknownSampleError
            If the ``(sample_id, annotation_id)`` pair is not known.
        """
        if isinstance(annotation_id, bool) or not isinstance(annotation_id, (int, np.integer)):
            raise TypeError(f"annotation_id: expected an int, got {annotation_id!r}")
        rows = self.table.rows_for([sample_id], annotation_id=int(annotation_id),
                                   argument="sample_id/annotation_id")
        self.drain()
        cols = self.history.query_samples(rows=rows, signal=None if signal_name is None else
                                          _history_name(signal_name), exp_hash=exp_hash)
        sigs, exps = self.history.names_by_id()
        return [(sigs[int(s)], int(st), float(v), exps.get(int(e)))
                for s, st, v, e in zip(cols["signal"], cols["step"], cols["value"], cols["exp"])]

    def history_frame(self, layer: str, signals=None, exp_hash: str | None = None,
                      sample_ids=None, annotation_ids=None):
        """One history layer as a pandas DataFrame (the source of ``write_history``).

        Parameters
        ----------
        layer : {"global", "sample", "instance"}
        signals : str or list of str, optional
            Keep these signal names only.
        exp_hash : str, optional
            Keep one run; None keeps every run.
        sample_ids, annotation_ids : optional
            Keep these samples / annotation ids (ignored by the global layer; annotation ids
            only filter the instance layer). Unknown ids match nothing.

        Returns
        -------
        DataFrame
            global: ``graph_name, experiment_hash, step, metric_value, metric_min, metric_max,
            count``; sample: ``graph_name, experiment_hash, sample_id, step, metric_value``;
            instance: the sample columns plus ``annotation_id``. Global rows are sorted by name
            and step; the others by sample-table row (the order samples were registered),
            signal and step.
        """
        import pandas as pd

        if layer not in ("global", "sample", "instance"):
            raise ValueError(f"layer: expected 'global', 'sample' or 'instance', got {layer!r}")
        names = [signals] if isinstance(signals, str) else \
            (None if signals is None else list(signals))
        self.drain()
        sig_names, exps = self.history.names_by_id()
        name_of = _lookup_array(sig_names)
        hash_of = _lookup_array(exps)  # index -1 (no experiment) gives None
        if layer == "global":
            parts = [self.history.query_global(_history_name(n), exp_hash) for n in names] \
                if names is not None else [self.history.query_global(None, exp_hash)]
            parts = parts or [self.history.query_global("", None)]  # no names: no rows
            cols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
            frame = pd.DataFrame({
                "graph_name": name_of[cols["signal"]],
                "experiment_hash": hash_of[cols["exp"]],
                "step": cols["step"], "metric_value": cols["mean"], "metric_min": cols["min"],
                "metric_max": cols["max"], "count": cols["count"]})
            return frame.sort_values(["graph_name", "step"], kind="stable", ignore_index=True)
        cols = self.history.query_samples(exp_hash=exp_hash)
        with self.lock:
            ann = self.table.annotation_id[cols["row"]]
            keep = ann == 0 if layer == "sample" else ann >= 1
            if names is not None:
                wanted = [self.history._signal_ids.get(_history_name(n), -1) for n in names]
                keep &= np.isin(cols["signal"], wanted)
            if sample_ids is not None:
                wanted_ids = set(normalize_ids(sample_ids, "sample_id"))
                keep &= np.fromiter((s in wanted_ids for s in self.table.sample_id[cols["row"]]),
                                    dtype=bool, count=len(keep))
            if layer == "instance" and annotation_ids is not None:
                keep &= np.isin(ann, np.atleast_1d(np.asarray(annotation_ids, dtype=np.int64)))
            rows = cols["row"][keep]
            data = {"graph_name": name_of[cols["signal"][keep]],
                    "experiment_hash": hash_of[cols["exp"][keep]],
                    "sample_id": self.table.sample_id[rows].tolist()}
            if layer == "instance":
                data["annotation_id"] = self.table.annotation_id[rows].astype(np.int64)
        data["step"] = cols["step"][keep]
        data["metric_value"] = cols["value"][keep]
        return pd.DataFrame(data)

    def signal(self, name=None, subscribe_to=None, compute_every_n_steps: int = 1,
               include_history: bool = False, include_history_metadata: bool = False,
               log: bool = True, batched: bool = False):
        """Decorator registering a custom signal with this session; see
        :func:`weightslab_nb.signals.signal`."""
        from weightslab_nb.signals import signal

        return signal(name, subscribe_to, compute_every_n_steps, include_history,
                      include_history_metadata, log, batched, session=self)

    def compute_signals(self, dataset_or_loader=None, origin=None, signals=None, *,
                        progress: bool = True, chunk_size: int = 256) -> dict:
        """Run static signals over a watched loader; see
        :func:`weightslab_nb.signals.compute_signals`."""
        from weightslab_nb.signals import compute_signals

        return compute_signals(dataset_or_loader, origin, signals, session=self,
                               progress=progress, chunk_size=chunk_size)

    def auto_tag_loss_shapes(self, signal_name: str, tag: str = "loss_shape",
                             every_n_steps: int = 25, name: str | None = None):
        """Keep a categorical tag of loss-trajectory shapes current; see
        :func:`weightslab_nb.loss_shapes.auto_tag_loss_shapes`."""
        from weightslab_nb.loss_shapes import auto_tag_loss_shapes

        return auto_tag_loss_shapes(signal_name, tag, every_n_steps, session=self, name=name)

    def request_evaluation(self, loader_name: str, tags=None, timeout: float | None = None,
                           resume: bool = False):
        """Evaluate a watched loader while training is paused; returns at once.

        Parameters
        ----------
        loader_name : str
            A watched loader's name (``"val_loader"``) or origin (``"val"``).
        tags : str or sequence of str, optional
            Evaluate only samples having every tag (``"name"`` or ``"name=value"``).
        timeout : float, optional
            Seconds after which the pass is abandoned (state ``"timed_out"``).
        resume : bool, default False
            Resume training after a successful evaluation (else it stays paused).

        Returns
        -------
        EvaluationRequest
            ``.wait(timeout)``, ``.cancel()``, ``.state``, ``.result``, ``.summary``.

        Raises
        ------
        KeyError
            Unknown loader. ``ValueError``: unknown tags, an empty subset, a full queue.

        See :mod:`weightslab_nb.evaluation` for what a pass records.
        """
        return self.evaluation.request(loader_name, tags, timeout, resume)

    def run_pending_evaluation(self, loaders=None, model=None, eval_fn=None, device=None) -> bool:
        """Run a pending evaluation in the calling thread (e.g. at the top of a training
        iteration); True if one ran (skip the training step then), False otherwise.

        ``eval_fn`` replaces the registered/default function for this call; ``model`` and
        ``device`` make the default pass use that model and move inputs to ``device``;
        ``loaders`` (names) restricts which pending request this call may run. Safe together
        with the background worker: each request runs once.
        """
        pending = self.evaluation.pending()
        if pending is None or (loaders is not None and pending.loader_name not in loaders):
            return False
        if eval_fn is None and (model is not None or device is not None):
            from weightslab_nb.evaluation import default_eval_fn

            eval_fn = default_eval_fn(self, model=model, device=device)
        return self.evaluation.run_pending(eval_fn)

    def write_history(self, path=None, format: str = "json", type_of_history=None,
                      graph_name=None, experiment_hash=None, sample_id=None, instance_id=None):
        """Export signal history to a file; see
        :func:`weightslab_nb.history.export.write_history`."""
        from weightslab_nb.history.export import write_history

        return write_history(self, path, format, type_of_history, graph_name, experiment_hash,
                             sample_id, instance_id)

    def write_dataframe(self, path=None, format: str = "json", columns=None, sample_id=None,
                        instance_id=None):
        """Export the sample table to a file; see
        :func:`weightslab_nb.history.export.write_dataframe`."""
        from weightslab_nb.history.export import write_dataframe

        return write_dataframe(self, path, format, columns, sample_id, instance_id)

    # ---------------------------------------------------------------- views for users and panels
    @property
    def dataframe(self):
        """The sample table as a pandas DataFrame indexed by ``(sample_id, annotation_id)``."""
        self.drain()
        with self.lock:
            return self.table.dataframe()

    def counts(self) -> tuple[int, int]:
        """(total, active) samples."""
        with self.lock:
            return self.table.counts()

    def origins(self) -> list[str]:
        """Known origins (splits), in the order their first sample was registered."""
        with self.lock:
            return list(self.table.origins)

    def unknown_ids(self, sample_ids) -> list:
        """The ids of ``sample_ids`` that are not in the table (raises ``TypeError`` for ids
        that are neither int nor str)."""
        ids = normalize_ids(sample_ids)
        with self.lock:
            return [s for s in ids if not self.table.has(s)]

    def global_signal_names(self) -> list[str]:
        """Signals with at least one curve point, in the order they first appeared."""
        self.drain()
        return self.history.global_names()

    def global_series(self, name: str, start: int = 0) -> dict[str, np.ndarray]:
        """Points ``start...`` of a signal's curve: ``step, mean, min, max, count, exp`` arrays."""
        self.drain()
        return self.history.global_series(name, start)

    def tag_summary(self) -> dict:
        """Counts per tag: ``{"boolean": {name: n},
        "categorical": {name: {"values": [...], "counts": {value: n}}}}``."""
        with self.lock:
            n = len(self.table)
            out = {"boolean": {c[4:]: int(a[:n].sum()) for c, a in self.table.bool_tags.items()},
                   "categorical": {}}
            for c, cat in self.table.cat_tags.items():
                counts = np.bincount(cat.codes[:n][cat.codes[:n] >= 0], minlength=len(cat.values))
                out["categorical"][c[4:]] = {"values": list(cat.values),
                                             "counts": dict(zip(cat.values, counts.tolist()))}
            return out

    def grid_page(self, query: GridQuery) -> GridPage:
        """One page of the sample grid (see :class:`~weightslab_nb.ledger.query.GridQuery`).

        ``sort_by`` may also be ``"<signals column>@<stat>"`` with stat ``mean``, ``last``,
        ``max``, ``min`` or ``count``: a statistic of each sample's whole history.
        """
        query.validate()
        self.drain()
        history_sort = None
        if query.sort_by is not None and "@" in query.sort_by:
            history_sort = self.history_statistic(*query.sort_by.rsplit("@", 1))
        with self.lock:
            if query.origin is not None:
                query = replace(query, origin=self.resolve_origin(query.origin))
            rows = select_rows(self.table, query, history_sort)
            total, active = self.table.counts()
            page = rows[query.offset : query.offset + query.limit]
            return GridPage(total=total, active=active, matched=len(rows),
                            loss_column=self._loss_column, columns=sortable_columns(self.table),
                            rows=page_rows(self.table, page, self._loss_column))

    def history_statistic(self, signal: str, stat: str) -> np.ndarray:
        """One value per sample-table row: ``stat`` of each row's history of ``signal``.

        Parameters
        ----------
        signal : str
            Signal name, with or without the ``signals//`` prefix.
        stat : {"mean", "last", "max", "min", "count"}

        Returns
        -------
        ndarray, float64, length = number of table rows (NaN where a row has no history).

        Raises
        ------
        ValueError
            Unknown statistic or signal.
        """
        if stat not in HISTORY_STATS:
            raise ValueError(f"stat: expected one of {HISTORY_STATS}, got {stat!r}")
        name = _history_name(signal)
        if name not in self.history.signal_names():
            raise ValueError(f"signal: no history for {signal!r}; known: "
                             f"{self.history.signal_names()}")
        self.drain()
        return self.history.sample_stats(name, len(self.table))[stat].astype(np.float64)

    def sample_series(self, sample_ids, signal: str, max_points: int = 64) -> dict:
        """Recent history of each sample, for sparklines: ``{sample_id: (steps, values)}``.

        At most the last ``max_points`` points per sample (int64 steps, float64 values); samples
        without history map to empty arrays. Unknown ids raise ``UnknownSampleError``.
        """
        rows = self.table.rows_for(sample_ids)
        self.drain()
        cols = self.history.query_samples(rows=rows, signal=_history_name(signal))
        out = {}
        for sid, row in zip(self.table.ids_of(rows), rows.tolist()):
            mine = cols["row"] == row
            out[sid] = (cols["step"][mine][-max_points:], cols["value"][mine][-max_points:])
        return out

    def samples_at_step(self, signal: str, step: int) -> list:
        """Ids of the samples that recorded ``signal`` at training step ``step`` (its batch)."""
        self.drain()
        cols = self.history.query_samples(signal=_history_name(signal), step=int(step))
        return self.table.ids_of(np.unique(cols["row"]))

    def sample_input(self, sample_id):
        """The inputs part of ``dataset[i]`` for a sample (for thumbnails and signals).

        Raises
        ------
        UnknownSampleError
            Unknown id. ``LookupError`` if no watched loader holds the sample.
        """
        from weightslab_nb.watch.batches import unpack_batch

        row = int(self.table.rows_for([sample_id], argument="sample_id")[0])
        origin = self.table.origins[self.table.origin_code[row]]
        for loader in self.registry.loaders():
            if loader.origin == origin:
                try:
                    index = loader.index_of(self.table.sample_id[row])
                except KeyError:
                    continue
                return unpack_batch(loader.dataset[index])[0]
        raise LookupError(f"sample_id: {sample_id!r} is not held by any watched loader")

    # ---------------------------------------------------------------- training
    def start_training(self, train_fn, *args, **kwargs) -> TrainingHandle:
        """Run ``train_fn(*args, **kwargs)`` in a background thread and return at once.

        The function is the user's ordinary training loop over watched loaders. Pause, resume
        and stop take effect at the next batch boundary of a watched training loader (a stop
        raises :class:`~weightslab_nb.errors.TrainingStopped` there, which ends the run
        cleanly). An exception is kept in ``handle.error`` (state ``"error"``), shown in the
        controls panel and logged; it is never swallowed silently.

        Raises
        ------
        RuntimeError
            If a run of this session is still in progress.
        TypeError
            If ``train_fn`` is not callable.
        """
        if not callable(train_fn):
            raise TypeError(f"train_fn: expected a callable, got {type(train_fn).__name__}")
        return self.controller.start(train_fn, args, kwargs)

    def _controller_changed(self) -> None:
        self.changes.controller += 1
        steering.controller_changed(self)

    def __repr__(self) -> str:
        total, active = self.table.counts()
        return (f"<Session {self.controller.state} step={self.controller.step} samples={total} "
                f"active={active} root_log_dir={str(self._root_log_dir)!r}>")


def _lookup_array(names: dict[int, str]) -> np.ndarray:
    """Object array mapping ids 0..n-1 to names, with one extra None slot at the end so that
    id -1 (no experiment) maps to None."""
    out = np.full(max(names, default=-1) + 2, None, dtype=object)
    for i, name in names.items():
        out[i] = name
    return out


def _runs(samples: list[tuple]) -> list[tuple[int, int]]:
    """``[start, end)`` runs of consecutive restored rows sharing annotation id and origin."""
    runs, start = [], 0
    for i in range(1, len(samples) + 1):
        if i == len(samples) or samples[i][1:] != samples[start][1:]:
            runs.append((start, i))
            start = i
    return runs


def _close_at_exit(ref: "weakref.ref[Session]") -> None:
    session = ref()
    if session is not None:
        session.close(timeout=2.0)


def _check_name(name, argument: str) -> None:
    if not isinstance(name, str) or not name or name != name.strip():
        raise ValueError(f"{argument}: expected a non-empty name without surrounding spaces, "
                         f"got {name!r}")


def _history_name(name: str) -> str:
    return name[len("signals//"):] if name.startswith("signals//") else name


# ---------------------------------------------------------------- current session
_current: Session | None = None
_current_lock = threading.Lock()


def current_session(create: bool = True) -> Session | None:
    """The session module-level functions act on; created on first use when ``create``."""
    global _current
    with _current_lock:
        if (_current is None or _current._closed) and create:
            _current = Session()
        return _current


def set_current_session(session: Session | None) -> None:
    """Make ``session`` current (None: the next use creates a fresh one)."""
    global _current
    with _current_lock:
        _current = session


def new_session(**kwargs) -> Session:
    """Create a :class:`Session` with ``kwargs`` and make it current.

    The previous current session is not closed; close it first if it still trains.
    """
    return Session(**kwargs).activate()
