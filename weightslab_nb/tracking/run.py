"""The run a session logs into: ``wl.init``, ``wl.log``, ``run.summary``, ``run.config``.

A run is one sequence of logged rows, stored as plain files under
``<root_log_dir>/runs/<run id>/`` (or ``<dir>/runs/<run id>/`` with ``init(dir=...)``) so that
any tool can read it and :class:`~weightslab_nb.tracking.api.Api` can query it after the
process ended:

``run.json``
    ``{"id", "name", "project", "tags", "notes", "group", "job_type", "sweep", "state",
    "created_at", "heartbeat_at", "finished_at", "config"}``; ``state`` is ``"running"``,
    ``"finished"``, ``"failed"`` or ``"pruned"`` (a sweep trial stopped early); ``sweep`` is
    the id of the sweep the run is a trial of, else null. A running run rewrites it at least
    every 30 s (``heartbeat_at``); readers report a ``"running"`` run whose heartbeat is older
    than 5 minutes as ``"crashed"``.
``history.jsonl``
    One JSON object per ``log`` call: ``{"_step", "_timestamp", "_runtime", key: value, ...}``.
    Readers merge the objects of one step into one row (later values win).
``summary.json``
    One value per key: the last logged value, unless set through ``run.summary``.

All three are strict JSON: a non-finite number is written as ``null``.
``media/``
    The files of rich values (images, tables, audio...; see
    :mod:`weightslab_nb.tracking.media`); history and summary hold their JSON descriptors.

Steps. wandb counts ``log`` calls; a training inspector lines values up with training steps.
So ``step=None`` means the session's training step once a watched training loop has taken
one (or the last step logged, when calls made before training counted further: steps never go
back), and otherwise a counter of the run's own ``log`` calls (advanced unless
``commit=False``).
Logging at a step lower than the last one logged is refused with a warning and nothing is
stored (wandb does the same). Numbers are also recorded as global curve points of the
session's history, so ``wl.log({"val/acc": acc})`` appears in the loss-curves panel beside the
training loss.

Threads. ``log`` checks what must raise at once (the run's state, keys, values, the step),
writes media files of rich values (in the calling thread: log them at a modest rate), and
appends the row to the run's buffer: for a row of floats under the keys of the call before
that is the whole call (no conversion, no per-key work). One-value tensors are read per value
(a CPU tensor's ``.item()``, so later in-place changes do not reach the logged value; a CUDA
tensor is copied to pinned memory without a synchronisation and converted by the drain). The
buffer is drained in bulk (see
:mod:`weightslab_nb.tracking.log_buffer`) by the session's ingest thread every
``flush_interval`` and by every reader before it reads (``run.summary``, :meth:`Run.recent`,
:meth:`Run.log_counts`, the session's curves and history queries, ``wl.Api`` on a live run):
the drain updates the summary and recent values and appends the numbers to the session's
curves. Drained rows are appended to ``history.jsonl`` at each flush of the session's history,
by :meth:`Run.flush` and by :meth:`Run.finish`; closing the session finishes its run.
"""

from __future__ import annotations

import json
import logging
import math
import numbers
import secrets
import string
import threading
import time
from collections import deque
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from weightslab_nb.arguments import check_bool, check_int, check_optional_int, check_path
from weightslab_nb.errors import InvalidTypeError, InvalidValueError, StateError
from weightslab_nb.experiment import write_atomic
from weightslab_nb.tracking import media
from weightslab_nb.tracking.sweeps import context as sweep_context
from weightslab_nb.tracking.log_buffer import (CAPTURED, DEVICE, MIXED, NEW_CHUNK, PLAIN,
                                               RowBuffer, chunks_of, warm_up)

if TYPE_CHECKING:
    from weightslab_nb.session import Session

logger = logging.getLogger(__name__)

RUNS_DIR = "runs"
RUN_FILE = "run.json"
HISTORY_FILE = "history.jsonl"
SUMMARY_FILE = "summary.json"
DEFAULT_PROJECT = "weightslab"
ID_ALPHABET = string.ascii_lowercase + string.digits
RECENT_VALUES = 500  # values per key kept in memory for panels
HEARTBEAT_INTERVAL = 30.0  # seconds between two run.json writes of an idle running run
CRASHED_AFTER = 300.0  # seconds without a heartbeat after which readers call a run "crashed"
WAKE_ROWS = 16_384  # buffered rows that ask the ingest thread for a drain before its round
_PLAIN_NUMBERS = frozenset({float, int, bool, np.float64, np.float32, np.float16, np.int64,
                            np.int32, np.int16, np.int8, np.uint8, np.uint16, np.uint32,
                            np.bool_})
_time = time.time
_LARGEST_INT = 2 ** 1023  # ints from here on take the checked path (a float may overflow)


def _now_iso(t: float | None = None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(t))


def _write_json(path: Path, data) -> None:
    """Replace ``path`` atomically with ``data`` as (strict) JSON."""
    write_atomic(path, _dumps(data, indent=1).encode("utf-8"))


def _dumps(data, indent=None) -> str:
    """Strict JSON (no NaN/Infinity tokens: non-finite floats become null)."""
    try:  # the usual case: nothing to replace
        return json.dumps(data, indent=indent, default=_json_default, allow_nan=False)
    except ValueError:
        return json.dumps(_finite_json(data), indent=indent, default=_json_default,
                          allow_nan=False)


def _finite_json(value):
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_json(v) for v in value]
    return value


def _json_default(value):
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    raise InvalidTypeError(f"cannot store {type(value).__name__} as JSON")


