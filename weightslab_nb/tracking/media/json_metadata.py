""":class:`JSONMetadata`: arbitrary JSON-able metadata saved as a ``.json`` file."""

from __future__ import annotations

import json
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
        raise InvalidTypeError(f"{argument}: expected JSON-able values (dict, list, str, "
                               f"number, bool, None): {exc}") from None
    except ValueError as exc:
        raise InvalidValueError(f"{argument}: expected finite numbers only: {exc}") from None
    return text.encode("utf-8")


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
