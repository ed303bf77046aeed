""":class:`ImageMask`: a segmentation mask (class id per pixel) with class labels, saved as PNG."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from weightslab_nb.errors import InvalidValueError
from weightslab_nb.tracking.media._checks import (_as_array, _check_class_labels, _int_labels,
                                                  _labels_json, _reject_unknown)
from weightslab_nb.tracking.media._files import _read_source
from weightslab_nb.tracking.media.base import _FileMedia
from weightslab_nb.tracking.media.bounding_boxes import _check_key


def _class_ids(data, where: str) -> np.ndarray:
    """A 2-D uint8 array of class ids from an array, a tensor or a PNG file's path."""
    if isinstance(data, (str, os.PathLike)):
        from PIL import Image as PILImage
        from PIL import UnidentifiedImageError

        raw = _read_source(data, where, ("png",))
        try:
            with PILImage.open(io.BytesIO(raw)) as image:
                data = np.asarray(image)
        except (UnidentifiedImageError, OSError) as exc:
            raise InvalidValueError(f"{where}: not a PNG file PIL can read ({exc})") from None
    ids = _as_array(data, where)
    if ids.ndim != 2 or 0 in ids.shape:
        raise InvalidValueError(f"{where}: expected a non-empty 2-D array of class ids [H, W], "
                                f"got shape {tuple(ids.shape)}")
    integral = ids.dtype.kind in "biu" or (ids.dtype.kind == "f" and (np.mod(ids, 1) == 0).all())
    if not integral:
        raise InvalidValueError(f"{where}: expected integer class ids from 0 to 255, got "
                                f"{ids.dtype} values that are not whole numbers (e.g. "
                                f"{ids[np.mod(ids, 1) != 0].flat[0].item()!r}); argmax the scores "
                                "first")
    if ids.min() < 0 or ids.max() > 255:
        raise InvalidValueError(f"{where}: expected integer class ids from 0 to 255, got ids "
                                f"from {ids.min()} to {ids.max()}")
    return np.ascontiguousarray(ids.astype(np.uint8))


def _png_of_ids(ids: np.ndarray) -> bytes:
    from PIL import Image as PILImage

    buffer = io.BytesIO()
    PILImage.fromarray(ids).save(buffer, format="PNG")
    return buffer.getvalue()


class ImageMask(_FileMedia):
    """A segmentation mask: one class id (0..255) per pixel, with class labels.

    Pass it inside an image (``Image(x, masks={"truth": mask})``, where its shape must be the
    image's) or log it alone; either way it is saved as a grey PNG under ``media/masks/``.

    Parameters
    ----------
    val : dict
        ``{"mask_data": [H, W] integer array or tensor, "class_labels": {int: str}}``, or
        ``{"path": <PNG file of class ids>, "class_labels": ...}``. Floats must be whole
        numbers; bools are ids 0 and 1. Missing ``class_labels`` default to ``"class_<id>"``
        for the ids present.
    key : str
        The mask group's name (``"predictions"``, ``"ground_truth"``...).

    Attributes
    ----------
    key : str
    class_labels : dict[int, str]
    height, width : int

    Raises
    ------
    TypeError, ValueError
        A malformed ``val`` (the message names the part, e.g. ``val['mask_data']``) or a
        ``key`` that is not a non-empty string.
    FileNotFoundError
        ``val["path"]`` does not exist.
    """

    _type = "mask-file"
    _kind_dir = "masks"
    _ext = "png"

    def __init__(self, val, key, *, _where: str = "val"):
        self.key = _check_key(key)
        if not isinstance(val, dict) or ("mask_data" in val) == ("path" in val):
            raise InvalidValueError(f"{_where}: expected a dict with 'mask_data' (a 2-D int "
                                    "array) or 'path' (a PNG file), and optional 'class_labels'")
        source = "mask_data" if "mask_data" in val else "path"
        _reject_unknown(val, {source, "class_labels"}, _where)
        ids = _class_ids(val[source], f"{_where}[{source!r}]")
        self.height, self.width = ids.shape
        labels = val.get("class_labels")
        self.class_labels = ({int(v): f"class_{int(v)}" for v in np.unique(ids)} if labels is None
                             else _check_class_labels(labels, f"{_where}['class_labels']"))
        self._payload = _png_of_ids(ids)

    def to_numpy(self) -> np.ndarray:
        """The class ids, ``[H, W]`` uint8."""
        from PIL import Image as PILImage

        with PILImage.open(io.BytesIO(self._payload)) as image:
            return np.asarray(image).copy()

    def _fields(self) -> dict:
        return {"key": self.key, "class_labels": _labels_json(self.class_labels)}

    def _restore(self, descriptor: dict, run_dir: Path) -> None:
        self.class_labels = _int_labels(descriptor["class_labels"])
        self.key = descriptor.get("key", "mask")
        self.height, self.width = self.to_numpy().shape

    def __repr__(self) -> str:
        return (f"<ImageMask {self.key!r} {self.width}x{self.height}, "
                f"{len(self.class_labels)} classes>")