def _check_text(value, argument: str, allow_none: bool = True) -> str | None:
    if value is None and allow_none:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidValueError(f"{argument}: expected a non-empty string, got {value!r}")
    return value


class _Store(MutableMapping):
    """A dict the run persists (config, summary): reads and writes under the run's lock."""

    def __init__(self, run: "Run", data: dict):
        self._run = run
        self._data = dict(data)

    def _sync(self) -> None:
        """Bring the values up to date before a read or write (the summary drains the run)."""

    def __getitem__(self, key):
        self._sync()
        with self._run._lock:
            return self._data[key]

    def __setitem__(self, key, value) -> None:
        if not isinstance(key, str) or not key:
            raise InvalidTypeError(f"key: expected a non-empty string, got {key!r}")
        self._check_open()
        stored = _plain_scalar(value)
        if stored is None:
            stored = self._run._stored_value(key, value)
        self._sync()  # logged values first: this one replaces them
        with self._run._lock:
            self._data[key] = stored
            self._run._dirty = True

    def __delitem__(self, key) -> None:
        self._check_open()
        self._sync()
        with self._run._lock:
            del self._data[key]
            self._run._dirty = True

    def _check_open(self) -> None:
        if self._run.state != "running":
            raise StateError(f"run {self._run.id!r} is {self._run.state}: its files are final; "
                             f"change them with wl.Api().run({self._run.path!r}) and .update()")

    def __iter__(self):
        self._sync()
        with self._run._lock:
            return iter(list(self._data))

    def __len__(self) -> int:
        self._sync()
        return len(self._data)

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"no key {name!r}; keys: {list(self)}") from None

    def to_dict(self) -> dict:
        """A copy of the values."""
        self._sync()
        with self._run._lock:
            return dict(self._data)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.to_dict()!r})"


class Summary(_Store):
    """One value per key: the last logged value unless set here (``run.summary["best"] = x``).

    A value set here is replaced by the next ``log`` of the same key.
    """

    def _sync(self) -> None:
        self._run._drain()


class Config(_Store):
    """The run's configuration (hyperparameters): ``run.config["lr"]``, ``run.config.lr``,
    ``run.config.update({...})``. Values must be JSON-able."""


