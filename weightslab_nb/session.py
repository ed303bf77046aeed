"""The Session: the one object that owns every piece of state of a run (layer L1).

Module-level functions (``wl.tag_samples(...)``) act on the *current* session, resolved by the
facade (:mod:`weightslab_nb.api`). Tests and advanced users create their own
(``Session(root_log_dir=...)``) and call the same methods on it. Every mutation takes
``session.lock`` for a vectorised write only, never across user code, I/O or a flush.

The session owns the core data (layer L0): the :class:`~weightslab_nb.ledger.registry.Registry`
of watched objects, the :class:`~weightslab_nb.ledger.sample_table.SampleTable`, the
:class:`~weightslab_nb.history.HistoryStore`, the
:class:`~weightslab_nb.ledger.recorder.Recorder` that feeds both, and the
:class:`~weightslab_nb.control.Controller`. Its public methods come from one mixin per concern:

* :class:`~weightslab_nb.ledger.recording.BatchRecording`: recording values and ``drain``;
* :class:`~weightslab_nb.ledger.tagging.SampleTagging`: tags, categorical tags, discards;
* :class:`~weightslab_nb.history.queries.HistoryQueries`: history queries and series;
* :class:`~weightslab_nb.ledger.sample_info.SampleInfo`: one sample's row, item, top-k
  classes and class names (the sample detail view).

Features (layer L2: watch wrappers, signals, evaluation, steering...) are handed the session and
attach through its public hooks (:attr:`Session.on_step`, :attr:`Session.on_close`, ...); the
per-session object of a feature (``session.evaluation``, ``session.signals``) is built on first
use by the factory its module declares with :func:`register_feature`. This module imports no
feature: the package's ``__init__`` imports them, which registers them.
"""

from __future__ import annotations

import atexit
import functools
import json
import logging
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from weightslab_nb.access import LIVE, RunAccess
from weightslab_nb.arguments import check_optional_int, check_path, check_seconds
from weightslab_nb.control import Controller, TrainingHandle
from weightslab_nb.errors import (
    InvalidTypeError,
    InvalidValueError,
    StateError,
    UnknownNameError,
)
from weightslab_nb.experiment import (
    data_state_digest,
    default_root_log_dir,
    experiment_hash,
    load_checkpoint,
    save_checkpoint,
)
from weightslab_nb.grid_sort import GridSorter
from weightslab_nb.history import HistoryStore
from weightslab_nb.history.queries import HistoryQueries
from weightslab_nb.ledger.changes import ChangeCounters
from weightslab_nb.ledger.ids import normalize_ids
from weightslab_nb.ledger.query import (
    GridPage,
    GridQuery,
    OrderCache,
    page_rows,
    select_rows,
    sortable_columns,
)
from weightslab_nb.ledger.recorder import Recorder
from weightslab_nb.ledger.recording import BatchRecording
from weightslab_nb.ledger.registry import Registry
from weightslab_nb.ledger.sample_info import SampleInfo
from weightslab_nb.ledger.sample_table import SampleTable
from weightslab_nb.ledger.selection import HighlightBus, Selection
from weightslab_nb.ledger.tagging import SampleTagging
from weightslab_nb.persistence import RunFiles

log = logging.getLogger(__name__)

MAX_FLUSH_INTERVAL = 60.0  # seconds; longer would break the durability promise of DESIGN.md

# ---------------------------------------------------------------- features
FeatureFactory = Callable[["Session"], object]
_FEATURES: dict[str, FeatureFactory] = {}


def register_feature(name: str, factory: FeatureFactory) -> None:
    """Declare the per-session object a feature module provides.

    ``factory(session)`` builds it on the first ``session.feature(name)``; it may attach to the
    session's hooks then. Feature modules call this at import (the package imports them all).
    """
    _FEATURES[name] = factory


def session_function(fn: Callable) -> FeatureFactory:
    """A feature factory that binds ``fn``'s first argument to the session."""
    return lambda session: functools.partial(fn, session)


def _check_flush_interval(value) -> float:
    value = check_seconds(value, "flush_interval")
    if value > MAX_FLUSH_INTERVAL:
        raise InvalidValueError(f"flush_interval: expected seconds in (0, {MAX_FLUSH_INTERVAL:g}], "
                                f"got {value!r}")
    return value


def _check_root(value) -> Path | None:
    return None if value is None else Path(check_path(value, "root_log_dir"))


