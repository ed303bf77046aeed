"""Watched hyperparameters: a live, nested mapping that tells the session when it changes."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, MutableMapping


class HyperParameters(MutableMapping):
    """Live handle on a (nested) dict of hyperparameters.

    ``hp["optimizer"]["lr"]``, ``hp.get_path("optimizer.lr")`` and
    ``hp.set_path("optimizer.lr", 1e-4)`` read and write it; nested dicts come back as handles
    of the same tree, so every write notifies the session (it changes the experiment hash).
    ``hp.to_dict()`` returns a deep copy.
    """

    def __init__(self, data: dict, on_change: Callable[[str, object], None] = lambda k, v: None,
                 _prefix: str = ""):
        if not isinstance(data, dict):
            raise TypeError(f"obj: hyperparameters must be a dict, got {type(data).__name__}")
        self._data = data
        self._on_change = on_change
        self._prefix = _prefix

    def __getitem__(self, key):
        value = self._data[key]
        if isinstance(value, dict):
            return HyperParameters(value, self._on_change, f"{self._prefix}{key}.")
        return value

    def __setitem__(self, key, value) -> None:
        self._data[key] = copy.deepcopy(value)
        self._on_change(f"{self._prefix}{key}", value)

    def __delitem__(self, key) -> None:
        del self._data[key]
        self._on_change(f"{self._prefix}{key}", None)

    def __iter__(self) -> Iterator:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def get_path(self, path: str, default=None):
        """Value at a dotted path such as ``"optimizer.lr"`` (``default`` when absent)."""
        node = self._data
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return copy.deepcopy(node)

    def set_path(self, path: str, value) -> None:
        """Set the value at a dotted path, creating intermediate dicts."""
        parts = path.split(".")
        node = self._data
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise TypeError(f"path: {path!r} goes through a non-dict value at {part!r}")
        node[parts[-1]] = copy.deepcopy(value)
        self._on_change(f"{self._prefix}{path}", value)

    def to_dict(self) -> dict:
        return copy.deepcopy(self._data)

    def __repr__(self) -> str:
        return f"HyperParameters({self._data!r})"
