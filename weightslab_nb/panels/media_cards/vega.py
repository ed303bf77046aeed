"""The card of :class:`~weightslab_nb.tracking.media.CustomChart` (``wl.plot_table``): the spec
name, title and row count in the summary; with the ``media`` request, the complete Vega-Lite
spec (placeholders bound, the table's rows inlined as ``data.values``), drawn in the browser by
the bundled vega-embed (kind ``"vega"``).

At most :data:`MAX_ROWS_SENT` rows go to the browser: a larger table is thinned to evenly
spaced rows (in their order), and the item says how many were sent of how many.
"""

from __future__ import annotations

import json

from weightslab_nb.panels.media_cards.registry import CardKind, ReadFile, register
from weightslab_nb.panels.messages import MessageError
from weightslab_nb.tracking.media.vega_specs import bind_spec, inline_rows

MAX_ROWS_SENT = 10_000


def _summary(descriptor: dict) -> dict:
    table = descriptor.get("table") or {}
    return {"spec_name": descriptor.get("spec_name"), "title": descriptor.get("title"),
            "nrows": table.get("nrows"), "fields": descriptor.get("fields")}


def _files(descriptor: dict) -> list[str]:
    table = descriptor.get("table") or {}
    return [p for p in (descriptor.get("path"), table.get("path")) if isinstance(p, str)]


def thinned(rows: list, limit: int = MAX_ROWS_SENT) -> list:
    """``rows``, or ``limit`` of them evenly spaced (first and last kept) when there are more."""
    if len(rows) <= limit:
        return rows
    step = (len(rows) - 1) / (limit - 1)
    return [rows[round(i * step)] for i in range(limit)]


def _items(read: ReadFile, descriptor: dict) -> list[tuple[dict, bytes]]:
    try:
        spec = json.loads(read(descriptor["path"]))
        table = json.loads(read(descriptor["table"]["path"]))
        bound = bind_spec(spec, descriptor["fields"], descriptor["string_fields"])
    except (ValueError, KeyError, TypeError) as exc:
        raise MessageError(f"path: the chart {descriptor.get('spec_name')!r} cannot be read "
                           f"back ({type(exc).__name__}: {exc})"[:300]) from None
    rows = thinned(table["data"])
    full = inline_rows(bound, table["columns"], rows)
    payload = json.dumps(full, allow_nan=False, ensure_ascii=False,
                         separators=(",", ":")).encode("utf-8")
    return [({"mime": "application/json", "caption": descriptor.get("title"), "role": "spec",
              "spec_name": descriptor.get("spec_name"), "rows": len(rows),
              "nrows": len(table["data"])}, payload)]


register("custom-chart", CardKind(kind="vega", summary=_summary, items=_items, files=_files))
