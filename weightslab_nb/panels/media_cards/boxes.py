"""The card of a :class:`~weightslab_nb.tracking.media.BoundingBoxes2D` logged on its own: the
group's name in the summary, its boxes (at most :data:`~.overlays.MAX_BOXES`) and class labels
with the ``media`` request, drawn in their own frame with a toggle per class."""

from __future__ import annotations

import json

from weightslab_nb.panels.media_cards.overlays import box_groups
from weightslab_nb.panels.media_cards.registry import CardKind, ReadFile, register
from weightslab_nb.panels.messages import MessageError


def _summary(descriptor: dict) -> dict:
    return {"group": descriptor.get("key"), "size": descriptor.get("size"),
            "path": descriptor.get("path")}


def _items(read: ReadFile, descriptor: dict) -> list[tuple[dict, bytes]]:
    """One item: the group as :func:`~.overlays.box_groups` sends it, as JSON bytes."""
    try:
        content = json.loads(read(descriptor["path"]))
    except ValueError as exc:
        raise MessageError(f"path: {descriptor['path']!r} is not a boxes JSON file ({exc})")
    group = box_groups({str(descriptor.get("key") or "boxes"): content})[0]
    meta = {"mime": "application/json", "caption": None, "role": "boxes",
            "group": group["group"], "count": group["count"], "sent": len(group["box_data"])}
    return [(meta, json.dumps(group, separators=(",", ":")).encode("utf-8"))]


register("boxes2D-file", CardKind(kind="boxes", summary=_summary, items=_items))
