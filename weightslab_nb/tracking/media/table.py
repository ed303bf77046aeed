""":class:`Table`: rows of cells under named columns, saved as one JSON file."""

from __future__ import annotations

import datetime as _dt
import json
import math
import sys
from pathlib import Path
from typing import ClassVar

import numpy as np

from weightslab_nb.errors import InvalidTypeError, InvalidValueError, UnknownNameError
from weightslab_nb.tracking.media._checks import _as_array, _is_tensor
from weightslab_nb.tracking.media._files import _check_key_step, _store
from weightslab_nb.tracking.media.base import Media

MAX_TABLE_ROWS = 200_000
DEFAULT_TABLE_COLUMNS = ("Input", "Output", "Expected")


def _check_cell(value, where: str):
    """A JSON-able cell: None, bool, int, finite float (else None), str, or a Media."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, Table):
        raise InvalidTypeError(f"{where}: a Table cannot hold another Table")
    if isinstance(value, Media):
        return value
    if (_is_tensor(value) or isinstance(value, np.ndarray)) and getattr(value, "ndim", 1) == 0:
        return _check_cell(_as_array(value, where).item(), where)
    raise InvalidTypeError(f"{where}: a cell must be a number, string, bool, None or a media value "
                           f"(Image, Histogram, ...), got {type(value).__name__}")


def _check_columns(columns, argument: str) -> list[str]:
    if isinstance(columns, (str, bytes)) or not hasattr(columns, "__iter__"):
        raise InvalidTypeError(f"{argument}: expected a list of column names, got "
                               f"{type(columns).__name__}")
    columns = list(columns)
    if not all(isinstance(c, str) for c in columns):
        raise InvalidTypeError(f"{argument}: column names must be strings, got {columns!r}")
    if len(set(columns)) != len(columns):
        raise InvalidValueError(f"{argument}: column names must be unique, got {columns!r}")
    return columns


def _dataframe_rows(dataframe) -> tuple[list[str], list]:
    pandas = sys.modules.get("pandas")
    if pandas is None or not isinstance(dataframe, pandas.DataFrame):
        raise InvalidTypeError(f"dataframe: expected a pandas.DataFrame, got "
                               f"{type(dataframe).__name__}")
    columns = _check_columns([str(c) for c in dataframe.columns], "dataframe")
    cells = dataframe.astype(object).where(dataframe.notna(), None)
    return columns, cells.values.tolist()


class Table(Media):
    """Rows of cells under named columns, saved as one JSON file.

    Parameters
    ----------
    columns : list[str], optional
        Unique column names; ``["Input", "Output", "Expected"]`` when omitted.
    data : 2-D array-like or list of rows, optional
        Each row holds one cell per column. A cell is a number, string, bool, None or a media
        value (an :class:`Image` in a cell is saved with the table and the cell holds its
        descriptor). Numpy scalars become Python numbers, NaN and inf become None, dates
        become ISO strings.
    rows : list of rows, optional
        Another name for ``data``; pass only one of them.
    dataframe : pandas.DataFrame, optional
        Columns (names turned into strings) and rows from a frame; missing values become
        None. Excludes ``columns``, ``data`` and ``rows``.

    Raises
    ------
    ValueError
        A row of the wrong length, duplicate column names, conflicting arguments, or more
        than 200,000 rows.
    TypeError
        A cell, row or column name of a type not listed above.
    """

    _type: ClassVar[str] = "table-file"

    def __init__(self, columns=None, data=None, rows=None, dataframe=None):
        argument = "data" if rows is None else "rows"
        if dataframe is not None:
            if columns is not None or data is not None or rows is not None:
                raise InvalidValueError("dataframe: pass either a DataFrame or columns/data/rows, "
                                        "not both")
            columns, data = _dataframe_rows(dataframe)
            argument = "dataframe"
        elif data is not None and rows is not None:
            raise InvalidValueError("rows: 'rows' is another name for 'data'; pass only one of "
                                    "them")
        self._columns = _check_columns(DEFAULT_TABLE_COLUMNS if columns is None else columns,
                                       "columns")
        self._rows: list[list] = []
        source = data if data is not None else rows
        if source is not None:
            self._rows = self._checked_rows(source, argument)

    @property
    def columns(self) -> list[str]:
        """The column names (a copy)."""
        return list(self._columns)

    @property
    def data(self) -> list[list]:
        """The rows (copies; change the table with :meth:`add_data` / :meth:`add_column`)."""
        return [list(row) for row in self._rows]

    def _checked_rows(self, rows, argument: str) -> list[list]:
        pandas = sys.modules.get("pandas")
        # pandas may be half-imported by another thread (no DataFrame yet): then rows are not one
        if pandas is not None and isinstance(rows, getattr(pandas, "DataFrame", ())):
            raise InvalidTypeError(f"{argument}: pass a DataFrame as Table(dataframe=...)")
        if _is_tensor(rows) or isinstance(rows, np.ndarray):
            array = _as_array(rows, argument)
            if array.ndim != 2:
                raise InvalidValueError(f"{argument}: expected a 2-D array, got shape "
                                        f"{array.shape}")
            rows = array.tolist()
        if isinstance(rows, (str, bytes, dict)) or not hasattr(rows, "__iter__"):
            raise InvalidTypeError(f"{argument}: expected a list of rows, got "
                                   f"{type(rows).__name__}")
        rows = list(rows)
        self._check_room(len(rows), argument)
        return [self._checked_row(row, f"{argument}[{i}]") for i, row in enumerate(rows)]

    def _checked_row(self, row, where: str) -> list:
        if _is_tensor(row) or isinstance(row, np.ndarray):
            row = _as_array(row, where).tolist()
        if not isinstance(row, (list, tuple)):
            raise InvalidTypeError(f"{where}: expected a list or tuple of cells, got "
                                   f"{type(row).__name__}")
        if len(row) != len(self._columns):
            raise InvalidValueError(f"{where}: expected {len(self._columns)} cells (columns "
                                    f"{self._columns}), got {len(row)}")
        return [_check_cell(cell, f"{where}[{j}]") for j, cell in enumerate(row)]

    def _check_room(self, extra: int, argument: str) -> None:
        limit = MAX_TABLE_ROWS
        if len(self._rows) + extra > limit:
            raise InvalidValueError(f"{argument}: a Table holds at most {limit:,} rows; this "
                                    f"would make {len(self._rows) + extra:,}")

    def add_data(self, *row) -> None:
        """Append one row, one cell per column (see the class for the accepted cells).

        Raises
        ------
        ValueError
            The number of cells differs from the number of columns, or the table is full.
        TypeError
            A cell of a type not accepted.
        """
        self._check_room(1, "add_data")
        self._rows.append(self._checked_row(list(row), "add_data"))

    def add_column(self, name: str, data) -> None:
        """Append a column.

        Parameters
        ----------
        name : str
            A name not already used.
        data : sequence, 1-D array or Tensor
            One cell per existing row (any length when the table has no columns and no rows).

        Raises
        ------
        ValueError
            ``name`` is taken or ``data`` has the wrong length.
        TypeError
            ``name`` is not a string or a cell is not accepted.
        """
        if not isinstance(name, str):
            raise InvalidTypeError(f"name: expected a string, got {type(name).__name__}")
        if name in self._columns:
            raise InvalidValueError(f"name: column {name!r} already exists")
        if _is_tensor(data) or isinstance(data, np.ndarray):
            data = _as_array(data, "data").tolist()
        cells = [_check_cell(v, f"data[{i}]") for i, v in enumerate(data)]
        if self._columns or self._rows:
            if len(cells) != len(self._rows):
                raise InvalidValueError(f"data: expected {len(self._rows)} values (one per row), "
                                        f"got {len(cells)}")
            self._rows = [row + [cell] for row, cell in zip(self._rows, cells)]
        else:
            self._check_room(len(cells), "data")
            self._rows = [[cell] for cell in cells]
        self._columns.append(name)

    def get_column(self, name: str, convert_to: str | None = None):
        """The cells of column ``name`` as a list, or a numpy array with ``convert_to="numpy"``.

        Raises
        ------
        KeyError
            No column is called ``name``.
        ValueError
            ``convert_to`` is neither None nor ``"numpy"``.
        """
        if name not in self._columns:
            raise UnknownNameError(f"name: no column {name!r}; columns are {self._columns}")
        if convert_to not in (None, "numpy"):
            raise InvalidValueError(f"convert_to: expected None or 'numpy', got {convert_to!r}")
        index = self._columns.index(name)
        values = [row[index] for row in self._rows]
        return np.array(values) if convert_to == "numpy" else values

    def get_dataframe(self):
        """The table as a ``pandas.DataFrame`` (media cells stay media objects)."""
        import pandas

        return pandas.DataFrame(self.data, columns=self.columns)

    def to_json(self, run_dir: Path, key: str, step: int) -> dict:
        key, step = _check_key_step(key, step)
        data = [[c.to_json(run_dir, f"{key}_{i}_{j}", step) if isinstance(c, Media) else c
                 for j, c in enumerate(row)] for i, row in enumerate(self._rows)]
        payload = json.dumps({"columns": self._columns, "data": data}, allow_nan=False,
                             ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        stored = _store(run_dir, "tables", key, step, "table.json", payload)
        return {"_type": self._type, **stored, "ncols": len(self._columns),
                "nrows": len(self._rows)}

    to_json.__doc__ = Media.to_json.__doc__

    def __repr__(self) -> str:
        return f"<Table {len(self._rows)} rows x {len(self._columns)} columns {self._columns}>"