class Run:
    """One run of a session; create it with :func:`init`.

    Attributes
    ----------
    id : str
        8 characters of ``[a-z0-9]``, unique within its directory.
    name, project : str
    dir : Path
        ``<root>/runs/<id>``, holding the run's files (see the module docstring).
    config : Config
    summary : Summary
    state : str
        ``"running"``, then ``"finished"`` or ``"failed"`` (``"pruned"``: a sweep trial
        stopped early).
    sweep_id : str or None
        The sweep this run is a trial of (see :mod:`weightslab_nb.tracking.sweeps`).

    Use it as a context manager to finish it on exit (``"failed"`` when the block raised).
    """

    def __init__(self, session: "Session", root: Path, *, id: str, name: str, project: str,
                 config: dict, tags: list[str], notes: str | None, group: str | None,
                 job_type: str | None, sweep: str | None = None):
        self.session = session
        self.id, self.name, self.project = id, name, project
        self.tags, self.notes, self.group, self.job_type = tags, notes, group, job_type
        self.sweep_id = sweep
        self.dir = root / RUNS_DIR / id
        self.state = "running"
        self._lock = threading.Lock()     # drained rows, config, summary, recent: short holds
        self._io_lock = threading.Lock()  # file appends (never taken by log)
        self._log_lock = threading.Lock()  # serialises log calls (held while media are written)
        self._drain_lock = threading.Lock()  # one drain at a time, so rows keep their order
        self._buffer = RowBuffer()        # log calls not drained yet
        self._pending: list = []          # drained chunks not written to history.jsonl yet
        self._known: set[str] = set()     # keys already checked (the fast path skips them)
        self._tensor_keys: tuple = ()     # keys of the last fast row that held tensors
        self._captures = session.recorder.captures  # truthy while an evaluation pass captures
        self._counting_seen = -1          # the controller change count _counting_cached is for
        self._counting_cached = True
        self._controller = session.controller
        self._recorder = session.recorder
        self._changes = session.changes
        self._recent: dict[str, deque] = {}  # key -> its last RECENT_VALUES (step, value)
        self._logged: dict[str, int] = {}  # key -> how many times it was logged
        self._deferred: dict[str, object] = {}  # hp/<key> values waiting for the next row
        # grows with each state change and when rows were logged since the last drain (which
        # every read of them starts with): panels poll it, then read
        self.version = 0
        self._counter = 0                 # the next step in counting mode
        self._last_step: int | None = None
        self._started = time.time()
        self._finished_at: float | None = None
        self._dirty = True
        self.config = Config(self, config)
        self.summary = Summary(self, {})
        self.dir.mkdir(parents=True, exist_ok=False)
        self._write_meta()

    # ---------------------------------------------------------------- logging
    @property
    def path(self) -> str:
        """``"<project>/<id>"``: what ``Api().run(path)`` takes."""
        return f"{self.project}/{self.id}"

    @property
    def step(self) -> int:
        """The step the next ``log(..., step=None)`` call goes to."""
        return self._default_step()

    def log(self, data: Mapping, step: int | None = None, commit: bool | None = None) -> None:
        """Log one row of values.

        Parameters
        ----------
        data : dict[str, value]
            Keys are non-empty strings not starting with ``"_"``; a nested dict is flattened
            with ``"/"`` (``{"val": {"acc": 1}}`` logs ``"val/acc"``). Values: numbers, bools,
            0-d arrays or tensors (stored as numbers and drawn as curves); strings; None
            (skipped); arrays or tensors of several values (stored as a
            :class:`~weightslab_nb.tracking.media.Histogram`); rich values from
            :mod:`weightslab_nb.tracking.media`, a list of them, or a matplotlib figure.
        step : int, optional
            Default: see the module docstring. Must not be lower than the last step logged.
        commit : bool, optional
            ``False`` keeps the step counter where it is, so the next call adds to the same
            row (counting mode only; training steps advance by themselves).

        Raises
        ------
        RuntimeError
            The run is finished.
        TypeError, ValueError
            A bad key or value (named in the message); nothing of the call is stored (keys and
            plain values are checked before any media file is written).
        """
        if type(data) is dict and commit is None:
            # The common call, done here in full: floats (ints, bools) under the keys of the
            # call before, the default step. One untracked dict and three numbers appended to
            # the buffer, nothing converted; other plain calls take _log_numbers, the rest the
            # checked path below.
            keys, row = tuple(data), None
            if keys != self._tensor_keys:  # floats, ints and bools add up to a float
                try:
                    row = data.copy() if type(sum(data.values())) is float else None
                except Exception:  # a string, None, a list... or an int too large for a float
                    row = None
            if row is not None and step is None:
                lock = self._log_lock  # one call at a time, so rows reach the file in order
                lock.acquire()  # acquire/release: half the cost of a with block
                try:
                    buffer = self._buffer
                    same = keys == buffer.schema  # the keys of the row before, in order
                    if (same or data.keys() <= self._known) and self.state == "running" and \
                            not self._deferred and not self._captures:
                        at = self._controller.step
                        if at == 0:  # counting, unless a training loop runs (cached)
                            if self._changes.controller != self._counting_seen:
                                self._refresh_counting()
                            if self._counting_cached:  # the counter: >= the last step
                                at = self._counter
                                self._counter = at + 1
                        if self._last_step is not None and at < self._last_step:
                            at = self._last_step  # steps never go back
                        # RowBuffer.put, inlined
                        buffer.meta.extend((at, _time(), self._recorder.experiment_id))
                        rows = buffer.rows
                        if not same:
                            rows.append(NEW_CHUNK)
                            buffer.schema = keys
                        rows.append(row)
                        self._last_step = at
                        n = len(rows)
                        if n <= 2:  # the first row since a drain: readers look again
                            self.version += 1
                            self._changes.history += 1
                        elif n == WAKE_ROWS:
                            self._recorder.wake()
                        return
                finally:
                    lock.release()
            elif (step is None or (type(step) is int and step >= 0)) and \
                    self._log_numbers(data, keys, row, step):
                return
        if self.state != "running":
            raise StateError(f"run {self.id!r} is {self.state}; start another with wl.init()")
        if type(data) is not dict and not isinstance(data, Mapping):
            raise InvalidTypeError("data: expected a dict of key -> value, got "
                                   f"{type(data).__name__}")
        if step is not None:
            step = check_int(step, "step", minimum=0)
        if commit is not None and not isinstance(commit, bool):
            raise InvalidTypeError(f"commit: expected True, False or None, got {commit!r}")
        lock = self._log_lock
        lock.acquire()
        try:
            if self.state != "running":  # finished while this call waited
                raise StateError(f"run {self.id!r} is {self.state}; start another with "
                                 "wl.init()")
            self._log(data, step, commit)
        finally:
            lock.release()

    def _log_numbers(self, data: dict, keys: tuple, row: dict | None,
                     step: int | None) -> bool:
        """The fast path for the other calls of numbers: one-value tensors, numpy scalars,
        ints only (``row`` None: converted here, see :func:`_scalar_row`), or an explicit
        ``step``. True when the call was buffered; False leaves it to the checked path
        (unknown keys, a value that is not a number, a step going back...)."""
        mode = PLAIN
        if row is None:
            row, mode, tensors = _scalar_row(data)
            if row is None:
                return False
            # with tensors, the next call with these keys comes here first (no sum)
            self._tensor_keys = keys if tensors else ()
        lock = self._log_lock
        lock.acquire()
        try:
            buffer = self._buffer
            if not ((keys == buffer.schema or data.keys() <= self._known) and
                    self.state == "running" and not self._deferred and not self._captures):
                return False
            last = self._last_step
            if step is None:
                ctl = self._controller
                counting = ctl.step == 0 and ctl.state != "running"
                at = self._counter if counting else max(ctl.step, last or 0)
            elif last is None or step >= last:
                at, counting = step, True
            else:
                return False  # the checked path warns
            if mode == PLAIN:  # RowBuffer.put without its copy: the row is ours
                buffer.meta.extend((at, _time(), self._recorder.experiment_id))
                if keys != buffer.schema:
                    buffer.rows.append(NEW_CHUNK)
                    buffer.schema = keys
                buffer.rows.append(row)
            else:  # tensors copied off their device, converted when drained
                buffer.put(at, _time(), self._recorder.experiment_id, row, mode)
            self._last_step = at
            if counting:
                self._counter = at + 1
            n = len(buffer.rows)
            if n <= 2:  # the first row since a drain: readers look again (as the fast path)
                self.version += 1
                self._changes.history += 1
            elif n == WAKE_ROWS:
                self._recorder.wake()
            return True
        finally:
            lock.release()

    def _log(self, data: Mapping, step: int | None, commit: bool | None) -> None:
        """One log call, under ``_log_lock``: check, then one append to the row buffer (the
        general path of :meth:`log`, which does the common case itself)."""
        last = self._last_step
        if step is None:
            controller = self._controller
            counting = controller.step == 0 and controller.state != "running"
            at = self._counter if counting else max(controller.step, last or 0)
        else:
            at, counting = step, True
        if last is not None and at < last:
            logger.warning("wl.log: step %d is lower than the last step logged (%d); the "
                           "values %s are ignored", at, last, list(data))
            return
        recorder = self._recorder
        if not self._deferred and data.keys() <= self._known and _plain_numbers(data) and \
                not recorder.captures:  # known keys, plain numbers only
            self._buffer.put(at, time.time(), recorder.experiment_id, data)
        else:
            values, mode = self._checked_row(data, at), MIXED
            if recorder.captures:  # an evaluation pass keeps its numbers apart
                self._record_curves(values, at)
                mode = CAPTURED
            self._buffer.put(at, time.time(), recorder.experiment_id, values, mode)
        self._last_step = at
        if counting:
            self._counter = at + (0 if commit is False else 1)
        self.version += 1
        self._changes.history += 1  # curves readers look, and drain the run first
        if len(self._buffer.rows) >= WAKE_ROWS:
            self._recorder.wake()

    def _checked_row(self, data: Mapping, at: int) -> dict:
        """The converted row of a call that is not plain numbers under known keys (raises
        naming a bad key or value), with hyperparameter changes applied meanwhile."""
        row = self._convert(_flatten(data), at)
        self._known.update(row)
        with self._lock:
            row.update(self._deferred)  # hyperparameter changes applied meanwhile
            self._deferred.clear()
        return row

    def hyperparameter_applied(self, key: str, value) -> None:
        """Follow an applied hyperparameter change (the session calls it): the config gets the
        new value at its dotted ``key`` when the config has that key (it came from the watched
        hyperparameters), and the run logs ``"hp/<key>"`` at the current step, so the change
        shows as a curve (numbers) and in the history. Never raises."""
        if self.state != "running":
            return
        try:
            parts = key.split(".")
            with self._lock:
                node = self.config._data
                for part in parts[:-1]:
                    node = node.get(part) if isinstance(node, dict) else None
                if isinstance(node, dict) and parts[-1] in node:
                    node[parts[-1]] = value
                    self._dirty = True
            stored = self._stored_value(f"hp/{key}", value)
            if not self._log_lock.acquire(blocking=False):
                with self._lock:  # a log call is writing media: it adds this to its row
                    self._deferred[f"hp/{key}"] = stored
                return
            try:
                if self.state == "running":
                    self._log({f"hp/{key}": stored}, None, None)
            finally:
                self._log_lock.release()
        except Exception:
            logger.exception("run %s: could not record the change of %r", self.id, key)

    def _drain(self) -> None:
        """Take every buffered log call: update the summary, recent values and log counts,
        keep the rows for the history file and append the numbers to the session's curves.
        Called by the session's drains (see :meth:`Session.add_drain_hook`) and by readers;
        cheap when nothing is buffered. Must not be called while holding ``_lock``."""
        if not self._buffer.rows:
            return
        with self._drain_lock:
            if self._log_lock.acquire(blocking=False):  # no log call in progress: swap
                try:
                    buffer, self._buffer = self._buffer, RowBuffer()
                finally:
                    self._log_lock.release()
                meta, rows = buffer.take_all()
            else:  # a log call may be writing media: take without waiting for it
                meta, rows = self._buffer.take()
            if not len(meta):
                return
            chunks = chunks_of(meta, rows)
            with self._lock:
                summary = self.summary._data
                for chunk in chunks:
                    summary.update(chunk.row(-1))
                    chunk.update_recent(self._recent, self._logged, RECENT_VALUES)
                self._pending.extend(chunks)
            for chunk in chunks:
                for key, steps, values in chunk.curves():
                    self.session.record_scalar_series(key, steps, values, chunk.exp)

    def recent(self, key: str | None = None):
        """Each key's last logged values (up to :data:`RECENT_VALUES` per key), oldest first:
        ``{key: [(step, value), ...]}``, keys in the order first logged; with ``key``, only
        that key's list (None when it was never logged). Rich values are their descriptors.
        The whole history is in the run's files (read it with ``wl.Api``)."""
        self._drain()
        with self._lock:
            if key is not None:
                values = self._recent.get(key)
                return None if values is None else list(values)
            return {k: list(values) for k, values in self._recent.items()}

    def log_counts(self) -> dict[str, int]:
        """How many times each key was logged (a value logged again at the same step counts
        too: panels use it to notice a replaced value)."""
        self._drain()
        with self._lock:
            return dict(self._logged)

    def _refresh_counting(self) -> None:
        """Cache :meth:`_counting` for the fast path of :meth:`log`, with the controller's
        change count it was read at (the session counts every change of state and step, so
        the fast path reads the controller's state only after it changed)."""
        seen = self._changes.controller  # read first: a change meanwhile refreshes again
        self._counting_cached = self._counting()
        self._counting_seen = seen

    def _counting(self) -> bool:
        """True while no watched training loop has taken a step (wandb's step counting)."""
        controller = self.session.controller
        return controller.step == 0 and controller.state != "running"

    def _default_step(self) -> int:
        return self._counter if self._counting() else max(self.session.controller.step,
                                                           self._last_step or 0)

    def _convert(self, data: dict, step: int) -> dict:
        """Checked, JSON-able values of one call. Keys and plain values are checked first, so
        a bad one raises before any media file is written."""
        out, rich = {}, []
        for key, value in data.items():
            if not isinstance(key, str) or not key or key.startswith("_"):
                raise InvalidValueError("data: keys must be non-empty strings not starting with "
                                        f"'_', got {key!r}")
            if value is None:
                continue
            number = _number_of(key, value)
            if number is not None:  # the common case, checked once
                out[key] = number
            elif _needs_files(value):
                _check_media_list(key, value)
                rich.append(key)
            else:
                out[key] = self._stored_value(key, value, step)
        for key in rich:
            out[key] = self._stored_value(key, data[key], step)
        return {key: out[key] for key in data if key in out}

    def _stored_value(self, key: str, value, step: int | None = None):
        """The JSON-able form of one value (raises naming ``key`` when there is none)."""
        number = _number_of(key, value)
        if number is not None:
            return number
        if isinstance(value, str):
            return value
        at = (self._last_step or 0) if step is None else step
        encoded = media.encode_value(value, self.dir, key, at)
        if encoded is None and _is_array(value) and _numeric(value):
            encoded = media.Histogram(value).to_json(self.dir, key, at)
        if encoded is not None:
            return encoded
        if _is_array(value):
            value = value.tolist()
        try:
            json.dumps(value, default=_json_default)
        except (TypeError, ValueError):
            raise InvalidTypeError(f"data[{key!r}]: cannot log a {type(value).__name__}; log "
                                   "numbers, strings, arrays, rich values (wl.Image, wl.Table, "
                                   "...) or JSON-able lists and dicts") from None
        return value

    def _record_curves(self, row: dict, step: int) -> None:
        """Record a row's finite numbers as curve points now (a capturing caller)."""
        for key, value in row.items():
            if isinstance(value, float) and math.isfinite(value):
                self.session.record_scalar(key, value, step=step)

    # ---------------------------------------------------------------- files
    def flush(self) -> None:
        """Append the buffered rows to ``history.jsonl`` and rewrite the summary and
        ``run.json`` when they changed. Safe from any thread."""
        self._drain()
        with self._io_lock:
            with self._lock:
                rows, self._pending = self._pending, []
                dirty, self._dirty = self._dirty or bool(rows), False
                summary = dict(self.summary._data)
            try:
                if rows:
                    data = b"".join(chunk.history_bytes(self._started, _dumps)
                                    for chunk in rows)
                    with open(self.dir / HISTORY_FILE, "ab") as f:
                        f.write(data)
                    rows = []
                if dirty:
                    _write_json(self.dir / SUMMARY_FILE, summary)
                    self._write_meta()
            except BaseException:
                with self._lock:  # keep what was not written for the next flush
                    self._pending[:0] = rows
                    self._dirty = True
                raise

    # ---------------------------------------------------------------- artifacts
    def log_artifact(self, artifact, aliases=None, *, name: str | None = None,
                     type: str | None = None):
        """Store ``artifact`` as a version logged by this run and return it (now logged:
        ``artifact.version`` is ``"v<N>"``).

        The version goes to the store beside the run (``<root>/artifacts/``, see
        :mod:`weightslab_nb.tracking.artifacts.store`), in the run's project. Same files as the
        latest version: no new version (the latest is returned, ``aliases`` are added to it).

        Parameters
        ----------
        artifact : wl.Artifact, str or Path
            A draft artifact, or a file or directory to wrap in a new one (named ``name``,
            default the path's name; of type ``type``, default ``"unspecified"``).
        aliases : list of str, optional
            Moved to this version; ``"latest"`` always moves to the newest version.

        Raises
        ------
        StateError
            The run is finished, or the artifact is logged already.
        InvalidValueError, InvalidTypeError, MissingFileError
            Bad aliases or artifact, a file gone or changed since it was added.
        """
        from weightslab_nb.tracking.artifacts.usage import log_to

        self._check_artifacts("log_artifact")
        return log_to(self._artifact_store(), artifact, self.project, self.path, aliases,
                      name, type)

    def use_artifact(self, artifact_or_name, type: str | None = None):
        """The artifact version this run uses as an input; the use is recorded (lineage:
        ``artifact.used_by()``, ``Api().run(...).used_artifacts()``).

        Parameters
        ----------
        artifact_or_name : str or wl.Artifact
            ``"name"`` (the latest), ``"name:v3"``, ``"name:<alias>"``, ``"project/name:..."``
            (a bare name is looked up in the run's project), or a logged artifact.
        type : str, optional
            The type the artifact must have.

        Raises
        ------
        UnknownNameError
            No such artifact or version (the message lists what exists).
        InvalidValueError
            A malformed name or the wrong ``type``.
        StateError
            The run is finished, or the artifact given is not logged.
        """
        from weightslab_nb.tracking.artifacts.usage import use_from

        self._check_artifacts("use_artifact")
        return use_from(self._artifact_store(), artifact_or_name, self.project, self.path, type,
                        self.dir)

    def _artifact_store(self):
        from weightslab_nb.tracking.artifacts.store import ArtifactStore

        return ArtifactStore(self.dir.parent.parent)

    def _check_artifacts(self, what: str) -> None:
        if self.state != "running":
            raise StateError(f"{what}: run {self.path} is {self.state}; start a run with "
                             "wl.init()")

    def finish(self, exit_code: int | None = None, *, pruned: bool = False) -> None:
        """End the run: flush its files and mark it ``"finished"`` (``"failed"`` for a
        non-zero ``exit_code``, an int; ``"pruned"`` with ``pruned=True``: a sweep trial its
        pruner stopped). Safe to call twice."""
        exit_code = check_optional_int(exit_code, "exit_code")
        pruned = check_bool(pruned, "pruned")
        with self._log_lock:  # a log call in progress completes first
            if self.state != "running":
                return
            with self._lock:
                if self._deferred:  # hyperparameter changes no log call picked up
                    self._buffer.put(self._last_step or 0, time.time(),
                                     self._recorder.experiment_id, self._deferred, MIXED)
                    self._deferred.clear()
                self.state = "pruned" if pruned else "finished" if not exit_code else "failed"
                self.version += 1
                self._finished_at = time.time()
                self._dirty = True
        self.flush()
        self.session.remove_flush_hook(self._on_flush)
        self.session.remove_drain_hook(self._drain)
        if self.hyperparameter_applied in self.session.on_hyperparameter_change:
            self.session.on_hyperparameter_change.remove(self.hyperparameter_applied)
        if getattr(self.session, "run", None) is self:
            self.session.run = None

    def _write_meta(self) -> None:
        with self._lock:
            config = dict(self.config._data)
        self._heartbeat = time.monotonic()
        _write_json(self.dir / RUN_FILE, {
            "id": self.id, "name": self.name, "project": self.project, "tags": self.tags,
            "notes": self.notes, "group": self.group, "job_type": self.job_type,
            "sweep": self.sweep_id, "state": self.state, "created_at": _now_iso(self._started),
            "heartbeat_at": _now_iso(), "finished_at": None if self._finished_at is None
            else _now_iso(self._finished_at), "config": config})

    def _on_flush(self) -> None:
        """The session's flush hook: write the buffer; finish when the session closed. The
        first round after ``init`` also readies the formatting of history lines (see
        :func:`~weightslab_nb.tracking.log_buffer.warm_up`), off the logging thread."""
        if self.state != "running":
            return
        if self.session.closed:
            self.finish()
            return
        warm_up()
        self.flush()
        if time.monotonic() - self._heartbeat >= HEARTBEAT_INTERVAL:
            with self._io_lock:  # never over a final run.json written by finish()
                if self.state == "running":
                    self._write_meta()  # an idle run still shows it is alive

    def __enter__(self) -> "Run":
        return self

    def __exit__(self, exc_type, *exc) -> None:
        self.finish(1 if exc_type is not None else 0)

    def __repr__(self) -> str:
        return (f"<Run {self.path} name={self.name!r} state={self.state} step={self.step} "
                f"dir={str(self.dir)!r}>")


