"""Panels of a run in another process, shown in this notebook (the entry points).

* :func:`attached_panel` ``(connection, kind, **kwargs)``: one panel (``"grid"``, ``"curves"``,
  ``"controls"``, ``"hparams"``, ``"tags"``, ``"media"``, ``"sample"``);
* :func:`attached_dashboard` ``(connection, page_size=None, **kwargs)``: the layout of
  :class:`~weightslab_nb.panels.dashboard.Dashboard`, built from mirrors;
* :func:`kind_of` maps a panel class (``SampleGrid``) or its name to its kind (``"grid"``).

``connection`` is a :class:`~weightslab_nb.serving.panel_link.PanelLink`, a
:class:`~weightslab_nb.serving.client.Client`, or the run directory of the training process
(``<root_log_dir>``, whose ``serving.json`` is re-read when the connection drops). Each panel is
a mirror (:class:`~weightslab_nb.serving.mirror.AttachedPanel`) of a real panel hosted by the
training process (:mod:`weightslab_nb.serving.panel_host`); see :mod:`weightslab_nb.serving.mirror`
for threads, disconnection and recovery.
"""

from __future__ import annotations

import html

from weightslab_nb.errors import InvalidTypeError, InvalidValueError
from weightslab_nb.panels.dashboard import Dashboard
from weightslab_nb.serving.mirror import AttachedPanel
from weightslab_nb.serving.panel_host import KINDS, panel_class
from weightslab_nb.serving.panel_link import PanelLink

__all__ = ["attached_panel", "attached_dashboard", "kind_of", "mirror_class", "AttachedPanel",
           "AttachedDashboard", "PanelLink"]

_mirrors: dict[str, type] = {}


def kind_of(panel) -> str:
    """The relay kind (``"grid"``...) of a panel class, its name (``"SampleGrid"``) or an
    instance; what a remote session passes to :func:`attached_panel` for ``wl.SampleGrid(s)``.

    Raises
    ------
    InvalidValueError
        Not a panel the relay hosts.
    """
    name = panel if isinstance(panel, str) else getattr(panel, "__name__", None) or \
        type(panel).__name__
    for kind, (_, class_name, _) in KINDS.items():
        if name in (class_name, f"Attached{class_name}", kind):
            return kind
    raise InvalidValueError(f"panel: the relay hosts {[c for _, c, _ in KINDS.values()]}, "
                            f"not {name!r:.60}")


def mirror_class(kind: str) -> type:
    """The mirror class of panels of ``kind`` (cached): ``Attached<PanelClass>``, a subclass
    of :class:`AttachedPanel` and of the real panel class.

    Raises
    ------
    InvalidValueError
        An unknown kind.
    """
    found = _mirrors.get(kind)
    if found is None:
        cls = panel_class(kind)
        found = type(f"Attached{cls.__name__}", (AttachedPanel, cls), {
            "_wl_kind": kind, "__module__": __name__,
            "__doc__": f"A mirror of a {cls.__name__} hosted by another process "
                       "(see weightslab_nb.serving.attached_panels)."})
        _mirrors[kind] = found
    return found


def attached_panel(connection, kind: str, **kwargs):
    """One panel of the run served at ``connection``, live in this notebook.

    Parameters
    ----------
    connection : PanelLink, Client, str or PathLike
        The backend: a link, a console client, or the run directory (``root_log_dir``) whose
        ``serving.json`` names it (re-read after a disconnection).
    kind : str
        ``"controls"``, ``"hparams"``, ``"curves"``, ``"grid"``, ``"tags"``, ``"media"`` or
        ``"sample"``.
    **kwargs
        The panel's options (``page_size``; ``max_points``, ``height``; ``name``;
        ``sample_id``, ``origin``) go to the hosted panel; ``wait`` and ``retry`` to the mirror
        (:class:`AttachedPanel`); anything else is a widget trait (``layout=...``).

    Returns
    -------
    AttachedPanel
        E.g. ``AttachedSampleGrid``: an ``isinstance`` of the real panel class. It attaches in
        the background; ``.wait_connected()``, ``.flush()``, ``.close()``; ``.error`` shows a
        lost connection.

    Raises
    ------
    InvalidValueError
        An unknown kind.
    TypeError
        A bad ``connection``.
    BackendError
        ``connection`` is a directory without ``serving.json``.
    """
    if not isinstance(kind, str):
        raise InvalidTypeError(f"kind: expected a string, got {type(kind).__name__}")
    if kind not in KINDS:
        raise InvalidValueError(f"kind: expected one of {sorted(KINDS)}, got {kind!r:.60}")
    names = KINDS[kind][2]
    options = {k: kwargs.pop(k) for k in list(kwargs) if k in names}
    return mirror_class(kind)(connection, options=options, **kwargs)


def attached_dashboard(connection, *, page_size: int | None = None, **kwargs):
    """The dashboard (controls, hyperparameters, curves, grid, tags; the layout of
    :class:`~weightslab_nb.panels.dashboard.Dashboard`) of the run served at ``connection``.

    Parameters
    ----------
    connection : PanelLink, Client, str or PathLike
        As :func:`attached_panel`; one link is shared by the five mirrors.
    page_size : int, optional
        The grid's page size (the hosted grid's default otherwise).
    **kwargs
        ``wait`` and ``retry`` for every mirror (see :class:`AttachedPanel`).

    Returns
    -------
    AttachedDashboard
        A :class:`~weightslab_nb.panels.dashboard.Dashboard` whose panels are mirrors;
        ``.flush()``, ``.close()``.
    """
    return AttachedDashboard(connection, page_size=page_size, **kwargs)


class AttachedDashboard(Dashboard):
    """A :class:`~weightslab_nb.panels.dashboard.Dashboard` of mirrors (see
    :func:`attached_dashboard`); ``session`` is None, ``link`` the connection."""

    def __init__(self, connection, *, page_size: int | None = None, **mirror_kwargs):
        self.link = PanelLink.of(connection)
        kinds = {cls: kind for kind in KINDS for cls in [panel_class(kind)]}
        grid = {} if page_size is None else {"page_size": page_size}

        def make(cls, **widget_kwargs):
            if "thumbnail" in widget_kwargs:
                raise InvalidValueError("thumbnail: an attached grid draws the thumbnails of "
                                        "the training process")
            options = grid if cls is panel_class("grid") else {}
            return mirror_class(kinds[cls])(self.link, options=options, **mirror_kwargs,
                                            **widget_kwargs)

        super().__init__(None, make_panel=make)

    def static_bundle(self) -> dict:
        """``{"text/html", "text/plain"}``: where the dashboard is attached."""
        text = f"weightslab_nb dashboard attached to {self.link.url}"
        return {"text/plain": text,
                "text/html": f'<div class="wl-attached-fallback">{html.escape(text)}</div>'}

    def widget_bundle(self) -> tuple[dict, dict]:
        """The box's mimebundle (live view) plus :meth:`static_bundle`."""
        import ipywidgets

        found = ipywidgets.VBox._repr_mimebundle_(self)
        data, metadata = found if isinstance(found, tuple) else (found or {}, {})
        return {**data, **self.static_bundle()}, metadata

    def _ipython_display_(self) -> None:
        from IPython.display import display

        data, metadata = self._repr_mimebundle_()
        display(data, raw=True, metadata=metadata)

    def wait_connected(self, timeout: float = 5.0) -> bool:
        """Wait until every mirror is attached."""
        return all([p.wait_connected(timeout) for p in self.panels])
