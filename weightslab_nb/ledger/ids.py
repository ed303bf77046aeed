"""Normalising sample ids: ints and strings work everywhere.

Ids arrive as torch tensors, numpy arrays, lists, tuples or a single scalar. They leave as a
list of Python ``int`` / ``str`` values, or, on the hot path, as an ``int64`` numpy array.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import numpy as np

from weightslab_nb.errors import InvalidTypeError

SampleId = int | str


def as_int_array(ids) -> np.ndarray | None:
    """Return ``ids`` as an int64 array when they are integers held in an array, else None.

    This is the fast path for the ids a watched loader yields (a LongTensor).
    """
    if hasattr(ids, "detach") and hasattr(ids, "dtype"):  # torch.Tensor, without importing torch
        if ids.dtype.is_floating_point or ids.dtype.is_complex:
            return None
        return ids.detach().cpu().numpy().astype(np.int64, copy=False).reshape(-1)
    if isinstance(ids, np.ndarray) and ids.dtype.kind in "iu":
        return ids.astype(np.int64, copy=False).reshape(-1)
    return None


def normalize_one(value, argument: str = "sample_ids") -> SampleId:
    """Return one id as ``int`` or ``str``; raise ``TypeError`` for anything else."""
    if isinstance(value, (bool, np.bool_)):
        raise InvalidTypeError(f"{argument}: sample ids are ints or strings, got a bool "
                               f"({value!r})")
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, str):
        return value
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return normalize_one(value.item(), argument)
    raise InvalidTypeError(f"{argument}: sample ids are ints or strings, got "
                           f"{type(value).__name__} ({value!r})")


def normalize_ids(ids, argument: str = "sample_ids") -> list[SampleId]:
    """Return ``ids`` as a list of ``int``/``str``.

    A single int or str is a one-element list. Raises ``TypeError`` naming ``argument`` for
    floats, bools, None or nested sequences.
    """
    if ids is None:
        raise InvalidTypeError(f"{argument}: expected a sample id or a sequence of ids, got None")
    if isinstance(ids, (str, int, np.integer)) and not isinstance(ids, (bool, np.bool_)):
        return [normalize_one(ids, argument)]
    arr = as_int_array(ids)
    if arr is not None:
        return arr.tolist()
    if hasattr(ids, "tolist") and not isinstance(ids, (list, tuple)):
        ids = ids.tolist()
    if not isinstance(ids, Iterable):
        raise InvalidTypeError(f"{argument}: expected a sample id or a sequence of ids, "
                               f"got {type(ids).__name__}")
    return [normalize_one(v, argument) for v in ids]


class SampleRef(NamedTuple):
    """The identity of a sample: its origin (split) and its id within that origin.

    Train and validation sets may both index from 0, so an id alone can name two samples; a
    ref never does. A ref is a plain tuple ``(origin, sample_id)``: it compares equal to one,
    and JSON writes it as the list ``[origin, sample_id]`` (what the panels send and receive).
    """

    origin: str
    sample_id: SampleId


def is_ref(value) -> bool:
    """True for something shaped like a ref: a tuple or list of two items (an id never is)."""
    return isinstance(value, (tuple, list)) and len(value) == 2


def normalize_ref(value, argument: str = "sample_ids") -> SampleRef:
    """``(origin, sample_id)`` (a tuple, a list or a :class:`SampleRef`) as a
    :class:`SampleRef`; the origin is not looked up here. Raises ``InvalidTypeError`` naming
    ``argument`` for anything else."""
    if not isinstance(value, (tuple, list)) or len(value) != 2 or \
            not isinstance(value[0], str) or not value[0]:
        raise InvalidTypeError(f"{argument}: expected a sample id or an [origin, sample_id] "
                               f"ref, got {_shown(value)}")
    return SampleRef(value[0], normalize_one(value[1], argument))


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
