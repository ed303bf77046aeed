"""dashboard(): the panels laid out together.

Top: a left column with the training controls (and their Evaluate section) above the
hyperparameter editor, the loss curves beside it. Below: the sample grid and the tag editor.
"""

from __future__ import annotations

import ipywidgets

from weightslab_nb.panels._base import show_with_fallback
from weightslab_nb.panels.controls import TrainingControls
from weightslab_nb.panels.curves import LossCurves
from weightslab_nb.panels.grid import SampleGrid
from weightslab_nb.panels.hparams import HyperParameterEditor
from weightslab_nb.panels.tags import TagEditor


class Dashboard(ipywidgets.VBox):
    """The five panels of one session in one box.

    ``make_panel(panel_class, **kwargs) -> widget``, when given, builds each panel instead of
    ``panel_class(session, **kwargs)`` (the attached dashboard builds mirrors of panels hosted
    in another process this way, :mod:`weightslab_nb.serving.attached_panels`); ``kwargs`` are
    the widget's ``layout`` (and the grid's ``thumbnail`` when one is given).

    Attributes
    ----------
    controls : TrainingControls
    hparams : HyperParameterEditor
    curves : LossCurves
    grid : SampleGrid
    tags : TagEditor
    """

    def __init__(self, session, thumbnail=None, *, make_panel=None, **kwargs):
        self.session = session
        make = make_panel or (lambda cls, **kw: cls(session, **kw))
        grid_options = {} if thumbnail is None else {"thumbnail": thumbnail}
        self.controls = make(TrainingControls, layout=ipywidgets.Layout(width="100%"))
        self.hparams = make(HyperParameterEditor, layout=ipywidgets.Layout(width="100%"))
        left = ipywidgets.VBox([self.controls, self.hparams],
                               layout=ipywidgets.Layout(width="290px", flex="0 0 auto"))
        self.curves = make(LossCurves, layout=ipywidgets.Layout(flex="1 1 auto", min_width="0"))
        self.grid = make(SampleGrid, **grid_options,
                         layout=ipywidgets.Layout(flex="1 1 auto", min_width="0"))
        self.tags = make(TagEditor, layout=ipywidgets.Layout(width="300px", flex="0 0 auto"))
        top = ipywidgets.HBox([left, self.curves],
                              layout=ipywidgets.Layout(width="100%", align_items="flex-start"))
        bottom = ipywidgets.HBox([self.grid, self.tags],
                                 layout=ipywidgets.Layout(width="100%", align_items="flex-start"))
        super().__init__([top, bottom], **kwargs)
        self.add_class("wl-dashboard")

    @property
    def panels(self) -> tuple:
        """The five panels: controls, hyperparameters, curves, grid, tags."""
        return (self.controls, self.hparams, self.curves, self.grid, self.tags)

    def has_live_view(self) -> bool:
        """Whether a front-end drew any of the panels."""
        return any(p.has_live_view() for p in self.panels)

    def widget_bundle(self) -> tuple[dict, dict]:
        """The box's mimebundle (live view) plus the static fallback of all panels."""
        from weightslab_nb.panels.fallback import dashboard as fallback

        found = super()._repr_mimebundle_()
        data, metadata = found if isinstance(found, tuple) else (found or {}, {})
        return {**data, **fallback.bundle(self)}, metadata

    def static_bundle(self) -> dict:
        """``{"text/html", "text/plain"}`` of all panels (what a refresh sends)."""
        from weightslab_nb.panels.fallback import dashboard as fallback

        return fallback.bundle(self)

    def _repr_mimebundle_(self, **kwargs):
        if getattr(self, "comm", None) is None:
            return self.static_bundle(), {}
        return self.widget_bundle()

    def _ipython_display_(self) -> None:
        """Display with a display id, so the fallback can be refreshed when training stops
        (see :func:`~weightslab_nb.panels._base.show_with_fallback`)."""
        show_with_fallback(self)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every panel reflects the session as of now."""
        return all([p.flush(timeout) for p in self.panels])

    def close(self) -> None:
        """Stop every panel's publisher and close the widgets."""
        for panel in getattr(self, "panels", ()):
            panel.close()
        _close_boxes(self.children)
        super().close()


def _close_boxes(children) -> None:
    """Close the layout boxes (panels are closed already), innermost first."""
    for child in list(children):
        if isinstance(child, ipywidgets.Box):
            _close_boxes(child.children)
        child.close()


def dashboard(session, thumbnail=None) -> Dashboard:
    """Controls and hyperparameters beside the curves on top, the sample grid and tag editor
    below, for one session.

    Parameters
    ----------
    session : Session
        The session shown (``wl.<panel>()`` in the facade passes the current one).
    thumbnail : callable, optional
        ``thumbnail(sample_input) -> PNG bytes | PIL image | array`` for the grid.

    Returns
    -------
    Dashboard
        An ``ipywidgets.VBox``; its panels are ``.controls``, ``.hparams``, ``.curves``,
        ``.grid``, ``.tags``;
        ``.close()`` closes them all.
    """
    return Dashboard(session, thumbnail=thumbnail)