# ---------------------------------------------------------------- values
def _plain_numbers(data: Mapping) -> bool:
    """True when the values of ``data`` are plain numbers that stay what they are (floats,
    ints, bools, numpy scalars; converted to float64 when drained), False for the rest
    (arrays, tensors, strings, media...; an int too large for a float too).

    The common case costs one C-level ``sum``: floats, ints and bools add up to a Python
    float, while arrays and tensors add up to an array or a tensor, numpy scalars to a numpy
    scalar, and anything else raises. Rows of ints only, or with numpy scalars, take the type
    check."""
    try:
        total = sum(data.values())
    except Exception:  # a string, None, a list... and an int too large for a float
        return False
    if type(total) is float:
        return True
    if set(map(type, data.values())) <= _PLAIN_NUMBERS:
        try:
            sum(map(float, data.values()))
        except OverflowError:
            return False  # the checked path names the key
        return True
    return False


def _scalar_row(data: dict) -> tuple[dict | None, int, bool]:
    """``(row, mode, has tensors)`` for a call of plain numbers and one-value real tensors,
    else ``(None, PLAIN, False)`` (the checked path takes the call and names a bad value).

    Floats, ints (not too large for a float), bools and numpy scalars are kept as they are. A
    CPU tensor becomes its value (``.item()``: a copy taken now, so an in-place change after
    the call, such as an accumulator's ``+=``, does not reach the logged value). A CUDA tensor
    is copied to pinned host memory without waiting for the device
    (``.to("cpu", non_blocking=True)``, detached first when it requires grad: a copy taken in
    stream order, so later in-place changes do not reach it either) and kept with its device
    index; the row gets mode :data:`DEVICE`: the drain waits for the copies and converts them
    in bulk, so a training step never synchronises with the GPU to log its loss."""
    row, mode, tensors = {}, PLAIN, False
    for key, value in data.items():
        kind = type(value)
        if kind is float or kind is bool:
            row[key] = value
        elif kind is int:
            if not -_LARGEST_INT < value < _LARGEST_INT:
                return None, PLAIN, False
            row[key] = value
        elif kind in _PLAIN_NUMBERS:
            row[key] = value
        elif kind.__module__.startswith("torch") and hasattr(value, "is_cuda"):
            if value.numel() != 1 or value.is_complex():
                return None, PLAIN, False
            tensors = True
            if value.is_cpu:
                row[key] = value.item()
            elif value.is_cuda:
                if value.requires_grad:
                    value = value.detach()
                row[key] = (value.to("cpu", non_blocking=True), value.get_device())
                mode = DEVICE
            else:  # another device: the checked path reads it
                return None, PLAIN, False
        else:
            return None, PLAIN, False
    return row, mode, tensors


