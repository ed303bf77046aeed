"""The built-in Vega-Lite specs of :func:`~weightslab_nb.plot_table`, one per ``wl.plot`` kind.

Their ``${field:NAME}`` placeholders are the ``fields`` of the matching ``wl.plot`` chart
(``wl/line``: ``x``, ``y``; ``wl/bar``: ``label``, ``value``; ...), and each takes the string
field ``title`` (empty by default). The rows come from the table (``data`` is left out here).
"""

from __future__ import annotations

SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"  # read by vega-embed, never fetched

_X = {"field": "${field:x}", "type": "quantitative", "title": "${field:x}"}
_Y = {"field": "${field:y}", "type": "quantitative", "title": "${field:y}"}
_SERIES = {"field": "${field:series}", "type": "nominal", "title": "${field:series}"}


def _spec(**body) -> dict:
    return {"$schema": SCHEMA, "title": "${string:title}", **body}


PRESETS: dict[str, dict] = {
    "wl/line": _spec(
        mark={"type": "line", "point": True, "tooltip": True},
        encoding={"x": _X, "y": _Y}),
    "wl/line_series": _spec(
        mark={"type": "line", "point": True, "tooltip": True},
        encoding={"x": _X, "y": _Y, "color": _SERIES}),
    "wl/scatter": _spec(
        mark={"type": "point", "filled": True, "tooltip": True},
        encoding={"x": _X, "y": _Y}),
    "wl/bar": _spec(
        mark={"type": "bar", "tooltip": True},
        encoding={"x": {"field": "${field:label}", "type": "nominal", "sort": None,
                        "title": "${field:label}"},
                  "y": {"field": "${field:value}", "type": "quantitative",
                        "title": "${field:value}"}}),
    "wl/histogram": _spec(
        # binned here, then drawn on a plain axis: a few round ticks, not one per bin edge
        transform=[{"bin": {"maxbins": 30}, "field": "${field:value}",
                    "as": ["bin_start", "bin_end"]}],
        mark={"type": "bar", "tooltip": True},
        encoding={"x": {"field": "bin_start", "bin": {"binned": True}, "type": "quantitative",
                        "title": "${field:value}"},
                  "x2": {"field": "bin_end"},
                  "y": {"aggregate": "count", "type": "quantitative", "title": "count"}}),
    "wl/confusion_matrix": _spec(
        encoding={"x": {"field": "${field:predicted}", "type": "nominal", "sort": None,
                        "title": "predicted"},
                  "y": {"field": "${field:actual}", "type": "nominal", "sort": None,
                        "title": "actual"}},
        layer=[{"mark": {"type": "rect", "tooltip": True},
                "encoding": {"color": {"field": "${field:value}", "type": "quantitative",
                                       "title": "${field:value}"}}},
               {"mark": {"type": "text"},
                "encoding": {"text": {"field": "${field:value}", "type": "quantitative"}}}]),
}

#: String fields every preset takes, with their defaults.
PRESET_STRINGS = {"title": ""}
