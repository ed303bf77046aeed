"""RunMedia: the values a tracking run logged (``wl.init`` / ``wl.log``), newest per key.

Traits (set by the publisher thread only, at most 5 times a second):

``run``
    ``{}`` without a run, else ``{"id", "name", "project", "path", "state", "step"}``.
``entries``
    One per logged key, in the order first logged: ``{"key", "kind", "step", "steps",
    "value", "rev", "series"?}``. ``rev`` changes whenever the value shown may have changed (a
    new run, or the key logged again, even at the same step); ``kind`` is one of
    :data:`KINDS`; ``steps`` the steps the key was logged at (at most the last 500);
    ``series`` ``[[step, value], ...]`` for numbers (at most 200). ``value`` per kind: number
    (None for NaN), text, ``{"bins", "values"}`` for a histogram, ``{"columns", "rows" (at
    most 20), "nrows", "images"}`` for a table (an image cell is ``{"kind": "image", "width",
    "height", "caption"}``, another media cell ``"[media]"``; ``images`` counts the image cells
    of the rows shown), ``{"count", "captions", "width", "height"}`` for
    image(s), and the descriptor's fields (with ``"path"``) for the other files. The kinds of
:mod:`weightslab_nb.panels.media_cards` (JSON metadata, molecules, graphs...) give their card's
summary, and their ``media`` reply carries what the card draws; a list of values of one such
kind (molecules logged together) is one card whose value is ``{"list": true, "count",
"items"}`` (the summaries of the first 16) and whose media items carry their value's
``"index"``. A chart
    (``wl.plot.*``) is ``{"chart", "title", "x_label", "y_label"}`` plus ``"series": [{"name",
    "points": [[x, y], ...]}]`` (line-like charts and scatter, at most 2,000 points each),
    ``"bars": [{"label", "value"}]``, ``"bins"``/``"values"`` (histogram) or
    ``"labels"``/``"counts"`` (confusion matrix, rows are the actual class).

Requests from the browser (validated; a bad one gets ``ok: false`` and changes nothing):

``{"type": "value", "req", "key", "step"}``
    -> ``{"type": "value_result", "ok": true, "entry"}``: the entry at an earlier step.
``{"type": "media", "req", "key", "step"}``
    -> ``{"type": "media_result", "ok": true, "key", "step", "kind", "items": [{"caption",
    "mime", "width"?, "height"?}], "count"}`` with one buffer per item (the file's bytes:
    PNG, GIF, JPEG, WebP or BMP images, WAV audio, GIF/MP4/WebM/Ogg video), at most 16 items
    of the ``count`` logged. For a table: its image cells (of the rows shown, at most 64), each
    item with its ``"row"`` and ``"col"``.

    Images with boxes or masks (``wl.Image(boxes=..., masks=...)``): an image's item adds
    ``"boxes": [{"group", "class_labels": {"<id>": name}, "box_data": [box, ...], "count"}]``
    (the boxes as logged, at most 500 per image shared between its groups; ``count`` is the
    group's size, so ``len(box_data) < count`` says the group was capped) and ``"masks":
    [{"group", "class_labels", "item"}]``. Each mask is an item of its own, after all the
    images' items (``item`` is its index; ``count`` still counts images): ``{"role": "mask",
    "of": <its image's index>, "group", "class_labels", "mime": "image/png", "width",
    "height"}``, its buffer the grey PNG of class ids (0..255).
    A ``BoundingBoxes2D`` logged alone (kind ``"boxes"``): one item, ``{"role": "boxes",
    "group", "count", "sent", "mime": "application/json"}``, its buffer one such box group as
    JSON. An ``ImageMask`` logged alone (kind ``"mask"``): one mask item as above (no ``of``).
``{"type": "asset", "req", "name"}``
    -> ``{"type": "asset_result", "ok": true, "name", "size"}`` with one buffer: a bundled
    browser library (an ES module) a card loads on first use, named in
    :data:`~weightslab_nb.panels.media_cards.VENDOR_ASSETS` (plotly.js, Vega).
``{"type": "confusion", "req", "key", "step", "row", "col"}``
    A click on a cell of a confusion matrix (``wl.plot.confusion_matrix``) logged under
    ``key``: highlights the watched samples of that (label, prediction) pair for the sample
    grid, see :mod:`weightslab_nb.panels.confusion` ->  ``{"type": "confusion_result", "ok":
    true, "key", "step", "row", "col", "count", "origin", "label", "message"}``.

The bytes of each key's latest value are read when the panel publishes it and kept in memory
(:mod:`weightslab_nb.panels.media_bytes`), so the cards still show them when the run's folder is
deleted before the browser asked.

The panel follows the session's running run; once it finishes, the panel keeps showing it until
another one starts. ``RunMedia(run=...)`` shows a given run instead.
"""