def _flatten(data: Mapping, prefix: str = "") -> dict:
    """Nested dicts as ``"outer/inner"`` keys (non-string keys are left for the key check)."""
    out = {}
    for key, value in data.items():
        name = f"{prefix}/{key}" if prefix and isinstance(key, str) else key
        if isinstance(value, dict):
            out.update(_flatten(value, name if isinstance(name, str) else str(name)))
        else:
            out[name] = value
    return out


def _plain_scalar(value):
    """``value`` as it is for bools, ints, finite-or-not floats and strings (numpy scalars as
    Python ones), so that config and summary keep ``epochs=5`` an int; None for the rest."""
    if isinstance(value, (bool, int, float, str)):
        return value
    if type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0 and \
            value.dtype.kind in "biuf":
        return value.item()
    return None


def _needs_files(value) -> bool:
    """True for values stored as media files: rich values (alone or in a list), matplotlib
    figures (or ``pyplot`` itself) and numeric arrays (histograms). Call it for values that
    are not numbers (:func:`_number_of` returned None): a one-value array is a number."""
    if media.is_media(value) or hasattr(value, "savefig") or \
            getattr(value, "__name__", None) == "matplotlib.pyplot":
        return True
    if isinstance(value, (list, tuple)):
        return any(media.is_media(v) for v in value)
    return _is_array(value) and _numeric(value)  # numbers were taken before


