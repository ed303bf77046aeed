"""The card of :class:`~weightslab_nb.tracking.media.JSONMetadata`: the file's top-level keys
in the summary, the whole JSON with the ``media`` request (drawn as a collapsible tree)."""

from __future__ import annotations

import json

from weightslab_nb.panels.media_cards.registry import CardKind, ReadFile, register

MAX_KEYS_SHOWN = 12  # top-level keys listed in the summary


def _summary(descriptor: dict) -> dict:
    return {"size": descriptor.get("size"), "path": descriptor.get("path")}


def _items(read: ReadFile, descriptor: dict) -> list[tuple[dict, bytes]]:
    payload = read(descriptor["path"])
    content = json.loads(payload)
    keys = list(content)[:MAX_KEYS_SHOWN] if isinstance(content, dict) else []
    return [({"mime": "application/json", "caption": None, "role": "content",
              "keys": [str(k) for k in keys], "nkeys": len(content)
              if isinstance(content, dict) else None}, payload)]


register("json-metadata-file", CardKind(kind="json", summary=_summary, items=_items))
