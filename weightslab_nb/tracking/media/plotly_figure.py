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


#: Trace attributes that hold one value per point; a trace's point count is the largest of them.
_POINT_ARRAYS = ("x", "y", "z", "values", "labels", "r", "theta", "lat", "lon", "a", "b", "c",
                 "open", "high", "low", "close", "u", "v", "w")
#: Bytes per value of the dtypes of plotly's binary arrays.
_ITEMSIZE = {"i1": 1, "u1": 1, "u1c": 1, "i2": 2, "u2": 2, "i4": 4, "u4": 4, "f4": 4, "f8": 8}


def _count(array) -> int:
    """Values in a data array of plotly's JSON: a list (a list of rows counts their cells), or
    the binary form ``{"dtype", "bdata", "shape"?}``."""
    if isinstance(array, list):
        if array and all(isinstance(row, list) for row in array):
            return sum(len(row) for row in array)
        return len(array)
    if isinstance(array, dict) and isinstance(array.get("bdata"), str):
        shape = array.get("shape")
        if isinstance(shape, str) and shape:
            cells = 1
            try:
                for dim in shape.split(","):
                    cells *= int(dim)
                return cells
            except ValueError:
                pass  # not plotly's "rows, cols": count the bytes instead
        text = array["bdata"]  # base64: 4 characters for 3 bytes, "=" pads the last group
        nbytes = len(text) * 3 // 4 - len(text) + len(text.rstrip("="))
        return nbytes // _ITEMSIZE.get(str(array.get("dtype")), 8)
    return 0


def figure_stats(figure: dict) -> dict:
    """``{"traces", "trace_types", "points"}`` of a figure in plotly's JSON form: the number of
    traces, their types (in order, each once; ``"scatter"`` where unset) and the points of all
    traces (a trace's points: its longest data array of :data:`_POINT_ARRAYS`)."""
    data = figure.get("data") if isinstance(figure, dict) else None
    traces = [t for t in data if isinstance(t, dict)] if isinstance(data, list) else []
    types = list(dict.fromkeys(str(t.get("type", "scatter")) for t in traces))
    points = sum(max((_count(t.get(name)) for name in _POINT_ARRAYS), default=0)
                 for t in traces)
    return {"traces": len(traces), "trace_types": types, "points": points}


class Plotly(_FileMedia):
    """A plotly figure, saved as plotly's JSON of it (``.plotly.json``).

    Parameters
    ----------
    val : plotly.graph_objects.Figure, dict or matplotlib.figure.Figure
        A plotly figure is saved as ``figure.to_json()`` (numpy arrays in plotly's compact
        binary form); a dict (``figure.to_dict()``, a figure's JSON read back) is checked by
        ``plotly.graph_objects.Figure`` first. A matplotlib figure is first converted with
        ``plotly.tools.mpl_to_plotly``, as wandb does (lines, markers, bars); a figure that
        converter fails on or converts to no trace at all (images, pies, polar axes) is an
        error telling to log it with ``wl.Image`` instead.

    Attributes
    ----------
    size : int
        Bytes of the saved JSON.
    traces : int
        The number of traces.
    trace_types : list of str
        The traces' types, each once, in order (``"scatter"`` for a trace without one).
    points : int
        Points of all traces (a trace counts its longest data array: ``x``, ``y``, ``values``...).

    Raises
    ------
    TypeError
        ``val`` is neither a plotly figure, a dict nor a matplotlib figure.
    ValueError
        The matplotlib figure cannot be converted, or the dict is not a plotly figure.
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
        elif isinstance(val, dict):  # a figure as a dict (fig.to_dict(), a JSON file read)
            plotly = _import_plotly()
            try:
                val = plotly.graph_objects.Figure(val)
            except ValueError as exc:
                why = " ".join(str(exc).split())[:300]
                raise InvalidValueError(f"val: not a plotly figure dict ({why})") from None
        else:
            figure = _figure_of(val)
            if figure is None:
                raise InvalidTypeError(f"val: expected a plotly figure (or its dict) or a "
                                       f"matplotlib figure, got {type(val).__name__}")
            val = _from_matplotlib(figure)
        self._payload = val.to_json().encode("utf-8")
        self.size = len(self._payload)
        self._set_stats()

    def _set_stats(self) -> None:
        stats = figure_stats(self.to_dict())
        self.traces, self.trace_types, self.points = (stats["traces"], stats["trace_types"],
                                                      stats["points"])

    def _fields(self) -> dict:
        return {"traces": self.traces, "trace_types": list(self.trace_types),
                "points": self.points}

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
        if not all(name in descriptor for name in ("traces", "trace_types", "points")):
            self._set_stats()  # logged before these fields were recorded

    def __repr__(self) -> str:
        return f"<Plotly {self.traces} traces, {self.points} points, {self.size} bytes>"