def _check_media_list(key: str, value) -> None:
    """A list holding media must hold media of one class only (checked before any file is
    written)."""
    if isinstance(value, (list, tuple)):
        kinds = {type(v) for v in value}
        if len(kinds) != 1 or not media.is_media(value[0]):
            raise InvalidValueError(f"data[{key!r}]: a list of rich values must hold one kind "
                                    f"only, got {sorted(k.__name__ for k in kinds)}")


def _is_array(value) -> bool:
    return hasattr(value, "shape") and hasattr(value, "dtype")


def _as_number(value) -> float | None:
    """A float for numbers, bools and one-value numeric arrays or tensors; None otherwise."""
    if type(value) is float or type(value) is int:  # fast path before the ABC check
        return float(value)
    if isinstance(value, numbers.Real):  # bool, int, float and numpy scalars
        return float(value)
    if not _is_array(value) or not _numeric(value):
        return None
    size = value.numel() if type(value).__module__.startswith("torch") else value.size
    return float(value.item()) if size == 1 else None


def _number_of(key: str, value) -> float | None:
    """:func:`_as_number`, with an integer too large for a float refused naming ``key``."""
    try:
        return _as_number(value)
    except OverflowError:
        raise InvalidValueError(f"data[{key!r}]: {value!r} is too large for a float") from None


