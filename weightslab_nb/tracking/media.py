"""Rich values for ``wl.log``: images, histograms, tables, HTML, audio, video and 3-D points.

A value is checked and snapshotted when it is built (``wl.Image(batch[0])``): later changes to
the source array or file do not leak into it. When a run logs it, :meth:`Media.to_json` writes
its file(s) under ``<run_dir>/media/<kind>/`` and returns a small JSON-able descriptor (always
with a ``"_type"``) that the history row keeps; :func:`decode_value` turns a descriptor back
into a read-only view for notebooks and panels.

File names are ``<safe key>_<step>_<first 8 hex digits of the sha256>.<ext>``. Files are
written to a temporary name in the same folder and renamed into place, and a file that already
holds the same bytes is left alone. Importing this module imports neither torch, pandas,
matplotlib nor PIL: a tensor is recognised by its type's module and converted with its own
methods.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import io
import json
import math
import operator
import os
import re
import sys
import tempfile
import wave
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import ClassVar

import numpy as np

MAX_HISTOGRAM_BINS = 512
MAX_TABLE_ROWS = 200_000
DEFAULT_TABLE_COLUMNS = ("Input", "Output", "Expected")
MAX_POINT_CATEGORY = 14
MAX_AUDIO_CHANNELS = 32
VIDEO_FORMATS = ("gif", "mp4", "webm", "ogg")
MODEL_FORMATS = ("obj", "gltf", "glb", "babylon", "stl")

_MAX_KEY_CHARS = 100
_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._-]")
_PIL_EXTENSIONS = {"PNG": "png", "JPEG": "jpg", "GIF": "gif", "BMP": "bmp", "WEBP": "webp",
                   "TIFF": "tiff"}
_DEFAULT_STYLE = ("body{margin:0;padding:8px;font:13px/1.45 system-ui,-apple-system,'Segoe UI',"
                  "Roboto,sans-serif;color:#1f1f1f}table{border-collapse:collapse}"
                  "th,td{border:1px solid #d0d0d0;padding:2px 8px;text-align:left}"
                  "img{max-width:100%}")


# ---------------------------------------------------------------- files
def _check_key_step(key, step) -> tuple[str, int]:
    """Validate the history key and step a value is logged under."""
    if not isinstance(key, str) or not key:
        raise TypeError(f"key: expected a non-empty string, got {key!r}")
    if isinstance(step, bool):
        raise TypeError("step: expected a non-negative integer, got a bool")
    try:
        step = operator.index(step)
    except TypeError:
        raise TypeError(f"step: expected a non-negative integer, got "
                        f"{type(step).__name__}") from None
    if step < 0:
        raise ValueError(f"step: expected a non-negative integer, got {step}")
    return key, step


def _write_atomically(target: Path, payload: bytes) -> None:
    """Write ``payload`` to a temporary file beside ``target``, then rename it into place."""
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
        os.chmod(temp, 0o644)
        os.replace(temp, target)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise


def _store(run_dir, kind_dir: str, key, step, ext: str, payload: bytes) -> dict:
    """Write ``payload`` under ``run_dir/media/kind_dir``; its path, sha256 and size."""
    key, step = _check_key_step(key, step)
    digest = hashlib.sha256(payload).hexdigest()
    name = f"{_UNSAFE_CHARS.sub('_', key)[:_MAX_KEY_CHARS]}_{step}_{digest[:8]}.{ext}"
    relative = f"media/{kind_dir}/{name}"
    target = Path(run_dir) / relative
    same = (target.is_file() and target.stat().st_size == len(payload)
            and target.read_bytes() == payload)
    if not same:
        target.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(target, payload)
    return {"path": relative, "sha256": digest, "size": len(payload)}


def _read_source(path, argument: str, suffixes: tuple[str, ...] | None = None) -> bytes:
    """The bytes of a user's file, checking its extension against ``suffixes``."""
    path = Path(path)
    suffix = path.suffix.lower().lstrip(".")
    if suffixes is not None and suffix not in suffixes:
        accepted = ", ".join(f".{s}" for s in suffixes)
        raise ValueError(f"{argument}: expected a file ending in {accepted}, got {str(path)!r}")
    if not path.is_file():
        raise FileNotFoundError(f"{argument}: no such file: {path}")
    return path.read_bytes()


