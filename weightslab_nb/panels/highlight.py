"""The step highlight shared by the panels of one session: "the batch of step N".

Clicking a point of a curve (:class:`~weightslab_nb.panels.curves.LossCurves`) puts the refs
``(origin, sample_id)`` of the samples of that step's training batch on the session's
:class:`HighlightBus`; the sample grid (another widget) polls the bus, shows a chip and can
restrict its pages to those samples (:func:`highlight_page`). The bus itself is session state
(:class:`~weightslab_nb.ledger.selection.HighlightBus`, ``session.highlight``).
"""

from __future__ import annotations

from dataclasses import replace

from weightslab_nb.ledger.selection import Highlight, HighlightBus  # noqa: F401 (re-exported)


def highlight_bus(session) -> HighlightBus:
    """The highlight bus of ``session`` (``session.highlight``)."""
    return session.highlight


def highlight_page(session, query, refs, sort_values=None, **kwargs):
    """Like ``session.grid_page(query, sort_values)``, restricted to the samples ``refs``
    (``(origin, sample_id)`` each; unknown ones are skipped).

    The filters and the sort of ``query`` apply as usual; ``matched`` counts the highlighted
    samples that pass them. ``kwargs`` (``hold``, ``resort``) go to ``grid_page``.
    """
    return session.grid_page(replace(query, sample_ids=tuple(tuple(r) for r in refs)),
                             sort_values, **kwargs)
