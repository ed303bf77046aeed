"""Cards of the RunMedia panel for the wandb data types beyond images, tables and charts.

Each kind lives in a module of its own and registers a :class:`CardKind` for the descriptor
``"_type"`` it shows. The panel asks the registry two things about such a value: the small
summary the card shows at once (the entry's ``value`` in the ``entries`` trait), and the items
of a ``media`` reply (their metadata and bytes: a JSON file, an SVG depiction...), sent only
when the card is on screen. Kinds that need a bundled browser library (plotly.js, Vega) load it
with the panel's ``asset`` request (:data:`VENDOR_ASSETS`).

Registered here (a module per kind):

* ``json_metadata``: ``JSONMetadata`` as an expandable JSON tree (kind ``"json"``).
* ``boxes``: a ``BoundingBoxes2D`` logged alone, its boxes in their own frame (kind ``"boxes"``).
* ``mask``: an ``ImageMask`` logged alone, coloured per class (kind ``"mask"``).
* ``molecule``: ``Molecule`` as a 2-D drawing (RDKit, when installed) with its file to
  download (kind ``"molecule"``).
* ``graph``: ``Graph`` as a layered drawing of its nodes and edges (kind ``"graph"``).
* ``plotly``: ``Plotly`` figures drawn interactively by the bundled plotly.js (kind
  ``"plotly"``).
* ``vega``: ``wl.plot_table`` custom charts drawn with vega-embed (kind ``"vega"``).

:mod:`~weightslab_nb.panels.media_cards.overlays` also gives the boxes and masks of an image
card (``wl.Image(boxes=..., masks=...)``).
"""

from __future__ import annotations

from weightslab_nb.panels.media_cards.registry import (CARD_KINDS, VENDOR_ASSETS, CardKind,
                                                       ReadFile, card_of, register)
# each module registers its card when imported
from weightslab_nb.panels.media_cards import (boxes, graph, json_metadata, mask,  # noqa: F401
                                              molecule, plotly, vega)

__all__ = ["CARD_KINDS", "VENDOR_ASSETS", "CardKind", "ReadFile", "card_of", "register"]