# ---------------------------------------------------------------- arrays and numbers
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
        raise TypeError(f"{argument}: expected an array-like, got "
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
        raise TypeError(f"{argument}: expected bool, integer or float pixels, got dtype "
                        f"{array.dtype}")
    values = np.where(np.isfinite(array), array.astype(np.float64), 0.0)
    if values.size and values.min() >= 0.0 and values.max() <= 1.0:
        values = values * 255.0
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def _check_number(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{where}: expected a number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{where}: expected a finite number, got {value}")
    return value


def _check_int(value, where: str) -> int:
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{where}: expected an integer, got a bool")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{where}: expected an integer, got {type(value).__name__}") from None


def _fixed_array(value, shape: tuple[int, ...], where: str) -> list:
    """A finite numeric array of exactly ``shape``, as nested lists of floats."""
    array = _as_array(value, where)
    if array.shape != shape or array.dtype.kind not in "biuf":
        raise ValueError(f"{where}: expected {shape} numbers, got shape {array.shape} "
                         f"of dtype {array.dtype}")
    if not np.isfinite(array).all():
        raise ValueError(f"{where}: expected finite numbers")
    return array.astype(np.float64).tolist()


def _reject_unknown(spec: dict, allowed: set[str], where: str) -> None:
    unknown = sorted(str(k) for k in spec if k not in allowed)
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; accepted: {sorted(allowed)}")


def _check_caption(caption) -> str | None:
    if caption is None or isinstance(caption, str):
        return caption
    if isinstance(caption, (int, float, np.integer, np.floating)):
        return str(caption)
    raise TypeError(f"caption: expected a string or None, got {type(caption).__name__}")


# ---------------------------------------------------------------- base classes
class Media:
    """Base class of the rich values ``wl.log`` accepts.

    Subclasses check and snapshot their input when built and write it when logged. The
    descriptor returned by :meth:`to_json` is what history rows and summaries store.
    """

    def to_json(self, run_dir: Path, key: str, step: int) -> dict:
        """Write this value's file(s) for ``key`` at ``step``; return its descriptor.

        Parameters
        ----------
        run_dir : Path or str
            The run's folder; files go to ``run_dir / "media" / <kind>/``.
        key : str
            The history key (any characters; unsafe ones become ``_`` in file names).
        step : int
            The non-negative step the value is logged at.

        Returns
        -------
        dict
            JSON-able, with ``"_type"``; file-backed kinds add ``"path"`` (relative to
            ``run_dir``, forward slashes), ``"sha256"`` and ``"size"`` (bytes).

        Raises
        ------
        TypeError, ValueError
            ``key`` is not a non-empty string or ``step`` not a non-negative integer.
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement to_json")


class _FileMedia(Media):
    """A media value whose bytes are fixed when it is built."""

    _type: ClassVar[str] = ""
    _kind_dir: ClassVar[str] = ""
    _payload: bytes
    _ext: str

    def _fields(self) -> dict:
        return {}

    def to_json(self, run_dir: Path, key: str, step: int) -> dict:
        stored = _store(run_dir, self._kind_dir, key, step, self._ext, self._payload)
        return {"_type": self._type, **stored, **self._fields()}

    to_json.__doc__ = Media.to_json.__doc__


# ---------------------------------------------------------------- histogram
class Histogram(Media):
    """Counts of values in bins, stored inline in the history row (no file).

    Parameters
    ----------
    sequence : array-like or Tensor, optional
        Numbers of any shape (flattened). NaN and infinite values are dropped before binning;
        with nothing left the bins span [0, 1] and all counts are 0.
    np_histogram : tuple(counts, edges), optional
        The result of ``numpy.histogram``: ``n`` counts (1 <= n <= 512) and ``n + 1`` finite,
        non-decreasing edges.
    num_bins : int, default 64
        Number of equal-width bins for ``sequence``, from 1 to 512.

    Attributes
    ----------
    bins : list[float]
        Bin edges, length ``n + 1``.
    histogram : list[int | float]
        Count per bin, length ``n`` (floats only when ``np_histogram`` held densities).

    Raises
    ------
    ValueError
        Neither or both of ``sequence`` and ``np_histogram`` given; ``num_bins`` outside
        1..512; ``np_histogram`` malformed.
    TypeError
        ``sequence`` holds non-numbers.
    """

    def __init__(self, sequence=None, np_histogram=None, num_bins: int = 64):
        if (sequence is None) == (np_histogram is None):
            raise ValueError("sequence / np_histogram: pass exactly one of them")
        if isinstance(num_bins, bool) or not isinstance(num_bins, (int, np.integer)) \
                or not 1 <= num_bins <= MAX_HISTOGRAM_BINS:
            raise ValueError(f"num_bins: expected an integer from 1 to {MAX_HISTOGRAM_BINS}, "
                             f"got {num_bins!r}")
        if sequence is not None:
            values = _as_array(sequence, "sequence")
            if values.dtype.kind not in "biuf":
                raise TypeError(f"sequence: expected numbers, got dtype {values.dtype}")
            values = values.astype(np.float64).ravel()
            counts, edges = np.histogram(values[np.isfinite(values)], bins=int(num_bins))
        else:
            counts, edges = self._check_np_histogram(np_histogram)
        self.bins: list[float] = edges.astype(np.float64).tolist()
        self.histogram: list = counts.tolist()

    @staticmethod
    def _check_np_histogram(value) -> tuple[np.ndarray, np.ndarray]:
        if not isinstance(value, (tuple, list)) or len(value) != 2:
            raise ValueError("np_histogram: expected the (counts, edges) pair numpy.histogram "
                             "returns")
        counts = _as_array(value[0], "np_histogram")
        edges = _as_array(value[1], "np_histogram")
        n = counts.shape[0] if counts.ndim == 1 else -1
        if not 1 <= n <= MAX_HISTOGRAM_BINS or edges.shape != (n + 1,):
            raise ValueError(f"np_histogram: expected 1 to {MAX_HISTOGRAM_BINS} counts and one "
                             f"more edge, got shapes {counts.shape} and {edges.shape}")
        if counts.dtype.kind not in "biuf" or edges.dtype.kind not in "biuf":
            raise ValueError("np_histogram: counts and edges must be numbers")
        if not (np.isfinite(counts).all() and np.isfinite(edges).all()) or (counts < 0).any() \
                or (np.diff(edges) < 0).any():
            raise ValueError("np_histogram: expected finite non-negative counts and finite, "
                             "non-decreasing edges")
        if counts.dtype.kind == "f" and (counts == np.rint(counts)).all():
            counts = counts.astype(np.int64)
        return counts, edges

    def to_json(self, run_dir: Path, key: str, step: int) -> dict:
        """The inline descriptor ``{"_type": "histogram", "bins": [...], "values": [...]}``.

        ``run_dir``, ``key`` and ``step`` are accepted for a uniform interface; nothing is
        written.
        """
        return {"_type": "histogram", "bins": list(self.bins), "values": list(self.histogram)}

    def __repr__(self) -> str:
        return f"<Histogram {len(self.histogram)} bins, {sum(self.histogram)} counted>"


# ---------------------------------------------------------------- image
def _figure_of(value):
    """The matplotlib Figure meant by ``value`` (a Figure or the pyplot module), else None."""
    if value is not None and value is sys.modules.get("matplotlib.pyplot"):
        return value.gcf()
    figure_module = sys.modules.get("matplotlib.figure")
    if figure_module is not None and isinstance(value, figure_module.Figure):
        return value
    return None


def _image_array(data) -> np.ndarray:
    """Pixels ``[H, W]`` or ``[H, W, 3|4]`` uint8 from an array or tensor (see Image)."""
    array = _as_array(data, "data_or_path")
    channels = (1, 3, 4)
    if array.ndim == 3:
        first_is_channel = array.shape[0] in channels
        if first_is_channel and (_is_tensor(data) or array.shape[-1] not in channels):
            array = array.transpose(1, 2, 0)
        if array.shape[-1] == 1:
            array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] not in channels) \
            or 0 in array.shape:
        raise ValueError(f"data_or_path: expected an image of shape [H, W], [H, W, C] or "
                         f"[C, H, W] with C in (1, 3, 4), got shape {tuple(array.shape)}; log "
                         f"a batch as a list of Image")
    return np.ascontiguousarray(_to_uint8(array, "data_or_path"))


def _png(image, mode) -> tuple[bytes, str, int, int]:
    """A PIL image, converted to ``mode`` when given, encoded as PNG."""
    if mode is not None:
        if not isinstance(mode, str):
            raise TypeError(f"mode: expected a PIL mode string such as 'L' or 'RGB', got "
                            f"{type(mode).__name__}")
        try:
            image = image.convert(mode)
        except ValueError:
            raise ValueError(f"mode: cannot convert a {image.mode} image to {mode!r}; use a PIL "
                             f"mode such as 'L', 'RGB' or 'RGBA'") from None
    buffer = io.BytesIO()
    try:
        image.save(buffer, format="PNG")
    except (OSError, KeyError, ValueError):  # modes PNG cannot hold, e.g. CMYK or F
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
    return buffer.getvalue(), "png", image.width, image.height


def _encoded_image(raw: bytes, mode) -> tuple[bytes, str, int, int]:
    """An image file's bytes kept as they are (re-encoded as PNG only when ``mode`` is set)."""
    from PIL import Image as PILImage
    from PIL import UnidentifiedImageError

    try:
        image = PILImage.open(io.BytesIO(raw))
        image.load()
    except (UnidentifiedImageError, OSError) as exc:
        raise ValueError(f"data_or_path: not an image file PIL can read ({exc})") from None
    ext = _PIL_EXTENSIONS.get(image.format or "")
    if mode is not None or ext is None:
        return _png(image, mode)
    return raw, ext, image.width, image.height


def _load_image(data, mode) -> tuple[bytes, str, int, int]:
    from PIL import Image as PILImage

    figure = _figure_of(data)
    if figure is not None:
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return _encoded_image(buffer.getvalue(), mode)
    if isinstance(data, (str, os.PathLike)):
        return _encoded_image(_read_source(data, "data_or_path"), mode)
    if isinstance(data, PILImage.Image):
        return _png(data.copy(), mode)
    return _png(PILImage.fromarray(_image_array(data)), mode)


def _check_class_labels(labels, where: str) -> dict[int, str]:
    if not isinstance(labels, dict):
        raise TypeError(f"{where}: expected a dict of int class id -> str label, got "
                        f"{type(labels).__name__}")
    out = {}
    for class_id, label in labels.items():
        if not isinstance(label, str):
            raise TypeError(f"{where}[{class_id!r}]: expected a str label, got "
                            f"{type(label).__name__}")
        out[_check_int(class_id, f"{where} key {class_id!r}")] = label
    return out


def _labels_json(labels: dict[int, str]) -> dict[str, str]:
    return {str(k): v for k, v in labels.items()}


def _check_position(position, where: str) -> dict:
    if not isinstance(position, dict):
        raise TypeError(f"{where}: expected a dict, got {type(position).__name__}")
    keys = set(position)
    if keys == {"minX", "maxX", "minY", "maxY"}:
        out = {k: _check_number(position[k], f"{where}[{k!r}]")
               for k in ("minX", "maxX", "minY", "maxY")}
        if out["minX"] > out["maxX"] or out["minY"] > out["maxY"]:
            raise ValueError(f"{where}: expected minX <= maxX and minY <= maxY, got {out}")
        return out
    if keys == {"middle", "width", "height"}:
        middle = position["middle"]
        if not isinstance(middle, (list, tuple, np.ndarray)) or len(middle) != 2:
            raise ValueError(f"{where}['middle']: expected [x, y]")
        out = {"middle": [_check_number(v, f"{where}['middle']") for v in middle],
               "width": _check_number(position["width"], f"{where}['width']"),
               "height": _check_number(position["height"], f"{where}['height']")}
        if out["width"] < 0 or out["height"] < 0:
            raise ValueError(f"{where}: width and height must be >= 0")
        return out
    raise ValueError(f"{where}: expected the keys minX, maxX, minY, maxY or the keys middle, "
                     f"width, height; got {sorted(map(str, keys))}")


def _check_box(box, where: str) -> dict:
    if not isinstance(box, dict):
        raise TypeError(f"{where}: expected a dict, got {type(box).__name__}")
    _reject_unknown(box, {"position", "class_id", "box_caption", "scores", "domain"}, where)
    if "position" not in box or "class_id" not in box:
        raise ValueError(f"{where}: 'position' and 'class_id' are required")
    out = {"position": _check_position(box["position"], f"{where}['position']"),
           "class_id": _check_int(box["class_id"], f"{where}['class_id']")}
    if box.get("domain") is not None:
        if box["domain"] != "pixel":
            raise ValueError(f"{where}['domain']: expected 'pixel' (coordinates in pixels) or "
                             f"no domain (fractions of the image size), got {box['domain']!r}")
        out["domain"] = "pixel"
    if box.get("box_caption") is not None:
        if not isinstance(box["box_caption"], str):
            raise TypeError(f"{where}['box_caption']: expected a string")
        out["box_caption"] = box["box_caption"]
    if box.get("scores") is not None:
        scores = box["scores"]
        if not isinstance(scores, dict) or not all(isinstance(k, str) for k in scores):
            raise TypeError(f"{where}['scores']: expected a dict of str name -> number")
        out["scores"] = {k: _check_number(v, f"{where}['scores'][{k!r}]")
                         for k, v in scores.items()}
    return out


def _check_boxes(boxes) -> dict:
    if not isinstance(boxes, dict):
        raise TypeError(f"boxes: expected a dict of group name -> {{'box_data': [...], "
                        f"'class_labels': {{...}}}}, got {type(boxes).__name__}")
    out = {}
    for group, spec in boxes.items():
        where = f"boxes[{group!r}]"
        if not isinstance(group, str) or not isinstance(spec, dict) or "box_data" not in spec:
            raise ValueError(f"{where}: expected a str group name -> dict with 'box_data' (a "
                             f"list of boxes) and optional 'class_labels'")
        _reject_unknown(spec, {"box_data", "class_labels"}, where)
        if not isinstance(spec["box_data"], (list, tuple)):
            raise TypeError(f"{where}['box_data']: expected a list of box dicts")
        data = [_check_box(b, f"{where}['box_data'][{i}]") for i, b in enumerate(spec["box_data"])]
        labels = spec.get("class_labels")
        labels = ({b["class_id"]: f"class_{b['class_id']}" for b in data} if labels is None
                  else _check_class_labels(labels, f"{where}['class_labels']"))
        out[group] = {"box_data": data, "class_labels": labels}
    return out


def _check_masks(masks, height: int, width: int) -> dict:
    """Group -> (PNG bytes of the class ids, class labels)."""
    from PIL import Image as PILImage

    if not isinstance(masks, dict):
        raise TypeError(f"masks: expected a dict of group name -> {{'mask_data': 2-D int array, "
                        f"'class_labels': {{...}}}}, got {type(masks).__name__}")
    out = {}
    for group, spec in masks.items():
        where = f"masks[{group!r}]"
        if not isinstance(group, str) or not isinstance(spec, dict) or "mask_data" not in spec:
            raise ValueError(f"{where}: expected a str group name -> dict with 'mask_data' and "
                             f"optional 'class_labels'")
        _reject_unknown(spec, {"mask_data", "class_labels"}, where)
        ids = _as_array(spec["mask_data"], f"{where}['mask_data']")
        if ids.shape != (height, width):
            raise ValueError(f"{where}['mask_data']: expected a 2-D array with the image's "
                             f"shape ({height}, {width}), got shape {tuple(ids.shape)}")
        integral = ids.dtype.kind in "biu" or (ids.dtype.kind == "f"
                                               and (np.mod(ids, 1) == 0).all())
        if not integral or (ids.size and (ids.min() < 0 or ids.max() > 255)):
            raise ValueError(f"{where}['mask_data']: expected integer class ids from 0 to 255")
        ids = ids.astype(np.uint8)
        labels = spec.get("class_labels")
        labels = ({int(v): f"class_{int(v)}" for v in np.unique(ids)} if labels is None
                  else _check_class_labels(labels, f"{where}['class_labels']"))
        out[group] = (_png(PILImage.fromarray(np.ascontiguousarray(ids)), None)[0], labels)
    return out


def _check_classes(classes) -> list[dict]:
    if isinstance(classes, dict):
        classes = [{"id": k, "name": v} for k, v in classes.items()]
    if not isinstance(classes, (list, tuple)):
        raise TypeError("classes: expected a dict of id -> name or a list of "
                        "{'id': int, 'name': str}")
    out = []
    for i, item in enumerate(classes):
        if not isinstance(item, dict) or set(item) != {"id", "name"} \
                or not isinstance(item["name"], str):
            raise ValueError(f"classes[{i}]: expected {{'id': int, 'name': str}}, got {item!r}")
        out.append({"id": _check_int(item["id"], f"classes[{i}]['id']"), "name": item["name"]})
    return out


class Image(_FileMedia):
    """A picture, optionally with bounding boxes and segmentation masks.

    Parameters
    ----------
    data_or_path : ndarray, Tensor, PIL.Image.Image, str, os.PathLike or matplotlib Figure
        * An array ``[H, W]``, ``[H, W, C]`` or ``[C, H, W]`` with ``C`` 1 (grey), 3 (RGB) or
          4 (RGBA). A torch tensor whose first dimension is 1, 3 or 4 is read channel-first;
          a numpy array is channel-last when its last dimension is 1, 3 or 4, otherwise
          channel-first when its first one is. Floats all within [0, 1] are multiplied by
          255, other values clipped to 0..255 (NaN and inf become 0); bools are 0 / 255.
          Saved as PNG.
        * A PIL image (saved as PNG), a matplotlib Figure (rendered to PNG), or the path of an
          image file (its bytes are copied as they are).
    mode : str, optional
        A PIL mode (``"L"``, ``"RGB"``, ``"RGBA"``, ...) to convert to; the result is PNG.
    caption : str, optional
    boxes : dict, optional
        Group name -> ``{"box_data": [box, ...], "class_labels": {int: str}}``. A box is
        ``{"position": ..., "class_id": int}`` plus optional ``"box_caption"`` (str),
        ``"scores"`` (str -> number) and ``"domain"``. A position is either
        ``{"minX", "maxX", "minY", "maxY"}`` or ``{"middle": [x, y], "width", "height"}``, in
        fractions of the image size, or in pixels when ``"domain": "pixel"``. Missing
        ``class_labels`` default to ``"class_<id>"`` for the ids used.
    masks : dict, optional
        Group name -> ``{"mask_data": [H, W] integer class ids 0..255, "class_labels":
        {int: str}}`` with the image's height and width; each mask is saved as its own PNG.
    classes : dict or list, optional
        The class set: ``{id: name}`` or ``[{"id": int, "name": str}, ...]``.

    Attributes
    ----------
    width, height : int
        Size in pixels.
    format : str
        File extension of the stored bytes (``"png"``, or e.g. ``"jpg"`` for a copied file).

    Raises
    ------
    ValueError
        An array shape, mask shape or box position that is not accepted, or an unreadable
        image file.
    TypeError
        An argument of the wrong type (the message names it).
    FileNotFoundError
        ``data_or_path`` names a file that does not exist.
    """

    _type = "image-file"
    _kind_dir = "images"

    def __init__(self, data_or_path, mode=None, caption=None, boxes=None, masks=None,
                 classes=None):
        self._payload, self._ext, self.width, self.height = _load_image(data_or_path, mode)
        self.format = self._ext
        self.caption = _check_caption(caption)
        self.boxes = None if boxes is None else _check_boxes(boxes)
        self._masks = None if masks is None else _check_masks(masks, self.height, self.width)
        self.classes = None if classes is None else _check_classes(classes)

    @property
    def masks(self) -> dict[str, dict[int, str]] | None:
        """Mask group -> its class labels (the pixels are already encoded)."""
        return None if self._masks is None else {g: dict(m[1]) for g, m in self._masks.items()}

    def _fields(self) -> dict:
        out = {"format": self.format, "width": self.width, "height": self.height,
               "caption": self.caption}
        if self.boxes is not None:
            out["boxes"] = {g: {"box_data": spec["box_data"],
                                "class_labels": _labels_json(spec["class_labels"])}
                            for g, spec in self.boxes.items()}
        if self.classes is not None:
            out["classes"] = self.classes
        return out

    def to_json(self, run_dir: Path, key: str, step: int) -> dict:
        descriptor = super().to_json(run_dir, key, step)
        if self._masks is not None:
            descriptor["masks"] = {
                group: {"_type": "mask-file",
                        **_store(run_dir, "masks", f"{key}_{group}", step, "png", png),
                        "class_labels": _labels_json(labels)}
                for group, (png, labels) in self._masks.items()}
        return descriptor

    to_json.__doc__ = Media.to_json.__doc__

    def __repr__(self) -> str:
        return f"<Image {self.width}x{self.height} {self.format} caption={self.caption!r}>"


# ---------------------------------------------------------------- table
def _check_cell(value, where: str):
    """A JSON-able cell: None, bool, int, finite float (else None), str, or a Media."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, Table):
        raise TypeError(f"{where}: a Table cannot hold another Table")
    if isinstance(value, Media):
        return value
    if (_is_tensor(value) or isinstance(value, np.ndarray)) and getattr(value, "ndim", 1) == 0:
        return _check_cell(_as_array(value, where).item(), where)
    raise TypeError(f"{where}: a cell must be a number, string, bool, None or a media value "
                    f"(Image, Histogram, ...), got {type(value).__name__}")


def _check_columns(columns, argument: str) -> list[str]:
    if isinstance(columns, (str, bytes)) or not hasattr(columns, "__iter__"):
        raise TypeError(f"{argument}: expected a list of column names, got "
                        f"{type(columns).__name__}")
    columns = list(columns)
    if not all(isinstance(c, str) for c in columns):
        raise TypeError(f"{argument}: column names must be strings, got {columns!r}")
    if len(set(columns)) != len(columns):
        raise ValueError(f"{argument}: column names must be unique, got {columns!r}")
    return columns


def _dataframe_rows(dataframe) -> tuple[list[str], list]:
    pandas = sys.modules.get("pandas")
    if pandas is None or not isinstance(dataframe, pandas.DataFrame):
        raise TypeError(f"dataframe: expected a pandas.DataFrame, got "
                        f"{type(dataframe).__name__}")
    columns = _check_columns([str(c) for c in dataframe.columns], "dataframe")
    cells = dataframe.astype(object).where(dataframe.notna(), None)
    return columns, cells.values.tolist()


class Table(Media):
    """Rows of cells under named columns, saved as one JSON file.

    Parameters
    ----------
    columns : list[str], optional
        Unique column names; ``["Input", "Output", "Expected"]`` when omitted.
    data : 2-D array-like or list of rows, optional
        Each row holds one cell per column. A cell is a number, string, bool, None or a media
        value (an :class:`Image` in a cell is saved with the table and the cell holds its
        descriptor). Numpy scalars become Python numbers, NaN and inf become None, dates
        become ISO strings.
    rows : list of rows, optional
        Another name for ``data``; pass only one of them.
    dataframe : pandas.DataFrame, optional
        Columns (names turned into strings) and rows from a frame; missing values become
        None. Excludes ``columns``, ``data`` and ``rows``.

    Raises
    ------
    ValueError
        A row of the wrong length, duplicate column names, conflicting arguments, or more
        than 200,000 rows.
    TypeError
        A cell, row or column name of a type not listed above.
    """

    _type: ClassVar[str] = "table-file"

    def __init__(self, columns=None, data=None, rows=None, dataframe=None):
        argument = "data" if rows is None else "rows"
        if dataframe is not None:
            if columns is not None or data is not None or rows is not None:
                raise ValueError("dataframe: pass either a DataFrame or columns/data/rows, "
                                 "not both")
            columns, data = _dataframe_rows(dataframe)
            argument = "dataframe"
        elif data is not None and rows is not None:
            raise ValueError("rows: 'rows' is another name for 'data'; pass only one of them")
        self._columns = _check_columns(DEFAULT_TABLE_COLUMNS if columns is None else columns,
                                       "columns")
        self._rows: list[list] = []
        source = data if data is not None else rows
        if source is not None:
            self._rows = self._checked_rows(source, argument)

    @property
    def columns(self) -> list[str]:
        """The column names (a copy)."""
        return list(self._columns)

    @property
    def data(self) -> list[list]:
        """The rows (copies; change the table with :meth:`add_data` / :meth:`add_column`)."""
        return [list(row) for row in self._rows]

    def _checked_rows(self, rows, argument: str) -> list[list]:
        pandas = sys.modules.get("pandas")
        if pandas is not None and isinstance(rows, pandas.DataFrame):
            raise TypeError(f"{argument}: pass a DataFrame as Table(dataframe=...)")
        if _is_tensor(rows) or isinstance(rows, np.ndarray):
            array = _as_array(rows, argument)
            if array.ndim != 2:
                raise ValueError(f"{argument}: expected a 2-D array, got shape {array.shape}")
            rows = array.tolist()
        if isinstance(rows, (str, bytes, dict)) or not hasattr(rows, "__iter__"):
            raise TypeError(f"{argument}: expected a list of rows, got {type(rows).__name__}")
        rows = list(rows)
        self._check_room(len(rows), argument)
        return [self._checked_row(row, f"{argument}[{i}]") for i, row in enumerate(rows)]

    def _checked_row(self, row, where: str) -> list:
        if _is_tensor(row) or isinstance(row, np.ndarray):
            row = _as_array(row, where).tolist()
        if not isinstance(row, (list, tuple)):
            raise TypeError(f"{where}: expected a list or tuple of cells, got "
                            f"{type(row).__name__}")
        if len(row) != len(self._columns):
            raise ValueError(f"{where}: expected {len(self._columns)} cells (columns "
                             f"{self._columns}), got {len(row)}")
        return [_check_cell(cell, f"{where}[{j}]") for j, cell in enumerate(row)]

    def _check_room(self, extra: int, argument: str) -> None:
        if len(self._rows) + extra > MAX_TABLE_ROWS:
            raise ValueError(f"{argument}: a Table holds at most {MAX_TABLE_ROWS:,} rows; this "
                             f"would make {len(self._rows) + extra:,}")

    def add_data(self, *row) -> None:
        """Append one row, one cell per column (see the class for the accepted cells).

        Raises
        ------
        ValueError
            The number of cells differs from the number of columns, or the table is full.
        TypeError
            A cell of a type not accepted.
        """
        self._check_room(1, "add_data")
        self._rows.append(self._checked_row(list(row), "add_data"))

    def add_column(self, name: str, data) -> None:
        """Append a column.

        Parameters
        ----------
        name : str
            A name not already used.
        data : sequence, 1-D array or Tensor
            One cell per existing row (any length when the table has no columns and no rows).

        Raises
        ------
        ValueError
            ``name`` is taken or ``data`` has the wrong length.
        TypeError
            ``name`` is not a string or a cell is not accepted.
        """
        if not isinstance(name, str):
            raise TypeError(f"name: expected a string, got {type(name).__name__}")
        if name in self._columns:
            raise ValueError(f"name: column {name!r} already exists")
        if _is_tensor(data) or isinstance(data, np.ndarray):
            data = _as_array(data, "data").tolist()
        cells = [_check_cell(v, f"data[{i}]") for i, v in enumerate(data)]
        if self._columns or self._rows:
            if len(cells) != len(self._rows):
                raise ValueError(f"data: expected {len(self._rows)} values (one per row), got "
                                 f"{len(cells)}")
            self._rows = [row + [cell] for row, cell in zip(self._rows, cells)]
        else:
            self._check_room(len(cells), "data")
            self._rows = [[cell] for cell in cells]
        self._columns.append(name)

    def get_column(self, name: str, convert_to: str | None = None):
        """The cells of column ``name`` as a list, or a numpy array with ``convert_to="numpy"``.

        Raises
        ------
        KeyError
            No column is called ``name``.
        ValueError
            ``convert_to`` is neither None nor ``"numpy"``.
        """
        if name not in self._columns:
            raise KeyError(f"name: no column {name!r}; columns are {self._columns}")
        if convert_to not in (None, "numpy"):
            raise ValueError(f"convert_to: expected None or 'numpy', got {convert_to!r}")
        index = self._columns.index(name)
        values = [row[index] for row in self._rows]
        return np.array(values) if convert_to == "numpy" else values

    def get_dataframe(self):
        """The table as a ``pandas.DataFrame`` (media cells stay media objects)."""
        import pandas

        return pandas.DataFrame(self.data, columns=self.columns)

    def to_json(self, run_dir: Path, key: str, step: int) -> dict:
        key, step = _check_key_step(key, step)
        data = [[c.to_json(run_dir, f"{key}_{i}_{j}", step) if isinstance(c, Media) else c
                 for j, c in enumerate(row)] for i, row in enumerate(self._rows)]
        payload = json.dumps({"columns": self._columns, "data": data}, allow_nan=False,
                             ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        stored = _store(run_dir, "tables", key, step, "table.json", payload)
        return {"_type": self._type, **stored, "ncols": len(self._columns),
                "nrows": len(self._rows)}

    to_json.__doc__ = Media.to_json.__doc__

    def __repr__(self) -> str:
        return f"<Table {len(self._rows)} rows x {len(self._columns)} columns {self._columns}>"


# ---------------------------------------------------------------- html
def _read_text(data) -> str:
    if isinstance(data, str):
        return data
    if isinstance(data, os.PathLike):
        return _read_source(data, "data").decode("utf-8")
    if hasattr(data, "read"):
        content = data.read()
        return content.decode("utf-8") if isinstance(content, bytes) else str(content)
    raise TypeError(f"data: expected an HTML string, a path or an open file, got "
                    f"{type(data).__name__}")


def _inject_style(html: str) -> str:
    """``html`` with the default style added, unless it already brings its own."""
    if re.search(r"<style\b|rel\s*=\s*[\"']?stylesheet", html, re.IGNORECASE):
        return html
    style = f"<style>{_DEFAULT_STYLE}</style>"
    head = re.search(r"<head\b[^>]*>", html, re.IGNORECASE)
    if head:
        return html[:head.end()] + style + html[head.end():]
    opening = re.search(r"<html\b[^>]*>", html, re.IGNORECASE)
    at = opening.end() if opening else 0
    return html[:at] + f"<head><meta charset=\"utf-8\">{style}</head>" + html[at:]


class Html(_FileMedia):
    """A piece of HTML, saved as an ``.html`` file (UTF-8).

    Parameters
    ----------
    data : str, os.PathLike or file object
        A ``str`` is the HTML itself (never read as a path); a ``pathlib.Path`` is read as a
        UTF-8 file; an object with ``read()`` (text or bytes) is read to the end.
    inject : bool, default True
        Add a small default stylesheet (inline, no links) unless the HTML has its own
        ``<style>`` or stylesheet link. False keeps the HTML unchanged.

    Attributes
    ----------
    html : str
        The text that is saved.

    Raises
    ------
    TypeError
        ``data`` or ``inject`` of the wrong type.
    FileNotFoundError
        ``data`` is a path that does not exist.
    """

    _type = "html-file"
    _kind_dir = "html"
    _ext = "html"

    def __init__(self, data, inject: bool = True):
        if not isinstance(inject, bool):
            raise TypeError(f"inject: expected True or False, got {inject!r}")
        text = _read_text(data)
        self.html = _inject_style(text) if inject else text
        self._payload = self.html.encode("utf-8")

    def __repr__(self) -> str:
        return f"<Html {len(self.html)} characters>"


# ---------------------------------------------------------------- audio
def _pcm16(data) -> np.ndarray:
    """Samples ``[N, channels]`` int16 from float (-1..1, clipped) or int16 samples."""
    array = _as_array(data, "data_or_path")
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2 or array.shape[0] == 0 or not 1 <= array.shape[1] <= MAX_AUDIO_CHANNELS:
        raise ValueError(f"data_or_path: expected samples of shape [N] or [N, channels] with "
                         f"N >= 1 and at most {MAX_AUDIO_CHANNELS} channels, got shape "
                         f"{tuple(array.shape)} (transpose a [channels, N] array)")
    if array.dtype == np.int16:
        return array
    if array.dtype.kind != "f":
        raise TypeError(f"data_or_path: expected float samples in [-1, 1] or int16 samples, "
                        f"got dtype {array.dtype}")
    if not np.isfinite(array).all():
        raise ValueError("data_or_path: samples must be finite (found NaN or inf)")
    return np.rint(np.clip(array, -1.0, 1.0) * 32767).astype(np.int16)


def _wav_bytes(samples: np.ndarray, sample_rate: int) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(samples.shape[1])
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(np.ascontiguousarray(samples, dtype="<i2").tobytes())
    return buffer.getvalue()


def _wav_info(payload: bytes) -> tuple[int, int, int]:
    """Sample rate, channels and frames of a WAV file's bytes."""
    try:
        with wave.open(io.BytesIO(payload), "rb") as source:
            return source.getframerate(), source.getnchannels(), source.getnframes()
    except (wave.Error, EOFError) as exc:
        raise ValueError(f"data_or_path: not a PCM WAV file ({exc})") from None


class Audio(_FileMedia):
    """A sound clip, saved as a 16-bit PCM WAV file.

    Parameters
    ----------
    data_or_path : ndarray, Tensor, str or os.PathLike
        Samples ``[N]`` (mono) or ``[N, channels]``: floats in [-1, 1] (values outside are
        clipped) or int16. Or the path of a ``.wav`` file, copied as it is.
    sample_rate : int, optional
        Samples per second; required for arrays. For a file it is read from the file (a
        different value given here is an error).
    caption : str, optional

    Attributes
    ----------
    sample_rate, channels, frames : int
    duration : float
        Length in seconds.

    Raises
    ------
    ValueError
        A missing or non-positive ``sample_rate`` for an array, a bad shape, non-finite
        samples, or a file that is not a PCM WAV.
    TypeError
        A sample dtype other than float or int16.
    FileNotFoundError
        ``data_or_path`` names a file that does not exist.
    """

    _type = "audio-file"
    _kind_dir = "audio"
    _ext = "wav"

    def __init__(self, data_or_path, sample_rate: int | None = None, caption=None):
        if sample_rate is not None:
            rate = _check_int(sample_rate, "sample_rate")
            if rate <= 0:
                raise ValueError(f"sample_rate: expected a positive number of samples per "
                                 f"second, got {rate}")
        if isinstance(data_or_path, (str, os.PathLike)):
            self._payload = _read_source(data_or_path, "data_or_path", ("wav",))
            self.sample_rate, self.channels, self.frames = _wav_info(self._payload)
            if sample_rate is not None and rate != self.sample_rate:
                raise ValueError(f"sample_rate: the file is sampled at {self.sample_rate} Hz, "
                                 f"not {rate}; omit sample_rate for files")
        else:
            if sample_rate is None:
                raise ValueError("sample_rate: required when data_or_path holds samples "
                                 "(samples per second, e.g. 16000)")
            samples = _pcm16(data_or_path)
            self._payload = _wav_bytes(samples, rate)
            self.sample_rate, (self.frames, self.channels) = rate, samples.shape
        self.duration = self.frames / self.sample_rate
        self.caption = _check_caption(caption)

    def _fields(self) -> dict:
        return {"sample_rate": self.sample_rate, "channels": self.channels,
                "duration": self.duration, "caption": self.caption}

    def __repr__(self) -> str:
        return (f"<Audio {self.duration:.3g} s at {self.sample_rate} Hz, {self.channels} "
                f"channel(s) caption={self.caption!r}>")


# ---------------------------------------------------------------- video
def _video_frames(data) -> np.ndarray:
    """Frames ``[T, H, W]`` or ``[T, H, W, 3]`` uint8 from ``[T, C, H, W]`` (C 1 or 3)."""
    array = _as_array(data, "data_or_path")
    if array.ndim != 4 or array.shape[1] not in (1, 3) or 0 in array.shape:
        raise ValueError(f"data_or_path: expected frames of shape [T, C, H, W] with C 1 or 3, "
                         f"got shape {tuple(array.shape)}; log a batch as a list of Video")
    frames = _to_uint8(array, "data_or_path").transpose(0, 2, 3, 1)
    return np.ascontiguousarray(frames[..., 0] if frames.shape[-1] == 1 else frames)


def _gif_bytes(frames: np.ndarray, fps: float) -> bytes:
    from PIL import Image as PILImage

    images = [PILImage.fromarray(frame) for frame in frames]
    buffer = io.BytesIO()
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:], loop=0,
                   duration=max(10, round(1000 / fps)))
    return buffer.getvalue()


