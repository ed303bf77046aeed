"""Registry of watched objects, by kind and name."""

from __future__ import annotations

from weightslab_nb.errors import UnknownNameError

KINDS = ("model", "data", "optimizer", "logger", "signal", "hyperparameters")


class Registry:
    """Watched objects: ``registry.get("data", "train_loader")``; re-registering a name replaces."""

    def __init__(self):
        self._items: dict[str, dict[str, object]] = {k: {} for k in KINDS}

    def add(self, kind: str, name: str, obj) -> None:
        """Register ``obj`` under ``kind``/``name`` (replacing an earlier one)."""
        self._items[kind][name] = obj

    def get(self, kind: str, name: str):
        """The object registered as ``kind``/``name``; ``KeyError`` listing the watched names
        otherwise."""
        try:
            return self._items[kind][name]
        except KeyError:
            known = ", ".join(self._items[kind]) or "none"
            raise UnknownNameError(f"no {kind} named {name!r} is watched (watched: "
                                   f"{known})") from None

    def all(self, kind: str) -> dict[str, object]:
        """A copy of ``{name: object}`` for one kind."""
        return dict(self._items[kind])

    def loaders(self) -> list:
        """Every watched loader, in registration order."""
        return list(self._items["data"].values())

    def loader_for_origin(self, origin: str):
        """The first loader of ``origin`` (or named ``origin``), else None."""
        for name, loader in self._items["data"].items():
            if origin in (loader.origin, name):
                return loader
        return None
