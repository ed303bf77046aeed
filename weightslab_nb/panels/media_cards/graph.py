"""The card of :class:`~weightslab_nb.tracking.media.Graph`: its node and edge counts in the
summary; the graph's JSON (``{"format", "nodes": [...], "edges": [[from, to], ...]}``) with
the ``media`` request, laid out in the browser (``js/src/cards/graph.ts``)."""

from __future__ import annotations

from weightslab_nb.panels.media_cards.registry import CardKind, ReadFile, register


def _summary(descriptor: dict) -> dict:
    return {k: descriptor.get(k) for k in ("format", "nodes", "edges", "size", "path")}


def _items(read: ReadFile, descriptor: dict) -> list[tuple[dict, bytes]]:
    return [({"mime": "application/json", "caption": None, "role": "graph",
              "format": descriptor.get("format")}, read(descriptor["path"]))]


register("graph-file", CardKind(kind="graph", summary=_summary, items=_items))
