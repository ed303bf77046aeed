"""The sample detail view's picture of one input: the image, large, with the mask and boxes of
its targets when it has them; otherwise the tensor's own best view (a vector's values, or its
text).

What counts as an overlay (read from the dataset item's targets):

* a dict with ``"boxes"`` (``[N, 4]``, ``x0, y0, x1, y1`` in pixels of the image, or in
  ``[0, 1]`` when every coordinate is) and optional ``"labels"`` (``[N]`` classes), as
  torchvision's detection datasets give;
* a dict with ``"mask"``/``"masks"``, or targets that are themselves an array of the image's
  height and width: a class mask (``[H, W]`` ints; 0 is the background) or instance masks
  (``[N, H, W]``, instance ``i`` drawn as class ``i + 1``).

The image is the thumbnail encoding of :mod:`weightslab_nb.panels.thumbnails` with a longer
side (:data:`DETAIL_SIDE`); the browser scales small images up without smoothing.
"""

from __future__ import annotations

import numpy as np

from weightslab_nb.panels.thumbnails import (
    as_png,
    encode_png,
    first_input,
    normalize_uint8,
    to_image_array,
)

#: Longest side of the detail image, in pixels (larger inputs are shrunk, never enlarged).
DETAIL_SIDE = 512
#: The most values a vector view carries, and characters a text view.
MAX_VECTOR = 4096
MAX_TEXT = 2000
MAX_BOXES = 500
#: Mask colours by class (class 0, the background, stays transparent).
_PALETTE = np.array([[0, 0, 0], [230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200],
                     [245, 130, 48], [145, 30, 180], [70, 240, 240], [240, 50, 230],
                     [210, 245, 60], [250, 190, 212]], dtype=np.uint8)


def input_view(inputs, targets, thumbnail=None) -> tuple[dict, list[bytes]]:
    """``(view, buffers)`` of one sample for the detail payload.

    ``view["kind"]`` is ``"image"`` (``width``, ``height``: the input's size in pixels;
    ``buffer``: index of the PNG in ``buffers``; ``mask_buffer``: index of an RGBA PNG of the
    mask, or None; ``boxes``: ``[{"x0", "y0", "x1", "y1", "label"}]`` as fractions of the
    image), ``"vector"`` (``buffer``: the values as a float32 wire array ``values``,
    ``length``: the input's length, ``shown``), ``"text"`` (``text``) or ``"none"``
    (``error``). ``thumbnail``: the grid's ``thumbnail=`` callable, when the user gave one
    (its image is drawn as it is, without overlays).
    """
    x = first_input(inputs)
    if thumbnail is not None:
        return {"kind": "image", "width": None, "height": None, "buffer": 0, "mask_buffer": None,
                "boxes": []}, [as_png(thumbnail(inputs))]
    try:
        arr = to_image_array(x)
    except (TypeError, ValueError) as exc:
        return _other_view(x, exc)
    h, w = arr.shape[:2]
    buffers = [encode_png(normalize_uint8(arr), DETAIL_SIDE)]
    view = {"kind": "image", "width": int(w), "height": int(h), "buffer": 0, "mask_buffer": None,
            "boxes": []}
    mask = _mask_of(targets, h, w)
    if mask is not None:
        view["mask_buffer"] = len(buffers)
        buffers.append(_mask_png(mask))
    view["boxes"] = _boxes_of(targets, h, w)
    return view, buffers


def _other_view(x, exc: Exception) -> tuple[dict, list[bytes]]:
    from weightslab_nb.panels.wire import encode_array

    try:
        flat = np.asarray(x.detach().cpu() if hasattr(x, "detach") else x)
    except Exception:  # not array-like at all: its text
        flat = None
    if flat is not None and flat.dtype.kind in "fiub" and flat.ndim == 1 and flat.size:
        shown = flat[:MAX_VECTOR].astype(np.float32)
        meta, buf = encode_array("values", shown)
        return {"kind": "vector", "buffer": 0, "array": meta, "length": int(flat.size),
                "shown": int(shown.size)}, [buf]
    if x is None:
        return {"kind": "none", "error": f"no drawable input ({exc})"}, []
    text = repr(x)
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT] + " …"
    return {"kind": "text", "text": text}, []


def _as_array(v) -> np.ndarray | None:
    if v is None:
        return None
    try:
        arr = np.asarray(v.detach().cpu() if hasattr(v, "detach") else v)
    except Exception:  # not numeric: no overlay
        return None
    return arr if arr.dtype.kind in "fiub" else None


def _mask_of(targets, h: int, w: int) -> np.ndarray | None:
    """A ``[h, w]`` int class mask from the targets, or None."""
    if isinstance(targets, dict):
        raw = targets.get("masks", targets.get("mask"))
    else:
        raw = targets
    arr = _as_array(raw)
    if arr is None or arr.ndim < 2:
        return None
    while arr.ndim > 2 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.shape[-2:] != (h, w):
        return None
    if arr.ndim == 3:  # instance masks: instance i is drawn as class i + 1
        on = arr > 0.5
        classes = np.where(on.any(axis=0), on.argmax(axis=0) + 1, 0)
        return classes.astype(np.int64)
    if arr.ndim != 2:
        return None
    if arr.dtype.kind == "f" and np.nanmax(arr, initial=0) <= 1.0:
        return (arr > 0.5).astype(np.int64)  # a probability or binary mask
    return np.nan_to_num(arr).astype(np.int64)


def _mask_png(mask: np.ndarray) -> bytes:
    """An RGBA PNG of a class mask: one colour per class, class 0 transparent."""
    import io

    from PIL import Image

    colours = _PALETTE[np.where(mask > 0, (mask - 1) % (len(_PALETTE) - 1) + 1, 0)]
    alpha = np.where(mask > 0, 140, 0).astype(np.uint8)
    img = Image.fromarray(np.dstack([colours, alpha]), "RGBA")
    if max(img.size) > DETAIL_SIDE:
        img.thumbnail((DETAIL_SIDE, DETAIL_SIDE), Image.Resampling.NEAREST)
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def _boxes_of(targets, h: int, w: int) -> list[dict]:
    """Boxes of detection targets as fractions of the image: ``[{"x0", "y0", "x1", "y1",
    "label"}]`` (``label``: the class, or None)."""
    if not isinstance(targets, dict):
        return []
    boxes = _as_array(targets.get("boxes"))
    if boxes is None or boxes.ndim != 2 or boxes.shape[1] != 4 or not len(boxes):
        return []
    boxes = boxes[:MAX_BOXES].astype(np.float64)
    labels = _as_array(targets.get("labels"))
    if labels is None or labels.shape != (len(boxes),):
        labels = None
    scale = np.array([1.0, 1.0, 1.0, 1.0]) if np.nanmax(boxes) <= 1.0 else \
        np.array([w, h, w, h], dtype=np.float64)
    out = []
    for i, (x0, y0, x1, y1) in enumerate(boxes / scale):
        if not np.isfinite([x0, y0, x1, y1]).all():
            continue
        label = None if labels is None else labels[i].item()
        out.append({"x0": float(x0), "y0": float(y0), "x1": float(x1), "y1": float(y1),
                    "label": label})
    return out
