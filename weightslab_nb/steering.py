"""Hyperparameter steering: apply requested hyperparameter changes to the run at safe points.

A write to the watched hyperparameters (from code, the panel, the CLI or the YAML file) is a
typed *request* (see :mod:`weightslab_nb.watch.hyperparameters`). This module decides when it is
*applied* and what applying it does to the watched objects.

When
----
- At once when no training thread is in the middle of a step: nothing is training, the run is
  paused (the training thread waits at its batch boundary), stopped or ended in error, or the
  request comes from the training thread itself (your loop is between two statements).
- Otherwise by the training thread at its next batch boundary (:func:`apply_pending`, called by
  the session after each batch is drawn and before it is yielded, and when a training loader's
  pass is about to draw its first batch), so an optimizer is never changed while ``step()``
  runs. A request made just before a pause is applied when the thread parks
  (:func:`controller_changed`). The training thread is the one that passes those boundaries: a
  loop that draws no batch from a watched training loader (or a session without the hook) has
  no boundary to wait for, and its requests apply at once.

What
----
- ``optimizer.lr`` (also ``optimizer.learning_rate``, and top-level ``lr`` / ``learning_rate``):
  the ``lr`` of every param group of every watched optimizer. A list gives one value per param
  group (each optimizer must have that many groups). Values must be finite and >= 0. A torch LR
  scheduler that recomputes the lr from its ``base_lrs`` will overwrite it: steer the scheduler's
  own settings then.
- ``batch_size`` (also ``data.batch_size``): every watched *training* loader, from its next
  epoch (an int >= 1): a request made during an epoch (its last step included) is drawn by
  the following pass; evaluation loaders keep theirs.
- Any other key: only stored; user code reads it live (``hp["epochs"]``).

Every applied change is recorded (``{"step", "key", "old", "new", "source", "time",
"experiment_hash"}``, ``step`` being the first training step run with the new value), kept in
memory (:func:`changes`, ``hp.history()``) and appended to ``<root_log_dir>/hyperparameters.jsonl``
(:func:`read_change_log`). The session refreshes the experiment hash from the applied values.

How it attaches: the session's steering state (:class:`Steering`, ``session.steering``) is
built when hyperparameters are first watched and appends itself to the session's hooks:
``on_step`` and ``on_epoch`` (apply pending requests at the batch boundary and before a pass
draws its first batch), ``on_controller_change`` (apply them when the training thread parks,
stops or fails) and ``on_close`` (stop file watchers). The watched loader's sampler reads its
``batch_size`` once per epoch, when it draws the pass's first batch, so a new batch size
applies from the next epoch.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import numbers
import os
import threading
import weakref
from pathlib import Path
from typing import TYPE_CHECKING

from weightslab_nb.errors import InvalidTypeError, InvalidValueError
from weightslab_nb.session import register_feature
from weightslab_nb.watch.hyperparameters import (DELETE, HyperParameters, _is_bool, flatten,
                                                  join_path)

if TYPE_CHECKING:
    from weightslab_nb.session import Session

log = logging.getLogger(__name__)

LR_KEYS = ("optimizer.lr", "optimizer.learning_rate", "lr", "learning_rate")
BATCH_SIZE_KEYS = ("batch_size", "data.batch_size")
CHECKPOINT_KEY = "checkpoint_every"  # read by the session at every step: an int >= 1 or None
CHANGE_LOG = "hyperparameters.jsonl"

# ---------------------------------------------------------------- watching
def watch_hyperparameters(session: "Session", obj, name: str = "hyperparameters",
                          **kwargs) -> HyperParameters:
    """What ``watch_or_edit(obj, flag="hyperparameters", **kwargs)`` does.

    Parameters
    ----------
    obj : dict, str or os.PathLike
        The hyperparameters, or a YAML file of them.
    name : str
        Registry name.
    defaults : dict, optional
        YAML only: values the file overrides.
    poll_interval : float, default 1.0
        YAML only: seconds between two reads of the file.

    Returns
    -------
    HyperParameters
        The live handle (``hp.config`` is the file watcher for a YAML path).

    Raises
    ------
    TypeError
        ``obj`` is neither a dict nor a path, unexpected keywords, a YAML value of the wrong
        type. ``ValueError``: invalid YAML, a bad ``poll_interval``. ``FileNotFoundError``: a
        missing file without ``defaults``.
    """
    from weightslab_nb.watch.yaml_config import DEFAULT_POLL_INTERVAL, YamlConfig

    if isinstance(obj, dict):
        yaml_only = sorted(k for k in ("defaults", "poll_interval") if k in kwargs)
        if yaml_only:
            raise InvalidTypeError(f"{', '.join(yaml_only)}: only for a YAML file path; with a "
                                   "dict, put the values in the dict")
        _no_extra(kwargs)
        _check_initial(obj, "")
        hp = HyperParameters(obj, on_changes=session.hyperparameters_changed)
        session.register_hyperparameters(name, hp)
        attach(session, hp, name)
        _replay_journaled(session, hp)
        return hp
    if not isinstance(obj, (str, os.PathLike)):
        raise InvalidTypeError("obj: flag='hyperparameters' takes a dict or a YAML file path (str "
                               f"or os.PathLike), got {type(obj).__name__}")
    defaults = kwargs.pop("defaults", None)
    poll_interval = kwargs.pop("poll_interval", DEFAULT_POLL_INTERVAL)
    _no_extra(kwargs)
    config = YamlConfig(obj, defaults=defaults, poll_interval=poll_interval)
    initial = config.load()
    _check_initial(initial, f"{config.path}: ")
    hp = HyperParameters(initial, on_changes=session.hyperparameters_changed)
    session.register_hyperparameters(name, hp)
    attach(session, hp, name)
    _replay_journaled(session, hp)
    hp._tree.config = config
    ref = weakref.ref(session)
    config.start(hp, alive=lambda: (s := ref()) is not None and not s.closed)
    return hp


def _replay_journaled(session: "Session", hp: HyperParameters) -> None:
    """Request again the values applied in earlier sessions of a reopened run (the user's
    steering outlives a crash or a restart); a value that no longer fits is skipped."""
    for key, value in session.files.journaled_hyperparameters().items():
        try:
            hp.request(key, value, source="journal", create=True)
        except (TypeError, ValueError, KeyError) as exc:
            log.warning("hyperparameter %r = %.80r from the run's journal not applied: %s",
                        key, value, exc)


def _check_initial(values: dict, where: str) -> None:
    for path, value in flatten(values).items():
        if value is None:  # not set yet
            continue
        try:
            check_value(join_path(path), value)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"{where}{exc}") from None


def _no_extra(kwargs: dict) -> None:
    if kwargs:
        raise InvalidTypeError(f"watch_or_edit: unexpected keyword(s) {sorted(kwargs)} for "
                               "hyperparameters")


def for_session(session: "Session", create: bool = True) -> "Steering | None":
    """The steering state of ``session`` (created on first use when ``create``)."""
    return session.feature("steering", create)


def attach(session: "Session", hp: HyperParameters,
           name: str = "hyperparameters") -> HyperParameters:
    """Let ``session`` decide when ``hp``'s requests are applied, and apply them to its
    optimizers and loaders. A handle previously attached under ``name`` is detached (its file
    watcher stops, its pending requests are dropped)."""
    return for_session(session).attach(name, hp)


# ---------------------------------------------------------------- hooks
def apply_pending(session: "Session", step: int | None = None) -> list[dict]:
    """Apply the pending hyperparameter requests of ``session``; return the change records.

    Parameters
    ----------
    step : int, optional
        Given by the training thread at a batch boundary: the step about to be trained (the
        session's ``on_step`` hook passes its own). The calling thread is remembered as the
        training thread. Without it the call is safe from any thread: it applies only when
        no training thread is mid-step (see the module docstring), recording
        ``controller.step + 1``.

    Costs one dictionary look-up when nothing is pending.
    """
    steering = session.steering
    if steering is None:
        return []
    return steering.apply(step)


def controller_changed(session: "Session") -> None:
    """When the training thread parks at the pause gate, stops or fails, apply what was
    requested while it ran (the steering state's ``on_controller_change`` hook)."""
    steering = session.steering
    if steering is not None:
        steering.controller_changed()


# ---------------------------------------------------------------- the change log
def changes(session: "Session") -> list[dict]:
    """Hyperparameter changes applied in ``session`` (all its handles), oldest first."""
    steering = session.steering
    if steering is None:
        return []
    with steering.lock:
        return copy.deepcopy(steering.changes)


def read_change_log(root_log_dir) -> list[dict]:
    """Every change recorded in ``<root_log_dir>/hyperparameters.jsonl`` (all sessions that
    wrote to that directory), oldest first; ``[]`` when there is none."""
    path = Path(root_log_dir) / CHANGE_LOG
    if not path.exists():
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


# ---------------------------------------------------------------- applying to torch objects
def set_learning_rate(optimizer, lr) -> None:
    """Set ``lr`` (a number, or one per param group) in every param group of ``optimizer``."""
    groups = optimizer.param_groups
    values = list(lr) if isinstance(lr, (list, tuple)) else [lr] * len(groups)
    if len(values) != len(groups):
        raise InvalidValueError(f"lr: {len(values)} values for an optimizer with {len(groups)} "
                                "param groups")
    for group, value in zip(groups, values):
        if hasattr(group["lr"], "fill_"):  # a tensor lr (capturable optimizers)
            group["lr"].fill_(float(value))
        else:
            group["lr"] = float(value)


def set_batch_size(loader, batch_size: int) -> None:
    """Give a watched loader a new batch size; its sampler reads it when the next epoch starts."""
    loader.batch_size = int(batch_size)
    loader.sampler.batch_size = int(batch_size)


def check_value(key: str, value, optimizers: dict | None = None) -> None:
    """Range checks for the keys steering applies (other keys pass).

    Raises
    ------
    TypeError
        A learning rate that is not a number (or a list of numbers), a batch size that is not an
        int.
    ValueError
        A learning rate that is negative or not finite, a batch size < 1, a ``checkpoint_every``
        that is not an int >= 1 or None, or a list of learning
        rates whose length differs from the number of param groups of one of ``optimizers``
        (name -> optimizer).
    """
    if key in LR_KEYS:
        values = list(value) if isinstance(value, (list, tuple)) else [value]
        for v in values:
            if _is_bool(v) or not isinstance(v, numbers.Real):
                raise InvalidTypeError(f"hyperparameter {key!r}: expected a float (or one per "
                                       f"param group), got {type(v).__name__} {v!r}")
            if not (math.isfinite(v) and v >= 0):
                raise InvalidValueError(f"hyperparameter {key!r}: a learning rate must be a finite "
                                        f"number >= 0, got {v!r}")
        if isinstance(value, (list, tuple)):
            for name, optimizer in (optimizers or {}).items():
                if len(optimizer.param_groups) != len(value):
                    raise InvalidValueError(f"hyperparameter {key!r}: {len(value)} learning rates "
                                            f"for optimizer {name!r}, which has "
                                            f"{len(optimizer.param_groups)} param groups")
    elif key in BATCH_SIZE_KEYS:
        if _is_bool(value) or not isinstance(value, numbers.Integral):
            raise InvalidTypeError(f"hyperparameter {key!r}: expected an int, got "
                                   f"{type(value).__name__} {value!r}")
        if value < 1:
            raise InvalidValueError(f"hyperparameter {key!r}: a batch size must be >= 1, got "
                                    f"{value!r}")
    elif key == CHECKPOINT_KEY and value is not None:
        if _is_bool(value) or not isinstance(value, numbers.Integral) or value < 1:
            raise InvalidValueError(f"hyperparameter {key!r}: expected an int >= 1 (steps) or "
                                    f"None, got {type(value).__name__} {value!r}")


class Steering:
    """Per-session steering state: the attached handles, the training thread, the change log.

    Built by ``session.feature("steering")``; attaches to the session's ``on_step``,
    ``on_epoch``, ``on_controller_change`` and ``on_close`` hooks.
    """

    def __init__(self, session: "Session"):
        self._session = weakref.ref(session)
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None  # last thread seen at a batch boundary
        self.handles: dict[str, HyperParameters] = {}
        self.changes: list[dict] = []
        self._file_lock = threading.Lock()
        # grows after each request is queued; the training thread looks at pending requests
        # only when it moved since its last look (one int compare per step otherwise)
        self.requests = 0
        self._seen = -1
        # under DDP, on the rank that owns the hub: requests are applied when the control
        # relay polls them (weightslab_nb.distributed), never by the step hooks
        self.relayed = False
        session.on_step.append(self.apply)
        session.on_epoch.append(self.apply)
        session.on_controller_change.append(self.controller_changed)
        session.on_close.append(self.close)

    def controller_changed(self) -> None:
        """Apply pending requests when the training thread parks, stops or fails."""
        if self.requests == self._seen:  # nothing requested since the training thread looked
            return
        session = self._session()
        if session is None or not self.has_pending():
            return
        controller = session.controller
        if controller.state == "running":
            return
        me = threading.current_thread()
        if me is self.thread or me is controller.training_thread:
            self.apply(None)

    def attach(self, name: str, hp: HyperParameters) -> HyperParameters:
        with self.lock:
            old = self.handles.get(name)
            self.handles[name] = hp
        if old is not None and old is not hp:
            old.close()
            with old._tree.lock:
                old._tree.pending.clear()
                old._tree.scheduler = None
                old._tree.validators = []
        hp._tree.validators = [self.validate]
        hp._tree.scheduler = self._requested
        self._requested_count()
        return hp

    def _requested_count(self) -> None:
        with self.lock:
            self.requests += 1

    def _requested(self) -> None:
        """A handle queued a request: count it, then apply it now when that is safe."""
        self._requested_count()
        self.apply(None)

    def take_requests(self) -> list[tuple[str, str, object, str]]:
        """Remove the pending requests of every handle, unapplied, and return them as
        ``(handle name, dotted key, value, source)`` (deletions stay pending). Under DDP the
        control relay takes them on the hub's rank and every rank, that one included,
        requests them again at the same batch boundary (see :mod:`weightslab_nb.distributed`)."""
        taken = []
        for name, hp in list(self.handles.items()):
            tree = hp._tree
            with tree.lock:
                keep = [e for e in tree.pending if e[1] is DELETE]
                items = [e for e in tree.pending if e[1] is not DELETE]
                tree.pending = keep
            taken += [(name, join_path(path), value, source) for path, value, source in items]
        return taken

    def has_pending(self) -> bool:
        return any(hp._tree.pending for hp in list(self.handles.values()))

    def must_defer(self, session: "Session") -> bool:
        """True while a training thread other than the caller runs (it may be mid-step).

        The training thread is the one that last passed a batch boundary
        (:func:`apply_pending` with a step). A run that has not drawn a batch from a watched
        training loader yet, or a session without the batch-boundary hook, has none: there,
        requests apply at once, as there is no boundary to wait for.
        """
        if session.controller.state != "running":
            return False
        thread = self.thread
        return thread is not None and thread is not threading.current_thread() and \
            thread.is_alive()

    def apply(self, step: int | None) -> list[dict]:
        if step is not None:
            self.thread = threading.current_thread()
            if self.relayed:
                return []
            seen = self.requests  # read before looking: a request counted later is seen later
            if seen == self._seen:
                return []
            self._seen = seen
        session = self._session()
        if session is None:
            return []
        if not self.has_pending():
            return []
        done = []
        with self.lock:
            if step is None:
                if self.must_defer(session):
                    return []
                step = session.controller.step + 1
            for hp in list(self.handles.values()):
                taken = hp._tree.take(step)
                if taken is not None:
                    self._apply_effects(session, taken)
                    done.append((hp, taken))
        records = []
        for hp, taken in done:  # outside our lock: the session takes its own
            hp._tree.notify(taken)
            exp_hash = session.get_current_experiment_hash()
            for record in taken:
                record["experiment_hash"] = exp_hash
            records.extend(taken)
        if records:
            with self.lock:
                self.changes.extend(records)
            self._write_log(session, records)
        for hp, taken in done:
            hp._tree.complete(taken)
        return records

    def _apply_effects(self, session: "Session", records: list[dict]) -> None:
        for record in records:
            if record.get("deleted"):
                continue
            key, value = record["key"], record["new"]
            try:
                if key in LR_KEYS:
                    for optimizer in session.registry.all("optimizer").values():
                        set_learning_rate(optimizer, value)
                elif key in BATCH_SIZE_KEYS:
                    for loader in session.registry.loaders():
                        if getattr(loader, "is_training", False):
                            set_batch_size(loader, value)
            except Exception as exc:  # validated on request: only a later-watched object can
                record["error"] = f"{type(exc).__name__}: {exc}"  # disagree; shown in the log
                log.error("hyperparameter %r = %r could not be applied: %s", key, value, exc)

    def validate(self, key: str, value) -> None:
        """Range checks for the keys this module applies (called on every request)."""
        session = self._session()
        check_value(key, value, session.registry.all("optimizer") if session is not None else {})

    def _write_log(self, session: "Session", records: list[dict]) -> None:
        lines = "".join(json.dumps(r, default=repr) + "\n" for r in records)
        try:
            with self._file_lock:
                path = session.root_log_dir / CHANGE_LOG
                path.parent.mkdir(parents=True, exist_ok=True)
                with open(path, "a", encoding="utf-8") as f:
                    f.write(lines)
        except OSError as exc:  # the run goes on; the changes stay in memory
            log.error("could not append to the hyperparameter change log: %s", exc)

    def close(self) -> None:
        for hp in list(self.handles.values()):
            hp.close()


register_feature("steering", Steering)