def _gif_info(payload: bytes) -> tuple[int, int, int]:
    """Frames, width and height of a GIF file's bytes."""
    from PIL import Image as PILImage
    from PIL import UnidentifiedImageError

    try:
        with PILImage.open(io.BytesIO(payload)) as image:
            return getattr(image, "n_frames", 1), image.width, image.height
    except (UnidentifiedImageError, OSError) as exc:
        raise ValueError(f"data_or_path: not a GIF file PIL can read ({exc})") from None


class Video(_FileMedia):
    """A clip: frames from an array saved as an animated GIF, or a copied video file.

    Parameters
    ----------
    data_or_path : ndarray, Tensor, str or os.PathLike
        Frames ``[T, C, H, W]`` with ``C`` 1 (grey) or 3 (RGB), uint8 or float (scaled like
        :class:`Image` pixels); or the path of a ``.gif``, ``.mp4``, ``.webm`` or ``.ogg``
        file, copied as it is.
    fps : int or float, default 4
        Frames per second (GIF frame times are whole hundredths of a second).
    caption : str, optional
    format : str, optional
        ``"gif"`` (the only format for arrays; the default for them). For a file, it must
        match the file's extension when given.

    Attributes
    ----------
    frames, width, height : int or None
        Known for arrays and GIF files; None for other files.

    Raises
    ------
    ValueError
        A bad shape, a non-positive ``fps``, a format other than GIF for arrays, or a file
        extension not accepted.
    FileNotFoundError
        ``data_or_path`` names a file that does not exist.

    Notes
    -----
    GIF holds at most 256 colours per frame: RGB frames with more colours are quantised, and
    consecutive identical frames may be merged into one longer frame.
    """

    _type = "video-file"
    _kind_dir = "videos"

    def __init__(self, data_or_path, fps: float = 4, caption=None, format: str | None = None):
        if isinstance(fps, bool) or not isinstance(fps, (int, float, np.integer, np.floating)) \
                or not math.isfinite(fps) or fps <= 0:
            raise ValueError(f"fps: expected a positive number of frames per second, got "
                             f"{fps!r}")
        self.fps = fps
        self.caption = _check_caption(caption)
        if isinstance(data_or_path, (str, os.PathLike)):
            self._payload = _read_source(data_or_path, "data_or_path", VIDEO_FORMATS)
            self._ext = Path(data_or_path).suffix.lower().lstrip(".")
            if format is not None and format != self._ext:
                raise ValueError(f"format: {format!r} does not match the file's extension "
                                 f".{self._ext}")
            info = _gif_info(self._payload) if self._ext == "gif" else (None, None, None)
        else:
            if format not in (None, "gif"):
                raise ValueError(f"format: arrays are written as animated GIF; 'gif' is the "
                                 f"supported format for arrays, got {format!r}")
            frames = _video_frames(data_or_path)
            self._payload, self._ext = _gif_bytes(frames, float(fps)), "gif"
            info = (frames.shape[0], frames.shape[2], frames.shape[1])
        self.format = self._ext
        self.frames, self.width, self.height = info

    def _fields(self) -> dict:
        return {"format": self.format, "fps": self.fps, "frames": self.frames,
                "width": self.width, "height": self.height, "caption": self.caption}

    def __repr__(self) -> str:
        return (f"<Video {self.format} {self.frames} frames {self.width}x{self.height} at "
                f"{self.fps} fps caption={self.caption!r}>")


