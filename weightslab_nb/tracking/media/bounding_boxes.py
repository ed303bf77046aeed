""":class:`BoundingBoxes2D`: one group of 2-D boxes with class labels, for an image or alone.

A box position is ``{"minX", "maxX", "minY", "maxY"}`` or ``{"middle": [x, y], "width",
"height"}``, in fractions of the image size (the default domain) or in pixels (``"domain":
"pixel"``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from weightslab_nb.errors import InvalidTypeError, InvalidValueError
from weightslab_nb.tracking.media._checks import (_check_class_labels, _check_int,
                                                  _check_number, _int_labels, _labels_json,
                                                  _reject_unknown)
from weightslab_nb.tracking.media.json_metadata import JSONMetadata, _json_bytes

_BOX_KEYS = {"position", "class_id", "box_caption", "scores", "domain"}


def _check_position(position, where: str) -> dict:
    if not isinstance(position, dict):
        raise InvalidTypeError(f"{where}: expected a dict, got {type(position).__name__}")
    keys = set(position)
    if keys == {"minX", "maxX", "minY", "maxY"}:
        out = {k: _check_number(position[k], f"{where}[{k!r}]")
               for k in ("minX", "maxX", "minY", "maxY")}
        if out["minX"] > out["maxX"] or out["minY"] > out["maxY"]:
            raise InvalidValueError(f"{where}: expected minX <= maxX and minY <= maxY, got {out}")
        return out
    if keys == {"middle", "width", "height"}:
        middle = position["middle"]
        if not isinstance(middle, (list, tuple, np.ndarray)) or len(middle) != 2:
            raise InvalidValueError(f"{where}['middle']: expected [x, y]")
        out = {"middle": [_check_number(v, f"{where}['middle']") for v in middle],
               "width": _check_number(position["width"], f"{where}['width']"),
               "height": _check_number(position["height"], f"{where}['height']")}
        if out["width"] < 0 or out["height"] < 0:
            raise InvalidValueError(f"{where}: width and height must be >= 0")
        return out
    raise InvalidValueError(f"{where}: expected the keys minX, maxX, minY, maxY or the keys "
                            f"middle, width, height; got {sorted(map(str, keys))}")


def _check_box(box, where: str) -> dict:
    if not isinstance(box, dict):
        raise InvalidTypeError(f"{where}: expected a dict, got {type(box).__name__}")
    _reject_unknown(box, _BOX_KEYS, where)
    if "position" not in box or "class_id" not in box:
        raise InvalidValueError(f"{where}: 'position' and 'class_id' are required")
    out = {"position": _check_position(box["position"], f"{where}['position']"),
           "class_id": _check_int(box["class_id"], f"{where}['class_id']")}
    if box.get("domain") is not None:
        if box["domain"] != "pixel":
            raise InvalidValueError(f"{where}['domain']: expected 'pixel' (coordinates in pixels) "
                                    "or no domain (fractions of the image size), got "
                                    f"{box['domain']!r}")
        out["domain"] = "pixel"
    if box.get("box_caption") is not None:
        if not isinstance(box["box_caption"], str):
            raise InvalidTypeError(f"{where}['box_caption']: expected a string")
        out["box_caption"] = box["box_caption"]
    if box.get("scores") is not None:
        scores = box["scores"]
        if not isinstance(scores, dict) or not all(isinstance(k, str) for k in scores):
            raise InvalidTypeError(f"{where}['scores']: expected a dict of str name -> number")
        out["scores"] = {k: _check_number(v, f"{where}['scores'][{k!r}]")
                         for k, v in scores.items()}
    return out


def _check_key(key) -> str:
    if not isinstance(key, str) or not key:
        raise InvalidTypeError(f"key: expected the group's name as a non-empty string, got "
                               f"{key!r}")
    return key


class BoundingBoxes2D(JSONMetadata):
    """One group of 2-D bounding boxes (``"predictions"``, ``"ground_truth"``...).

    Pass it inside an image (``Image(x, boxes={"predictions": boxes})``) or log it alone
    (saved as a JSON file under ``media/boxes2D/``).

    Parameters
    ----------
    val : dict
        ``{"box_data": [box, ...], "class_labels": {int: str}}``. A box is
        ``{"position": ..., "class_id": int}`` plus optional ``"box_caption"`` (str),
        ``"scores"`` (str -> number) and ``"domain"`` (``"pixel"``, or absent for fractions of
        the image size). A position is ``{"minX", "maxX", "minY", "maxY"}`` (min <= max) or
        ``{"middle": [x, y], "width", "height"}`` (sizes >= 0), all finite numbers. Missing
        ``class_labels`` default to ``"class_<id>"`` for the ids used; given labels must name
        every ``class_id`` used.
    key : str
        The group's name.

    Attributes
    ----------
    key : str
    box_data : list of dict
        The checked boxes (numbers as floats).
    class_labels : dict[int, str]
    val : dict
        The JSON that is saved (``box_data``, ``class_labels`` with string keys).

    Raises
    ------
    TypeError, ValueError
        A malformed ``val`` (the message names the part, e.g. ``val['box_data'][3]['position']``)
        or a ``key`` that is not a non-empty string.
    """

    _type = "boxes2D-file"
    _kind_dir = "boxes2D"
    _ext = "boxes2D.json"

    def __init__(self, val, key, *, _where: str = "val"):
        self.key = _check_key(key)
        if not isinstance(val, dict) or "box_data" not in val:
            raise InvalidValueError(f"{_where}: expected a dict with 'box_data' (a list of "
                                    "boxes) and optional 'class_labels', got "
                                    f"{type(val).__name__}")
        _reject_unknown(val, {"box_data", "class_labels"}, _where)
        if not isinstance(val["box_data"], (list, tuple)):
            raise InvalidTypeError(f"{_where}['box_data']: expected a list of box dicts")
        self.box_data = [_check_box(b, f"{_where}['box_data'][{i}]")
                         for i, b in enumerate(val["box_data"])]
        labels = val.get("class_labels")
        if labels is None:
            self.class_labels = {b["class_id"]: f"class_{b['class_id']}" for b in self.box_data}
        else:
            self.class_labels = _check_class_labels(labels, f"{_where}['class_labels']")
            for i, box in enumerate(self.box_data):
                if box["class_id"] not in self.class_labels:
                    raise InvalidValueError(
                        f"{_where}['box_data'][{i}]['class_id']: {box['class_id']} has no label "
                        f"in class_labels (ids {sorted(self.class_labels)})")
        self.val = {"box_data": self.box_data, "class_labels": _labels_json(self.class_labels)}
        self._payload = _json_bytes(self.val, _where)

    def _fields(self) -> dict:
        return {"key": self.key}

    def _restore(self, descriptor: dict, run_dir: Path) -> None:
        self.val = json.loads(self._payload)
        self.box_data = self.val["box_data"]
        self.class_labels = _int_labels(self.val["class_labels"])

    def __repr__(self) -> str:
        return (f"<BoundingBoxes2D {self.key!r}: {len(self.box_data)} boxes, "
                f"{len(self.class_labels)} classes>")