from __future__ import annotations

import json
import math
from collections import OrderedDict
from pathlib import Path

import numpy as np
import traitlets

from weightslab_nb.errors import InvalidTypeError
from weightslab_nb.panels._base import STATIC, Panel, static_asset
from weightslab_nb.panels.confusion import highlight_cell
from weightslab_nb.panels.media_bytes import FileBytes
from weightslab_nb.panels.media_cards import CARD_KINDS, VENDOR_ASSETS
from weightslab_nb.panels.media_cards.registry import describe, files_of, media_items
from weightslab_nb.panels.media_cards.overlays import mask_paths, with_overlays
from weightslab_nb.panels.messages import MessageError, int_field
from weightslab_nb.panels.wire import json_number

CARD_KINDS_SHOWN = frozenset(c.kind for c in CARD_KINDS.values())
KINDS = ("number", "text", "histogram", "table", "plot", "image", "images", "html", "audio",
         "video", "object3d", "other", *sorted(CARD_KINDS_SHOWN))
MAX_SERIES = 200
MAX_STEPS = 500
MAX_TABLE_ROWS = 20
MAX_ITEMS = 16
MAX_TABLE_IMAGES = 64  # image cells of a table sent with one media reply
MAX_FILE_BYTES = 8 * 2**20
MAX_KEY = 1000  # characters of a key in a browser request
MAX_PREVIEWS = 64  # table and chart previews kept (their files never change)
MAX_PLOT_POINTS = 2000  # per series
MAX_BARS = 200
HISTOGRAM_BINS = 64
FILE_KINDS = {"html-file": "html", "audio-file": "audio", "video-file": "video",
              "object3D-file": "object3d"}
MIME = {"png": "image/png", "gif": "image/gif", "jpeg": "image/jpeg", "jpg": "image/jpeg",
        "webp": "image/webp", "bmp": "image/bmp", "wav": "audio/wav", "mp4": "video/mp4",
        "webm": "video/webm", "ogg": "video/ogg"}