# ---------------------------------------------------------------- 3-D
def _check_points(data, where: str) -> list[list]:
    """Point rows ``[x, y, z]``, ``[x, y, z, category]`` or ``[x, y, z, r, g, b]``."""
    array = _as_array(data, where)
    if array.ndim != 2 or array.shape[1] not in (3, 4, 6) or array.dtype.kind not in "biuf":
        raise ValueError(f"{where}: expected numbers of shape [N, 3], [N, 4] (x, y, z, "
                         f"category) or [N, 6] (x, y, z, r, g, b), got shape "
                         f"{tuple(array.shape)} of dtype {array.dtype}")
    array = array.astype(np.float64)
    if not np.isfinite(array).all():
        raise ValueError(f"{where}: points must be finite (found NaN or inf)")
    xyz, extra = array[:, :3].tolist(), array[:, 3:]
    if extra.shape[1] == 0:
        return xyz
    if extra.shape[1] == 1 and not ((extra == np.rint(extra)) & (extra >= 1)
                                    & (extra <= MAX_POINT_CATEGORY)).all():
        raise ValueError(f"{where}: the 4th column is a category, an integer from 1 to "
                         f"{MAX_POINT_CATEGORY}")
    if extra.shape[1] == 3 and not ((extra >= 0) & (extra <= 255)).all():
        raise ValueError(f"{where}: columns 4 to 6 are r, g, b colours from 0 to 255")
    return [p + e for p, e in zip(xyz, np.rint(extra).astype(int).tolist())]


