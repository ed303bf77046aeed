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
    most 20), "nrows"}`` for a table, ``{"count", "captions", "width", "height"}`` for
    image(s), and the descriptor's fields (with ``"path"``) for the other files. A chart
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
    of the ``count`` logged.

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
from weightslab_nb.panels._base import Panel, static_asset
from weightslab_nb.panels.messages import MessageError, int_field

KINDS = ("number", "text", "histogram", "table", "plot", "image", "images", "html", "audio",
         "video", "object3d", "other")
MAX_SERIES = 200
MAX_STEPS = 500
MAX_TABLE_ROWS = 20
MAX_ITEMS = 16
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
    _reply_types = {"value": "value_result", "media": "media_result"}

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
        super().__init__(session, **kwargs)

    def _handlers(self) -> dict:
        return {"value": self._on_value, "media": self._on_media}

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
            return self._entry(run, key, values, rev=rev)
        except Exception as exc:  # one bad value must not freeze every card
            at = values[-1][0]
            return {"key": key, "kind": "other", "step": at, "rev": f"{run.id}:{rev}",
                    "steps": [s for s, _ in values[-MAX_STEPS:]],
                    "value": {"path": None, "text": f"cannot show this value: {exc}"}}

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
            entry["series"] = [[s, _finite(v)] for s, v in values[-MAX_SERIES:]
                               if isinstance(v, float)]
        return entry

    def _describe(self, run, value) -> tuple[str, object]:
        if isinstance(value, float):
            return "number", _finite(value)
        if isinstance(value, str):
            return "text", value
        kind = value.get("_type") if isinstance(value, dict) else None
        if kind == "histogram":
            return "histogram", {"bins": value["bins"], "values": value["values"]}
        if kind == "image-file":
            return "image", _image_summary([value])
        if kind == "media-list" and all(i.get("_type") == "image-file" for i in value["items"]):
            return "images", _image_summary(value["items"])
        if kind == "table-file":
            return "table", self._table_preview(run, value)
        if kind == "plot":
            return "plot", self._plot_preview(run, value)
        if kind in FILE_KINDS:
            return FILE_KINDS[kind], {k: v for k, v in value.items() if k != "_type"}
        text = json.dumps(value, default=str)
        return "other", {"path": None, "text": text if len(text) <= 200 else text[:197] + "..."}

    def _table_preview(self, run, descriptor: dict) -> dict:
        path = descriptor["path"]
        preview = self._cached(path)
        if preview is None:
            data = _read_table(run, path)
            rows = [[_cell(c) for c in row] for row in data["data"][:MAX_TABLE_ROWS]]
            preview = self._remember(path, {"columns": data["columns"], "rows": rows,
                                            "nrows": len(data["data"])})
        return preview

    def _cached(self, key):
        preview = self._tables.get(key)
        if preview is not None:
            self._tables.move_to_end(key)
        return preview

    def _remember(self, key, preview: dict) -> dict:
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
        if not isinstance(value, dict) or kind in ("number", "text", "histogram", "table", "plot",
                                                   "html", "object3d", "other"):
            raise MessageError(f"key: {key!r} holds no image, audio or video ({kind})")
        items = value["items"] if value.get("_type") == "media-list" else [value]
        total = len(items)
        items = items[:MAX_ITEMS]
        meta, buffers = [], []
        for item in items:
            path = _file(run, item["path"])
            if path.stat().st_size > MAX_FILE_BYTES:
                raise MessageError(f"key: {path.name} is larger than "
                                   f"{MAX_FILE_BYTES // 2**20} MiB; read it with wl.Api")
            buffers.append(path.read_bytes())
            meta.append({"caption": item.get("caption"), "mime": _mime(path),
                         **{k: item[k] for k in ("width", "height") if k in item}})
        return {"key": key, "step": at, "kind": kind, "items": meta, "count": total}, buffers


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


def _finite(value: float):
    return value if math.isfinite(value) else None


def _image_summary(items: list[dict]) -> dict:
    return {"count": len(items), "captions": [i.get("caption") for i in items],
            "width": items[0].get("width"), "height": items[0].get("height")}


def _cell(value):
    if isinstance(value, dict):
        return "[image]" if value.get("_type") == "image-file" else "[media]"
    return value


def _read_table(run, relative: str) -> dict:
    """A logged table file: ``{"columns", "data"}``."""
    return json.loads(_file(run, relative).read_text(encoding="utf-8"))


def _file(run, relative: str) -> Path:
    """A file of the run, refusing paths that leave its directory."""
    path = (run.dir / relative).resolve()
    if run.dir.resolve() not in path.parents:
        raise MessageError(f"path: {relative!r} is outside the run's directory")
    if not path.is_file():
        raise MessageError(f"path: the run's file {relative!r} is missing")
    return path


def _mime(path: Path) -> str:
    return MIME.get(path.suffix.lower().lstrip("."), "application/octet-stream")
