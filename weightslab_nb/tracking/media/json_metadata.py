""":class:`JSONMetadata`: arbitrary JSON-able metadata saved as a ``.json`` file."""

from __future__ import annotations

import json
import math
from pathlib import Path

from weightslab_nb.errors import InvalidTypeError, InvalidValueError
from weightslab_nb.tracking.media.base import _FileMedia


def _plain(value):
    """A numpy scalar or array, or a tensor, as the Python number or list JSON can hold."""
    if hasattr(value, "detach") and hasattr(value, "tolist"):  # a torch tensor
        return value.detach().cpu().tolist()
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):  # np.generic, ndarray
        return value.tolist()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _json_bytes(value, argument: str) -> bytes:
    """``value`` as compact, key-sorted JSON (no NaN or infinity); numpy values and tensors
    become numbers and lists."""
    try:
        text = json.dumps(value, allow_nan=False, sort_keys=True, separators=(",", ":"),
                          default=_plain)
    except TypeError as exc:
        where = _first(value, argument, lambda v: not _jsonable(v))
        raise InvalidTypeError(f"{where}: expected JSON-able values (dict, list, str, number, "
                               f"bool, None; numpy values and tensors): {exc}") from None
    except ValueError as exc:
        where = _first(value, argument, lambda v: isinstance(v, float) and not math.isfinite(v))
        raise InvalidValueError(f"{where}: expected finite numbers only: {exc}") from None
    return text.encode("utf-8")


def _jsonable(value) -> bool:
    """Whether JSON (with :func:`_plain`) holds ``value`` itself (its items are checked apart)."""
    if value is None or isinstance(value, (str, int, float, bool, dict, list, tuple)):
        return True
    try:
        _plain(value)
    except TypeError:
        return False
    return True


def _first(value, path: str, bad) -> str:
    """The path (``val['a'][2]``) of the first item of ``value`` for which ``bad`` holds, or
    ``path`` itself when there is none (the error is then about the value as a whole)."""
    stack = [(value, path)]
    while stack:
        item, where = stack.pop(0)
        if isinstance(item, dict):
            stack[:0] = [(v, f"{where}[{k!r}]") for k, v in item.items()]
        elif isinstance(item, (list, tuple)):
            stack[:0] = [(v, f"{where}[{i}]") for i, v in enumerate(item)]
        elif hasattr(item, "tolist") and _jsonable(item):  # numpy values and tensors
            plain = _plain(item)
            if isinstance(plain, list):
                stack[:0] = [(plain, where)]
            elif bad(plain):
                return where
        elif bad(item):
            return where
    return path


class JSONMetadata(_FileMedia):
    """Arbitrary metadata, saved as a JSON file under ``media/metadata/``.

    Parameters
    ----------
    val : dict
        JSON-able content: dicts with string keys, lists, strings, finite numbers, bools and
        None; numpy scalars and arrays and torch tensors are turned into numbers and lists. It
        is copied when the value is built (keys are then in sorted order).

    Attributes
    ----------
    val : dict
        The content as it is saved (a deep copy).

    Raises
    ------
    TypeError
        ``val`` is not a dict or holds a value JSON cannot encode (the message names it).
    ValueError
        ``val`` holds NaN or an infinity.
    """

    _type = "json-metadata-file"
    _kind_dir = "metadata"
    _ext = "json"

    def __init__(self, val):
        if not isinstance(val, dict):
            raise InvalidTypeError(f"val: expected a dict, got {type(val).__name__}")
        self._payload = _json_bytes(val, "val")
        self.val = json.loads(self._payload)

    def _restore(self, descriptor: dict, run_dir: Path) -> None:
        self.val = json.loads(self._payload)

    def __repr__(self) -> str:
        return f"<JSONMetadata {len(self.val)} keys>"
