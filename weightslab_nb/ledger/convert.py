"""Turning what a training loop hands over (tensors, arrays, lists, numbers) into the numpy values
the ledger stores: per-sample values, predicted labels and targets.

These run when a recorded batch is applied (off the training thread's critical path), except
:func:`check_values`, which validates shapes at once so errors reach the caller.
"""

from __future__ import annotations

import numpy as np

from weightslab_nb.errors import InvalidTypeError, InvalidValueError


def detach(x):
    """Drop the autograd graph of a tensor (anything else is returned as it is)."""
    return x.detach() if hasattr(x, "detach") else x


def check_values(values, batch_size: int, argument: str):
    """Validate ``values`` for a batch of ``batch_size`` now, so errors reach the caller.

    Returns a detached tensor or a float64 array. Raises ``ValueError``/``TypeError`` naming
    ``argument`` for a wrong first dimension or a non-numeric type.
    """
    if hasattr(values, "detach") and hasattr(values, "shape"):
        if values.dtype.is_complex:
            raise InvalidTypeError(f"{argument}: complex values cannot be recorded")
        values = values.detach()
    else:
        values = to_values(values, argument)
    shape = tuple(values.shape)
    if shape and shape[0] != batch_size:
        raise InvalidValueError(f"{argument}: first dimension is {shape[0]} but the batch has "
                                f"{batch_size} sample ids")
    return values


def to_values(x, argument: str) -> np.ndarray:
    """A float64 numpy copy of a tensor, array, list or number (no autograd graph kept)."""
    if hasattr(x, "detach"):
        x = x.detach()
        if x.dtype.is_complex:
            raise InvalidTypeError(f"{argument}: complex values cannot be recorded")
        return np.array(cpu_numpy(x), dtype=np.float64)  # always a copy
    try:
        return np.array(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidTypeError(f"{argument}: expected a tensor, array or number, got "
                               f"{type(x).__name__}") from None


def per_sample(values: np.ndarray, batch_size: int, argument: str) -> np.ndarray:
    """Reduce ``values`` to shape ``[B]``: ``[B, ...]`` is averaged per sample, a scalar broadcast.

    Raises ``ValueError`` naming ``argument`` when the first dimension is not ``batch_size``.
    """
    if values.ndim == 0:
        return np.full(batch_size, float(values))
    if values.shape[0] != batch_size:
        raise InvalidValueError(f"{argument}: first dimension is {values.shape[0]} but the batch "
                                f"has {batch_size} sample ids")
    if values.ndim > 1:
        values = values.reshape(batch_size, -1).mean(axis=1)
    return values


def class_predictions(preds, batch_size: int) -> np.ndarray | None:
    """Predicted label per sample: argmax of ``[B, C]`` scores, or ``[B]`` values as given.

    Returns None when ``preds`` has another shape (masks, boxes): nothing is stored then.
    """
    if preds is None or not hasattr(preds, "shape") or len(preds.shape) == 0:
        return None
    if preds.shape[0] != batch_size:
        return None
    if len(preds.shape) == 2 and preds.shape[1] > 1:
        if hasattr(preds, "detach"):
            preds = preds.detach()
            if preds.device.type != "cpu":  # reduce on the device, move B values
                return preds.argmax(1).cpu().numpy().astype(np.float64)
            preds = cpu_numpy(preds)
        return np.asarray(preds).argmax(1).astype(np.float64)
    if len(preds.shape) == 1 or (len(preds.shape) == 2 and preds.shape[1] == 1):
        return to_values(preds, "preds").reshape(batch_size)
    return None


def score_matrix(preds, batch_size: int) -> np.ndarray | None:
    """``[B, C]`` class scores (C >= 2) as a numpy array (copied off the device), else None."""
    shape = getattr(preds, "shape", None)
    if shape is None or len(shape) != 2 or shape[0] != batch_size or shape[1] < 2:
        return None
    if hasattr(preds, "detach"):
        return cpu_numpy(preds.detach())
    return np.asarray(preds)


def scalar_targets(targets, batch_size: int) -> np.ndarray | None:
    """One number per sample (class index or regression value), else None."""
    if targets is None or not hasattr(targets, "shape"):
        if isinstance(targets, (list, tuple)) and len(targets) == batch_size:
            try:
                return np.asarray(targets, dtype=np.float64)
            except (TypeError, ValueError):
                return None
        return None
    shape = tuple(targets.shape)
    if shape == (batch_size,) or shape == (batch_size, 1):
        return to_values(targets, "targets").reshape(batch_size)
    return None


def cpu_numpy(tensor) -> np.ndarray:
    """A numpy view (or copy) of a detached tensor, whatever its device and dtype."""
    if tensor.device.type != "cpu":
        tensor = tensor.cpu()
    try:
        return tensor.numpy()
    except TypeError:  # dtypes numpy lacks (bfloat16, ...)
        return tensor.double().numpy()
