"""The card of :class:`~weightslab_nb.tracking.media.Plotly`: the figure's size, traces and
points in the summary, its JSON with the ``media`` request, drawn by plotly.js in the browser
(the bundled library, loaded with the panel's ``asset`` request the first time a figure is
shown)."""

from __future__ import annotations

from weightslab_nb.panels.media_cards.registry import CardKind, ReadFile, register

MAX_TYPES_SHOWN = 8  # trace types listed in the summary


def _summary(descriptor: dict) -> dict:
    types = descriptor.get("trace_types")
    return {"size": descriptor.get("size"), "path": descriptor.get("path"),
            "traces": descriptor.get("traces"), "points": descriptor.get("points"),
            "trace_types": [str(t) for t in types[:MAX_TYPES_SHOWN]]
            if isinstance(types, list) else None}


def _items(read: ReadFile, descriptor: dict) -> list[tuple[dict, bytes]]:
    # sent as stored: plotly.js reads plotly.py's JSON (binary arrays included) as it is
    return [({"mime": "application/json", "caption": None, "role": "figure"},
             read(descriptor["path"]))]


register("plotly-file", CardKind(kind="plotly", summary=_summary, items=_items))
