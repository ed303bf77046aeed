"""Cards of the RunMedia panel for the wandb data types beyond images, tables and charts.

Each kind lives in a module of its own and registers a :class:`CardKind` for the descriptor
``"_type"`` it shows. The panel asks the registry two things about such a value: the small
summary the card shows at once (the entry's ``value`` in the ``entries`` trait), and the items
of a ``media`` reply (their metadata and bytes: a JSON file, an SVG depiction...), sent only
when the card is on screen. Kinds that need a bundled browser library (plotly.js, Vega) load it
with the panel's ``asset`` request (:data:`VENDOR_ASSETS`).

Registered here (a module per kind):

* ``json_metadata``: ``JSONMetadata`` as an expandable JSON tree (kind ``"json"``).
* ``plotly``: ``Plotly`` figures drawn interactively by the bundled plotly.js (kind
  ``"plotly"``).
"""

from __future__ import annotations

from weightslab_nb.panels.media_cards.registry import (CARD_KINDS, VENDOR_ASSETS, CardKind,
                                                       ReadFile, card_of, register)
# each module registers its card when imported
from weightslab_nb.panels.media_cards import json_metadata  # noqa: F401
from weightslab_nb.panels.media_cards import plotly  # noqa: F401

__all__ = ["CARD_KINDS", "VENDOR_ASSETS", "CardKind", "ReadFile", "card_of", "register"]