def _numeric(array) -> bool:
    """True for arrays and tensors of bools, ints or floats."""
    if type(array).__module__.startswith("torch"):
        return not array.is_complex()
    return array.dtype.kind in "biuf"


# ---------------------------------------------------------------- module functions
def _new_id(root: Path) -> str:
    while True:
        candidate = "".join(secrets.choice(ID_ALPHABET) for _ in range(8))
        if not (root / RUNS_DIR / candidate).exists():
            return candidate


def init(session, project: str | None = None, name: str | None = None,
         config: Mapping | None = None, tags=None, notes: str | None = None,
         group: str | None = None, job_type: str | None = None, dir=None, id: str | None = None,
         reinit: bool = False) -> Run:
    """Start a run of ``session`` and return it (``wl.init`` is this for the current session).

    Parameters
    ----------
    session : Session
    project : str, optional
        Groups runs for :meth:`Api.runs <weightslab_nb.tracking.api.Api.runs>`; default
        ``"weightslab"``.
    name : str, optional
        Display name; default the experiment name of the watched hyperparameters, else the id.
    config : dict, optional
        The run's configuration; default a copy of the watched hyperparameters (if any).
    tags : list of str, optional
    notes, group, job_type : str, optional
        Stored in ``run.json`` and usable in :meth:`Api.runs` filters.
    dir : str or Path, optional
        Directory that gets the ``runs/<id>/`` folder; default the session's ``root_log_dir``.
    id : str, optional
        The run id (letters, digits, ``-`` and ``_``); default 8 random characters.
    reinit : bool, default False
        With a run of this session still running: False returns that run unchanged; True
        finishes it and starts a new one.

    Inside the function of a sweep agent (:func:`weightslab_nb.tracking.sweeps.agent.agent`)
    the first ``init`` of the thread starts the trial's run: its config is ``config`` updated
    with the trial's parameters, ``project`` defaults to the sweep's, ``run.json`` records
    the sweep id, and a run of this session still running is finished first (as ``reinit``)
    unless it is the trial of another agent (then ``StateError``: concurrent agents need one
    session each).

    Raises
    ------
    ValueError
        A bad name, project, id or tags, or an id already used in that directory.
    TypeError
        ``config`` is not a dict of JSON-able values, ``reinit`` is not a bool, ``dir`` is not
        a path. Nothing changes then (a running run keeps running).
    ReadOnlyError
        ``session`` was opened on a finished run (:func:`weightslab_nb.open`).
    StateError
        In a sweep trial, while this session's run is another agent's trial still running.
    """
    session.access.check_recording("wl.init")
    reinit = check_bool(reinit, "reinit")
    trial = sweep_context.pending()
    if dir is not None:
        dir = check_path(dir, "dir")
    active = getattr(session, "run", None)
    if active is not None and active.state == "running" and not reinit and trial is None:
        return active
    project = _check_text(project, "project") or \
        (trial.project if trial is not None else DEFAULT_PROJECT)
    name = _check_text(name, "name")
    notes, group = _check_text(notes, "notes"), _check_text(group, "group")
    job_type = _check_text(job_type, "job_type")
    tags = _check_tags(tags)
    config = _initial_config(session, config)
    if trial is not None:
        config.update(trial.config)
    if getattr(session, "data_state", None) is not None:  # the curated data it trains on
        config.setdefault("data_state", session.data_state)
    root = Path(dir) if dir is not None else session.root_log_dir
    if id is not None:
        if not isinstance(id, str) or not id or not all(c.isalnum() or c in "-_" for c in id):
            raise InvalidValueError(f"id: expected letters, digits, '-' or '_', got {id!r}")
        if (root / RUNS_DIR / id).exists():
            raise InvalidValueError(f"id: a run {id!r} already exists under {root / RUNS_DIR}")
    if active is not None and active.state == "running":
        if trial is not None and getattr(active, "trial", None) is not None:
            raise StateError(  # another agent's trial: finishing it would cut it short
                f"wl.init: this session's run {active.id!r} is the trial of another sweep "
                "agent, still running; give each agent its own Session (wl.init(session=...), "
                "wl.log(..., session=...))")
        active.finish()  # reinit: every argument was checked first
    run_id = id or _new_id(root)
    if name is None:
        experiment = config.get("experiment_name")
        name = experiment if isinstance(experiment, str) and experiment else run_id
    run_class = trial.run_class if trial is not None else Run
    run = run_class(session, root, id=run_id, name=name, project=project, config=config,
                    tags=tags, notes=notes, group=group, job_type=job_type,
                    sweep=trial.sweep_id if trial is not None else None)
    session.run = run
    # the flush hook formats history lines with pyarrow on the recorder's thread, and pyarrow
    # imports pandas the first time it builds an array. Two threads importing pandas for the
    # first time at once can leave one with a half-initialised module (a user's plotly or
    # pandas import just after wl.init), so pandas is imported here, on the caller's thread.
    import pandas  # noqa: F401
    session.add_flush_hook(run._on_flush)
    session.add_drain_hook(run._drain)
    session.on_hyperparameter_change.append(run.hyperparameter_applied)
    session.recorder.wake()  # the recorder's rounds carry the run's heartbeat
    if trial is not None:
        trial.run = run
        trial.started(run)
    return run


