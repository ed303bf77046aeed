"""The registry of card kinds: :class:`CardKind`, :data:`CARD_KINDS`, :func:`register`,
:func:`card_of`, and :data:`VENDOR_ASSETS` (see :mod:`weightslab_nb.panels.media_cards`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

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
