"""Watched hyperparameters: a live, nested mapping whose edits are typed *requests* that are
*applied* at safe points.

Requested vs applied
--------------------
Every write is a request: ``hp["optimizer"]["lr"] = 1e-4``, ``hp.set_path("optimizer.lr", 1e-4)``,
``hp.update({...})``, ``hp.request("optimizer.lr", 1e-4, source="panel")`` and a reload of a
watched YAML file (``source="yaml"``). A request is validated at once against the current
(requested) value and raises ``TypeError`` / ``ValueError`` / ``KeyError`` naming the key; nothing
changes then, and a call that sets several keys sets all of them or none:

- an ``int`` stays an ``int`` (a float, or a bool, is refused);
- a ``float`` accepts an ``int`` (stored as ``float``), never a bool;
- a ``bool`` accepts only a bool, a ``str`` only a str;
- a list (or tuple) takes a list or tuple whose items match the current items' types;
- a section (dict) takes a dict, merged key by key (``hp["optimizer"] = {"lr": 0.1}`` changes
  ``optimizer.lr`` only); a leaf never becomes a dict or the other way round;
- a ``None`` value accepts anything (it has no type yet); other objects take their own type;
- new keys (and new sections) may be added from code and from the YAML file, not from the panel
  or the CLI (``create=`` overrides), where a typo should not invent a key.

A valid request is *applied* when it is safe to do so: at once for a standalone handle; for a
handle watched by a session, by :mod:`weightslab_nb.steering` (at once when no training thread is
in the middle of a step, else by the training thread at its next batch boundary).

Reads (``hp[...]``, ``get_path``, ``to_dict``, iteration) return the *applied* values: what the
training uses, and what the experiment hash is computed from. ``to_dict(requested=True)``,
:meth:`HyperParameters.pending` and :meth:`HyperParameters.rows` show what is requested.
Every applied change is recorded as ``{"step", "key", "old", "new", "source", "time"}`` (see
:meth:`HyperParameters.history`).
"""

from __future__ import annotations

import copy
import logging
import numbers
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping

from weightslab_nb.errors import InvalidTypeError, InvalidValueError, UnknownNameError

log = logging.getLogger(__name__)

SOURCES = ("code", "panel", "cli", "yaml")  # the usual sources; any non-empty name is accepted
CREATING_SOURCES = ("code", "yaml")  # sources that may add keys unless create= says otherwise

_MISSING = object()


class _Delete:
    """Marker of a requested deletion (``del hp[key]``)."""

    def __repr__(self) -> str:
        return "<delete>"


DELETE = _Delete()


# ---------------------------------------------------------------- paths and values
def split_path(path) -> tuple:
    """``"optimizer.lr"`` or ``("optimizer", "lr")`` -> ``("optimizer", "lr")``.

    Raises ``TypeError`` for another type and ``ValueError`` for an empty path or part.
    """
    if isinstance(path, str):
        parts = tuple(path.split("."))
    elif isinstance(path, (tuple, list)):
        parts = tuple(path)
    else:
        raise InvalidTypeError("path: expected a dotted string such as 'optimizer.lr' or a tuple "
                               f"of keys, got {type(path).__name__}")
    if not parts or any(p == "" or p is None for p in parts):
        raise InvalidValueError("path: expected a dotted path such as 'optimizer.lr', got "
                                f"{path!r}")
    return parts


def join_path(parts: Iterable) -> str:
    """``("optimizer", "lr")`` -> ``"optimizer.lr"``."""
    return ".".join(str(p) for p in parts)


def _is_bool(value) -> bool:
    return isinstance(value, bool) or type(value).__name__ in ("bool_", "bool") and \
        type(value).__module__ == "numpy"


def expected_type(current) -> str:
    """What a request must be where ``current`` is, in words (``"an int"``, ...)."""
    if isinstance(current, dict):
        return "a section (dict) of values"
    if _is_bool(current):
        return "a bool"
    if isinstance(current, numbers.Integral):
        return "an int"
    if isinstance(current, numbers.Real):
        return "a float (or an int)"
    if isinstance(current, (list, tuple)):
        return "a list"
    return f"a {type(current).__name__}"