def _check_color(value, where: str) -> list[int]:
    color = _fixed_array(value, (3,), where)
    if not all(0 <= c <= 255 for c in color):
        raise ValueError(f"{where}: expected [r, g, b] from 0 to 255, got {color}")
    return [round(c) for c in color]


def _dict_items(items, where: str) -> list[dict]:
    if not isinstance(items, (list, tuple, np.ndarray)):
        raise TypeError(f"{where}: expected a list of dicts, got {type(items).__name__}")
    items = list(items)
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise TypeError(f"{where}[{i}]: expected a dict, got {type(item).__name__}")
    return items


def _check_scene(scene: dict) -> dict:
    _reject_unknown(scene, {"type", "points", "boxes", "vectors"}, "data_or_path")
    if scene.get("type") != "lidar/beta":
        raise ValueError(f"data_or_path['type']: expected 'lidar/beta' (the scene type "
                         f"supported), got {scene.get('type')!r}")
    if "points" not in scene:
        raise ValueError("data_or_path['points']: a scene needs its points")
    out = {"type": "lidar/beta", "points": _check_points(scene["points"],
                                                         "data_or_path['points']")}
    boxes = []
    for i, box in enumerate(_dict_items(scene.get("boxes", []), "data_or_path['boxes']")):
        where = f"data_or_path['boxes'][{i}]"
        _reject_unknown(box, {"corners", "label", "color"}, where)
        if "corners" not in box or "color" not in box:
            raise ValueError(f"{where}: 'corners' (8 x 3) and 'color' ([r, g, b]) are required")
        checked = {"corners": _fixed_array(box["corners"], (8, 3), f"{where}['corners']"),
                   "color": _check_color(box["color"], f"{where}['color']")}
        if box.get("label") is not None:
            if not isinstance(box["label"], str):
                raise TypeError(f"{where}['label']: expected a string")
            checked["label"] = box["label"]
        boxes.append(checked)
    vectors = []
    for i, vector in enumerate(_dict_items(scene.get("vectors", []),
                                           "data_or_path['vectors']")):
        where = f"data_or_path['vectors'][{i}]"
        _reject_unknown(vector, {"start", "end"}, where)
        vectors.append({k: _fixed_array(vector.get(k), (3,), f"{where}[{k!r}]")
                        for k in ("start", "end")})
    return {**out, "boxes": boxes, "vectors": vectors}