class RunMedia(Panel):
    """Logged values of a tracking run, one card per key, with a step selector.

    Parameters
    ----------
    session : Session
        The panel shows its running run (``wl.init()``); ``wl.RunMedia()`` passes the
        current session.
    run : weightslab_nb.tracking.run.Run, optional
        Show this run instead (finished or not).
    """

    _esm = static_asset("media.js")
    _css = static_asset("media.css")
    _poll_interval = 0.2  # <= 5 Hz
    _reply_types = {"value": "value_result", "media": "media_result",
                    "confusion": "confusion_result", "asset": "asset_result"}

    run = traitlets.Dict().tag(sync=True)
    entries = traitlets.List().tag(sync=True)

    def __init__(self, session, *, run=None, **kwargs):
        if run is not None and not hasattr(run, "recent"):
            raise InvalidTypeError(f"run: expected a tracking Run (from wl.init()), got "
                                   f"{type(run).__name__}")
        self._fixed = run
        self._shown = run
        self._seen = None
        self._tables: OrderedDict = OrderedDict()  # file -> preview, least recent first
        self._bytes = FileBytes(MAX_FILE_BYTES)
        super().__init__(session, **kwargs)

    def _handlers(self) -> dict:
        return {"value": self._on_value, "media": self._on_media,
                "confusion": self._on_confusion, "asset": self._on_asset}

    # ---------------------------------------------------------------- publisher thread
    def current_run(self):
        """The run shown: the given one, else the session's running run, else the last seen."""
        if self._fixed is not None:
            return self._fixed
        running = self.session.run
        if running is not None:
            self._shown = running
        return self._shown

    def _poll(self):
        run = self.current_run()
        key = None if run is None else (id(run), run.version)
        if key == self._seen:
            return None
        if run is None:
            out = {"run": {}, "entries": []}
        else:
            counts = run.log_counts()
            out = {"run": {"id": run.id, "name": run.name, "project": run.project,
                           "path": run.path, "state": run.state, "step": run.step},
                   "entries": [self._safe_entry(run, k, values, counts.get(k, 0))
                               for k, values in run.recent().items()]}
        self._seen = key
        return out

    def _safe_entry(self, run, key: str, values: list, rev: int) -> dict:
        """The card of ``key``; a value that cannot be shown (a deleted file, data a chart
        cannot bin) becomes an ``"other"`` card saying why, and the other cards still update."""
        try:
            entry = self._entry(run, key, values, rev=rev)
        except Exception as exc:  # one bad value must not freeze every card
            at = values[-1][0]
            return {"key": key, "kind": "other", "step": at, "rev": f"{run.id}:{rev}",
                    "steps": [s for s, _ in values[-MAX_STEPS:]],
                    "value": {"path": None, "text": f"cannot show this value: {exc}"}}
        self._keep_bytes(run, values[-1][1])
        return entry

    # ---------------------------------------------------------------- entries
    def _entry(self, run, key: str, values: list, step: int | None = None,
               rev: int = 0) -> dict:
        """The card of ``key`` at ``step`` (default: its last value). ``rev`` (the key's log
        count) makes ``entry["rev"]`` change whenever the value shown may have changed."""
        at, value = values[-1] if step is None else _at_step(key, values, step)
        kind, shown = self._describe(run, value)
        entry = {"key": key, "kind": kind, "step": at, "value": shown,
                 "steps": [s for s, _ in values[-MAX_STEPS:]], "rev": f"{run.id}:{rev}"}
        if kind == "number":
            entry["series"] = [[s, json_number(v)] for s, v in values[-MAX_SERIES:]
                               if isinstance(v, float)]
        return entry

    def _describe(self, run, value) -> tuple[str, object]:
        if isinstance(value, float):
            return "number", json_number(value)
        if isinstance(value, str):
            return "text", value
        kind = value.get("_type") if isinstance(value, dict) else None
        if kind == "histogram":
            return "histogram", {"bins": value["bins"], "values": value["values"]}
        if kind == "image-file":
            return "image", _image_summary([value])
        if kind == "media-list" and all(i.get("_type") == "image-file" for i in value["items"]):
            return "images", _image_summary(value["items"])
        carded = describe(value, MAX_ITEMS)  # the kinds of panels/media_cards, or lists of one
        if carded is not None:
            return carded
        if kind == "table-file":
            return "table", self._table_preview(run, value)
        if kind == "plot":
            return "plot", self._plot_preview(run, value)
        if kind in FILE_KINDS:
            return FILE_KINDS[kind], {k: v for k, v in value.items() if k != "_type"}
        text = json.dumps(value, default=str)
        return "other", {"path": None, "text": text if len(text) <= 200 else text[:197] + "..."}

    def _table_preview(self, run, descriptor: dict) -> dict:
        return self._table(run, descriptor)[0]

    def _table(self, run, descriptor: dict) -> tuple[dict, list]:
        """A table's preview (what the card shows) and its image cells ``[(row, col,
        descriptor), ...]`` in the rows shown, both read once per file."""
        path = descriptor["path"]
        cached = self._cached(path)
        if cached is None:
            data = _read_table(run, path)
            shown = data["data"][:MAX_TABLE_ROWS]
            images = [(i, j, c) for i, row in enumerate(shown) for j, c in enumerate(row)
                      if _is_image(c)]
            rows = [[_cell(c) for c in row] for row in shown]
            cached = self._remember(path, ({"columns": data["columns"], "rows": rows,
                                            "nrows": len(data["data"]), "images": len(images)},
                                           images))
        return cached

    def _cached(self, key):
        preview = self._tables.get(key)
        if preview is not None:
            self._tables.move_to_end(key)
        return preview

    def _remember(self, key, preview):
        self._tables[key] = preview
        while len(self._tables) > MAX_PREVIEWS:
            self._tables.popitem(last=False)
        return preview

    def _plot_preview(self, run, descriptor: dict) -> dict:
        path = descriptor["table"]["path"]
        preview = self._cached(("plot", path))
        if preview is None:
            data = _read_table(run, path)
            preview = self._remember(("plot", path), {
                "chart": descriptor["chart"], "title": descriptor.get("title"),
                "x_label": descriptor.get("x_label"), "y_label": descriptor.get("y_label"),
                **chart_data(descriptor, data["columns"], data["data"])})
        return preview

    # ---------------------------------------------------------------- requests
    def _request(self, msg: dict):
        run = self.current_run()
        if run is None:
            raise MessageError("key: no run is shown")
        key = msg.get("key")
        if not isinstance(key, str) or not key or len(key) > MAX_KEY:
            raise MessageError(f"key: expected a logged key (a non-empty string of at most "
                               f"{MAX_KEY} characters), got {key!r}"[:300])
        step = int_field(msg, "step", required=True)
        values = run.recent(key)
        if values is None:
            raise MessageError(f"key: {key!r} was not logged by run {run.path}")
        return run, key, step, values

    def _on_value(self, msg: dict):
        run, key, step, values = self._request(msg)
        return {"entry": self._entry(run, key, values, step, run.log_counts().get(key, 0))}

    def _on_media(self, msg: dict):
        run, key, step, values = self._request(msg)
        at, value = _at_step(key, values, step)
        kind, _ = self._describe(run, value)
        if kind in CARD_KINDS_SHOWN:
            items, count = media_items(lambda relative: self._bytes.get(_path(run, relative)),
                                       value, MAX_ITEMS)
            return ({"key": key, "step": at, "kind": kind, "items": [m for m, _ in items],
                     "count": count}, [data for _, data in items])
        if kind == "table":
            cells = self._table(run, value)[1]
            total = len(cells)
            items = [({"row": i, "col": j}, c) for i, j, c in cells[:MAX_TABLE_IMAGES]]
        elif isinstance(value, dict) and kind in ("image", "images", "audio", "video"):
            listed = value["items"] if value.get("_type") == "media-list" else [value]
            total = len(listed)
            items = [({}, item) for item in listed[:MAX_ITEMS]]
        else:
            raise MessageError(f"key: {key!r} holds nothing with bytes to send ({kind})")
        meta, buffers = [], []
        for where, item in items:
            path = _path(run, item["path"])
            buffers.append(self._bytes.get(path))
            meta.append({**where, "caption": item.get("caption"), "mime": _mime(path),
                         **{k: item[k] for k in ("width", "height") if k in item}})
        if kind in ("image", "images"):  # their boxes in the metadata, masks as more items
            extra = with_overlays(lambda relative: self._bytes.get(_path(run, relative)),
                                  [(m, item) for m, (_, item) in zip(meta, items)])
            meta += [m for m, _ in extra]
            buffers += [data for _, data in extra]
        return {"key": key, "step": at, "kind": kind, "items": meta, "count": total}, buffers

    def _on_asset(self, msg: dict):
        name = msg.get("name")
        if name not in VENDOR_ASSETS:
            raise MessageError(f"name: expected one of {sorted(VENDOR_ASSETS)}, got "
                               f"{name!r}"[:200])
        path = STATIC / VENDOR_ASSETS[name]
        if not path.is_file():
            raise MessageError(f"name: the {name} bundle is not built ({path.name} is missing "
                               f"from {STATIC}); run `npm run build` in js/ or reinstall")
        data = path.read_bytes()
        return {"name": name, "size": len(data)}, [data]

    def _on_confusion(self, msg: dict):
        run, key, step, values = self._request(msg)
        at, value = _at_step(key, values, step)
        if not (isinstance(value, dict) and value.get("_type") == "plot"
                and value.get("chart") == "confusion_matrix"):
            raise MessageError(f"key: {key!r} holds no confusion matrix at step {at}")
        labels = [str(name) for name in value.get("labels") or []]
        if not labels:
            raise MessageError(f"key: the confusion matrix {key!r} has no classes")
        row = int_field(msg, "row", required=True, hi=len(labels) - 1)
        col = int_field(msg, "col", required=True, hi=len(labels) - 1)
        return {"key": key, "step": at, "row": row, "col": col,
                **highlight_cell(self.session, key, labels, row, col)}

    def _keep_bytes(self, run, value) -> None:
        """Read the files of a key's latest value into memory (publisher thread); one that
        cannot be read is left for the request to report."""
        try:
            paths = self._files_of(run, value)
        except (MessageError, OSError, KeyError, TypeError, ValueError):
            return  # the card says what is wrong with the value itself
        for relative in paths:
            if isinstance(relative, str):
                try:
                    self._bytes.keep(_path(run, relative))
                except MessageError:
                    continue

    def _files_of(self, run, value) -> list:
        """The relative paths of the files a ``media`` request for ``value`` sends."""
        if not isinstance(value, dict):
            return []
        kind = value.get("_type")
        if kind == "table-file":
            paths = [c["path"] for _, _, c in self._table(run, value)[1][:MAX_TABLE_IMAGES]]
        elif files_of(value, MAX_ITEMS):
            paths = files_of(value, MAX_ITEMS)
        elif kind == "media-list":
            paths = [p for i in value["items"][:MAX_ITEMS]
                     for p in [i.get("path"), *mask_paths(i)]]
        elif kind in ("image-file", "audio-file", "video-file"):
            paths = [value.get("path"), *mask_paths(value)]
        else:
            paths = []
        return paths


