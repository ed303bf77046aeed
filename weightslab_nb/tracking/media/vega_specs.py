"""Vega-Lite specs for custom charts (:func:`~weightslab_nb.plot_table`): the registry of named
specs, their checks, and binding a spec's placeholders to a table.

A spec is a Vega-Lite JSON dict whose strings may hold placeholders: ``${field:NAME}`` becomes
the table column that ``fields[NAME]`` names, ``${string:NAME}`` the text
``string_fields[NAME]`` (as in wandb's custom chart presets). The table's rows are the spec's
top-level data; a spec never loads data from a URL (the panel works without a network).

Named specs: the built-in presets ``wl/line``, ``wl/line_series``, ``wl/scatter``, ``wl/bar``,
``wl/histogram`` and ``wl/confusion_matrix`` (:mod:`._vega_presets`), plus those registered with
:func:`register_vega_spec` for this Python process. A logged chart keeps its spec, so a run
reads the same when the registry changes.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

from weightslab_nb.errors import InvalidTypeError, InvalidValueError
from weightslab_nb.tracking.media._vega_presets import PRESET_STRINGS, PRESETS

PLACEHOLDER = re.compile(r"\$\{(field|string):([^{}]+)\}")
NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-/]{0,99}")
SPEC_SUFFIXES = (".json", ".vl.json")
#: Top-level keys of which a Vega-Lite spec has at least one (a single view or a composition).
VIEW_KEYS = ("mark", "layer", "concat", "hconcat", "vconcat", "facet", "repeat")
#: Keys whose string value (or list of strings) names a field: ``.``, ``[`` and ``]`` in a column
#: name are escaped there, as Vega-Lite reads them as nested access otherwise.
FIELD_KEYS = ("field", "groupby", "fields")
#: Vega-Lite's mark types (a misspelt one fails obscurely in the browser: it is caught here).
MARKS = ("arc", "area", "bar", "boxplot", "circle", "errorband", "errorbar", "geoshape",
         "image", "line", "point", "rect", "rule", "square", "text", "tick", "trail")

_registered: dict[str, tuple[dict, dict]] = {}


def register_vega_spec(name: str, spec, string_defaults: dict | None = None) -> None:
    """Register a Vega-Lite spec under ``name`` for :func:`~weightslab_nb.plot_table`.

    Registering a name again replaces its spec (a re-run notebook cell does that); charts
    already logged keep the spec they were logged with.

    Parameters
    ----------
    name : str
        1 to 100 characters: letters, digits, ``_ . - /``; not starting with ``wl/`` (the
        built-in presets' prefix). E.g. ``"me/loss_band"``.
    spec : dict, str or Path
        A Vega-Lite spec, or the path of a ``.json`` / ``.vl.json`` file holding one (read
        now). Its strings may hold ``${field:NAME}`` and ``${string:NAME}`` placeholders. The
        top-level ``data`` is the logged table's rows: leave it out (or give it only a
        ``name``); no ``url`` anywhere (nothing is fetched).
    string_defaults : dict[str, str], optional
        Values of ``${string:NAME}`` placeholders a chart may leave out.

    Raises
    ------
    TypeError
        ``name`` is not a string, ``spec`` neither a dict nor a path, ``string_defaults`` not
        a dict of strings, or the spec holds values JSON cannot encode.
    ValueError
        A bad name, a file that is missing, not JSON or of another suffix, a Vega (not
        Vega-Lite) spec, a spec without a view, top-level data of its own, or a ``url``.
    """
    if not isinstance(name, str):
        raise InvalidTypeError(f"name: expected a string, got {type(name).__name__}")
    if not NAME.fullmatch(name) or name.startswith("wl/"):
        raise InvalidValueError(f"name: expected 1-100 letters, digits, '_', '.', '-' or '/', "
                                f"not starting with 'wl/' (the presets'), got {name!r}"[:300])
    spec = check_spec(_spec_of(spec), "spec")
    defaults = _strings(string_defaults, "string_defaults")
    unknown = sorted(set(defaults) - placeholders(spec)["string"])
    if unknown:
        raise InvalidValueError(f"string_defaults: {unknown} are not ${{string:...}} "
                                f"placeholders of the spec; it has "
                                f"{sorted(placeholders(spec)['string'])}")
    _registered[name] = (spec, defaults)


def vega_spec(name: str) -> tuple[dict, dict]:
    """The spec registered (or built in) as ``name`` and its string defaults (copies).

    Raises
    ------
    TypeError
        ``name`` is not a string.
    ValueError
        No spec has that name (the message lists the known ones).
    """
    if not isinstance(name, str):
        raise InvalidTypeError(f"vega_spec_name: expected a string, got {type(name).__name__}")
    if name in PRESETS:
        return copy.deepcopy(PRESETS[name]), dict(PRESET_STRINGS)
    if name in _registered:
        spec, defaults = _registered[name]
        return copy.deepcopy(spec), dict(defaults)
    raise InvalidValueError(f"vega_spec_name: no spec named {name!r}; known: "
                            f"{', '.join(vega_spec_names())} (add one with "
                            "wl.register_vega_spec(name, spec))")


def vega_spec_names() -> list[str]:
    """The names :func:`vega_spec` knows: the presets, then the registered specs (sorted)."""
    return sorted(PRESETS) + sorted(_registered)


def placeholders(spec) -> dict[str, set[str]]:
    """``{"field": {names}, "string": {names}}``: the placeholders the spec's strings hold."""
    found: dict[str, set[str]] = {"field": set(), "string": set()}
    for text in _strings_in(spec):
        for kind, name in PLACEHOLDER.findall(text):
            found[kind].add(name)
    return found


