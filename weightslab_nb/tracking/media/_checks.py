"""Checks the media kinds share: arrays and tensors, pixels, numbers, captions, dict keys.

A tensor is recognised by its type's module and converted with its own methods, so torch is
never imported here.
"""

from __future__ import annotations

import math
import operator

import numpy as np

from weightslab_nb.errors import InvalidTypeError, InvalidValueError


def _is_tensor(value) -> bool:
    return type(value).__module__.split(".")[0] == "torch" and hasattr(value, "detach")


def _as_array(value, argument: str) -> np.ndarray:
    """A numpy view of an array-like or a torch tensor (moved to the CPU, detached)."""
    if _is_tensor(value):
        tensor = value.detach().cpu()
        try:
            return tensor.numpy()
        except TypeError:  # bfloat16 and other dtypes numpy lacks
            return tensor.float().numpy()
    try:
        return np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise InvalidTypeError(f"{argument}: expected an array-like, got "
                               f"{type(value).__name__}") from exc


def _to_uint8(array: np.ndarray, argument: str) -> np.ndarray:
    """Pixels as uint8: floats in [0, 1] are scaled by 255, other values clipped to 0..255."""
    if array.dtype == np.uint8:
        return array
    if array.dtype == bool:
        return array.astype(np.uint8) * 255
    if array.dtype.kind in "iu":
        return np.clip(array, 0, 255).astype(np.uint8)
    if array.dtype.kind != "f":
        raise InvalidTypeError(f"{argument}: expected bool, integer or float pixels, got dtype "
                               f"{array.dtype}")
    values = np.where(np.isfinite(array), array.astype(np.float64), 0.0)
    if values.size and values.min() >= 0.0 and values.max() <= 1.0:
        values = values * 255.0
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def _check_number(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InvalidTypeError(f"{where}: expected a number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise InvalidValueError(f"{where}: expected a finite number, got {value}")
    return value


def _check_int(value, where: str) -> int:
    if isinstance(value, (bool, np.bool_)):
        raise InvalidTypeError(f"{where}: expected an integer, got a bool")
    try:
        return operator.index(value)
    except TypeError:
        raise InvalidTypeError(f"{where}: expected an integer, got "
                               f"{type(value).__name__}") from None


def _fixed_array(value, shape: tuple[int, ...], where: str) -> list:
    """A finite numeric array of exactly ``shape``, as nested lists of floats."""
    array = _as_array(value, where)
    if array.shape != shape or array.dtype.kind not in "biuf":
        raise InvalidValueError(f"{where}: expected {shape} numbers, got shape {array.shape} "
                                f"of dtype {array.dtype}")
    if not np.isfinite(array).all():
        raise InvalidValueError(f"{where}: expected finite numbers")
    return array.astype(np.float64).tolist()


def _reject_unknown(spec: dict, allowed: set[str], where: str) -> None:
    unknown = sorted(str(k) for k in spec if k not in allowed)
    if unknown:
        raise InvalidValueError(f"{where}: unknown key(s) {unknown}; accepted: {sorted(allowed)}")


def _check_caption(caption) -> str | None:
    if caption is None or isinstance(caption, str):
        return caption
    if isinstance(caption, (int, float, np.integer, np.floating)):
        return str(caption)
    raise InvalidTypeError(f"caption: expected a string or None, got {type(caption).__name__}")


def _check_class_labels(labels, where: str) -> dict[int, str]:
    """A dict of int class id -> str label (numpy and string-free int keys accepted)."""
    if not isinstance(labels, dict):
        raise InvalidTypeError(f"{where}: expected a dict of int class id -> str label, got "
                               f"{type(labels).__name__}")
    out = {}
    for class_id, label in labels.items():
        if not isinstance(label, str):
            raise InvalidTypeError(f"{where}[{class_id!r}]: expected a str label, got "
                                   f"{type(label).__name__}")
        out[_check_int(class_id, f"{where} key {class_id!r}")] = label
    return out


def _labels_json(labels: dict[int, str]) -> dict[str, str]:
    """Class labels with string keys, as JSON stores them."""
    return {str(k): v for k, v in labels.items()}


def _int_labels(labels: dict) -> dict[int, str]:
    """Class labels read back from JSON (string keys) with int keys again."""
    return {int(k): v for k, v in labels.items()}
