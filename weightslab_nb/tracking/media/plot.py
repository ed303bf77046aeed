"""The chart value: :class:`Plot`, a table plus which of its columns plays which part.

Charts are built by the functions of :mod:`weightslab_nb.tracking.plot` (``wl.plot.line``,
``wl.plot.confusion_matrix``, ...). Logging one writes its table like a :class:`Table` and
stores ``{"_type": "plot", "chart", "title", "x_label", "y_label", "fields", "table", ...}``
where ``fields`` maps a part (``"x"``, ``"y"``, ``"series"``, ``"label"``, ``"value"``...) to a
column name and ``table`` is the table's descriptor.
"""

from __future__ import annotations

from pathlib import Path

from weightslab_nb.errors import InvalidTypeError, InvalidValueError
from weightslab_nb.tracking.media.base import Media
from weightslab_nb.tracking.media.table import Table

CHARTS = ("line", "scatter", "bar", "histogram", "line_series", "confusion_matrix",
          "pr_curve", "roc_curve")


class Plot(Media):
    """A chart: a :class:`Table` and the roles of its columns.

    Parameters
    ----------
    chart : str
        One of :data:`CHARTS`.
    table : Table
    fields : dict[str, str]
        Part -> column name; every column must exist in ``table``.
    title, x_label, y_label : str, optional
    extra : dict, optional
        JSON-able chart settings stored with it (e.g. the class order of a confusion matrix).

    Raises
    ------
    ValueError
        An unknown chart or a field naming a missing column.
    TypeError
        ``table`` is not a Table, or a title/label is not a string.
    """

    def __init__(self, chart: str, table: Table, fields: dict, title: str | None = None,
                 x_label: str | None = None, y_label: str | None = None,
                 extra: dict | None = None):
        if chart not in CHARTS:
            raise InvalidValueError(f"chart: expected one of {CHARTS}, got {chart!r}")
        if not isinstance(table, Table):
            raise InvalidTypeError(f"table: expected a wl.Table, got {type(table).__name__}")
        for part, column in fields.items():
            if column not in table.columns:
                raise InvalidValueError(f"{part}: no column {column!r} in the table; columns: "
                                        f"{table.columns}")
        for name, text in (("title", title), ("x_label", x_label), ("y_label", y_label)):
            if text is not None and not isinstance(text, str):
                raise InvalidTypeError(f"{name}: expected a string or None, got "
                                       f"{type(text).__name__}")
        self.chart, self.table, self.fields = chart, table, dict(fields)
        self.title, self.x_label, self.y_label = title, x_label, y_label
        self.extra = dict(extra or {})

    def to_json(self, run_dir: Path, key: str, step: int) -> dict:
        return {"_type": "plot", "chart": self.chart, "title": self.title,
                "x_label": self.x_label, "y_label": self.y_label, "fields": self.fields,
                **self.extra, "table": self.table.to_json(run_dir, key, step)}

    to_json.__doc__ = Media.to_json.__doc__

    def __repr__(self) -> str:
        return (f"<Plot {self.chart} title={self.title!r} fields={self.fields} "
                f"rows={len(self.table.data)}>")
