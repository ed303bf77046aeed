"""Bounding boxes and segmentation masks as the RunMedia cards draw them.

Shared by the image cards (``wl.Image(boxes=..., masks=...)``, see the protocol in
:mod:`weightslab_nb.panels.media`) and the cards of a ``BoundingBoxes2D`` or an ``ImageMask``
logged alone (:mod:`~weightslab_nb.panels.media_cards.boxes`,
:mod:`~weightslab_nb.panels.media_cards.mask`).

A box group as it is sent: ``{"group", "class_labels": {"<id>": name}, "box_data": [box,
...], "count"}`` where ``box_data`` holds the boxes as logged (at most :data:`MAX_BOXES` per
image, shared between its groups) and ``count`` how many the group has.
"""

from __future__ import annotations

import struct

MAX_BOXES = 500  # boxes sent per image (all its groups together) or per standalone group
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def shares(sizes: list[int], limit: int) -> list[int]:
    """How many of each group's ``sizes`` boxes to send so that at most ``limit`` go in all.

    Small groups are sent whole; what they leave is split evenly between the larger ones
    (so one crowded group does not hide the others).

    Parameters
    ----------
    sizes : list of int >= 0
    limit : int >= 0

    Returns
    -------
    list of int
        ``out[i] <= sizes[i]`` and ``sum(out) <= limit``.
    """
    out = [0] * len(sizes)
    left, budget = len(sizes), limit
    for i in sorted(range(len(sizes)), key=lambda j: sizes[j]):
        out[i] = min(sizes[i], budget // left)
        budget -= out[i]
        left -= 1
    return out


def box_groups(boxes, limit: int = MAX_BOXES) -> list[dict]:
    """An image's ``"boxes"`` descriptor field as the list of groups sent (see the module).

    Parameters
    ----------
    boxes : dict
        Group name -> ``{"box_data": [...], "class_labels": {...}}`` (as ``Image.to_json`` and
        ``BoundingBoxes2D`` store it). Anything else gives ``[]``; a group without a list of
        boxes is sent with none.
    limit : int
        Boxes sent in all (:func:`shares`).
    """
    if not isinstance(boxes, dict):
        return []
    groups = [(str(name), spec if isinstance(spec, dict) else {}) for name, spec in boxes.items()]
    data = [spec.get("box_data") if isinstance(spec.get("box_data"), list) else []
            for _, spec in groups]
    sent = shares([len(d) for d in data], limit)
    out = []
    for (name, spec), boxes_of, n in zip(groups, data, sent):
        labels = spec.get("class_labels")
        out.append({"group": name,
                    "class_labels": {str(k): str(v) for k, v in labels.items()}
                    if isinstance(labels, dict) else {},
                    "box_data": boxes_of[:n], "count": len(boxes_of)})
    return out


def mask_paths(descriptor: dict) -> list[str]:
    """The files of an image descriptor's masks (relative to the run folder)."""
    masks = descriptor.get("masks")
    if not isinstance(masks, dict):
        return []
    return [m["path"] for m in masks.values()
            if isinstance(m, dict) and isinstance(m.get("path"), str)]


def mask_item(read, mask: dict, group: str, **fields) -> tuple[dict, bytes]:
    """A mask's item of a ``media`` reply: its PNG of class ids, with ``"role": "mask"``,
    ``"group"``, ``"class_labels"`` and its size (read from the PNG header)."""
    data = read(mask["path"])
    labels = mask.get("class_labels")
    meta = {"mime": "image/png", "caption": None, "role": "mask", "group": group,
            "class_labels": {str(k): str(v) for k, v in labels.items()}
            if isinstance(labels, dict) else {}, **fields}
    size = png_size(data)
    if size is not None:
        meta["width"], meta["height"] = size
    return meta, data


def with_overlays(read, images: list[tuple[dict, dict]]) -> list[tuple[dict, bytes]]:
    """The items of an image card's ``media`` reply: each image's item gets its ``"boxes"``
    (:func:`box_groups`) and ``"masks"`` (``[{"group", "class_labels", "item"}]``, ``item``
    the index of the mask's own item), and the masks' items follow the images'.

    Parameters
    ----------
    read : callable
        ``read(relative path) -> bytes`` (raises MessageError for a missing file).
    images : list of (meta, descriptor)
        The image items already built (``meta`` is completed in place) with their descriptors.
        Their bytes are not read here: the caller keeps the image buffers first.

    Returns
    -------
    list of (meta, bytes)
        The masks' items, to append after the images' (their indexes start at
        ``len(images)``).
    """
    extra: list[tuple[dict, bytes]] = []
    for i, (meta, descriptor) in enumerate(images):
        if isinstance(descriptor.get("boxes"), dict):
            meta["boxes"] = box_groups(descriptor["boxes"])
        masks = descriptor.get("masks")
        if not isinstance(masks, dict):
            continue
        meta["masks"] = []
        for group, mask in masks.items():
            if not isinstance(mask, dict) or not isinstance(mask.get("path"), str):
                continue
            item = mask_item(read, mask, str(group), of=i)
            meta["masks"].append({"group": str(group), "class_labels": item[0]["class_labels"],
                                  "item": len(images) + len(extra)})
            extra.append(item)
    return extra


def png_size(data: bytes) -> tuple[int, int] | None:
    """``(width, height)`` from a PNG's header, or None for other bytes."""
    if len(data) < 24 or not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", data[16:24])
