"""Custom charts (wandb's ``plot_table``): :class:`CustomChart`, a table drawn by a Vega-Lite spec
whose placeholders are bound to the table's columns, and :func:`plot_table`, which builds one from
a named spec (see :mod:`weightslab_nb.tracking.media.vega_specs`).

Logging a chart writes its table like a :class:`Table` and its (unbound) spec as
``media/vega/<key>_<step>_<hash>.vl.json``, and stores ``{"_type": "custom-chart",
"spec_name", "fields", "string_fields", "title", "path", "sha256", "size", "table"}``.
"""

from __future__ import annotations

import json
from pathlib import Path

from weightslab_nb.errors import InvalidTypeError, InvalidValueError
from weightslab_nb.tracking.media._files import _check_key_step, _store
from weightslab_nb.tracking.media.base import Media, _stored_bytes
from weightslab_nb.tracking.media.table import Table
from weightslab_nb.tracking.media.vega_specs import (bind_spec, check_spec, inline_rows,
                                                     placeholders, vega_spec)


class CustomChart(Media):
    """A table drawn by a Vega-Lite spec (build it with :func:`plot_table`).

    Parameters
    ----------
    spec_name : str
        The name the spec was found under (kept for display).
    spec : dict
        The Vega-Lite spec with its ``${field:...}`` / ``${string:...}`` placeholders.
    table : Table
        The rows; cells are numbers, strings, bools or None (no media).
    fields : dict[str, str]
        Placeholder name -> column of ``table``; every ``${field:NAME}`` of the spec is bound.
    string_fields : dict[str, str]
        Placeholder name -> text; every ``${string:NAME}`` of the spec is bound.

    Attributes
    ----------
    spec_name, spec, table, fields, string_fields
        As given (the spec and dicts are copies).
    title : str or None
        The bound spec's top-level title when it is a non-empty string.

    Raises
    ------
    TypeError
        ``table`` is not a Table, ``fields`` / ``string_fields`` not dicts of strings.
    ValueError
        A field naming a missing column or a placeholder the spec lacks, a placeholder left
        unbound, a table cell holding media, or a spec refused by :func:`check_spec`.
    """

    _type = "custom-chart"

    def __init__(self, spec_name: str, spec: dict, table: Table, fields: dict,
                 string_fields: dict):
        if not isinstance(table, Table):
            raise InvalidTypeError(f"data_table: expected a wl.Table, got "
                                   f"{type(table).__name__}")
        self.spec_name = spec_name
        self.spec = check_spec(spec, "spec")
        self.fields = _names(fields, "fields")
        self.string_fields = _names(string_fields, "string_fields")
        needed = placeholders(self.spec)
        _check_bound("fields", spec_name, needed["field"], self.fields)
        _check_bound("string_fields", spec_name, needed["string"], self.string_fields)
        for name, column in self.fields.items():
            if column not in table.columns:
                raise InvalidValueError(f"fields: {name!r} names column {column!r}, which the "
                                        f"table lacks; columns: {table.columns}")
        rows = table.data
        for i, row in enumerate(rows):
            for column, cell in zip(table.columns, row):
                if isinstance(cell, Media):
                    raise InvalidValueError(f"data_table: row {i}, column {column!r} holds a "
                                            f"{type(cell).__name__}; a custom chart's cells are "
                                            "numbers, strings, bools or None")
        self.table = Table(columns=table.columns, data=rows)
        title = self.bound_spec().get("title")
        self.title = title if isinstance(title, str) and title else None

    def bound_spec(self) -> dict:
        """The spec with its placeholders filled in (without the rows)."""
        return bind_spec(self.spec, self.fields, self.string_fields)

    def to_vega_lite(self) -> dict:
        """The complete Vega-Lite spec: :meth:`bound_spec` with every row as ``data.values``."""
        return inline_rows(self.bound_spec(), self.table.columns, self.table.data)

    def to_json(self, run_dir: Path, key: str, step: int) -> dict:
        key, step = _check_key_step(key, step)
        payload = json.dumps(self.spec, allow_nan=False, ensure_ascii=False,
                             separators=(",", ":")).encode("utf-8")
        stored = _store(run_dir, "vega", key, step, "vl.json", payload)
        return {"_type": self._type, "spec_name": self.spec_name, "fields": self.fields,
                "string_fields": self.string_fields, "title": self.title, **stored,
                "table": self.table.to_json(run_dir, key, step)}

    to_json.__doc__ = Media.to_json.__doc__

    @classmethod
    def _from_descriptor(cls, descriptor: dict, run_dir: Path):
        spec = json.loads(_stored_bytes(descriptor, run_dir))
        content = json.loads(_stored_bytes(descriptor["table"], run_dir))
        table = Table(columns=content["columns"], data=content["data"])
        return cls(descriptor["spec_name"], spec, table, descriptor["fields"],
                   descriptor["string_fields"])

    def __eq__(self, other) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return ((self.spec_name, self.spec, self.fields, self.string_fields, self.table.columns,
                 self.table.data) == (other.spec_name, other.spec, other.fields,
                                      other.string_fields, other.table.columns, other.table.data))

    def __hash__(self) -> int:
        return hash((self.spec_name, tuple(sorted(self.fields.items())),
                     len(self.table.data)))

    def __repr__(self) -> str:
        return (f"<CustomChart {self.spec_name!r} fields={self.fields} "
                f"rows={len(self.table.data)}>")