def coerce_value(key: str, current, value):
    """The value to store when ``value`` is requested where ``current`` is.

    Raises
    ------
    TypeError
        ``value`` does not have the type of ``current`` (see the module docstring); the message
        names ``key``.
    """
    def refuse(expected: str):
        raise InvalidTypeError(f"hyperparameter {key!r}: expected {expected}, got "
                               f"{type(value).__name__} {value!r}")

    if current is None or current is _MISSING:
        return copy.deepcopy(value)
    if isinstance(value, Mapping) or isinstance(current, dict):
        if isinstance(value, Mapping) and isinstance(current, dict):
            return {k: copy.deepcopy(v) for k, v in value.items()}
        refuse(expected_type(current))
    if _is_bool(current):
        if not _is_bool(value):
            refuse(expected_type(current))
        return bool(value)
    if isinstance(current, numbers.Integral):
        if _is_bool(value) or not isinstance(value, numbers.Integral):
            refuse(expected_type(current))
        return int(value)
    if isinstance(current, numbers.Real):
        if _is_bool(value) or not isinstance(value, numbers.Real):
            refuse(expected_type(current))
        return float(value)
    if isinstance(current, str):
        if not isinstance(value, str):
            refuse(expected_type(current))
        return value
    if isinstance(current, (list, tuple)):
        if not isinstance(value, (list, tuple)):
            refuse(expected_type(current))
        items = []
        for i, item in enumerate(value):
            ref = current[i] if i < len(current) else (current[-1] if current else None)
            items.append(coerce_value(f"{key}[{i}]", ref, item))
        return type(current)(items)
    if not isinstance(value, type(current)):
        refuse(expected_type(current))
    return copy.deepcopy(value)


_ATOMIC = (str, int, float, bool, complex, bytes, type(None))
_COPY_DEPTH = 64  # deeper than this (or a cycle), copy_tree hands the rest to copy.deepcopy


def copy_tree(value, _depth: int = 0):
    """A deep copy of a tree of dicts, lists and scalars, several times faster than
    ``copy.deepcopy`` for them (whole-tree copies run once per applied change); any other
    object, and anything nested deeper than 64 levels, is copied by ``copy.deepcopy``."""
    kind = type(value)
    if kind in _ATOMIC:
        return value
    if _depth < _COPY_DEPTH:
        _depth += 1
        if kind is dict:
            return {k: v if type(v) in _ATOMIC else copy_tree(v, _depth)
                    for k, v in value.items()}
        if kind is list:
            return [v if type(v) in _ATOMIC else copy_tree(v, _depth) for v in value]
    return copy.deepcopy(value)


