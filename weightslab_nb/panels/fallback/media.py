"""RunMedia as its cards' latest values: numbers, text, small tables, image thumbnails, and a
line of facts per rich value (a molecule with its 2-D drawing).

Each card is read with the panel's own ``value`` and ``media`` requests (what a view asks for),
so a value the live card cannot show (a deleted file) is reported here the same way.
"""

from __future__ import annotations

import base64
import io

import numpy as np

from weightslab_nb.panels.fallback.html import esc, number, png_img, section, table
from weightslab_nb.panels.media_cards import CARD_KINDS
from weightslab_nb.panels.thumbnails import encode_png

MAX_CARDS = 24
MAX_IMAGES = 4  # per card
MAX_ROWS, MAX_COLUMNS = 10, 8
MAX_TEXT = 500
THUMB_SIDE = 96


def render(panel) -> str:
    """The panel's fallback HTML: one row per logged key."""
    run = panel.current_run()
    if run is None:
        return section("media", "Run media", "<p>no run (wl.init()) yet</p>")
    recent = list(run.recent().items())
    rows = []
    for key, values in recent[:MAX_CARDS]:
        step = values[-1][0]
        try:
            entry = panel.answer({"type": "value", "key": key, "step": step})[0]["entry"]
            shown = _card(panel, entry)
        except Exception as exc:  # one card that cannot be read must not hide the others
            shown = f"<i>cannot show this value: {esc(exc)}</i>"
        rows.append([esc(key), esc(step), shown])
    more = len(recent) - MAX_CARDS
    note = f"run {run.name or run.id} ({run.state}, step {run.step})" + \
        (f"; {more} more keys not shown" if more > 0 else "")
    body = table(["key", "step", "latest value"], rows) if rows else "<p>nothing logged yet</p>"
    return section("media", "Run media", body, note)


def summary(panel) -> str:
    """One line: the run and how many keys it logged."""
    run = panel.current_run()
    return "run media: no run" if run is None else \
        f"run media: {run.name or run.id}, {len(run.recent())} keys, step {run.step}"


def _card(panel, entry: dict) -> str:
    kind, value = entry["kind"], entry["value"]
    if kind == "number":
        return esc(number(value))
    if kind == "text":
        text = str(value)
        return esc(text if len(text) <= MAX_TEXT else text[:MAX_TEXT - 1] + "…")
    if kind == "table":
        return _table(value["columns"], value["rows"], value.get("nrows"))
    if kind in ("image", "images"):
        return _images(panel, entry)
    if kind == "histogram":
        return esc(f"histogram of {len(value['values'])} bins, "
                   f"{number(value['bins'][0])} … {number(value['bins'][-1])}")
    if kind == "plot":
        return _plot(value)
    if kind in {card.kind for card in CARD_KINDS.values()}:
        return _rich(panel, entry)
    text = value.get("text") if isinstance(value, dict) else None
    return esc(text or f"{kind} file {value.get('path', '') if isinstance(value, dict) else ''}")


def _table(columns: list, rows: list, nrows: int | None = None) -> str:
    cols = [str(c) for c in columns[:MAX_COLUMNS]]
    cells = [[esc(number(c) if isinstance(c, float) else c) for c in row[:MAX_COLUMNS]]
             for row in rows[:MAX_ROWS]]
    shown = f"{min(len(rows), MAX_ROWS)} of {nrows if nrows is not None else len(rows)} rows"
    if len(columns) > MAX_COLUMNS:
        shown += f", {MAX_COLUMNS} of {len(columns)} columns"
    return table(cols, cells, shown)


def _plot(value: dict) -> str:
    title = value.get("title") or value.get("chart")
    if "counts" in value:  # a confusion matrix: rows are the actual class
        labels = [str(x) for x in value["labels"]]
        rows = [[esc(label), *map(str, counts)] for label, counts in zip(labels, value["counts"])]
        return table(["actual \\ predicted", *labels], rows, str(title))
    if "bars" in value:
        return table(["label", "value"], [[esc(b["label"]), esc(number(b["value"]))]
                                          for b in value["bars"][:MAX_ROWS]], str(title))
    series = value.get("series") or []
    points = sum(len(s["points"]) for s in series)
    return esc(f"{value.get('chart')} chart {title!r}: {len(series)} series, {points} points")


