"""The card of an :class:`~weightslab_nb.tracking.media.ImageMask` logged on its own: its group
and class labels in the summary, its PNG of class ids with the ``media`` request, coloured per
class in the browser with a toggle per class."""

from __future__ import annotations

from weightslab_nb.panels.media_cards.overlays import mask_item
from weightslab_nb.panels.media_cards.registry import CardKind, ReadFile, register

MAX_LABELS_SHOWN = 64  # class labels in the summary (the media reply has them all)


def _summary(descriptor: dict) -> dict:
    labels = descriptor.get("class_labels")
    labels = labels if isinstance(labels, dict) else {}
    return {"group": descriptor.get("key"), "classes": len(labels),
            "class_labels": dict(list(labels.items())[:MAX_LABELS_SHOWN]),
            "path": descriptor.get("path")}


def _items(read: ReadFile, descriptor: dict) -> list[tuple[dict, bytes]]:
    return [mask_item(read, descriptor, str(descriptor.get("key") or "mask"))]


register("mask-file", CardKind(kind="mask", summary=_summary, items=_items))
