"""The Session: the one object that owns every piece of state of a run.

Module-level functions (``wl.tag_samples(...)``) act on the *current* session, created on first
use. Tests and advanced users create their own (``Session(root_log_dir=...)``) and call the same
methods on it. Every mutation takes ``session.lock`` for a vectorised write only, never across
user code, I/O or a flush.

The class is assembled from one mixin per concern, each in its own module:

* :class:`~weightslab_nb.ledger.recording.BatchRecording`: recording values (the hot path) and
  applying them in bulk (``drain``);
* :class:`~weightslab_nb.ledger.tagging.SampleTagging`: tags, categorical tags, discards;
* :class:`~weightslab_nb.history.queries.HistoryQueries`: history queries and series;
* :class:`~weightslab_nb.persistence.RunPersistence`: the run directory (restore, snapshots,
  checkpoints).

This module keeps the state itself (``__init__``), the lifecycle, watching, the experiment hash,
the table views the panels read and training control.
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
from weightslab_nb.errors import InvalidTypeError, StateError
from weightslab_nb.experiment import data_state_digest, default_root_log_dir, experiment_hash
from weightslab_nb.history import HistoryStore
from weightslab_nb.history.queries import HistoryQueries
from weightslab_nb.ledger.ids import normalize_ids
from weightslab_nb.ledger.pending import BatchQueue
from weightslab_nb.ledger.query import GridPage, GridQuery, page_rows, select_rows, sortable_columns
from weightslab_nb.ledger.recording import BatchRecording
from weightslab_nb.ledger.registry import Registry
from weightslab_nb.ledger.sample_table import SampleTable
from weightslab_nb.ledger.selection import HighlightBus, Selection
from weightslab_nb.ledger.tagging import SampleTagging
from weightslab_nb.persistence import RunPersistence

log = logging.getLogger(__name__)

NO_EXPERIMENT = -1  # history rows recorded before any model or hyperparameters were watched


@dataclass
class ChangeCounters:
    """Counters that only grow; panels poll them to know what to refresh."""

    table: int = 0
    history: int = 0
    controller: int = 0
    tags: int = 0
    hyperparameters: int = 0


class Session(BatchRecording, SampleTagging, HistoryQueries, RunPersistence):
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
        self.run = None  # the running wl.init() run (weightslab_nb.tracking), if any
        self._flush_hooks: list = []
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
            raise StateError(f"root_log_dir: history is already written under "
                             f"{self._root_log_dir}; set the directory before training starts")
        self._root_log_dir = path
        self._restore_if_present()

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
        self.drain(timeout=timeout)  # the last batches' dynamic signals run and are applied
        self.signals.close(timeout)
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
        run = self.run
        if run is not None and run.state == "running":
            run.hyperparameter_applied(key, value)  # outside the lock: it logs a row

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

    # ---------------------------------------------------------------- steps and samples

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

    # ---------------------------------------------------------------- signals, evaluation, exports


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

    def grid_page(self, query: GridQuery) -> GridPage:
        """One page of the sample grid (see :class:`~weightslab_nb.ledger.query.GridQuery`).

        ``sort_by`` may also be ``"<signals column>@<stat>"`` with stat ``mean``, ``last``,
        ``max``, ``min`` or ``count``: a statistic of each sample's whole history.
        """
        query.validate()
        self.drain(wait_signals=False)
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
            raise InvalidTypeError(f"train_fn: expected a callable, got {type(train_fn).__name__}")
        return self.controller.start(train_fn, args, kwargs)

    def _controller_changed(self) -> None:
        self.changes.controller += 1
        steering.controller_changed(self)

    def __repr__(self) -> str:
        total, active = self.table.counts()
        return (f"<Session {self.controller.state} step={self.controller.step} samples={total} "
                f"active={active} root_log_dir={str(self._root_log_dir)!r}>")


def _close_at_exit(ref: "weakref.ref[Session]") -> None:
    session = ref()
    if session is not None:
        session.close(timeout=2.0)


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