def plot_table(vega_spec_name: str, data_table: Table, fields: dict,
               string_fields: dict | None = None, split_table: bool = False) -> CustomChart:
    """A custom chart: the Vega-Lite spec named ``vega_spec_name`` drawing ``data_table``.

    Log it like any rich value (``wl.log({"charts/loss": chart})``); the RunMedia panel draws
    it with Vega, offline, and ``wl.Api().run(...).load_media(...)`` gives it back.

    Parameters
    ----------
    vega_spec_name : str
        A built-in preset (``"wl/line"`` fields x, y; ``"wl/line_series"`` x, y, series;
        ``"wl/scatter"`` x, y; ``"wl/bar"`` label, value; ``"wl/histogram"`` value;
        ``"wl/confusion_matrix"`` actual, predicted, value; each with the string field
        ``title``) or a name given to :func:`~weightslab_nb.register_vega_spec`.
    data_table : Table
        The rows to draw (copied now; cells are numbers, strings, bools or None).
    fields : dict[str, str]
        Spec field -> column name, one per ``${field:NAME}`` placeholder of the spec.
    string_fields : dict[str, str], optional
        Spec string field -> text, for its ``${string:NAME}`` placeholders (those with a
        default may be left out).
    split_table : bool, default False
        Accepted for wandb compatibility and ignored (the chart keeps its own table).

    Raises
    ------
    ValueError
        An unknown spec name (the message lists the known ones), a field naming a missing
        column or a placeholder the spec lacks, an unbound placeholder, or a media cell.
    TypeError
        ``data_table`` is not a Table, ``fields`` / ``string_fields`` not dicts of strings.
    """
    spec, defaults = vega_spec(vega_spec_name)
    strings = {**defaults, **_names(string_fields or {}, "string_fields")}
    return CustomChart(vega_spec_name, spec, data_table, fields, strings)


def _names(values, argument: str) -> dict:
    if not isinstance(values, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                               for k, v in values.items()):
        raise InvalidTypeError(f"{argument}: expected a dict of strings to strings, got "
                               f"{values!r}"[:300])
    return dict(values)


def _check_bound(argument: str, spec_name: str, needed: set, given: dict) -> None:
    unknown = sorted(set(given) - needed)
    if unknown:
        raise InvalidValueError(f"{argument}: {unknown} are not placeholders of spec "
                                f"{spec_name!r}; it takes {sorted(needed)}")
    missing = sorted(needed - set(given))
    if missing:
        raise InvalidValueError(f"{argument}: spec {spec_name!r} needs {sorted(needed)}; "
                                f"missing {missing}")