def _check_tags(tags) -> list[str]:
    if tags is None:
        return []
    if isinstance(tags, str) or not hasattr(tags, "__iter__"):
        raise InvalidValueError(f"tags: expected a list of strings, got {tags!r}")
    tags = list(tags)
    for tag in tags:
        _check_text(tag, "tags", allow_none=False)
    return tags


def _initial_config(session, config) -> dict:
    if config is None:
        handles = session.registry.all("hyperparameters")
        return next(reversed(handles.values())).to_dict() if handles else {}
    if not isinstance(config, Mapping):
        raise InvalidTypeError(f"config: expected a dict, got {type(config).__name__}")
    config = dict(config)
    try:
        json.dumps(config, default=_json_default)
    except (TypeError, ValueError) as exc:
        raise InvalidTypeError(f"config: values must be JSON-able ({exc})") from None
    return config


def active_run(session) -> Run | None:
    """The running run of ``session``, or None."""
    run = getattr(session, "run", None)
    return run if run is not None and run.state == "running" else None


def log(session, data: Mapping, step: int | None = None, commit: bool | None = None) -> None:
    """``Run.log`` on the running run of ``session`` (``wl.log`` is this for the current
    session).

    Raises
    ------
    RuntimeError
        No run is running: call :func:`init` first.
    """
    session.access.check_recording("wl.log")
    run = getattr(session, "run", None)
    if run is None or run.state != "running":
        raise StateError("wl.log: no run is running; call wl.init() first")
    run.log(data, step, commit)


def finish(session, exit_code: int | None = None) -> None:
    """Finish the running run of ``session`` (no-op when there is none).

    Raises
    ------
    TypeError
        ``exit_code`` is not an int or None (even without a running run).
    """
    exit_code = check_optional_int(exit_code, "exit_code")
    run = active_run(session)
    if run is not None:
        run.finish(exit_code)


def log_artifact(session, artifact, aliases=None, name: str | None = None,
                 type: str | None = None):
    """:meth:`Run.log_artifact` on the running run of ``session`` (``wl.log_artifact``).

    Without a running run the version is stored in ``session.root_log_dir``'s store, in the
    project ``"weightslab"``, logged by no run (``artifact.logged_by()`` is None).
    """
    run = active_run(session)
    if run is not None:
        return run.log_artifact(artifact, aliases, name=name, type=type)
    from weightslab_nb.tracking.artifacts.store import ArtifactStore
    from weightslab_nb.tracking.artifacts.usage import log_to

    session.access.check_recording("wl.log_artifact")
    return log_to(ArtifactStore(session.root_log_dir), artifact, DEFAULT_PROJECT, None,
                  aliases, name, type)


def use_artifact(session, artifact_or_name, type: str | None = None):
    """:meth:`Run.use_artifact` on the running run of ``session`` (``wl.use_artifact``).

    Without a running run, a name is looked up in ``session.root_log_dir``'s store (project
    ``"weightslab"`` for a bare name) and no use is recorded.
    """
    run = active_run(session)
    if run is not None:
        return run.use_artifact(artifact_or_name, type)
    from weightslab_nb.tracking.artifacts.store import ArtifactStore
    from weightslab_nb.tracking.artifacts.usage import use_from

    return use_from(ArtifactStore(session.root_log_dir), artifact_or_name, DEFAULT_PROJECT,
                    None, type)