class Object3D(_FileMedia):
    """A 3-D point cloud, a lidar-style scene with boxes, or a copied 3-D model file.

    Parameters
    ----------
    data_or_path : ndarray, Tensor, dict, str or os.PathLike
        * Points ``[N, 3]`` (x, y, z), ``[N, 4]`` (x, y, z, category 1..14) or ``[N, 6]``
          (x, y, z, r, g, b with colours 0..255): saved as JSON
          ``{"type": "points", "points": [[...], ...]}``.
        * A scene ``{"type": "lidar/beta", "points": <points as above>, "boxes": [{"corners":
          8 x 3, "color": [r, g, b], "label": str (optional)}, ...], "vectors": [{"start":
          [x, y, z], "end": [x, y, z]}, ...]}`` (boxes and vectors optional): saved as JSON.
        * The path of an ``.obj``, ``.gltf``, ``.glb``, ``.babylon`` or ``.stl`` file, copied.

    Attributes
    ----------
    format : str
        ``"points"``, ``"lidar/beta"`` or the file's extension.
    npoints : int or None
        Number of points (None for model files).

    Raises
    ------
    ValueError
        A bad shape, a category or colour out of range, non-finite coordinates, an unknown
        scene key or type, or a file extension not accepted.
    FileNotFoundError
        ``data_or_path`` names a file that does not exist.
    """

    _type = "object3D-file"
    _kind_dir = "object3D"

    def __init__(self, data_or_path):
        if isinstance(data_or_path, (str, os.PathLike)):
            self._payload = _read_source(data_or_path, "data_or_path", MODEL_FORMATS)
            self._ext = self.format = Path(data_or_path).suffix.lower().lstrip(".")
            self.npoints = None
            return
        if isinstance(data_or_path, dict):
            scene = _check_scene(data_or_path)
        else:
            scene = {"type": "points", "points": _check_points(data_or_path, "data_or_path")}
        self.format, self.npoints, self._ext = scene["type"], len(scene["points"]), "pts.json"
        self._payload = json.dumps(scene, allow_nan=False, separators=(",", ":")).encode()

    def _fields(self) -> dict:
        return {"format": self.format, "npoints": self.npoints}

    def __repr__(self) -> str:
        return f"<Object3D {self.format} npoints={self.npoints}>"