class Session(BatchRecording, SampleTagging, HistoryQueries, SampleInfo):
    """All state of one training run: watched objects, samples, history and training control.

    Parameters
    ----------
    root_log_dir : str or Path, optional
        Where the run writes its files (the history database, snapshots, exports). Default:
        the ``root_log_dir`` key of the watched hyperparameters, else a fresh
        ``./weightslab_runs/<experiment_name>-<timestamp>-<hex>`` directory. Nothing is
        written until the first value is recorded.
    flush_interval : float, default 0.5
        Seconds between two rounds of the recorder's ingest thread (history to disk, snapshots);
        a number in (0, 60].
    checkpoint_every : int, optional
        Save model and optimizer state every this many training steps (an int >= 1; default:
        the ``checkpoint_every`` hyperparameter, else never; :meth:`save_checkpoint` saves on
        demand).
    access : RunAccess, optional
        What the session may change (a keyword; default: everything). A finished run opened
        with :func:`weightslab_nb.open` gets a restricted one: its history file is opened
        read-only, and the refused changes raise
        :class:`~weightslab_nb.errors.ReadOnlyError` (see :mod:`weightslab_nb.access`).

    Raises
    ------
    InvalidTypeError, InvalidValueError
        A bad argument (the message names it); nothing is created then.

    Reopening: when ``root_log_dir`` (given here, or by the hyperparameters before any data is
    watched) already holds a run, its samples, tags, categorical values, discards, latest
    signals and history are loaded, and the step count continues where it stopped. Watch the
    same data again (same sample ids and origins) to keep training it; applied hyperparameter
    changes are requested again when hyperparameters are watched. Every edit is journaled
    before it is made (see :mod:`weightslab_nb.persistence`), so a run killed at any moment
    reopens with every edit that returned more than 0.1 s before the kill.

    Hooks (lists; features append to them, see DESIGN.md "Layers"):

    * ``on_step``: ``fn(step)`` in the training thread after a watched training loader counted a
      step, before the batch is yielded (steering applies pending hyperparameters there);
    * ``on_epoch``: ``fn(step)`` in the training thread when a watched training loader's pass
      is about to draw its first batch (past that batch's boundary); ``step`` is the pass's
      first step (steering applies pending hyperparameters there too, so the pass draws with
      a new batch size);
    * ``on_controller_change``: ``fn()`` after every change of training state, step or epoch;
    * ``on_hyperparameter_change``: ``fn(key, value)`` after an applied hyperparameter change;
    * ``resume_blockers``: ``fn() -> str | None``: a reason why training must stay paused;
    * ``drain_waiters``: ``fn(timeout) -> bool``: user reads wait on them (dynamic signals);
    * ``on_close``: ``fn()`` when :meth:`close` starts (stop taking new work);
    * ``on_closed``: ``fn(timeout)`` once training stopped and the last recordings were drained,
      before the final flush;
    * ``on_applied`` / ``on_flush``: the recorder's (see
      :class:`~weightslab_nb.ledger.recorder.Recorder`).

    Use as a context manager to make it current and close it afterwards::

        with Session(root_log_dir=tmp) as s:
            loader = s.watch_or_edit(dataset, flag="data", loader_name="train_loader")
    """

    def __init__(self, root_log_dir: str | Path | None = None, flush_interval: float = 0.5,
                 checkpoint_every: int | None = None, *, access: RunAccess | None = None):
        root = _check_root(root_log_dir)
        if access is not None and not isinstance(access, RunAccess):
            raise InvalidTypeError(f"access: expected a RunAccess, got {type(access).__name__}")
        self.access = LIVE if access is None else access
        flush_interval = _check_flush_interval(flush_interval)
        self._checkpoint_every = check_optional_int(checkpoint_every, "checkpoint_every", 1)
        self.lock = threading.RLock()
        self.changes = ChangeCounters()
        self._grid_orders = OrderCache()  # the last grid order, while the table stands still
        self._grid_sorter = GridSorter(self)  # orders that follow changing values
        self.registry = Registry()
        self.table = SampleTable()
        # the samples selected in the panels, as (origin, sample_id) refs (bare ids resolved)
        self.selection = Selection(resolve=self.sample_refs)
        self.highlight = HighlightBus()  # the step highlight the curves set and the grid shows
        self.class_names_by_origin: dict[str, dict[int, str]] = {}  # set_class_names()
        self.controller = Controller(on_change=self._controller_changed,
                                     resume_blocker=self._resume_blocker)
        self._root_log_dir = root
        self.history = HistoryStore(lambda: self.root_log_dir / "history.duckdb", self._sample_dims,
                                    read_only=not self.access.records)
        self.recorder = Recorder(self.table, self.lock, self.history, self.controller,
                                 self.changes, flush_interval)
        self.files = RunFiles(self)
        self.run = None  # the running wl.init() run (weightslab_nb.tracking), if any
        self.on_step: list[Callable[[int], None]] = []
        self.on_epoch: list[Callable[[int], None]] = []
        self.on_controller_change: list[Callable[[], None]] = []
        self.on_hyperparameter_change: list[Callable[[str, object], None]] = []
        self.resume_blockers: list[Callable[[], str | None]] = []
        self.drain_waiters: list[Callable[[float | None], bool]] = []
        self.on_close: list[Callable[[], None]] = []
        self.on_closed: list[Callable[[float], None]] = []
        self.recorder.on_flush.append(self.files.after_flush)
        self._features: dict[str, object] = {}
        self._feature_lock = threading.Lock()
        self._hp = None
        self._every_cache: tuple = (None, -1, None)  # (hp handle, its version, checkpoint_every)
        self._exp_hash: str | None = None
        self._architectures: list[str] = []  # repr of each watched model
        self._hash_inputs: tuple | None = None  # what the current experiment hash was made of
        self._data_state: dict | None = None  # the data state applied last (note_data_state)
        self._closed = False
        self._previous: Session | None = None
        self.distributed = None  # this process's DDP runtime (weightslab_nb.distributed)
        # flush and close the history file when the interpreter exits without close(). DuckDB
        # registers exit hooks of its own when imported, after which it refuses to run
        # queries; exit hooks run in reverse order of registration, so it is imported first.
        import duckdb  # noqa: F401
        self._at_exit = functools.partial(_close_at_exit, weakref.ref(self))
        atexit.register(self._at_exit)
        if self._root_log_dir is not None:
            self.files.restore_if_present()

    # ---------------------------------------------------------------- hooks and features
    @property
    def on_applied(self) -> list:
        """The recorder's applied-batch listeners (see :meth:`add_applied_listener`)."""
        return self.recorder.on_applied

    @property
    def on_flush(self) -> list:
        """The recorder's flush hooks (see :meth:`add_flush_hook`)."""
        return self.recorder.on_flush

    def feature(self, name: str, create: bool = True):
        """The per-session object of feature ``name`` (built on first use when ``create``,
        else None while it does not exist).

        Raises
        ------
        UnknownNameError
            No feature of that name was registered.
        """
        found = self._features.get(name)
        if found is not None or not create:
            return found
        with self._feature_lock:
            if name not in self._features:
                factory = _FEATURES.get(name)
                if factory is None:
                    raise UnknownNameError(f"feature: no feature named {name!r} is registered "
                                           f"(registered: {sorted(_FEATURES)})")
                self._features[name] = factory(self)
            return self._features[name]

    @property
    def evaluation(self):
        """The :class:`~weightslab_nb.evaluation.EvaluationController` of this session."""
        return self.feature("evaluation")

    @property
    def signals(self):
        """The :class:`~weightslab_nb.signals.SignalRegistry` of this session."""
        return self.feature("signals")

    @property
    def steering(self):
        """The :class:`~weightslab_nb.steering.Steering` state, or None while no
        hyperparameters are watched."""
        return self.feature("steering", create=False)

    def add_applied_listener(self, listener) -> None:
        """Call ``listener(batches)`` after each bulk apply, from the draining thread, with the
        :class:`~weightslab_nb.ledger.pending.PreparedBatch` list just applied. No session lock
        is held then: the listener may read and write through session methods."""
        self.recorder.on_applied.append(listener)

    def add_flush_hook(self, hook) -> None:
        """Call ``hook()`` after every flush (the recorder's ingest thread, ``close``); no session
        lock is held then. A failing hook is logged."""
        self.recorder.on_flush.append(hook)

    def remove_flush_hook(self, hook) -> None:
        """Stop calling ``hook`` (no-op when it is not registered)."""
        if hook in self.recorder.on_flush:
            self.recorder.on_flush.remove(hook)

    def add_drain_hook(self, hook) -> None:
        """Call ``hook()`` at the start of every drain (each reader's, the ingest thread's),
        from the draining thread, with no lock held: a feature that buffers values of its own
        (a tracking run's logged rows) hands them over there, so every read sees them."""
        self.recorder.on_drain.append(hook)

    def remove_drain_hook(self, hook) -> None:
        """Stop calling a hook added with :meth:`add_drain_hook` (no-op if absent)."""
        if hook in self.recorder.on_drain:
            self.recorder.on_drain.remove(hook)

    # ---------------------------------------------------------------- lifecycle
    @property
    def root_log_dir(self) -> Path:
        """The run directory (decided on first use; see the class docstring)."""
        if self._root_log_dir is None:
            name = self._hp.get("experiment_name") if self._hp is not None else None
            self._root_log_dir = default_root_log_dir(name if isinstance(name, str) else None)
        return self._root_log_dir

    @property
    def chosen_root_log_dir(self) -> Path | None:
        """The run directory when one was chosen already, else None (reading this, unlike
        :attr:`root_log_dir`, never decides the default)."""
        return self._root_log_dir

    def set_root_log_dir(self, path: str | Path) -> None:
        """Choose the run directory (and reopen the run stored there, if any).

        Raises
        ------
        InvalidTypeError
            ``path`` is not a path.
        StateError
            History was already written under another directory.
        """
        path = _check_root(path)
        if path is None:
            raise InvalidTypeError("root_log_dir: expected a directory path, got None")
        if path == self._root_log_dir:
            return
        self.access.check_recording("set_root_log_dir")
        if self.history.connected:
            raise StateError(f"root_log_dir: history is already written under "
                             f"{self._root_log_dir}; set the directory before training starts")
        self.files.check_movable()
        self._root_log_dir = path
        self.files.restore_if_present()

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran."""
        return self._closed

    def become_rank(self) -> None:
        """Make this session a feeder of a hub session in another process (a DDP rank that does
        not own the hub): from now on it writes no file of its own (no history database,
        snapshot or journal; edits are refused) while :mod:`weightslab_nb.distributed` ships
        what it records to the hub. Files it inherited from a process that forked it stay
        open and untouched: they belong to that process."""
        self.history.detach()
        self.files.disable()

    def activate(self) -> "Session":
        """Make this the session that module-level ``wl.*`` functions act on."""
        set_current_session(self)
        return self

    def flush(self) -> None:
        """Write everything recorded so far to the run directory now, from the calling thread
        (what the recorder's ingest thread does every ``flush_interval``): the history, the
        manifest and, when due, the ledger snapshot."""
        self.recorder.flush()

    def close(self, timeout: float = 10.0) -> None:
        """Stop training (at the next batch boundary), flush history and close files.

        Order: the ``on_close`` hooks (features stop taking work), training stopped, the last
        recordings and their dynamic signals drained, the ``on_closed`` hooks, a last flush
        (history, snapshot, manifest). Safe to call twice. A training thread that does not
        reach a batch boundary within ``timeout`` seconds is left running (it is a daemon
        thread) and a warning is logged.
        """
        if self._closed:
            return
        self._closed = True
        self._run_hooks(self.on_close)
        self.controller.stop()
        if not self.controller.join(timeout):
            log.warning("training thread did not stop within %.1f s", timeout)
        self.drain(timeout=timeout)  # the last batches' dynamic signals run and are applied
        self._run_hooks(self.on_closed, timeout)
        self.recorder.close(timeout)
        self.history.close()
        self.files.close()
        atexit.unregister(self._at_exit)
        if current_session(create=False) is self:
            set_current_session(self._previous)

    @staticmethod
    def _run_hooks(hooks: list, *args) -> None:
        for hook in list(hooks):
            try:
                hook(*args)
            except Exception:
                log.exception("a session hook failed")

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
            ``seed``, ``class_names`` (a sequence of str, or a dict ``{class index: name}``: the
            names of the origin's label classes, shown by the sample detail view and the grid's
            tooltip), ``data_state`` (a saved data state to apply to the loader's origin once
            it is watched: an artifact reference ``"name:latest"`` or a directory; see
            :func:`weightslab_nb.data_state.apply_data_state`), and any other ``DataLoader``
            keyword (``num_workers``, ``collate_fn``...).
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
        self.access.check_recording("watch_or_edit", " (to draw thumbnails from a dataset, "
                                    "pass dataset= to wl.open)")
        return self.feature("watch_or_edit")(obj, obj_name, flag, **kwargs)

    def register(self, kind: str, name: str, obj) -> None:
        """Add a watched object to the registry (``kind`` one of
        :data:`~weightslab_nb.ledger.registry.KINDS`); a model refreshes the experiment hash."""
        with self.lock:
            self.registry.add(kind, name, obj)
            if kind == "model":
                self._architectures = [repr(m) for m in self.registry.all("model").values()]
                self.refresh_experiment_hash()

    def register_hyperparameters(self, name: str, handle) -> None:
        """Make ``handle`` (a live hyperparameters mapping with ``to_dict()`` and ``get()``) the
        run's hyperparameters, registered as ``name``. Its ``root_log_dir`` key, when set,
        chooses the run directory (see :meth:`set_root_log_dir`). Applied changes must be
        reported with :meth:`hyperparameters_changed`."""
        with self.lock:
            self._hp = handle
            self.registry.add("hyperparameters", name, handle)
            root = handle.get("root_log_dir")
            if root is not None:
                self.set_root_log_dir(root)
            self.refresh_experiment_hash()

    def hyperparameters_changed(self, records: list[dict]) -> None:
        """Report hyperparameter changes applied together (change records as
        ``HyperParameters.history()`` gives them: ``key``, ``new``, ``deleted``...): refreshes
        the experiment hash once, journals the values (they are requested again when the run is
        reopened and hyperparameters are watched) and calls the ``on_hyperparameter_change``
        hooks per change, outside the lock.
        """
        with self.lock:
            self.changes.hyperparameters += 1
            self.refresh_experiment_hash()
        self.files.journal_hyperparameters(records)
        for record in records:
            if not record.get("deleted"):
                self._run_hooks(self.on_hyperparameter_change, record["key"], record["new"])

    def refresh_experiment_hash(self) -> None:
        """Recompute the experiment hash from the hyperparameters, the model architectures and
        the data state (discards, tag registry); a new hash gets a manifest entry. Call under
        ``self.lock`` after changing any of them."""
        if self._hp is None and not self._architectures:
            return  # no experiment yet: nothing defines one
        # what the hash depends on; tag memberships (which move every step) are not part of it
        applied = self._data_state
        inputs = (id(self._hp), self.changes.hyperparameters, tuple(self._architectures),
                  self.table.discard_version, self.table.registry_key(), applied)
        if inputs == self._hash_inputs:
            return
        self._hash_inputs = inputs
        hp = self._hp.to_dict() if self._hp is not None else {}
        data = data_state_digest(self.table)
        if applied is not None:  # the curated state it trains on names the experiment too
            data += "|" + json.dumps(applied, sort_keys=True, default=repr)
        new = experiment_hash(hp, self._architectures, data)
        if new == self._exp_hash:
            return
        self._exp_hash = new
        self.recorder.experiment_id = self.history.experiment_id(new)
        entry = {
            "recorded_before": self.changes.history,
            "experiment_hash": new, "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "step": self.controller.step, "hyperparameters": hp, "models": self._architectures,
            "discarded": int(self.table.discarded[: len(self.table)].sum()),
            "tags": self.table.tag_names()}
        if applied is not None:
            entry["data_state"] = applied
        self.files.note_experiment(entry)

    @property
    def data_state(self) -> dict | None:
        """The identity of the data state applied last (:meth:`note_data_state`), or None."""
        return self._data_state

    def note_data_state(self, identity: dict) -> None:
        """Record which saved data state this run trains on (see
        :mod:`weightslab_nb.data_state`): ``identity`` (a JSON-able dict, e.g. ``{"name",
        "version", "digest"}``) becomes part of the experiment hash and of the manifest entry
        of the experiment it starts (``manifest.json``: ``"data_state"``).

        Raises
        ------
        InvalidTypeError
            ``identity`` is not a dict of JSON-able values.
        """
        if not isinstance(identity, dict):
            raise InvalidTypeError(f"identity: expected a dict, got {type(identity).__name__}")
        try:
            identity = json.loads(json.dumps(identity))
        except (TypeError, ValueError) as exc:
            raise InvalidTypeError(f"identity: values must be JSON-able ({exc})") from None
        with self.lock:
            self._data_state = identity
            self.refresh_experiment_hash()

    def get_current_experiment_hash(self) -> str | None:
        """Hash of the current hyperparameters and model architecture (24 hex digits).

        None until a model or hyperparameters are watched.
        """
        return self._exp_hash

    # ---------------------------------------------------------------- steps and samples
    def advance_step(self) -> int:
        """Count one training step and return it: called by a watched training loader each
        time it draws a batch, before yielding it. Runs the ``on_step`` hooks (pending
        hyperparameter changes are applied there), then saves a periodic checkpoint when due.
        """
        step = self.controller.advance_step()
        for hook in list(self.on_step):
            hook(step)
        every = self._checkpoint_every
        if every is None and self._hp is not None:
            hp, version = self._hp, self._hp.version  # read again only after a change
            cached = self._every_cache
            if cached[0] is not hp or cached[1] != version:
                cached = self._every_cache = (hp, version, hp.get("checkpoint_every"))
            every = cached[2]
        if every and step % every == 0:
            self.save_checkpoint()
        return step

    def begin_pass(self) -> int:
        """Called by a watched training loader when a pass is about to draw its first batch
        (past that batch's boundary: not paused, not stopped). Runs the ``on_epoch`` hooks with
        the number of the step about to run and returns it (pending hyperparameter changes
        are applied there, so a batch size requested during the last step of an epoch is
        drawn by the next one).
        """
        step = self.controller.step + 1
        for hook in list(self.on_epoch):
            hook(step)
        return step

    def register_samples(self, sample_ids: list, origin: str,
                         targets: np.ndarray | None = None) -> np.ndarray:
        """Add the samples of a watched data set (ids new to ``origin`` get rows); return the
        sample-table rows of ``sample_ids``, in order. ``targets`` (one number per id) are
        stored when given."""
        with self.lock:
            rows = self.table.add_samples(sample_ids, origin)
            if targets is not None:
                self.table.write_column("target", rows, targets)
            self.changes.table += 1
            self.files.samples_added()  # journaled edits that waited for these samples
        return rows

    def _sample_dims(self, start: int) -> tuple:
        with self.lock:  # arrays, not a Python object per row (a million rows at once)
            table, n = self.table, len(self.table)
            ints = table.sample_id.ints(slice(start, n))
            ids = ints.copy() if ints is not None else table.sample_id[start:n].tolist()
            annotations = np.array(table.annotation_id[start:n], dtype=np.int32)
            codes = np.array(table.origin_code[start:n])
            return ids, annotations, (codes, list(table.origins))

    # ---------------------------------------------------------------- signals, evaluation, exports
    def signal(self, name=None, subscribe_to=None, compute_every_n_steps: int = 1,
               include_history: bool = False, include_history_metadata: bool = False,
               log: bool = True, batched: bool = False):
        """Decorator registering a custom signal with this session; see
        :func:`weightslab_nb.signals.signal`."""
        return self.feature("signal")(name, subscribe_to, compute_every_n_steps,
                                      include_history, include_history_metadata, log, batched)

    def compute_signals(self, dataset_or_loader=None, origin=None, signals=None, *,
                        progress: bool = True, chunk_size: int = 256) -> dict:
        """Run static signals over a watched loader; see
        :func:`weightslab_nb.signals.compute_signals`."""
        return self.feature("compute_signals")(dataset_or_loader, origin, signals,
                                               progress=progress, chunk_size=chunk_size)

    def auto_tag_loss_shapes(self, signal_name: str, tag: str = "loss_shape",
                             every_n_steps: int = 25, name: str | None = None):
        """Keep a categorical tag of loss-trajectory shapes current; see
        :func:`weightslab_nb.loss_shapes.auto_tag_loss_shapes`."""
        return self.feature("auto_tag_loss_shapes")(signal_name, tag, every_n_steps, name=name)

    def tag_loss_shapes_now(self, signal_name: str, tag: str = "loss_shape") -> dict:
        """Classify every sample's loss trajectory now and set the tag; see
        :func:`weightslab_nb.loss_shapes.tag_loss_shapes_now`."""
        return self.feature("tag_loss_shapes_now")(signal_name, tag)

    def suspects(self, origin: str = "train", method: str = "auto", k: int | None = None,
                 signal: str | None = None):
        """Samples of ``origin`` ranked as mislabel suspects, with a flag set; see
        :func:`weightslab_nb.suspects.suspects`."""
        return self.feature("suspects")(origin, method, k, signal)

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
        self.access.check_recording("request_evaluation")
        return self.evaluation.request(loader_name, tags, timeout, resume)

    def run_pending_evaluation(self, loaders=None, model=None, eval_fn=None, device=None) -> bool:
        """Run a pending evaluation in the calling thread (e.g. at the top of a training
        iteration); True if one ran (skip the training step then), False otherwise.

        ``eval_fn`` replaces the registered/default function for this call; ``model`` and
        ``device`` make the default pass use that model and move inputs to ``device``;
        ``loaders`` (names) restricts which pending request this call may run. Safe together
        with the background worker: each request runs once.
        """
        self.access.check_recording("run_pending_evaluation")
        return self.evaluation.run_pending_here(loaders, model, eval_fn, device)

    def write_history(self, path=None, format: str = "json", type_of_history=None,
                      graph_name=None, experiment_hash=None, sample_id=None, instance_id=None,
                      origin=None):
        """Export signal history to a file; see
        :func:`weightslab_nb.history.export.write_history`."""
        from weightslab_nb.history.export import write_history

        return write_history(self, path, format, type_of_history, graph_name, experiment_hash,
                             sample_id, instance_id, origin)

    def write_dataframe(self, path=None, format: str = "json", columns=None, sample_id=None,
                        instance_id=None, origin=None):
        """Export the sample table to a file; see
        :func:`weightslab_nb.history.export.write_dataframe`."""
        from weightslab_nb.history.export import write_dataframe

        return write_dataframe(self, path, format, columns, sample_id, instance_id, origin)

    # ---------------------------------------------------------------- checkpoints
    def save_checkpoint(self) -> Path:
        """Save every watched model's and optimizer's state now; return the file.

        The file is ``<root_log_dir>/checkpoints/<experiment hash>/step_<step>.pt``. Call it
        between steps (from the training loop, or while paused) for a consistent state.
        """
        self.access.check_recording("save_checkpoint")
        return save_checkpoint(self.root_log_dir, self._exp_hash, self.controller.step,
                               self.registry.all("model"), self.registry.all("optimizer"))

    def load_checkpoint(self, path: str | Path) -> int:
        """Load a checkpoint into the watched models and optimizers (by name); return its step.

        Raises ``KeyError`` if a watched model or optimizer is missing from the file.
        """
        return load_checkpoint(Path(path), self.registry.all("model"),
                               self.registry.all("optimizer"))

    # ---------------------------------------------------------------- views for users and panels
    @property
    def dataframe(self):
        """The sample table as a pandas DataFrame indexed by ``(sample_id, annotation_id)``."""
        self.drain()
        with self.lock:
            return self.table.dataframe()

    def selection_frame(self, samples=None, origin: str | None = None, *,
                        wait_signals: bool = True):
        """The selected samples' rows of :attr:`dataframe`, in selection order.

        Parameters
        ----------
        samples : sequence of sample ids and/or ``(origin, sample_id)`` refs, optional
            The samples to take; default: ``session.selection`` (what the panels selected).
        origin : str, optional
            The origin (or loader name) of bare ids in ``samples``.
        wait_signals : bool, default True
            Wait for the dynamic signals of the batches recorded so far (as :attr:`dataframe`
            does); the panels pass False.

        Returns
        -------
        pandas.DataFrame
            One row per sample (``annotation_id`` 0), indexed by ``(sample_id,
            annotation_id)`` like :attr:`dataframe`, with the same columns and dtypes
            (``origin``, ``target``, ``prediction``, ``discarded``, ``signals//<name>``,
            ``tag:<name>``): ``len(frame) == len(samples)``. An empty selection gives an empty
            frame with the same columns.

        Raises
        ------
        UnknownSampleError, AmbiguousSampleError, InvalidValueError, InvalidTypeError
            As :meth:`sample_refs`, for ``samples``.
        """
        refs = self.selection.get() if samples is None else self.sample_refs(samples, origin)
        self.drain(wait_signals=wait_signals)
        with self.lock:
            rows = np.empty(len(refs), dtype=np.int64)
            by_origin: dict[str, list[int]] = {}
            for i, ref in enumerate(refs):
                by_origin.setdefault(ref.origin, []).append(i)
            for ref_origin, positions in by_origin.items():
                rows[positions] = self.table.rows_for([refs[i].sample_id for i in positions],
                                                      origin=ref_origin)
            return self.table.dataframe(rows)

    @property
    def loss_column(self) -> str | None:
        """The table column of the first per-sample signal recorded (the grid sorts by it)."""
        return self.recorder.loss_column

    def counts(self, origin: str | None = None) -> tuple[int, int]:
        """(total, active) samples, of ``origin`` (an origin or loader name) when given.

        Raises
        ------
        InvalidValueError
            An unknown origin.
        """
        with self.lock:
            if origin is None:
                return self.table.counts()
            rows = self.table.sample_rows(self.resolve_origin(origin))
            return len(rows), len(rows) - int(self.table.discarded[rows].sum())

    def origins(self) -> list[str]:
        """Known origins (splits), in the order their first sample was registered."""
        with self.lock:
            return list(self.table.origins)

    def unknown_ids(self, sample_ids, origin: str | None = None) -> list:
        """The ids of ``sample_ids`` that are not in the table (in ``origin``, an origin or
        loader name, when given). Raises ``InvalidTypeError`` for ids that are neither int nor
        str."""
        ids = normalize_ids(sample_ids)
        with self.lock:
            origin = None if origin is None else self.resolve_origin(origin)
            return [s for s in ids if not self.table.has(s, origin=origin)]

    def grid_page(self, query: GridQuery, sort_values=None, hold=None,
                  resort: bool = False) -> GridPage:
        """One page of the sample grid (see :class:`~weightslab_nb.ledger.query.GridQuery`).

        ``sort_by`` may also be ``"<signals column>@<stat>"`` with stat ``mean``, ``last``,
        ``max``, ``min`` or ``count``: a statistic of each sample's whole history.
        ``sort_values`` (float, one per sample-table row, in table order; NaN sorts last)
        replaces the column ``sort_by`` names: a feature's own ranking, such as the grid's
        "suspects" preset (:mod:`weightslab_nb.panels.suspect_ranking`).
        ``hold`` (a :class:`~weightslab_nb.ledger.query.HeldOrder`, one per grid) serves the
        rows in the order of the query's snapshot instead of the fresh order (``resort=True``
        takes a new snapshot); the page's ``changed`` counts the positions a re-sort would move,
        ``changed_page`` the cells of this page that would show another sample, and ``fresh``
        says whether this page took the fresh order.
        """
        query.validate()
        version = self.changes.table  # read before the drain: see OrderCache
        self.drain(wait_signals=False)
        with self.lock:
            if query.origin is not None:
                query = replace(query, origin=self.resolve_origin(query.origin))
            cache_key = None if sort_values is not None else \
                (replace(query, offset=0, limit=1), version, len(self.table))
            live = self._grid_sorter.handles(query, sort_values)
            cached = self._grid_orders.get(cache_key) if hold is not None or not live else None
        window = slice(query.offset, query.offset + query.limit)
        if cached is not None:
            rows, (total, active) = cached
            page, matched = rows[window], len(rows)
        elif live:
            # sorts by changing values: no full sort per page (grid_sort.py)
            rows, filtered = self._grid_sorter.rows(query, sort_values, whole=hold is not None)
            total, active, matched = filtered.total, filtered.active, filtered.matched
            page = rows if hold is None else rows[window]
            if hold is not None and cache_key is not None:
                with self.lock:
                    self._grid_orders.put(cache_key, rows, (total, active))
        else:
            with self.lock:
                rows = select_rows(self.table, query)
                total, active = self.table.counts()
                self._grid_orders.put(cache_key, rows, (total, active))
            page, matched = rows[window], len(rows)
        loss_column = self.recorder.loss_column
        with self.lock:
            changed, changed_page, fresh = 0, 0, True
            if hold is not None:
                key = replace(query, offset=0, limit=1)
                sorted_rows = rows
                rows, changed, fresh = hold.serve(key, rows, resort)
                changed_page = int(np.count_nonzero(rows[window] != sorted_rows[window]))
                page = rows[window]
            return GridPage(total=total, active=active, matched=matched,
                            loss_column=loss_column, columns=sortable_columns(self.table),
                            rows=page_rows(self.table, page, loss_column),
                            changed=changed, changed_page=changed_page, fresh=fresh,
                            snapshot=0 if hold is None else hold.snapshot)

    def sample_input(self, sample_id, origin: str | None = None):
        """The inputs part of ``dataset[i]`` for a sample (for thumbnails and signals);
        ``origin`` as for :meth:`tag_samples`. Raises as :meth:`loader_of`."""
        loader, sid = self.loader_of(sample_id, origin)
        return loader.sample_input(sid)

    def loader_of(self, sample_id, origin: str | None = None) -> tuple:
        """``(watched loader, stored sample id)`` of the loader that holds a sample;
        ``origin`` as for :meth:`tag_samples`.

        Raises
        ------
        UnknownSampleError, AmbiguousSampleError
            Unknown id, or an id several origins hold without ``origin=``.
        UnknownNameError
            No watched loader holds the sample (it was recorded with ``save_signals`` only).
        """
        row = int(self.rows_of([sample_id], origin, argument="sample_id")[0])
        origin = self.table.origins[self.table.origin_code[row]]
        sid = self.table.sample_id[row]
        for loader in self.registry.loaders():
            if loader.origin == origin and loader.holds(sid):
                return loader, sid
        raise UnknownNameError(f"sample_id: {sample_id!r} is not held by any watched loader, so "
                               "its input cannot be loaded")

    # ---------------------------------------------------------------- training
    def start_training(self, train_fn, *args, world_size: int | None = None,
                       **kwargs) -> TrainingHandle:
        """Run ``train_fn(*args, **kwargs)`` in a background thread and return at once.

        With ``world_size=N`` (an int >= 1), run it on N DDP ranks forked from this process
        instead, with the same handle; this session is their hub (see
        :mod:`weightslab_nb.distributed.launch` for the constraints). Then ``backend=`` (a
        keyword, "gloo" by default, or "nccl") is the ranks' process-group backend and is not
        passed to ``train_fn``; without ``world_size`` a ``backend`` keyword goes to
        ``train_fn`` like any other. ``world_size`` itself never reaches ``train_fn``.

        The function is the user's ordinary training loop over watched loaders. Pause, resume
        and stop take effect at the next batch boundary of a watched training loader (a stop
        raises :class:`~weightslab_nb.errors.TrainingStopped` there, which ends the run
        cleanly). An exception is kept in ``handle.error`` (state ``"error"``), shown in the
        controls panel and logged; it is never swallowed silently.

        Raises
        ------
        StateError
            If a run of this session is still in progress, or the session is closed; with
            ``world_size``, also when this system cannot fork or CUDA is already initialised.
        InvalidTypeError, InvalidValueError
            If ``train_fn`` is not callable, or ``world_size`` / ``backend`` is not accepted.

        A rank that raises or dies ends a distributed run: ``handle.error`` is then a
        :class:`~weightslab_nb.errors.RankError` naming it.
        """
        if not callable(train_fn):
            raise InvalidTypeError(f"train_fn: expected a callable, got "
                                   f"{type(train_fn).__name__}")
        if self._closed:
            raise StateError("start_training: this session is closed; create a new one")
        self.access.check_recording("start_training")
        if world_size is not None:
            backend = kwargs.pop("backend", "gloo")
            return self.feature("launch").start(train_fn, args, kwargs, world_size, backend)
        return self.controller.start(train_fn, args, kwargs)

    def _controller_changed(self) -> None:
        self.changes.controller += 1
        for hook in list(self.on_controller_change):
            hook()

    def _resume_blocker(self) -> str | None:
        for blocker in list(self.resume_blockers):
            reason = blocker()
            if reason is not None:
                return reason
        return None

    def __repr__(self) -> str:
        total, active = self.table.counts()
        opened = "" if self.access.records else f" {self.access.mode}"  # wl.open
        return (f"<Session {self.controller.state} step={self.controller.step} samples={total} "
                f"active={active} root_log_dir={str(self._root_log_dir)!r}{opened}>")


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
    current = _current  # the usual case needs no lock (wl.log calls this per call)
    if current is not None and not current._closed:
        return current
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