def _facts(kind: str, summary: dict) -> str:
    """A rich value's summary as one line: its caption or title, then its short facts."""
    if not isinstance(summary, dict):
        return esc(kind)
    name = summary.get("caption") or summary.get("title") or summary.get("spec_name")
    facts = [f"{k} {_fact(k, v)}" for k, v in summary.items()
             if k not in ("caption", "title", "path", "sha256", "list") and v != name
             and isinstance(v, (int, float, str)) and not isinstance(v, bool)
             and len(str(v)) <= 40][:5]
    return esc(" · ".join([kind, *([str(name)] if name else []), *facts]))


def _fact(name: str, value) -> str:
    if name == "size" and isinstance(value, int):  # bytes
        for unit, scale in (("MB", 2**20), ("kB", 2**10)):
            if value >= scale:
                return f"{value / scale:.1f} {unit}"
        return f"{value} B"
    return number(value) if isinstance(value, float) else str(value)


def _rich(panel, entry: dict) -> str:
    """A card of :mod:`~weightslab_nb.panels.media_cards`: a line per value (at most
    ``MAX_IMAGES``), with a molecule's drawing when the kernel made one and the top-level keys
    of JSON metadata."""
    value = entry["value"]
    values = value["items"] if isinstance(value, dict) and value.get("list") else [value]
    drawings: dict[int, str] = {}
    keys: dict[int, str] = {}
    if entry["kind"] in ("molecule", "json"):
        reply, buffers = panel.answer({"type": "media", "key": entry["key"],
                                       "step": entry["step"]})
        for item, data in zip(reply["items"], buffers):
            index = item.get("index", 0)
            if item.get("role") == "depiction":
                uri = base64.b64encode(data).decode("ascii")
                drawings[index] = (
                    f'<img src="data:image/svg+xml;base64,{uri}" alt="{esc(item.get("caption"))}"'
                    f' width="{THUMB_SIDE * 2}">')
            if item.get("keys"):  # JSON metadata: its top-level keys
                keys[index] = esc(f" · keys {', '.join(item['keys'])}")
    lines = [drawings.get(i, "") + _facts(entry["kind"], v) + keys.get(i, "")
             for i, v in enumerate(values[:MAX_IMAGES])]
    if len(values) > MAX_IMAGES:
        lines.append(f"<small>{MAX_IMAGES} of {len(values)} values</small>")
    return "<br>".join(lines)


def _overlays(item: dict) -> str:
    """What an image's boxes and masks hold, as a line (the thumbnail shows the image only)."""
    parts = []
    for group in item.get("boxes") or []:
        classes = sorted({str(group["class_labels"].get(str(b.get("class_id")), b.get("class_id")))
                          for b in group.get("box_data", []) if isinstance(b, dict)})
        parts.append(f"{group['group']}: {group.get('count', 0)} boxes"
                     + (f" ({', '.join(classes[:8])}{'…' if len(classes) > 8 else ''})"
                        if classes else ""))
    for mask in item.get("masks") or []:
        labels = list(mask.get("class_labels", {}).values())
        parts.append(f"{mask['group']}: mask of {', '.join(map(str, labels[:8]))}"
                     f"{'…' if len(labels) > 8 else ''}")
    return f"<br><small>{esc('; '.join(parts))}</small>" if parts else ""


def _images(panel, entry: dict) -> str:
    reply, buffers = panel.answer({"type": "media", "key": entry["key"], "step": entry["step"]})
    out = []
    images = [(item, data) for item, data in zip(reply["items"], buffers)
              if item.get("role") != "mask"]  # masks are class ids: described, not shown
    for item, data in images[:MAX_IMAGES]:
        caption = item.get("caption") or ""
        try:
            out.append(png_img(_thumbnail(data), caption or entry["key"]) +
                       (f"<br><small>{esc(caption)}</small>" if caption else "") +
                       _overlays(item))
        except Exception as exc:
            out.append(f"<i>{esc(caption)}: not an image ({esc(exc)})</i>")
    if reply["count"] > len(out):
        out.append(f"<small>{len(out)} of {reply['count']} images</small>")
    return " ".join(out)


def _thumbnail(data: bytes) -> bytes:
    """A PNG of at most ``THUMB_SIDE`` pixels from image file bytes, colours kept."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        arr = np.asarray(img.convert("RGB"))
    return encode_png(arr, max_side=THUMB_SIDE)