def same_value(a, b) -> bool:
    """Equal value *and* type (``1`` and ``True``, or ``1`` and ``1.0``, differ)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b))
    try:
        return bool(a == b)
    except Exception:  # e.g. arrays: compare by identity
        return a is b


def lookup(tree: dict, path: tuple):
    """The value at ``path`` in a nested dict, ``_MISSING`` when absent.

    Raises ``TypeError`` when the path goes through a value that is not a section.
    """
    node = tree
    for i, part in enumerate(path):
        if not isinstance(node, dict):
            raise InvalidTypeError(f"hyperparameter {join_path(path)!r}: {join_path(path[:i])!r} "
                                   f"is a {type(node).__name__}, not a section")
        if part not in node:
            return _MISSING
        node = node[part]
    return node


def _set_in(tree: dict, path: tuple, value) -> None:
    node = tree
    for part in path[:-1]:
        nxt = node.get(part)
        if not isinstance(nxt, dict):
            nxt = node[part] = {}
        node = nxt
    node[path[-1]] = value


def _delete_in(tree: dict, path: tuple) -> None:
    node = lookup(tree, path[:-1]) if len(path) > 1 else tree
    if isinstance(node, dict):
        node.pop(path[-1], None)


def flatten(tree: dict, prefix: tuple = ()) -> dict:
    """``{path tuple: leaf}``; lists and empty sections are leaves."""
    out = {}
    for key, value in tree.items():
        path = prefix + (key,)
        if isinstance(value, dict) and value:
            out.update(flatten(value, path))
        else:
            out[path] = value
    return out


def merge_validated(base: dict, updates: Mapping, create: bool = True) -> dict:
    """A copy of ``base`` with ``updates`` merged in, each leaf validated like a request.

    Raises ``TypeError`` / ``ValueError`` / ``KeyError`` naming the first bad key.
    """
    merged = copy.deepcopy(base)
    staged: list = []
    _stage(merged, (), updates, create, staged, ())
    return merged


def _stage(view: dict, path: tuple, value, create: bool, out: list, validators) -> None:
    """Validate ``value`` requested at ``path`` against ``view`` (the requested state), write it
    into ``view`` and append the leaf requests it makes to ``out``."""
    key = join_path(path)
    current = lookup(view, path) if path else view
    if value is DELETE:
        if current is _MISSING:
            raise UnknownNameError(f"hyperparameter {key!r}: no such key to delete")
        out.append((path, DELETE))
        _delete_in(view, path)
        return
    if isinstance(value, Mapping) and (current is _MISSING or isinstance(current, dict)):
        if current is _MISSING:
            if not create:
                raise UnknownNameError(f"hyperparameter {key!r}: no such key (new keys can be "
                                       "added from code or the YAML file only)")
            if not value:
                out.append((path, {}))
                _set_in(view, path, {})
                return
        for k, v in value.items():
            if k == "" or k is None:
                raise InvalidValueError(f"hyperparameter {key!r}: empty key in {value!r}")
            _stage(view, path + (k,), v, create, out, validators)
        return
    if current is _MISSING and not create:
        raise UnknownNameError(f"hyperparameter {key!r}: no such key (new keys can be added from "
                               "code or the YAML file only)")
    new = coerce_value(key, current, value)
    for validate in validators:
        validate(key, new)
    out.append((path, new))
    _set_in(view, path, new)


# ---------------------------------------------------------------- shared state
class _Tree:
    """The state shared by a handle and its section views."""

    def __init__(self, data: dict, on_change: Callable[[str, object], None],
                 on_changes: Callable[[list[dict]], None] | None = None):
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.applied: dict = copy.deepcopy(data)
        self.pending: list[tuple[tuple, object, str]] = []  # (path, value or DELETE, source)
        self.in_flight = 0
        self.history: list[dict] = []
        self.on_change = on_change
        self.on_changes = on_changes
        # set by weightslab_nb.steering: decides when requests are applied (None: at once)
        self.scheduler: Callable[[], None] | None = None
        self.validators: list[Callable[[str, object], None]] = []  # (key, value) -> raise
        self.error: str | None = None
        self.version = 0
        self.config = None  # the YamlConfig watching a file, if any

    def requested(self) -> dict:
        """The applied values with the pending requests replayed on a copy (under the lock)."""
        view = copy_tree(self.applied)
        for path, value, _ in self.pending:
            if value is DELETE:
                _delete_in(view, path)
            else:
                _set_in(view, path, copy.deepcopy(value))
        return view

    def submit(self, items: list[tuple[tuple, object]], source: str, create: bool | None) -> bool:
        if not isinstance(source, str) or not source:
            raise InvalidValueError(f"source: expected a non-empty name such as {SOURCES}, got "
                                    f"{source!r}")
        create = source in CREATING_SOURCES if create is None else bool(create)
        with self.lock:
            view = self.requested()
            staged: list = []
            for path, value in items:
                _stage(view, path, value, create, staged, self.validators)
            if not staged:
                return True
            paths = {p for p, _ in staged}
            self.pending = [e for e in self.pending if e[0] not in paths]
            self.pending.extend((p, v, source) for p, v in staged)
            self.version += 1
        self.schedule()
        with self.lock:
            return not any(e[0] in paths for e in self.pending)

    def schedule(self) -> None:
        scheduler = self.scheduler
        if scheduler is not None:
            scheduler()
        else:
            taken = self.take(None)
            if taken is not None:
                self.notify(taken)
                self.complete(taken)

    def take(self, step: int | None) -> list[dict] | None:
        """Apply the pending requests to the values; return their change records (None when
        nothing was pending). :meth:`complete` must follow."""
        with self.lock:
            if not self.pending:
                return None
            items, self.pending = self.pending, []
            self.in_flight += 1
            records = []
            now = time.time()
            for path, value, source in items:
                old = lookup(self.applied, path)
                if value is DELETE:
                    if old is _MISSING:
                        continue
                    _delete_in(self.applied, path)
                elif old is not _MISSING and same_value(old, value):
                    continue
                else:
                    _set_in(self.applied, path, copy.deepcopy(value))
                record = {"step": step, "key": join_path(path),
                          "old": None if old is _MISSING else copy.deepcopy(old),
                          "new": None if value is DELETE else copy.deepcopy(value),
                          "source": source, "time": now}
                if value is DELETE:
                    record["deleted"] = True
                records.append(record)
            self.version += 1
            return records

    def notify(self, records: list[dict]) -> None:
        """Tell the owner (the session: experiment hash, change counter) about applied changes:
        ``on_changes(records)`` once when it was given, else ``on_change(key, new)`` per record.
        Called without the lock; an error is logged, never raised into the training thread."""
        if self.on_changes is not None:
            if records:
                try:
                    self.on_changes(records)
                except Exception:
                    log.exception("hyperparameter change listener failed for %d change(s)",
                                  len(records))
            return
        for record in records:
            try:
                self.on_change(record["key"], record["new"])
            except Exception:
                log.exception("hyperparameter change listener failed for %r", record["key"])

    def complete(self, records: list[dict]) -> None:
        with self.lock:
            self.history.extend(records)
            self.in_flight -= 1
            self.version += 1
            self.cond.notify_all()

    def set_error(self, message: str | None) -> None:
        with self.lock:
            if message != self.error:
                self.error = message
                self.version += 1
                self.cond.notify_all()


# ---------------------------------------------------------------- the handle
class HyperParameters(MutableMapping):
    """Live handle on a (nested) dict of hyperparameters.

    ``hp["optimizer"]["lr"]`` reads the applied value; nested sections come back as handles on
    the same tree. ``hp["optimizer"]["lr"] = 1e-4``, ``hp.set_path("optimizer.lr", 1e-4)``,
    ``hp.update(...)``, ``del hp[key]`` and :meth:`request` make typed requests that are applied
    at once, or at the next batch boundary while a training thread runs (see the module
    docstring). ``hp.to_dict()`` returns a deep copy of the applied values.

    Parameters
    ----------
    data : dict
        The initial values (copied; the caller's dict is never modified).
    on_change : callable, optional
        ``on_change(key, new_value)`` after each applied change (the session refreshes the
        experiment hash there). Called without any lock of the handle held.
    on_changes : callable, optional
        ``on_changes(records)`` once per batch of changes applied together (the change
        records of :meth:`history`), *instead of* ``on_change``. An owner whose reaction costs
        time in the size of all values (an experiment hash) should take this one: a YAML edit
        that changes N keys then costs it one reaction, not N.
    """

    def __init__(self, data: dict, on_change: Callable[[str, object], None] = lambda k, v: None,
                 *, on_changes: Callable[[list[dict]], None] | None = None,
                 _tree: _Tree | None = None, _prefix: tuple = ()):
        if _tree is None:
            if not isinstance(data, dict):
                raise InvalidTypeError("obj: hyperparameters must be a dict, got "
                                       f"{type(data).__name__}")
            if on_changes is not None and not callable(on_changes):
                raise InvalidTypeError("on_changes: expected a callable taking a list of change "
                                       f"records, got {type(on_changes).__name__}")
            _tree = _Tree(data, on_change, on_changes)
        self._tree = _tree
        self._prefix = tuple(_prefix)

    # ---------------------------------------------------------------- reading (applied values)
    def _node(self) -> dict:
        node = lookup(self._tree.applied, self._prefix) if self._prefix else self._tree.applied
        if not isinstance(node, dict):
            raise UnknownNameError(f"hyperparameter section {join_path(self._prefix)!r} no longer "
                                   "exists")
        return node

    def __getitem__(self, key):
        with self._tree.lock:
            node = self._node()
            if key not in node:
                raise UnknownNameError(f"hyperparameter {key!r}: no such key; keys: {list(node)}")
            value = node[key]
            if isinstance(value, dict):
                return HyperParameters(None, _tree=self._tree, _prefix=self._prefix + (key,))
            return value if isinstance(value, (str, numbers.Number, type(None))) \
                else copy.deepcopy(value)

    def get(self, key, default=None):
        """The applied value of ``key``, or ``default`` when there is no such key (read every
        step by the session for ``checkpoint_every``: no exception on the common miss)."""
        with self._tree.lock:
            try:
                if key in self._node():
                    return self[key]
            except KeyError:  # the section itself is gone
                pass
            return default

    def __iter__(self) -> Iterator:
        with self._tree.lock:
            return iter(list(self._node()))

    def __len__(self) -> int:
        with self._tree.lock:
            return len(self._node())

    def __contains__(self, key) -> bool:
        with self._tree.lock:
            return key in self._node()

    def get_path(self, path, default=None):
        """Applied value at a dotted path such as ``"optimizer.lr"`` (``default`` when absent);
        sections come back as plain dicts (copies)."""
        parts = split_path(path)
        with self._tree.lock:
            try:
                value = lookup(self._node(), parts)
            except TypeError:
                return default
            return default if value is _MISSING else copy.deepcopy(value)

    def to_dict(self, requested: bool = False) -> dict:
        """Deep copy of the applied values (``requested=True``: with pending requests)."""
        with self._tree.lock:
            if not requested:
                return copy_tree(self._node())
            view = self._tree.requested()
            node = lookup(view, self._prefix) if self._prefix else view
            return node if isinstance(node, dict) else {}

    # ---------------------------------------------------------------- requests
    def __setitem__(self, key, value) -> None:
        self._tree.submit([(self._prefix + (key,), value)], "code", None)

    def __delitem__(self, key) -> None:
        self._tree.submit([(self._prefix + (key,), DELETE)], "code", None)

    def set_path(self, path, value, source: str = "code") -> bool:
        """Request ``value`` at a dotted path (relative to this section); new intermediate
        sections are created from code. Returns True when it was applied at once."""
        return self.request(path, value, source=source)

    def request(self, path, value, source: str = "code", *, create: bool | None = None) -> bool:
        """Request ``value`` at ``path`` (dotted string or tuple of keys, relative to this
        section).

        Parameters
        ----------
        source : str, default "code"
            Who asks: ``"code"``, ``"panel"``, ``"cli"``, ``"yaml"`` (recorded in the history).
        create : bool, optional
            Whether a new key may be added (default: True for code and yaml, else False).

        Returns
        -------
        bool
            True when the value is applied on return, False when it waits for the training
            thread's next batch boundary (see :meth:`wait_applied`).

        Raises
        ------
        TypeError
            The value's type does not match the current value's (see the module docstring).
        ValueError
            A value out of range for a key the session steers (``optimizer.lr`` < 0,
            ``batch_size`` < 1, ...) or a bad path.
        KeyError
            A new key where ``create`` is False.
        """
        if create is not None and not isinstance(create, bool):
            raise InvalidTypeError(f"create: expected True, False or None, got {create!r}")
        return self._tree.submit([(self._prefix + split_path(path), value)], source, create)

    def update(self, other=(), /, source: str = "code", **kwargs) -> bool:
        """Request several values at once (nested dicts merge key by key): all are validated
        first, so either every one is requested or, on error, none is."""
        if not isinstance(other, (Mapping, list, tuple)):
            raise InvalidTypeError(f"other: expected a mapping of key -> value, got "
                                   f"{type(other).__name__}")
        items = dict(other.items() if isinstance(other, Mapping) else other)
        items.update(kwargs)
        return self._tree.submit([(self._prefix + (k,), v) for k, v in items.items()],
                                 source, None)

    def apply_pending(self, step: int | None = None) -> list[dict]:
        """Apply the pending requests now and return their change records.

        For a handle watched by a session, call :func:`weightslab_nb.steering.apply_pending`
        instead: it applies only at a safe point and also updates optimizers and loaders.
        """
        taken = self._tree.take(step)
        if taken is None:
            return []
        self._tree.notify(taken)
        self._tree.complete(taken)
        return taken

    def wait_applied(self, timeout: float | None = None) -> bool:
        """Wait until no request is pending (all applied, optimizers and loaders updated);
        False on timeout."""
        tree = self._tree
        with tree.cond:
            return tree.cond.wait_for(lambda: not tree.pending and not tree.in_flight, timeout)

    # ---------------------------------------------------------------- for panels and the CLI
    def pending(self) -> list[dict]:
        """Requests not applied yet: ``[{"key", "value", "source"}]`` (``"deleted": True`` for a
        deletion), oldest first."""
        with self._tree.lock:
            out = []
            for path, value, source in self._tree.pending:
                entry = {"key": join_path(path), "value": None if value is DELETE
                         else copy.deepcopy(value), "source": source}
                if value is DELETE:
                    entry["deleted"] = True
                out.append(entry)
            return out

    def rows(self) -> list[dict]:
        """One row per leaf for the hyperparameters panel: ``{"key", "applied", "requested",
        "pending", "type"}``; ``type`` is the name of the requested value's type (``"float"``,
        ``"int"``, ``"bool"``, ``"str"``, ``"list"``, ...). A key that is requested but not yet
        applied has ``applied`` None; a requested deletion has ``requested`` None."""
        with self._tree.lock:
            applied = flatten(copy.deepcopy(self._tree.applied))
            requested = flatten(self._tree.requested())
            pending_paths = {p for p, _, _ in self._tree.pending}
        rows = []
        for path in list(applied) + [p for p in requested if p not in applied]:
            a = applied.get(path, _MISSING)
            r = requested.get(path, _MISSING)
            shown = r if r is not _MISSING else a
            rows.append({"key": join_path(path), "applied": None if a is _MISSING else a,
                         "requested": None if r is _MISSING else r,
                         "pending": path in pending_paths or a is _MISSING or r is _MISSING
                         or not same_value(a, r),
                         "type": type(shown).__name__})
        return rows

    def history(self) -> list[dict]:
        """Applied changes, oldest first: ``{"step", "key", "old", "new", "source", "time"}``
        (plus ``"experiment_hash"`` when a session applied it, ``"deleted"`` for deletions).
        ``step`` is the first training step run with the new value (None outside a session)."""
        with self._tree.lock:
            return copy.deepcopy(self._tree.history)

    @property
    def error(self) -> str | None:
        """The last problem reading the watched YAML file (None when its last edit was good)."""
        return self._tree.error

    @property
    def version(self) -> int:
        """A counter that grows on every request, application and error change (for panels)."""
        return self._tree.version

    @property
    def config(self):
        """The :class:`~weightslab_nb.watch.yaml_config.YamlConfig` watching a file, or None."""
        return self._tree.config

    def close(self) -> None:
        """Stop watching the YAML file (if any). The handle stays usable."""
        config = self._tree.config
        if config is not None:
            config.close()

    def __eq__(self, other) -> bool:
        if isinstance(other, HyperParameters):
            other = other.to_dict()
        return isinstance(other, Mapping) and self.to_dict() == dict(other)

    __hash__ = None

    def __repr__(self) -> str:
        with self._tree.lock:
            pending = len(self._tree.pending)
        extra = f", pending={pending}" if pending else ""
        return f"HyperParameters({self.to_dict()!r}{extra})"
