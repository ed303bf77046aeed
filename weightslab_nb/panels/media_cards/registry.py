"""The registry of card kinds: :class:`CardKind`, :data:`CARD_KINDS`, :func:`register`,
:func:`card_of`, and :data:`VENDOR_ASSETS` (see :mod:`weightslab_nb.panels.media_cards`)."""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable

#: ``asset`` request name -> the bundled file under ``weightslab_nb/static/``.
VENDOR_ASSETS = {"plotly": "vendor-plotly.js", "vega": "vendor-vega.js"}

#: Reads one of the run's files by its path relative to the run folder (bytes; raises
#: :class:`~weightslab_nb.panels.messages.MessageError` when it is missing or too large).
ReadFile = Callable[[str], bytes]


def _own_file(descriptor: dict) -> list[str]:
    path = descriptor.get("path")
    return [path] if isinstance(path, str) else []


@dataclass(frozen=True)
class CardKind:
    """How the panel shows values of one descriptor ``"_type"``.

    Attributes
    ----------
    kind : str
        The entry's ``kind``: the browser draws it with the view of that name
        (``js/src/cards/``).
    summary : callable
        ``summary(descriptor) -> dict``: the entry's ``value``, small and JSON-able (it is in
        the trait, sent on every change of the run).
    items : callable
        ``items(read, descriptor) -> [(meta, bytes), ...]``: the ``media`` reply. ``meta`` holds
        ``"mime"`` (accepted by the view) and ``"caption"``, plus what the view needs;
        ``read(relative_path)`` gives a file's bytes (kept in memory by the panel).
    files : callable
        ``files(descriptor) -> [relative path, ...]``: the files read into memory as soon as
        the value is published (default: the descriptor's own ``"path"``).
    """

    kind: str
    summary: Callable[[dict], dict]
    items: Callable[[ReadFile, dict], list[tuple[dict, bytes]]]
    files: Callable[[dict], list[str]] = _own_file


#: descriptor ``"_type"`` -> its card.
CARD_KINDS: dict[str, CardKind] = {}


def register(descriptor_type: str, card: CardKind) -> None:
    """Show values of ``descriptor_type`` with ``card`` (one card per type)."""
    if descriptor_type in CARD_KINDS:
        raise ValueError(f"descriptor_type: {descriptor_type!r} already has a card")
    CARD_KINDS[descriptor_type] = card


def card_of(descriptor) -> CardKind | None:
    """The card registered for a descriptor, or None (a value the panel shows otherwise)."""
    if not isinstance(descriptor, dict):
        return None
    return CARD_KINDS.get(descriptor.get("_type"))


def card_of_list(descriptor) -> CardKind | None:
    """The card of a list of values of one registered type (``wl.log({"k": [m0, m1]})``
    stores a ``"media-list"``), or None."""
    if not isinstance(descriptor, dict) or descriptor.get("_type") != "media-list":
        return None
    items = descriptor.get("items")
    if not isinstance(items, list) or not items:
        return None
    cards = {id(card_of(item)): card_of(item) for item in items}
    if len(cards) != 1:
        return None
    return next(iter(cards.values()))


def describe(descriptor, limit: int) -> tuple[str, dict] | None:
    """``(kind, summary)`` of a value with a card, or of a list of such values (the summary
    is then ``{"list": True, "count", "items": [summary of each of the first limit]}``); None
    for the other values."""
    card = card_of(descriptor)
    if card is not None:
        return card.kind, card.summary(descriptor)
    card = card_of_list(descriptor)
    if card is None:
        return None
    values = descriptor["items"]
    return card.kind, {"list": True, "count": len(values),
                       "items": [card.summary(v) for v in values[:limit]]}


def media_items(read: ReadFile, descriptor, limit: int) -> tuple[list[tuple[dict, bytes]], int]:
    """The ``media`` reply of a value with a card: ``(items, count)``. A single value gives its
    card's items (the first ``limit``; ``count`` all of them); a list gives the items of its
    first ``limit`` values, each marked with its value's ``"index"`` (``count``: the values)."""
    card = card_of(descriptor)
    if card is not None:
        items = card.items(read, descriptor)
        return items[:limit], len(items)
    card = card_of_list(descriptor)
    values = descriptor["items"]
    out = [({**meta, "index": i}, data) for i, value in enumerate(values[:limit])
           for meta, data in card.items(read, value)]
    return out, len(values)


def files_of(descriptor, limit: int) -> list[str]:
    """The files the panel keeps in memory for a value with a card (or a list of them)."""
    card = card_of(descriptor)
    if card is not None:
        return card.files(descriptor)
    card = card_of_list(descriptor)
    if card is None:
        return []
    return [path for value in descriptor["items"][:limit] for path in card.files(value)]
