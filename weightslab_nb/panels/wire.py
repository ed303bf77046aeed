"""Wire formats between the panels and their browser views.

Numpy arrays travel as raw little-endian, C-contiguous buffers; the message carries one
descriptor per buffer, ``{"name", "dtype", "shape"}`` with numpy's ``dtype.str`` (``"<f8"``,
``"<i8"``, ``"|u1"``). Images travel as encoded PNG bytes, one buffer each. The browser side is
``js/src/lib/wire.ts``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from weightslab_nb.errors import InvalidTypeError, InvalidValueError

#: dtypes the browser decodes (js/src/lib/wire.ts)
WIRE_KINDS = frozenset({"f8", "f4", "i8", "i4", "i2", "i1", "u8", "u4", "u2", "u1", "b1"})


def encode_array(name: str, values) -> tuple[dict, memoryview]:
    """One array as ``(descriptor, buffer)``.

    Parameters
    ----------
    name : str
        The key the browser reads it under.
    values : array-like
        Numeric or boolean values; big-endian arrays are byte-swapped.

    Raises
    ------
    TypeError
        For dtypes the browser cannot decode (objects, strings, complex numbers).
    """
    arr = np.asarray(values)
    if arr.dtype.kind not in "fiub" or arr.dtype.itemsize > 8 or arr.dtype == np.float16:
        raise InvalidTypeError(f"{name}: cannot send dtype {arr.dtype} (numbers or booleans only)")
    arr = np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<"))
    meta = {"name": name, "dtype": arr.dtype.str, "shape": list(arr.shape)}
    return meta, memoryview(arr.tobytes())


def encode_arrays(arrays: Mapping[str, object]) -> tuple[list[dict], list[memoryview]]:
    """Several arrays: descriptors and buffers in the same order."""
    metas, buffers = [], []
    for name, values in arrays.items():
        meta, buf = encode_array(name, values)
        metas.append(meta)
        buffers.append(buf)
    return metas, buffers


def decode_array(meta: Mapping, buffer) -> np.ndarray:
    """Inverse of :func:`encode_array` (used by tests and tools reading captured messages)."""
    dtype = np.dtype(meta["dtype"])
    if dtype.kind not in "fiub" or dtype.str[1:] not in WIRE_KINDS:
        raise InvalidTypeError(f"{meta.get('name')}: unsupported dtype {meta['dtype']!r}")
    arr = np.frombuffer(bytes(buffer), dtype=dtype)
    return arr.reshape([int(s) for s in meta["shape"]])


def decode_arrays(metas: Sequence[Mapping], buffers: Sequence) -> dict[str, np.ndarray]:
    """Inverse of :func:`encode_arrays`."""
    if len(metas) > len(buffers):
        raise InvalidValueError(f"{len(metas)} arrays described but {len(buffers)} buffers given")
    return {m["name"]: decode_array(m, b) for m, b in zip(metas, buffers)}


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def is_png(data: bytes | memoryview) -> bool:
    """True when ``data`` starts with the PNG signature."""
    return bytes(data[:8]) == PNG_SIGNATURE


def json_number(value) -> float | None:
    """``value`` as a JSON number for a view: a finite float, or None for NaN, +-inf and
    anything ``float()`` refuses (JSON has no NaN)."""
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None