# ---------------------------------------------------------------- charts
LINE_CHARTS = ("line", "scatter", "line_series", "pr_curve", "roc_curve")


def chart_data(descriptor: dict, columns: list, rows: list) -> dict:
    """What the view draws for a logged chart (see the module docstring), from its table."""
    chart, fields = descriptor["chart"], descriptor["fields"]

    def column(part):
        index = columns.index(fields[part])
        return [row[index] for row in rows]

    if chart in LINE_CHARTS:
        names = column("series") if "series" in fields else \
            [descriptor.get("y_label") or fields["y"]] * len(rows)
        series: dict[str, list] = {}
        for name, x, y in zip(names, column("x"), column("y")):
            if _is_number(x):
                series.setdefault(str(name), []).append([x, y if _is_number(y) else None])
        out = []
        for name, points in series.items():
            if chart != "scatter":
                points.sort(key=lambda p: p[0])
            out.append({"name": name, "points": _thin(points, MAX_PLOT_POINTS)})
        return {"series": out}
    if chart == "bar":
        return {"bars": [{"label": str(label), "value": value}
                         for label, value in zip(column("label"), column("value"))
                         if _is_number(value)][:MAX_BARS]}
    if chart == "histogram":
        values = np.array([v for v in column("value") if _is_number(v)], dtype=np.float64)
        bins = min(HISTOGRAM_BINS, max(1, len(np.unique(values))))
        low, high = (values.min(), values.max()) if len(values) else (0.0, 1.0)
        with np.errstate(over="ignore", invalid="ignore"):
            edges = np.linspace(low, high if high > low else low + 1.0, bins + 1)
        if not np.all(np.isfinite(edges)):  # a range too wide for float64 bins
            edges = np.linspace(-1.0, 1.0, bins + 1) * np.finfo(np.float64).max
        counts, edges = np.histogram(np.clip(values, edges[0], edges[-1]), bins=edges)
        return {"bins": edges.tolist(), "values": counts.tolist()}
    labels = list(descriptor.get("labels") or [])
    counts = np.zeros((len(labels), len(labels)), dtype=np.int64)
    where = {name: i for i, name in enumerate(labels)}
    for actual, predicted, n in zip(column("actual"), column("predicted"), column("value")):
        if actual in where and predicted in where and _is_number(n):
            counts[where[actual], where[predicted]] += int(n)
    return {"labels": labels, "counts": counts.tolist()}


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and \
        math.isfinite(value)


