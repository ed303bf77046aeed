"""Hyperparameters read from a YAML file and watched for edits.

``wl.watch_or_edit("./config.yaml", flag="hyperparameters", defaults={...}, poll_interval=1.0)``
returns the same live :class:`~weightslab_nb.watch.hyperparameters.HyperParameters` handle as a
dict does, whose values are the defaults overridden by the file (nested sections merge key by key).

Watching is a daemon thread that reads the file every ``poll_interval`` seconds and compares a
SHA-256 of its bytes with the last version it processed (a config file is small; reading it is
cheaper than reasoning about mtime granularity, and catches a same-size edit within one clock
tick). No extra dependency, and it works on network and container file systems where inotify
events are unreliable. The thread starts only when a file is watched and ends when the handle or
the session is closed.

What an edit does:

- The new file is merged over the defaults and compared, leaf by leaf, with the last *good*
  version; each changed leaf is requested with ``source="yaml"`` (validated by type, applied like
  any request: at once, or at the training thread's next batch boundary). Values set from code or
  the panel are kept until the file changes that same key.
- A key removed from the file goes back to its default; a removed key without a default keeps its
  last value (the code may read it).
- Keys that are not in the defaults are accepted (the file is the user's config, as trusted as
  code).
- A bad edit (invalid YAML, a top level that is not a mapping, an empty file, a value of the wrong
  type, a file that disappeared) changes nothing: the last good values stay, and the message is in
  ``hp.error`` (and ``config.error``) until a good edit clears it. An empty file is taken for a
  save in progress; write ``{}`` to drop every override.
- ``1e-3`` is read as a float (plain YAML 1.1 would read it as a string).
- A file is refused like any bad edit (the error names the limit) when it is larger than
  :data:`MAX_FILE_BYTES` (1 MiB), nests deeper than :data:`MAX_DEPTH` levels, holds more than
  :data:`MAX_NODES` values once its aliases are expanded (a "billion laughs" file of a few hundred
  bytes that would expand to millions of values), or has an alias inside its own anchor. These
  checks run on the parser's events, before anything is built, so such a file costs the watching
  thread milliseconds; reading, comparing and requesting an edit take time linear in its size.

Writing the file back is not supported: edits from code or the panel live in the handle and the
change log (``<root_log_dir>/hyperparameters.jsonl``).
"""

from __future__ import annotations

import copy
import hashlib
import logging
import math
import numbers
import os
import re
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

import yaml

from weightslab_nb.errors import InvalidTypeError, InvalidValueError, MissingFileError
from weightslab_nb.watch.hyperparameters import _MISSING, merge_validated, same_value

log = logging.getLogger(__name__)

DEFAULT_POLL_INTERVAL = 1.0
MAX_FILE_BYTES = 1 << 20
"""Largest hyperparameter file read (1 MiB); a larger one is refused without being parsed."""
MAX_NODES = 100_000
"""Most values (keys, scalars, sections and lists) a file may hold once its aliases are
expanded."""
MAX_DEPTH = 32
"""Deepest nesting of sections and lists a file may have (aliases expanded)."""

