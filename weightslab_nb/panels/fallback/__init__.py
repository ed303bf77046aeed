"""Static fallbacks: what a panel shows where no live widget can run.

A widget output carries ``application/vnd.jupyter.widget-view+json`` (the live view) and, from
here, ``text/html`` (the panel's current state as plain HTML: curves as a PNG image, the grid's
first page as a table with thumbnails, the training state as text, ...) and ``text/plain`` (a
one-line summary instead of the object's repr). Front-ends pick the richest type they can
render: JupyterLab, Notebook 7 and VS Code the live view; nbconvert's HTML and GitHub the HTML
when the widget cannot be drawn (see :mod:`weightslab_nb.panels.fallback.display` for when
that is, and how the fallback is refreshed once training stops).

One module per panel kind, each with ``render(panel) -> str`` (HTML) and ``summary(panel) ->
str`` (one line); :func:`fallback_bundle` dispatches on the panel's class.
"""

from __future__ import annotations

import logging

from weightslab_nb.panels.fallback import controls, curves, grid, hparams, media, tags
from weightslab_nb.panels.fallback.html import esc, section

log = logging.getLogger(__name__)

#: Panel class name -> renderer module (subclasses use their base's).
RENDERERS = {"LossCurves": curves, "SampleGrid": grid, "TrainingControls": controls,
             "TagEditor": tags, "HyperParameterEditor": hparams, "RunMedia": media}

HTML, TEXT = "text/html", "text/plain"


def renderer(panel):
    """The renderer module of ``panel`` (by its class or a base class), or None."""
    for cls in type(panel).__mro__:
        found = RENDERERS.get(cls.__name__)
        if found is not None:
            return found
    return None


def fallback_html(panel, **options) -> str:
    """The panel's static HTML (``options`` go to its renderer); a renderer that fails gives a
    short note saying why (a display must never fail because of its fallback)."""
    module = renderer(panel)
    if module is None:
        return section("other", type(panel).__name__, "<p>no static view</p>")
    try:
        return module.render(panel, **options)
    except Exception as exc:
        log.warning("static fallback of %s failed", type(panel).__name__, exc_info=True)
        return section("error", type(panel).__name__,
                       f"<p>static view unavailable: {esc(type(exc).__name__)}: {esc(exc)}</p>")


def fallback_text(panel) -> str:
    """One line saying what the panel shows (instead of ``<... object at 0x...>``)."""
    module = renderer(panel)
    try:
        detail = module.summary(panel) if module is not None else "live panel"
    except Exception as exc:
        detail = f"summary unavailable ({type(exc).__name__})"
    return f"{type(panel).__name__}: {detail}"


def fallback_bundle(panel) -> dict:
    """``{"text/html": ..., "text/plain": ...}`` of a panel."""
    return {HTML: fallback_html(panel), TEXT: fallback_text(panel)}
