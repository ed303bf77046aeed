""":class:`Object3D`: a 3-D point cloud, a lidar-style scene, or a copied 3-D model file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from weightslab_nb.errors import InvalidTypeError, InvalidValueError
from weightslab_nb.tracking.media._checks import _as_array, _fixed_array, _reject_unknown
from weightslab_nb.tracking.media._files import _read_source
from weightslab_nb.tracking.media.base import BatchableMedia

MAX_POINT_CATEGORY = 14
MODEL_FORMATS = ("obj", "gltf", "glb", "babylon", "stl")


def _check_points(data, where: str) -> list[list]:
    """Point rows ``[x, y, z]``, ``[x, y, z, category]`` or ``[x, y, z, r, g, b]``."""
    array = _as_array(data, where)
    if array.ndim != 2 or array.shape[1] not in (3, 4, 6) or array.dtype.kind not in "biuf":
        raise InvalidValueError(f"{where}: expected numbers of shape [N, 3], [N, 4] (x, y, z, "
                                f"category) or [N, 6] (x, y, z, r, g, b), got shape "
                                f"{tuple(array.shape)} of dtype {array.dtype}")
    array = array.astype(np.float64)
    if not np.isfinite(array).all():
        raise InvalidValueError(f"{where}: points must be finite (found NaN or inf)")
    xyz, extra = array[:, :3].tolist(), array[:, 3:]
    if extra.shape[1] == 0:
        return xyz
    if extra.shape[1] == 1 and not ((extra == np.rint(extra)) & (extra >= 1)
                                    & (extra <= MAX_POINT_CATEGORY)).all():
        raise InvalidValueError(f"{where}: the 4th column is a category, an integer from 1 to "
                                f"{MAX_POINT_CATEGORY}")
    if extra.shape[1] == 3 and not ((extra >= 0) & (extra <= 255)).all():
        raise InvalidValueError(f"{where}: columns 4 to 6 are r, g, b colours from 0 to 255")
    return [p + e for p, e in zip(xyz, np.rint(extra).astype(int).tolist())]


def _check_color(value, where: str) -> list[int]:
    color = _fixed_array(value, (3,), where)
    if not all(0 <= c <= 255 for c in color):
        raise InvalidValueError(f"{where}: expected [r, g, b] from 0 to 255, got {color}")
    return [round(c) for c in color]


def _dict_items(items, where: str) -> list[dict]:
    if not isinstance(items, (list, tuple, np.ndarray)):
        raise InvalidTypeError(f"{where}: expected a list of dicts, got {type(items).__name__}")
    items = list(items)
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise InvalidTypeError(f"{where}[{i}]: expected a dict, got {type(item).__name__}")
    return items


def _check_scene(scene: dict) -> dict:
    _reject_unknown(scene, {"type", "points", "boxes", "vectors"}, "data_or_path")
    if scene.get("type") != "lidar/beta":
        raise InvalidValueError(f"data_or_path['type']: expected 'lidar/beta' (the scene type "
                                f"supported), got {scene.get('type')!r}")
    if "points" not in scene:
        raise InvalidValueError("data_or_path['points']: a scene needs its points")
    out = {"type": "lidar/beta", "points": _check_points(scene["points"],
                                                         "data_or_path['points']")}
    boxes = []
    for i, box in enumerate(_dict_items(scene.get("boxes", []), "data_or_path['boxes']")):
        where = f"data_or_path['boxes'][{i}]"
        _reject_unknown(box, {"corners", "label", "color"}, where)
        if "corners" not in box or "color" not in box:
            raise InvalidValueError(f"{where}: 'corners' (8 x 3) and 'color' ([r, g, b]) are "
                                    "required")
        checked = {"corners": _fixed_array(box["corners"], (8, 3), f"{where}['corners']"),
                   "color": _check_color(box["color"], f"{where}['color']")}
        if box.get("label") is not None:
            if not isinstance(box["label"], str):
                raise InvalidTypeError(f"{where}['label']: expected a string")
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


class Object3D(BatchableMedia):
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