# ---------------------------------------------------------------- logging and reading
def is_media(value) -> bool:
    """True when ``value`` is one of this module's rich values (an instance of :class:`Media`)."""
    return isinstance(value, Media)


def encode_value(value, run_dir: Path, key: str, step: int) -> dict | None:
    """The descriptor of a rich value logged as ``key`` at ``step``, writing its files.

    Parameters
    ----------
    value : object
        A :class:`Media`; a non-empty list or tuple of Media all of one class (item ``i`` is
        written under the key ``"<key>_<i>"``); a matplotlib Figure, or the
        ``matplotlib.pyplot`` module for its current figure (rendered to a PNG image).
    run_dir : Path or str
        The run's folder.
    key : str
    step : int

    Returns
    -------
    dict or None
        The descriptor (``{"_type": "media-list", "items": [...]}`` for a list), or None
        when ``value`` is not a rich value (numbers, strings and arrays are the caller's).

    Raises
    ------
    ValueError
        A list mixes media with other values or media of different classes.
    """
    if isinstance(value, Media):
        return value.to_json(run_dir, key, step)
    if isinstance(value, (list, tuple)) and value and any(isinstance(v, Media) for v in value):
        kinds = {type(v) for v in value}
        if len(kinds) != 1:
            names = sorted(k.__name__ for k in kinds)
            raise ValueError(f"data[{key!r}]: a list of media must hold one media class only, "
                             f"got {names}")
        return {"_type": "media-list",
                "items": [v.to_json(run_dir, f"{key}_{i}", step) for i, v in enumerate(value)]}
    if _figure_of(value) is not None:
        return Image(value).to_json(run_dir, key, step)
    return None