def _thin(points: list, limit: int) -> list:
    if len(points) <= limit:
        return points
    keep = np.unique(np.linspace(0, len(points) - 1, limit).round().astype(int))
    return [points[i] for i in keep]


# ---------------------------------------------------------------- helpers
def _at_step(key: str, values: list, step: int):
    for at, value in reversed(values):
        if at == step:
            return at, value
    raise MessageError(f"step: {key!r} has no value at step {step} among the last "
                       f"{len(values)} kept in memory (read older ones with wl.Api)")


def _image_summary(items: list[dict]) -> dict:
    return {"count": len(items), "captions": [i.get("caption") for i in items],
            "width": items[0].get("width"), "height": items[0].get("height")}


def _is_image(value) -> bool:
    return isinstance(value, dict) and value.get("_type") == "image-file" and \
        isinstance(value.get("path"), str)


def _cell(value):
    """A table cell as the card shows it: values as they are, an image as its size and
    caption (its bytes come with a ``media`` request), other media as ``"[media]"``."""
    if _is_image(value):
        return {"kind": "image", "width": value.get("width"), "height": value.get("height"),
                "caption": value.get("caption")}
    if isinstance(value, dict):
        return "[media]"
    return value


def _read_table(run, relative: str) -> dict:
    """A logged table file: ``{"columns", "data"}``."""
    return json.loads(_file(run, relative).read_text(encoding="utf-8"))


def _path(run, relative: str) -> Path:
    """The path of a file of the run, refusing paths that leave its directory."""
    path = (run.dir / relative).resolve()
    if run.dir.resolve() not in path.parents:
        raise MessageError(f"path: {relative!r} is outside the run's directory")
    return path


def _file(run, relative: str) -> Path:
    """An existing file of the run (see :func:`_path`)."""
    path = _path(run, relative)
    if not path.is_file():
        raise MessageError(f"path: the run's file {relative!r} is missing")
    return path


def _mime(path: Path) -> str:
    return MIME.get(path.suffix.lower().lstrip("."), "application/octet-stream")
