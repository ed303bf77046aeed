""":class:`Plotly`: a plotly figure (or a matplotlib figure converted by plotly), saved as its
JSON under ``media/plotly/``. plotly is an optional extra (``weightslab-nb[plotly]``), imported
only when a figure is converted or read back as a figure."""

from __future__ import annotations

import json
import sys

from weightslab_nb.errors import InvalidTypeError, InvalidValueError, MissingExtraError
from weightslab_nb.tracking.media.base import _FileMedia

PLOTLY_EXTRA = "pip install 'weightslab-nb[plotly]'"


def _import_plotly():
    # plotly looks pandas up in sys.modules without importing it: while another thread (a
    # panel, the recorder) is importing pandas, it would find it half-initialised. Importing
    # it here waits for that import to finish.
    import pandas  # noqa: F401

    try:
        import plotly
        import plotly.io  # noqa: F401
    except ImportError:
        raise MissingExtraError(f"Plotly needs the plotly package: {PLOTLY_EXTRA} (or pip "
                                "install plotly)") from None
    return plotly


def _is_plotly_figure(value) -> bool:
    module = sys.modules.get("plotly.basedatatypes")
    return module is not None and isinstance(value, module.BaseFigure)


def _from_matplotlib(figure):
    plotly = _import_plotly()
    from plotly import tools

    try:
        converted = tools.mpl_to_plotly(figure)
    except Exception as exc:  # noqa: BLE001 - the converter fails in many ways
        raise InvalidValueError(f"val: plotly {plotly.__version__} cannot convert this matplotlib "
                                f"figure ({type(exc).__name__}: {exc}); log it as an image "
                                "instead: wl.Image(figure)") from None
    if not converted.data:  # images, pies...: the converter drops what it does not know
        raise InvalidValueError("val: plotly's matplotlib converter kept nothing of this figure "
                                "(it converts lines, markers and bars, not images or pies); log "
                                "it as an image instead: wl.Image(figure)")
    return converted


class Plotly(_FileMedia):
    """A plotly figure, saved as plotly's JSON of it (``.plotly.json``).

    Parameters
    ----------
    val : plotly.graph_objects.Figure or matplotlib.figure.Figure
        A plotly figure is saved as ``figure.to_json()`` (numpy arrays in plotly's compact
        binary form). A matplotlib figure is first converted with
        ``plotly.tools.mpl_to_plotly``, as wandb does (lines, markers, bars); a figure that
        converter fails on or converts to no trace at all (images, pies, polar axes) is an
        error telling to log it with ``wl.Image`` instead.

    Attributes
    ----------
    size : int
        Bytes of the saved JSON.

    Raises
    ------
    TypeError
        ``val`` is neither a plotly nor a matplotlib figure.
    ValueError
        The matplotlib figure cannot be converted.
    weightslab_nb.errors.MissingExtraError
        A matplotlib figure is given and plotly is not installed (an ``ImportError`` naming
        the ``weightslab-nb[plotly]`` extra).
    """

    _type = "plotly-file"
    _kind_dir = "plotly"
    _ext = "plotly.json"

    def __init__(self, val):
        from weightslab_nb.tracking.media.image import _figure_of

        if _is_plotly_figure(val):
            _import_plotly()
        else:
            figure = _figure_of(val)
            if figure is None:
                raise InvalidTypeError(f"val: expected a plotly or matplotlib figure, got "
                                       f"{type(val).__name__}")
            val = _from_matplotlib(figure)
        self._payload = val.to_json().encode("utf-8")
        self.size = len(self._payload)

    def to_dict(self) -> dict:
        """The figure as plotly's JSON dict (``{"data": [...], "layout": {...}}``); numpy
        arrays are in plotly's binary form ``{"dtype": ..., "bdata": <base64>}``."""
        return json.loads(self._payload)

    def to_figure(self):
        """The figure as a ``plotly.graph_objects.Figure`` (needs plotly)."""
        _import_plotly()
        import plotly.io

        return plotly.io.from_json(self._payload.decode("utf-8"))

    def _restore(self, descriptor, run_dir) -> None:
        self.size = len(self._payload)

    def __repr__(self) -> str:
        return f"<Plotly {len(self.to_dict().get('data', []))} traces, {self.size} bytes>"