@dataclass(frozen=True)
class LoggedHistogram:
    """A logged :class:`Histogram`: ``bins`` (n + 1 edges) and ``histogram`` (n counts)."""

    bins: tuple
    histogram: tuple


@dataclass(frozen=True)
class LoggedMask:
    """A logged segmentation mask: its PNG ``path`` and ``class_labels`` (int -> str)."""

    path: Path
    class_labels: dict

    def to_numpy(self) -> np.ndarray:
        """The class ids, ``[H, W]`` uint8."""
        from PIL import Image as PILImage

        with PILImage.open(self.path) as image:
            return np.asarray(image).copy()


@dataclass(frozen=True)
class LoggedImage:
    """A logged :class:`Image`.

    Attributes
    ----------
    path : Path
        The image file.
    width, height : int
    format : str
    caption : str or None
    boxes : dict or None
        Group -> ``{"box_data": [...], "class_labels": {int: str}}``.
    masks : dict or None
        Group -> :class:`LoggedMask`.
    classes : list or None
    """

    path: Path
    width: int
    height: int
    format: str
    caption: str | None = None
    boxes: dict | None = None
    masks: dict | None = None
    classes: list | None = None

    def image(self):
        """The picture as a loaded ``PIL.Image.Image`` (the file is closed)."""
        from PIL import Image as PILImage

        with PILImage.open(self.path) as image:
            image.load()
            return image.copy()

    def to_numpy(self) -> np.ndarray:
        """The pixels, ``[H, W]`` or ``[H, W, C]`` uint8 as PIL decodes them."""
        return np.asarray(self.image())


@dataclass(frozen=True)
class LoggedTable:
    """A logged :class:`Table`: ``columns`` and ``data`` (rows; media cells decoded)."""

    path: Path
    columns: tuple
    data: tuple = field(repr=False)

    def get_dataframe(self):
        """The rows as a ``pandas.DataFrame``."""
        import pandas

        return pandas.DataFrame([list(row) for row in self.data], columns=list(self.columns))

    def get_column(self, name: str) -> list:
        """The cells of column ``name``; KeyError when there is none."""
        if name not in self.columns:
            raise KeyError(f"name: no column {name!r}; columns are {list(self.columns)}")
        index = self.columns.index(name)
        return [row[index] for row in self.data]


@dataclass(frozen=True)
class LoggedFile:
    """A logged Html, Audio, Video or Object3D file.

    ``kind`` is the descriptor's ``"_type"``, ``path`` the file; the other descriptor fields
    (``sample_rate``, ``fps``, ``caption``, ...) are in ``fields`` and readable as attributes.
    """

    kind: str
    path: Path
    fields: dict

    def __getattr__(self, name: str):
        if name.startswith("__") or name == "fields":
            raise AttributeError(name)
        try:
            return self.fields[name]
        except KeyError:
            raise AttributeError(f"{self.kind} has no field {name!r}") from None

    def read_bytes(self) -> bytes:
        """The file's bytes."""
        return self.path.read_bytes()

    def read_text(self) -> str:
        """The file's text (UTF-8)."""
        return self.path.read_text(encoding="utf-8")


def _resolve(run_dir, relative) -> Path:
    """The existing file a descriptor's relative ``path`` names inside ``run_dir``."""
    if not isinstance(relative, str) or not relative:
        raise ValueError("descriptor: a file-backed descriptor needs a 'path'")
    parts = PurePosixPath(relative)
    if parts.is_absolute() or ".." in parts.parts:
        raise ValueError(f"descriptor: path {relative!r} must stay inside the run folder")
    path = Path(run_dir).joinpath(*parts.parts)
    if not path.is_file():
        raise FileNotFoundError(f"media file missing: {path}")
    return path


def _int_labels(labels: dict) -> dict[int, str]:
    return {int(k): v for k, v in labels.items()}


def _decode_image(descriptor: dict, path: Path, run_dir) -> LoggedImage:
    boxes = descriptor.get("boxes")
    if boxes is not None:
        boxes = {g: {"box_data": spec["box_data"],
                     "class_labels": _int_labels(spec["class_labels"])}
                 for g, spec in boxes.items()}
    masks = descriptor.get("masks")
    if masks is not None:
        masks = {g: decode_value(spec, run_dir) for g, spec in masks.items()}
    return LoggedImage(path=path, width=descriptor["width"], height=descriptor["height"],
                       format=descriptor.get("format", path.suffix.lstrip(".")),
                       caption=descriptor.get("caption"), boxes=boxes, masks=masks,
                       classes=descriptor.get("classes"))


def _decode_table(path: Path, run_dir) -> LoggedTable:
    content = json.loads(path.read_text(encoding="utf-8"))
    rows = tuple(tuple(decode_value(c, run_dir) if isinstance(c, dict) and "_type" in c else c
                       for c in row) for row in content["data"])
    return LoggedTable(path=path, columns=tuple(content["columns"]), data=rows)


_FILE_KINDS = ("image-file", "mask-file", "table-file", "html-file", "audio-file",
               "video-file", "object3D-file")


def decode_value(descriptor: dict, run_dir: Path):
    """A read-only view of a logged rich value.

    Parameters
    ----------
    descriptor : dict
        A descriptor from :func:`encode_value` / :meth:`Media.to_json` (as stored in history).
    run_dir : Path or str
        The run's folder the descriptor's paths are relative to.

    Returns
    -------
    LoggedImage, LoggedTable, LoggedHistogram, LoggedMask, LoggedFile or list
        A list (of these) for a ``"media-list"``. Table cells holding media are decoded too.

    Raises
    ------
    ValueError
        ``descriptor`` is not a dict with a known ``"_type"``, or its path leaves the run
        folder.
    FileNotFoundError
        A file the descriptor names is missing (the message gives its path).
    """
    if not isinstance(descriptor, dict) or "_type" not in descriptor:
        raise ValueError(f"descriptor: expected a dict with a '_type' field, got "
                         f"{type(descriptor).__name__}")
    kind = descriptor["_type"]
    if kind == "media-list":
        return [decode_value(item, run_dir) for item in descriptor.get("items", [])]
    if kind == "histogram":
        return LoggedHistogram(bins=tuple(descriptor["bins"]),
                               histogram=tuple(descriptor["values"]))
    if kind not in _FILE_KINDS:
        known = ", ".join(("histogram", "media-list") + _FILE_KINDS)
        raise ValueError(f"descriptor: unknown _type {kind!r}; known: {known}")
    path = _resolve(run_dir, descriptor.get("path"))
    if kind == "image-file":
        return _decode_image(descriptor, path, run_dir)
    if kind == "mask-file":
        return LoggedMask(path=path, class_labels=_int_labels(descriptor["class_labels"]))
    if kind == "table-file":
        return _decode_table(path, run_dir)
    fields = {k: v for k, v in descriptor.items() if k not in ("_type", "path")}
    return LoggedFile(kind=kind, path=path, fields=fields)


__all__ = ["DEFAULT_TABLE_COLUMNS", "MAX_HISTOGRAM_BINS", "MAX_TABLE_ROWS", "Audio", "Histogram",
           "Html", "Image", "LoggedFile", "LoggedHistogram", "LoggedImage", "LoggedMask",
           "LoggedTable", "Media", "Object3D", "Table", "Video", "decode_value", "encode_value",
           "is_media"]