def check_spec(spec, argument: str) -> dict:
    """A copy of ``spec`` checked as described in :func:`register_vega_spec`."""
    if not isinstance(spec, dict):
        raise InvalidTypeError(f"{argument}: expected a Vega-Lite spec (a dict), got "
                               f"{type(spec).__name__}")
    try:
        spec = json.loads(json.dumps(spec, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise InvalidTypeError(f"{argument}: expected JSON values only: {exc}") from None
    schema = spec.get("$schema", "")
    if isinstance(schema, str) and "/schema/vega/" in schema:
        raise InvalidValueError(f"{argument}: this is a Vega spec ({schema}); a custom chart "
                                "takes a Vega-Lite spec")
    if not any(k in spec for k in VIEW_KEYS):
        raise InvalidValueError(f"{argument}: a Vega-Lite spec needs one of {list(VIEW_KEYS)} "
                                f"at its top level; got keys {sorted(spec)}"[:400])
    data = spec.get("data")
    if data is not None and (not isinstance(data, dict) or set(data) - {"name"}):
        raise InvalidValueError(f"{argument}: the top-level data is the logged table's rows; "
                                f"leave 'data' out (or give only a name), got {data!r}"[:300])
    for where, mark in _marks_in(spec, argument):
        name = mark.get("type") if isinstance(mark, dict) else mark
        if name not in MARKS:
            raise InvalidValueError(f"{where}: unknown mark type {name!r}; Vega-Lite's are "
                                    f"{', '.join(MARKS)}"[:400])
    where = _url_in(spec, argument)
    if where:
        raise InvalidValueError(f"{where}: remote data is never loaded (the panel works "
                                "offline); put the rows in the Table instead")
    return spec


def bind_spec(spec: dict, fields: dict, strings: dict) -> dict:
    """``spec`` with its placeholders replaced (a new dict); every placeholder must be bound."""

    def fill(text: str, field_ref: bool) -> str:
        def one(match):
            kind, name = match.groups()
            if kind == "string":
                return strings[name]
            column = fields[name]
            return re.sub(r"([.\[\]\\])", r"\\\1", column) if field_ref else column
        return PLACEHOLDER.sub(one, text)

    def walk(node, key=None):
        if isinstance(node, dict):
            return {k: walk(v, k) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, key) for v in node]
        if isinstance(node, str):
            return fill(node, key in FIELD_KEYS)
        return node

    return walk(spec)


def inline_rows(spec: dict, columns: list, rows: list) -> dict:
    """``spec`` (bound) with ``rows`` (lists of cells) as its top-level ``data.values``."""
    values = [dict(zip(columns, row)) for row in rows]
    return {**spec, "data": {"values": values}}


def _spec_of(spec):
    if isinstance(spec, dict):
        return spec
    if not isinstance(spec, (str, Path)):
        raise InvalidTypeError(f"spec: expected a dict or the path of a .json/.vl.json file, "
                               f"got {type(spec).__name__}")
    path = Path(spec)
    if not path.name.endswith(SPEC_SUFFIXES):
        raise InvalidValueError(f"spec: expected a .json or .vl.json file, got {path.name!r}")
    if not path.is_file():
        raise InvalidValueError(f"spec: no file {str(path)!r}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise InvalidValueError(f"spec: {path.name} is not valid JSON: {exc}") from None


def _strings(values, argument: str) -> dict:
    if values is None:
        return {}
    if not isinstance(values, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                               for k, v in values.items()):
        raise InvalidTypeError(f"{argument}: expected a dict of strings to strings, got "
                               f"{values!r}"[:300])
    return dict(values)


def _strings_in(node):
    if isinstance(node, dict):
        for v in node.values():
            yield from _strings_in(v)
    elif isinstance(node, list):
        for v in node:
            yield from _strings_in(v)
    elif isinstance(node, str):
        yield node


def _marks_in(node, where: str):
    """``(where, mark)`` for each view's ``mark`` (in layers, concatenations, facets...)."""
    if isinstance(node, dict):
        if "mark" in node:
            yield f"{where}.mark", node["mark"]
        for k, v in node.items():
            if k not in ("mark", "data", "encoding", "config"):
                yield from _marks_in(v, f"{where}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _marks_in(v, f"{where}[{i}]")


def _url_in(node, where: str) -> str | None:
    """Where the first ``url`` key sits (``spec.layer[0].data.url``), or None."""
    if isinstance(node, dict):
        if "url" in node:
            return f"{where}.url"
        for k, v in node.items():
            found = _url_in(v, f"{where}.{k}")
            if found:
                return found
    elif isinstance(node, list):
        for i, v in enumerate(node):
            found = _url_in(v, f"{where}[{i}]")
            if found:
                return found
    return None
