""":class:`Image`: a picture with optional bounding boxes, segmentation masks and classes.

PIL is imported inside the functions that need it; a matplotlib figure is recognised only when
matplotlib is already imported.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import numpy as np

from weightslab_nb.errors import InvalidTypeError, InvalidValueError
from weightslab_nb.tracking.media._checks import (_as_array, _check_caption, _check_int,
                                                  _int_labels, _is_tensor,
                                                  _to_uint8)
from weightslab_nb.tracking.media._files import _read_source
from weightslab_nb.tracking.media.base import BatchableMedia, WBValue
from weightslab_nb.tracking.media.bounding_boxes import BoundingBoxes2D
from weightslab_nb.tracking.media.image_mask import ImageMask

# image files kept byte for byte (formats browsers show); others (TIFF...) become PNG
_PIL_EXTENSIONS = {"PNG": "png", "JPEG": "jpg", "GIF": "gif", "BMP": "bmp", "WEBP": "webp"}


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
        raise InvalidValueError("data_or_path: expected an image of shape [H, W], [H, W, C] or [C, "
                                f"H, W] with C in (1, 3, 4), got shape {tuple(array.shape)}; log a "
                                "batch as a list of Image")
    return np.ascontiguousarray(_to_uint8(array, "data_or_path"))


def _png(image, mode) -> tuple[bytes, str, int, int]:
    """A PIL image, converted to ``mode`` when given, encoded as PNG."""
    if mode is not None:
        if not isinstance(mode, str):
            raise InvalidTypeError(f"mode: expected a PIL mode string such as 'L' or 'RGB', got "
                                   f"{type(mode).__name__}")
        try:
            image = image.convert(mode)
        except ValueError:
            raise InvalidValueError(f"mode: cannot convert a {image.mode} image to {mode!r}; use a "
                                    "PIL mode such as 'L', 'RGB' or 'RGBA'") from None
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
        raise InvalidValueError(f"data_or_path: not an image file PIL can read ({exc})") from None
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


def _groups(specs, argument: str, kind: type, data_text: str):
    """``(group, spec, where)`` of a boxes/masks dict, each group name checked to be a string."""
    if not isinstance(specs, dict):
        raise InvalidTypeError(f"{argument}: expected a dict of group name -> {kind.__name__} or "
                               f"{{{data_text}, 'class_labels': {{...}}}}, got "
                               f"{type(specs).__name__}")
    for group, spec in specs.items():
        where = f"{argument}[{group!r}]"
        if not isinstance(group, str) or not group:
            raise InvalidValueError(f"{where}: expected a non-empty str group name")
        yield group, spec, where


def _check_boxes(boxes) -> dict[str, BoundingBoxes2D]:
    return {group: spec if isinstance(spec, BoundingBoxes2D)
            else BoundingBoxes2D(spec, group, _where=where)
            for group, spec, where in _groups(boxes, "boxes", BoundingBoxes2D,
                                              "'box_data': [box, ...]")}


def _check_masks(masks, height: int, width: int) -> dict[str, ImageMask]:
    out = {}
    for group, spec, where in _groups(masks, "masks", ImageMask, "'mask_data': [H, W] ids"):
        mask = spec if isinstance(spec, ImageMask) else ImageMask(spec, group, _where=where)
        if (mask.height, mask.width) != (height, width):
            raise InvalidValueError(f"{where}['mask_data']: expected a 2-D array with the image's "
                                    f"shape ({height}, {width}), got shape "
                                    f"{(mask.height, mask.width)}")
        out[group] = mask
    return out


def _check_classes(classes) -> list[dict]:
    if isinstance(classes, dict):
        classes = [{"id": k, "name": v} for k, v in classes.items()]
    if not isinstance(classes, (list, tuple)):
        raise InvalidTypeError("classes: expected a dict of id -> name or a list of "
                               "{'id': int, 'name': str}")
    out = []
    for i, item in enumerate(classes):
        if not isinstance(item, dict) or set(item) != {"id", "name"} \
                or not isinstance(item["name"], str):
            raise InvalidValueError(f"classes[{i}]: expected {{'id': int, 'name': str}}, got "
                                    f"{item!r}")
        out.append({"id": _check_int(item["id"], f"classes[{i}]['id']"), "name": item["name"]})
    return out


class Image(BatchableMedia):
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
        self._boxes = None if boxes is None else _check_boxes(boxes)
        self._masks = None if masks is None else _check_masks(masks, self.height, self.width)
        self.classes = None if classes is None else _check_classes(classes)

    @property
    def boxes(self) -> dict[str, dict] | None:
        """Box group -> ``{"box_data": [...], "class_labels": {int: str}}`` (checked copies)."""
        if self._boxes is None:
            return None
        return {g: {"box_data": b.box_data, "class_labels": dict(b.class_labels)}
                for g, b in self._boxes.items()}

    @property
    def masks(self) -> dict[str, dict[int, str]] | None:
        """Mask group -> its class labels (the pixels are already encoded)."""
        return None if self._masks is None else {g: dict(m.class_labels)
                                                 for g, m in self._masks.items()}

    def box_groups(self) -> dict[str, BoundingBoxes2D]:
        """Box group -> its :class:`BoundingBoxes2D` (empty when the image has no boxes)."""
        return dict(self._boxes or {})

    def mask_groups(self) -> dict[str, ImageMask]:
        """Mask group -> its :class:`ImageMask` (empty when the image has no masks)."""
        return dict(self._masks or {})

    def _fields(self) -> dict:
        out = {"format": self.format, "width": self.width, "height": self.height,
               "caption": self.caption}
        if self._boxes is not None:
            out["boxes"] = {g: b.val for g, b in self._boxes.items()}
        if self.classes is not None:
            out["classes"] = self.classes
        return out

    def to_json(self, run_dir: Path, key: str, step: int) -> dict:
        descriptor = super().to_json(run_dir, key, step)
        if self._masks is not None:
            descriptor["masks"] = {group: mask.to_json(run_dir, f"{key}_{group}", step)
                                   for group, mask in self._masks.items()}
        return descriptor

    to_json.__doc__ = WBValue.to_json.__doc__

    def _restore(self, descriptor: dict, run_dir: Path) -> None:
        boxes, masks = descriptor.get("boxes"), descriptor.get("masks")
        self.caption = descriptor.get("caption")
        self.classes = descriptor.get("classes")
        self._boxes = None if boxes is None else {
            g: BoundingBoxes2D({"box_data": spec["box_data"],
                                "class_labels": _int_labels(spec["class_labels"])}, g)
            for g, spec in boxes.items()}
        self._masks = None if masks is None else {
            g: ImageMask.from_json(spec, run_dir) for g, spec in masks.items()}

    def __eq__(self, other) -> bool:
        same = super().__eq__(other)
        if same is not True:
            return same
        return self.mask_groups() == other.mask_groups()

    __hash__ = BatchableMedia.__hash__

    def __repr__(self) -> str:
        return f"<Image {self.width}x{self.height} {self.format} caption={self.caption!r}>"
