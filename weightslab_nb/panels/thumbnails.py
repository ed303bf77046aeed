"""Sample thumbnails: the default image converter and a per-sample cache of PNG bytes.

The default converter takes what ``session.sample_input(sample_id)`` returns: a torch tensor or
numpy array shaped ``[H, W]``, ``[C, H, W]`` or ``[H, W, C]`` (1, 3 or 4 channels; others use
their first channel), a flat vector of a square length (``[64]`` -> 8 x 8), or a PIL image. Values
are min-max normalised to uint8 per image. Users pass their own ``thumbnail=`` callable to
:class:`~weightslab_nb.panels.grid.SampleGrid` / :func:`~weightslab_nb.panels.dashboard.dashboard`;
it receives the same input and returns PNG bytes, a PIL image or an array.

torch is never imported here: tensors are recognised by their ``detach`` method.
"""

from __future__ import annotations

import io
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

import numpy as np

from weightslab_nb.errors import InvalidTypeError, InvalidValueError
from weightslab_nb.panels.wire import is_png

#: Longest side of a default thumbnail, in pixels (larger images are shrunk, never enlarged).
MAX_SIDE = 128

ThumbnailFn = Callable[[object], object]


def to_image_array(x) -> np.ndarray:
    """An ``[H, W]`` or ``[H, W, 3]`` float array from a tensor, array, list or PIL image.

    Raises
    ------
    TypeError
        When ``x`` is not image-like (a string, a dict without an image, ...).
    ValueError
        When its shape cannot be read as an image.
    """
    is_tensor = hasattr(x, "detach") and hasattr(x, "cpu")
    if is_tensor:
        t = x.detach().cpu()
        if t.dtype.is_floating_point and t.element_size() < 4:  # float16 / bfloat16
            t = t.float()
        arr = t.numpy()
    elif hasattr(x, "mode") and hasattr(x, "convert") and hasattr(x, "size"):  # PIL image
        if x.mode in ("L", "RGB", "I", "I;16", "F"):  # numeric modes keep their range
            arr = np.asarray(x)
        else:
            arr = np.asarray(x.convert("L" if x.mode in ("1", "LA", "La") else "RGB"))
    elif isinstance(x, (str, bytes, dict)) or x is None:
        raise InvalidTypeError(f"thumbnail: cannot draw a {type(x).__name__} as an image")
    else:
        arr = np.asarray(x)
    if arr.dtype == bool:
        arr = arr.astype(np.uint8)
    if arr.dtype.kind not in "fiu":
        raise InvalidTypeError(f"thumbnail: cannot draw values of dtype {arr.dtype} as an image")
    while arr.ndim > 3 and arr.shape[0] == 1:  # [1, C, H, W] -> [C, H, W]
        arr = arr[0]
    if arr.ndim == 1:
        side = math.isqrt(arr.size)
        if side * side != arr.size or side == 0:
            raise InvalidValueError(f"thumbnail: a flat input of length {arr.size} is not a square "
                                    "image")
        arr = arr.reshape(side, side)
    if arr.ndim == 3:
        channels_first = arr.shape[0] in (1, 2, 3, 4) and (
            is_tensor or arr.shape[-1] not in (1, 2, 3, 4))
        if channels_first:
            arr = np.moveaxis(arr, 0, -1)
        c = arr.shape[-1]
        arr = arr[..., :3] if c >= 3 else arr[..., 0]
    if arr.ndim != 2 and not (arr.ndim == 3 and arr.shape[-1] == 3):
        raise InvalidValueError(f"thumbnail: cannot read shape {tuple(np.shape(x))} as an image "
                                "([H, W], [C, H, W] or [H, W, C])")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise InvalidValueError("thumbnail: empty image")
    return arr.astype(np.float64, copy=False)


def normalize_uint8(arr: np.ndarray) -> np.ndarray:
    """Min-max scale to 0..255 (NaN/inf become 0; a constant image becomes all 0)."""
    finite = np.isfinite(arr)
    if not finite.any():
        return np.zeros(arr.shape, dtype=np.uint8)
    lo, hi = float(arr[finite].min()), float(arr[finite].max())
    span = hi - lo
    out = np.zeros(arr.shape, dtype=np.float64)
    if span > 0:
        out = np.where(finite, (arr - lo) / span * 255.0, 0.0)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def encode_png(arr: np.ndarray, max_side: int = MAX_SIDE) -> bytes:
    """PNG bytes of a uint8 ``[H, W]`` (grey) or ``[H, W, 3]`` (RGB) array, shrunk to
    ``max_side``."""
    from PIL import Image

    img = Image.fromarray(arr)
    if max(img.size) > max_side:
        img.thumbnail((max_side, max_side), Image.Resampling.BILINEAR)
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=False, compress_level=6)
    return out.getvalue()


def first_input(x):
    """The input drawn for a sample: the first of several tensors, the first image-like value
    of a dict, else ``x`` itself."""
    if isinstance(x, (tuple, list)) and x and all(hasattr(v, "shape") for v in x):
        return x[0]
    if isinstance(x, dict):
        return next((v for v in x.values() if hasattr(v, "shape") or hasattr(v, "mode")), None)
    return x


def default_thumbnail(x) -> bytes:
    """PNG bytes for one sample input (see the module docstring for what is accepted)."""
    return encode_png(normalize_uint8(to_image_array(first_input(x))))


def as_png(result) -> bytes:
    """Turn what a user's thumbnail callable returned into PNG bytes."""
    if isinstance(result, (bytes, bytearray, memoryview)):
        data = bytes(result)
        if not is_png(data):
            raise InvalidValueError("thumbnail: the callable returned bytes that are not a PNG "
                                    "image")
        return data
    return default_thumbnail(result)


class ThumbnailCache:
    """PNG bytes per sample id, computed once with ``converter`` (thread-safe, bounded LRU).

    Parameters
    ----------
    converter : callable, optional
        ``converter(sample_input) -> PNG bytes | PIL image | array``; the default is
        :func:`default_thumbnail`.
    max_items : int, default 8192
        Entries kept; the least recently used ones are dropped beyond it.
    """

    def __init__(self, converter: ThumbnailFn | None = None, max_items: int = 8192):
        if converter is not None and not callable(converter):
            raise InvalidTypeError("thumbnail: expected a callable, got "
                                   f"{type(converter).__name__}")
        self.converter = converter
        self.max_items = max_items
        self._lock = threading.Lock()
        self._items: OrderedDict[Hashable, bytes] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, load: Callable[[], object]) -> bytes:
        """The PNG for ``key``; on a miss, ``load()`` gives the sample input to convert.

        Errors of ``load`` or of the converter propagate and nothing is cached.
        """
        with self._lock:
            png = self._items.get(key)
            if png is not None:
                self._items.move_to_end(key)
                self.hits += 1
                return png
        png = as_png(self.converter(load())) if self.converter else default_thumbnail(load())
        with self._lock:
            self.misses += 1
            self._items[key] = png
            self._items.move_to_end(key)
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)
        return png

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


_PLACEHOLDER: bytes | None = None


def placeholder_png() -> bytes:
    """A 1 x 1 grey PNG, sent when a sample has no drawable input."""
    global _PLACEHOLDER
    if _PLACEHOLDER is None:
        _PLACEHOLDER = encode_png(np.full((1, 1), 128, dtype=np.uint8))
    return _PLACEHOLDER