# libyaml's parser when PyYAML was built with it (several times faster), else the Python one
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_SafeLoader):
    """``yaml.SafeLoader`` that also reads ``1e-3`` and ``1.0e3`` as floats."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"))


def parse_yaml(text: str | bytes):
    """Parse YAML with the loader used for hyperparameter files (safe; ``1e-3`` is a float).

    Raises
    ------
    weightslab_nb.errors.InvalidValueError
        ``text`` is over :data:`MAX_FILE_BYTES`, or its aliases expand beyond :data:`MAX_NODES`
        values or :data:`MAX_DEPTH` levels, or an alias is inside its own anchor. Nothing is
        built then.
    yaml.YAMLError
        Invalid YAML.
    """
    size = len(text) if isinstance(text, bytes) else len(text.encode("utf-8"))
    if size > MAX_FILE_BYTES:
        raise InvalidValueError(f"the file is larger than {MAX_FILE_BYTES:,} bytes (the limit "
                                "MAX_FILE_BYTES); keep hyperparameters in a small file")
    check_expansion(text)
    return yaml.load(text, Loader=_Loader)


def check_expansion(text: str | bytes) -> int:
    """Walk the parser's events of ``text`` (nothing is built) and return how many values
    (keys, scalars, sections, lists) it holds with every alias expanded.

    Each anchor's expanded size and height is recorded when its node ends, so an alias costs one
    addition however large its expansion, and the walk stops at the first value over a limit.

    Raises
    ------
    weightslab_nb.errors.InvalidValueError
        More than :data:`MAX_NODES` values, nesting deeper than :data:`MAX_DEPTH`, or an alias
        used inside its own anchor (a value that contains itself).
    yaml.YAMLError
        Invalid YAML (met on the way).
    """
    walk = _ExpansionWalk()
    for event in yaml.parse(text, Loader=_Loader):
        walk.feed(event)
    return walk.total


class _ExpansionWalk:
    """Counts the values of a YAML event stream with aliases expanded (see
    :func:`check_expansion`)."""

    def __init__(self):
        self.total = 0
        self.frames: list[list] = []  # open sections/lists: [anchor, total before, depth, deepest]
        self.open_anchors: set[str] = set()
        self.anchors: dict[str, tuple[int, int]] = {}  # anchor -> (values, height)

    def feed(self, event) -> None:
        depth = len(self.frames) + 1  # of a node starting here
        if isinstance(event, yaml.AliasEvent):
            if event.anchor in self.open_anchors:
                raise InvalidValueError(f"alias *{event.anchor} is inside its own anchor "
                                        f"&{event.anchor} (a value that contains itself)")
            values, height = self.anchors.get(event.anchor, (1, 1))  # undefined: yaml says so
            self._add(values, depth + height - 1, event)
        elif isinstance(event, yaml.ScalarEvent):
            self._add(1, depth, event)
            if event.anchor is not None:
                self.anchors[event.anchor] = (1, 1)
        elif isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            self._add(1, depth, event)
            self.frames.append([event.anchor, self.total - 1, depth, depth])
            if event.anchor is not None:
                self.open_anchors.add(event.anchor)
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            anchor, before, start, deepest = self.frames.pop()
            if anchor is not None:
                self.open_anchors.discard(anchor)
                self.anchors[anchor] = (self.total - before, deepest - start + 1)
            if self.frames:
                self.frames[-1][3] = max(self.frames[-1][3], deepest)

    def _add(self, values: int, deepest: int, event) -> None:
        self.total += values
        where = _where(event)
        if self.total > MAX_NODES:
            raise InvalidValueError(f"more than {MAX_NODES:,} values with aliases expanded (the "
                                    f"limit MAX_NODES){where}; a hyperparameter file holds far "
                                    "fewer")
        if deepest > MAX_DEPTH:
            raise InvalidValueError(f"sections and lists nested deeper than {MAX_DEPTH} levels "
                                    f"(the limit MAX_DEPTH){where}")
        if self.frames:
            self.frames[-1][3] = max(self.frames[-1][3], deepest)


def _where(event) -> str:
    mark = getattr(event, "start_mark", None)
    return "" if mark is None else f" at line {mark.line + 1}, column {mark.column + 1}"


def merge_raw(base: dict, updates: Mapping) -> dict:
    """A deep copy of ``base`` with ``updates`` merged in (sections key by key, no validation);
    each value is copied once."""
    out = copy.deepcopy(base)
    _merge_into(out, updates)
    return out


def _merge_into(out: dict, updates: Mapping) -> None:
    for key, value in updates.items():
        current = out.get(key)
        if isinstance(value, Mapping) and isinstance(current, dict):
            _merge_into(current, value)
        else:
            out[key] = copy.deepcopy(value)


def changed_leaves(old: dict, new: dict, prefix: tuple = ()):
    """``(path, value)`` for each leaf of ``new`` that is absent from ``old`` or differs from it
    (in value or type); keys only in ``old`` are not reported."""
    for key, value in new.items():
        path = prefix + (key,)
        before = old.get(key, _MISSING) if isinstance(old, dict) else _MISSING
        if isinstance(value, dict) and isinstance(before, dict):
            yield from changed_leaves(before, value, path)
        elif before is _MISSING or not same_value(before, value):
            yield path, value


def _message(exc: BaseException) -> str:
    if isinstance(exc, KeyError) and exc.args:
        return str(exc.args[0])
    return str(exc)


class YamlConfig:
    """A YAML file of hyperparameters, merged over defaults and watched by a polling thread.

    Parameters
    ----------
    path : str or os.PathLike
        The file (made absolute at once: a later ``os.chdir`` does not move it).
    defaults : dict, optional
        Values the file overrides. With defaults, a missing file is not an error at start (the
        defaults apply, ``error`` says so, and creating the file later applies it).
    poll_interval : float, default 1.0
        Seconds between two reads of the file.

    Attributes
    ----------
    error : str or None
        Why the last version of the file was refused (None when it was good).
    reload_count : int
        Versions of the file processed since the start, good or bad (see
        :meth:`wait_for_reload`).
    """

    def __init__(self, path, defaults: Mapping | None = None,
                 poll_interval: float = DEFAULT_POLL_INTERVAL):
        if not isinstance(path, (str, os.PathLike)):
            raise InvalidTypeError(f"obj: expected a YAML file path (str or os.PathLike), got "
                                   f"{type(path).__name__}")
        if defaults is not None and not isinstance(defaults, Mapping):
            raise InvalidTypeError(f"defaults: expected a dict of hyperparameters, got "
                                   f"{type(defaults).__name__}")
        if isinstance(poll_interval, bool) or not isinstance(poll_interval, numbers.Real):
            raise InvalidTypeError(f"poll_interval: expected a number of seconds, got "
                                   f"{type(poll_interval).__name__}")
        if not (math.isfinite(poll_interval) and poll_interval > 0):
            raise InvalidValueError(f"poll_interval: expected a number of seconds > 0, got "
                                    f"{poll_interval!r}")
        self.path = Path(os.fspath(path)).expanduser().absolute()
        self.defaults: dict = copy.deepcopy(dict(defaults)) if defaults is not None else {}
        self._has_defaults = defaults is not None
        self.poll_interval = float(poll_interval)
        self.error: str | None = None
        self.reload_count = 0
        self._digest: str | None = None   # of the version last processed
        self._good: dict | None = None    # defaults + file of the last good version (unvalidated)
        self._hp = None
        self._cond = threading.Condition()
        self._check_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._alive: Callable[[], bool] | None = None

    # ---------------------------------------------------------------- reading
    def load(self) -> dict:
        """Read the file once and return the defaults overridden by it (validated).

        Raises
        ------
        FileNotFoundError
            The file does not exist and no defaults were given.
        ValueError
            Invalid YAML.
        TypeError
            A top level that is not a mapping, or a value whose type differs from its default's
            (the message names the key).
        """
        if self.path.is_dir():
            raise InvalidValueError(f"obj: {self.path} is a directory, not a YAML file")
        content = self._read()
        if content is None:
            if not self._has_defaults:
                raise MissingFileError(f"obj: hyperparameter file {self.path} does not exist "
                                       "(pass defaults= to start from them until it is created)")
            self.error = f"{self.path.name}: file not found; using the defaults until it exists"
            data = {}
        else:
            data = self._parse(content, initial=True)
        try:
            merged = merge_validated(self.defaults, data)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"{self.path}: {exc}") from None
        self._good = merge_raw(self.defaults, data)
        self._digest = _digest(content)
        return merged

    def _read(self) -> bytes | None:
        """The file's bytes, at most ``MAX_FILE_BYTES + 1`` of them (enough to know it is too
        large without reading a huge file); None when it does not exist."""
        try:
            with open(self.path, "rb") as f:
                return f.read(MAX_FILE_BYTES + 1)
        except FileNotFoundError:
            return None

    def _parse(self, content: bytes, initial: bool) -> dict:
        try:
            data = parse_yaml(content)
        except yaml.YAMLError as exc:
            raise InvalidValueError(f"{self.path.name}: invalid YAML: {exc}") from None
        except InvalidValueError as exc:
            raise InvalidValueError(f"{self.path.name}: refused: {exc}") from None
        if data is None:
            if initial:
                return {}
            raise InvalidValueError(f"{self.path.name}: the file is empty (a save in progress?); "
                                    "write {} to drop every value it sets")
        if not isinstance(data, dict):
            raise InvalidTypeError(f"{self.path.name}: expected a mapping of hyperparameters at "
                                   f"the top level, got {type(data).__name__}")
        return data

    def check_now(self) -> bool:
        """Read the file now; if it changed since the last version processed, request its
        changed values (or record why it is refused). True when a new version was processed.

        Safe from any thread (the watching thread calls it every ``poll_interval``).
        """
        with self._check_lock:
            try:
                content = self._read()
                digest = _digest(content)
            except OSError as exc:
                content, digest = None, f"error:{exc}"
                problem: str | None = f"{self.path.name}: cannot read: {exc}"
            else:
                problem = None
            if digest == self._digest:
                return False
            self._digest = digest
            try:
                if problem is not None:
                    raise OSError(problem)
                if content is None:
                    raise MissingFileError(f"{self.path.name}: file not found")
                data = self._parse(content, initial=False)
                merged = merge_raw(self.defaults, data)
                changes = list(changed_leaves(self._good or {}, merged))
                if changes and self._hp is not None:
                    try:
                        self._hp._tree.submit(changes, "yaml", True)
                    except (TypeError, ValueError, KeyError) as exc:
                        raise type(exc)(f"{self.path.name}: {_message(exc)}") from None
                self._good = merged
                error = None
            except (OSError, TypeError, ValueError, KeyError) as exc:
                error = f"{_message(exc)}; keeping the last good values"
            except Exception as exc:  # a surprise is reported like a bad edit, never lost
                log.exception("reading %s failed", self.path)
                error = (f"{self.path.name}: {type(exc).__name__}: {_message(exc)}; keeping the "
                         "last good values")
            self.error = error
            if self._hp is not None:
                self._hp._tree.set_error(error)
        with self._cond:
            self.reload_count += 1
            self._cond.notify_all()
        return True

    def wait_for_reload(self, after: int, timeout: float | None = None) -> bool:
        """Wait until more than ``after`` versions were processed (read ``reload_count`` before
        writing the file, then wait with it); False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self.reload_count > after, timeout)

    # ---------------------------------------------------------------- watching
    def start(self, hp, alive: Callable[[], bool] | None = None) -> None:
        """Feed ``hp`` from the file: start the polling thread (a daemon). ``alive()`` returning
        False (its session closed) ends the thread at its next poll."""
        self._hp = hp
        hp._tree.set_error(self.error)
        if self._thread is not None:
            return
        self._alive = alive
        self._thread = threading.Thread(target=self._run, name="wl-hp-yaml", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.poll_interval):
            if self._alive is not None and not self._alive():
                break
            try:
                self.check_now()
            except Exception:  # never let a surprise end the watch silently
                log.exception("watching %s failed", self.path)

    @property
    def watching(self) -> bool:
        """True while the polling thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def close(self, timeout: float | None = None) -> None:
        """Stop the polling thread (waits for it, at most ``timeout`` seconds)."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout if timeout is not None else max(5.0, 2 * self.poll_interval))

    def __repr__(self) -> str:
        state = "watching" if self.watching else "stopped"
        return f"<YamlConfig {str(self.path)!r} {state} every {self.poll_interval:g}s>"


def _digest(content: bytes | None) -> str:
    return "absent" if content is None else hashlib.sha256(content).hexdigest()
