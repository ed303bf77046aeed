"""Logging and reading rich values: :func:`is_media`, :func:`encode_value`, :func:`decode_value`.

:func:`encode_value` writes a value's files and returns its JSON descriptor (a media value, a
list of media of one class, or a matplotlib figure); :func:`decode_value` turns a descriptor
back into a read-only view from :mod:`weightslab_nb.tracking.media.logged`.
"""

from __future__ import annotations

import json
from pathlib import Path

from weightslab_nb.errors import InvalidValueError
from weightslab_nb.tracking.media._files import file_in_run
# imported so that their classes register their "_type" for decode_value
from weightslab_nb.tracking.media import (bounding_boxes, custom_chart, graph,  # noqa: F401
                                          json_metadata, molecule, plotly_figure)
from weightslab_nb.tracking.media._checks import _int_labels
from weightslab_nb.tracking.media.base import WBValue
from weightslab_nb.tracking.media.image import Image, _figure_of
from weightslab_nb.tracking.media.logged import (LoggedFile, LoggedHistogram, LoggedImage,
                                                 LoggedMask, LoggedPlot, LoggedTable)


def is_media(value) -> bool:
    """True when ``value`` is one of this package's rich values (a :class:`WBValue`)."""
    return isinstance(value, WBValue)


def encode_value(value, run_dir: Path, key: str, step: int) -> dict | None:
    """The descriptor of a rich value logged as ``key`` at ``step``, writing its files.

    Parameters
    ----------
    value : object
        A :class:`WBValue`; a non-empty list or tuple of them all of one class (item ``i`` is
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
    if isinstance(value, WBValue):
        return value.to_json(run_dir, key, step)
    if isinstance(value, (list, tuple)) and value and any(isinstance(v, WBValue) for v in value):
        kinds = {type(v) for v in value}
        if len(kinds) != 1:
            names = sorted(k.__name__ for k in kinds)
            raise InvalidValueError(f"data[{key!r}]: a list of media must hold one media class "
                                    f"only, got {names}")
        return {"_type": "media-list",
                "items": [v.to_json(run_dir, f"{key}_{i}", step) for i, v in enumerate(value)]}
    if _figure_of(value) is not None:
        return Image(value).to_json(run_dir, key, step)
    return None


def _resolve(run_dir, relative) -> Path:
    """The existing file a descriptor's relative ``path`` names inside ``run_dir`` (never
    through a symbolic link: see :func:`file_in_run`)."""
    if not isinstance(relative, str) or not relative:
        raise InvalidValueError("descriptor: a file-backed descriptor needs a 'path'")
    return file_in_run(run_dir, relative, "descriptor")


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


_PLOT_KEYS = ("_type", "chart", "title", "x_label", "y_label", "fields", "table")


def _decode_plot(descriptor: dict, run_dir) -> LoggedPlot:
    table = decode_value(descriptor["table"], run_dir)
    return LoggedPlot(chart=descriptor["chart"], title=descriptor.get("title"),
                      x_label=descriptor.get("x_label"), y_label=descriptor.get("y_label"),
                      fields=dict(descriptor["fields"]), table=table,
                      extra={k: v for k, v in descriptor.items() if k not in _PLOT_KEYS})


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
    LoggedImage, LoggedTable, LoggedHistogram, LoggedPlot, LoggedMask, LoggedFile, WBValue or list
        A read-only ``Logged*`` view for the kinds that have one; the kinds added with the wandb
        data types (JSONMetadata, BoundingBoxes2D, Graph, Plotly, Molecule, CustomChart) come
        back as the value itself, rebuilt by their class's ``from_json``. A list (of these) for a
        ``"media-list"``. Table cells holding media are decoded too.

    Raises
    ------
    ValueError
        ``descriptor`` is not a dict with a known ``"_type"``, or its path leaves the run
        folder or goes through a symbolic link inside it (an ``InvalidValueError``).
    FileNotFoundError
        A file the descriptor names is missing (the message gives its path).
    """
    if not isinstance(descriptor, dict) or "_type" not in descriptor:
        raise InvalidValueError(f"descriptor: expected a dict with a '_type' field, got "
                                f"{type(descriptor).__name__}")
    try:
        return _decode(descriptor, run_dir)
    except KeyError as exc:
        raise InvalidValueError(f"descriptor: a {descriptor['_type']!r} descriptor misses the "
                                f"field {exc.args[0]!r}") from None


def _decode(descriptor: dict, run_dir: Path):
    kind = descriptor["_type"]
    if kind == "media-list":
        return [decode_value(item, run_dir) for item in descriptor.get("items", [])]
    if kind == "histogram":
        return LoggedHistogram(bins=tuple(descriptor["bins"]),
                               histogram=tuple(descriptor["values"]))
    if kind == "plot":
        return _decode_plot(descriptor, run_dir)
    rebuilt = WBValue._classes.get(kind)
    if kind not in _FILE_KINDS and rebuilt is not None:
        return rebuilt.from_json(descriptor, run_dir)
    if kind not in _FILE_KINDS:
        known = ", ".join(sorted({"histogram", "media-list", "plot", *_FILE_KINDS,
                                  *WBValue._classes}))
        raise InvalidValueError(f"descriptor: unknown _type {kind!r}; known: {known}")
    path = _resolve(run_dir, descriptor.get("path"))
    if kind == "image-file":
        return _decode_image(descriptor, path, run_dir)
    if kind == "mask-file":
        return LoggedMask(path=path, class_labels=_int_labels(descriptor["class_labels"]))
    if kind == "table-file":
        return _decode_table(path, run_dir)
    fields = {k: v for k, v in descriptor.items() if k not in ("_type", "path")}
    return LoggedFile(kind=kind, path=path, fields=fields)
