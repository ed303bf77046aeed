"""Exports: ``write_history`` (the signal history) and ``write_dataframe`` (the sample table).

Both write one file in one of :data:`FORMATS` and return its path. The rules they share:

* **Where.** ``path=None`` means the session's ``root_log_dir``, as a directory. A path that is
  an existing directory, ends with a path separator or has no extension is a directory too
  (created, with its parents, if missing); the file inside it is named
  ``<8 hex>_history.<format>`` / ``<8 hex>_dataframe.<format>``, see :func:`filter_digest`.
  Any other path is the file itself (its parent directories are created). A file path whose
  extension names one of the *other* formats (``"out.csv"`` with ``format="json"``) is refused,
  so a file never holds something its name contradicts; other extensions are accepted as given.
* **Atomically.** The data goes to a hidden temporary file beside the target
  (``.<name>.<hex>.tmp``), which then replaces the target with ``os.replace``. If anything
  fails, the temporary file is removed and an existing target is left as it was; there is never
  a partially written target.
* **Validated first.** Every argument is checked before any directory or file is created; bad
  values raise ``ValueError`` (bad value) or ``TypeError`` (wrong type) naming the argument and
  what it accepts.
* **Formats.** ``"json"`` (strict JSON: missing values, NaN and also +/-inf become ``null``),
  ``"csv"`` (missing values and fields that do not apply are empty) and ``"parquet"`` (typed
  columns, via pyarrow). In the sample table a NaN signal means "never recorded" and is
  missing; in the history it is a recorded value, kept as ``nan`` in CSV and Parquet.

JSON and CSV for the history are produced by DuckDB from Arrow columns, so a million rows take
about a second; floats are written in their shortest round-trip form (reading the file back
gives the exact same doubles).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
from collections.abc import Callable, Iterable
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from weightslab_nb.errors import InvalidTypeError, InvalidValueError
from weightslab_nb.ledger.ids import normalize_ids
from weightslab_nb.ledger.sample_table import bare_signal_name

FORMATS = ("json", "csv", "parquet")
HISTORY_TYPES = ("all", "global", "sample", "instance", "instances")
LAYERS = ("global", "sample", "instance")
LAYER_COLUMNS = {
    "global": ("graph_name", "experiment_hash", "step", "metric_value"),
    "sample": ("graph_name", "experiment_hash", "sample_id", "step", "metric_value", "origin"),
    "instance": ("graph_name", "experiment_hash", "sample_id", "annotation_id", "step",
                 "metric_value", "origin"),
}
HISTORY_TABLE_COLUMNS = ("type", "graph_name", "experiment_hash", "step", "metric_value",
                         "sample_id", "annotation_id", "origin")
COLUMN_GROUPS = ("all", "tags", "signals", "discarded")
INDEX_COLUMNS = ("sample_id", "annotation_id")
ALL_EXPERIMENTS = "all"
_JSON_CHUNK_ROWS = 262_144


# ====================================================================== write_history
def write_history(session, path=None, format: str = "json", type_of_history=None,
                  graph_name=None, experiment_hash=None, sample_id=None,
                  instance_id=None, origin=None) -> Path:
    """Export the signal history of a session to one file and return its path.

    Parameters
    ----------
    session : Session
    path : str or os.PathLike, optional
        Target file or directory; see the module docstring. In a directory the file is
        ``<8 hex>_history.<format>``: the same filters always give the same name (a second
        call overwrites the first file), different filters give a different file.
    format : {"json", "csv", "parquet"}, default "json"
    type_of_history : {None, "all", "global", "sample", "instance", "instances"}
        Which layers to export: None/``"all"`` all three; ``"instances"`` means ``"instance"``.
    graph_name : str or list of str, optional
        Keep these signal names only (the ``signals//`` column prefix may be given or not).
        An empty list keeps nothing.
    experiment_hash : str, optional
        None: the current run (``session.get_current_experiment_hash()``); when the session has
        no experiment yet, the rows recorded without one (which are then all rows).
        ``"all"``: every run, including rows recorded before any experiment existed. Any other
        string: that run only (an unknown hash gives empty sections).
    sample_id : int, str or list of them, optional
        Keep these samples in the sample and instance layers (no effect on the global one).
        Ids match exactly: ``5`` and ``"5"`` are different ids; unknown ids match nothing.
    instance_id : int or list of int, optional
        Keep these annotation ids (``>= 0``) in the instance layer only.
    origin : str, optional
        Keep the samples of this origin (or loader name) in the sample and instance layers.

    Returns
    -------
    Path
        The file written.

    Notes
    -----
    JSON: an object with one key per selected layer, in the order global, sample, instance;
    each a list of row objects whose keys are exactly, in order:
    ``graph_name, experiment_hash, step, metric_value`` (global),
    ``graph_name, experiment_hash, sample_id, step, metric_value, origin`` (sample),
    ``graph_name, experiment_hash, sample_id, annotation_id, step, metric_value, origin``
    (instance): the contract's keys in the contract's order, plus ``origin`` last, which tells
    apart the samples of two origins that share an id (train and validation sets both indexed
    from 0). Integer sample ids are JSON numbers, string ids JSON strings; a non-finite value is
    null.

    CSV: one header
    ``type,graph_name,experiment_hash,step,metric_value,sample_id,annotation_id,origin`` (the
    contract's columns, plus ``origin`` last) and the rows of the selected layers (global, then
    sample, then instance); fields that do not apply to a row's type are empty. NaN and inf are
    written ``nan`` / ``inf``.

    Parquet: the CSV's columns, typed: ``type``, ``graph_name``, ``experiment_hash``,
    ``origin`` strings (the hash null for rows recorded without an experiment), ``step`` int64,
    ``metric_value`` float64 (NaN kept), ``sample_id`` int64 when every exported id is an int,
    else string (ints written in decimal), ``annotation_id`` nullable int64. The global
    layer's per-step min/max/count are not exported (every format has the contract's columns,
    plus ``origin``); ``session.history_frame("global")`` has them.

    Rows are ordered as ``session.history_frame`` returns them: global rows by signal name and
    step; sample and instance rows by sample-table row (the order samples and instances were
    first seen), then signal (the order signals were first recorded), then step.

    Raises
    ------
    ValueError
        Unknown ``format`` or ``type_of_history``, a negative ``instance_id``, or a file path
        whose extension names another format. Nothing is written then.
    TypeError
        Arguments of the wrong type (e.g. a float sample id or a non-string graph name).
    """
    _check_format(format)
    layers, kind = _history_layers(type_of_history)
    names = _graph_names(graph_name)
    scope = _experiment_scope(session, experiment_hash)
    ids = _sample_ids(sample_id)
    annotations = _annotation_ids(instance_id)
    origin = _origin(session, origin)
    # the file name identifies the effective selection: filters a layer ignores are left out
    filters = {"type_of_history": kind, "graph_name": names, "experiment_hash": scope,
               "sample_id": ids if kind != "global" else None,
               "instance_id": annotations if kind in ("all", "instance") else None}
    if origin is not None and kind != "global":
        filters["origin"] = origin
    target = _target_path(session, path, "history", format, filters)

    frames = {layer: _history_layer(session, layer, names, scope, ids, annotations, origin)
              for layer in layers}
    if format == "json":
        def write(tmp: Path) -> None:
            with open(tmp, "wb") as out, _duckdb() as con:
                out.write(b"{")
                for i, (layer, frame) in enumerate(frames.items()):
                    out.write(f'{"," if i else ""}\n"{layer}": '.encode())
                    table, raw = _layer_table(layer, frame)
                    _write_json_records(con, out, table, raw)
                out.write(b"\n}\n")
    elif format == "csv":
        def write(tmp: Path) -> None:
            with _duckdb() as con:
                con.register("history", _history_table(frames))
                con.execute(f"COPY (SELECT * FROM history) TO {_sql_string(str(tmp))} "
                            "(FORMAT csv, HEADER true)")
    else:
        def write(tmp: Path) -> None:
            pq.write_table(_history_table(frames), tmp)
    _write_atomically(target, write)
    return target


def _history_layers(type_of_history) -> tuple[tuple[str, ...], str]:
    """(layers to export, canonical name for the file-name digest)."""
    if type_of_history is None or type_of_history == "all":
        return LAYERS, "all"
    if type_of_history in ("instance", "instances"):
        return ("instance",), "instance"
    if type_of_history in ("global", "sample"):
        return (type_of_history,), type_of_history
    raise InvalidValueError(f"type_of_history: expected None or one of {HISTORY_TYPES}, "
                            f"got {type_of_history!r}")


def _experiment_scope(session, experiment_hash) -> str | None:
    """``"all"``, one hash, or None for 'rows recorded without an experiment'."""
    if experiment_hash is None:
        return session.get_current_experiment_hash()
    if not isinstance(experiment_hash, str) or not experiment_hash:
        raise InvalidTypeError(f"experiment_hash: expected None, 'all' or a hash string, "
                               f"got {experiment_hash!r}")
    return experiment_hash


def _origin(session, origin) -> str | None:
    """The origin meant by ``origin`` (an origin or a loader name), checked."""
    if origin is None:
        return None
    if not isinstance(origin, str):
        raise InvalidTypeError(f"origin: expected an origin or loader name (a string) or None, "
                               f"got {type(origin).__name__}")
    return session.resolve_origin(origin)


def _history_layer(session, layer, names, scope, ids, annotations, origin=None):
    """One layer as a DataFrame with exactly the columns of :data:`LAYER_COLUMNS`."""
    exp_hash = None if scope in (None, ALL_EXPERIMENTS) else scope
    if layer == "global" and names == []:  # history_frame reads [] as "no signals given"
        frame = session.history_frame("global", exp_hash=exp_hash).iloc[:0]
    else:
        frame = session.history_frame(
            layer, signals=names, exp_hash=exp_hash,
            sample_ids=ids if layer != "global" else None,
            annotation_ids=annotations if layer == "instance" else None,
            origin=origin if layer != "global" else None)
    if scope is None:
        frame = frame[frame["experiment_hash"].isna()]
    return frame[list(LAYER_COLUMNS[layer])]


def _layer_table(layer: str, frame):
    """(Arrow table of one layer for JSON, names of columns holding raw JSON tokens)."""
    columns, raw = {}, set()
    for name in LAYER_COLUMNS[layer]:
        if name == "sample_id":
            columns[name], is_raw = _id_array(frame[name], mixed="json")
            if is_raw:
                raw.add(name)
        else:
            columns[name] = _typed(name, frame[name])
    return pa.table(columns), raw


def _history_table(frames: dict) -> pa.Table:
    """The selected layers stacked into the flat CSV/Parquet table (n/a fields null)."""
    # one sample_id type for every layer: int64 if all exported ids are ints, else string
    id_kinds = {_id_kind(f["sample_id"]) for f in frames.values()
                if "sample_id" in f.columns and len(f)}
    id_type = pa.int64() if id_kinds <= {"integer", "empty"} else pa.string()
    parts = []
    for layer, frame in frames.items():
        n = len(frame)
        ids = (_id_array(frame["sample_id"], mixed="str")[0].cast(id_type)
               if "sample_id" in frame.columns else pa.nulls(n, id_type))
        parts.append(pa.table({
            "type": pa.repeat(pa.scalar(layer, pa.string()), n),
            **{name: _typed(name, frame[name]) for name in LAYER_COLUMNS["global"]},
            "sample_id": ids,
            "origin": _typed("origin", frame["origin"]) if "origin" in frame.columns
            else pa.nulls(n, pa.string()),
            "annotation_id": _typed("annotation_id", frame["annotation_id"])
            if "annotation_id" in frame.columns else pa.nulls(n, pa.int64()),
        }))
    return pa.concat_tables(parts).select(list(HISTORY_TABLE_COLUMNS))


def _id_kind(ids) -> str:

    return pd.api.types.infer_dtype(ids, skipna=True)


def _typed(name: str, values) -> pa.Array:
    """A history column with its fixed Arrow type (strings keep None/NaN as null)."""
    if name in ("graph_name", "experiment_hash", "origin"):
        return pa.array(values, type=pa.string(), from_pandas=True)
    if name in ("step", "annotation_id"):
        return pa.array(np.asarray(values, dtype=np.int64), type=pa.int64())
    return pa.array(np.asarray(values, dtype=np.float64), type=pa.float64())


# ====================================================================== write_dataframe
def write_dataframe(session, path=None, format: str = "json", columns=None, sample_id=None,
                    instance_id=None, origin=None) -> Path:
    """Export the sample table (``session.dataframe``) to one file and return its path.

    The session's pending batches are applied first (``session.drain()``), so everything
    recorded before the call is in the file.

    Parameters
    ----------
    session : Session
    path : str or os.PathLike, optional
        Target file or directory; see the module docstring. In a directory the file is
        ``<8 hex>_dataframe.<format>``: same filters, same name; different filters, another.
    format : {"json", "csv", "parquet"}, default "json"
    columns : str or list of str, optional
        None or ``"all"``: every column. A group: ``"tags"`` (columns starting with ``tag:``),
        ``"signals"`` (columns starting with ``signals``), ``"discarded"``. Or a list mixing
        groups and exact column names (``"origin"``, ``"signals//loss"``, ``"tag:x"``...);
        ``"sample_id"``/``"annotation_id"`` are accepted and always present anyway. Columns
        come out in the order asked for (a group's columns in table order; a column asked for
        twice keeps its first place); a list containing ``"all"`` means every column; an empty
        list exports the two id columns only.
    sample_id : int, str or list of them, optional
        Keep these samples (exact match, unknown ids match nothing).
    instance_id : int or list of int, optional
        Keep these annotation ids: ``0`` is the samples' own rows, ``>= 1`` their instances.
    origin : str, optional
        Keep the rows of this origin (or loader name); the ``origin`` column tells origins
        that share ids apart either way.

    Returns
    -------
    Path
        The file written.

    Notes
    -----
    One row per ``(sample_id, annotation_id)``, in table order; ``sample_id`` and
    ``annotation_id`` come first, then the chosen columns.
    JSON: a list of row objects. Missing values (NaN, NA, no category) and +/-inf are null,
    numbers are JSON numbers, booleans true/false, categorical tags and the origin strings;
    integer sample ids are numbers, string ids strings.
    CSV: a header, booleans as ``True``/``False``, missing values as empty fields.
    Parquet: typed columns as in ``session.dataframe`` (categoricals as dictionary columns,
    nullable ints and booleans); ``sample_id`` is int64 when every id is an int, else string.

    Raises
    ------
    ValueError
        Unknown ``format``, a column that is neither a group nor a column of the table (the
        message lists both), a negative ``instance_id``, or a file path whose extension names
        another format. Nothing is written then.
    TypeError
        Arguments of the wrong type.
    """
    _check_format(format)
    requested = _column_request(columns)
    ids = _sample_ids(sample_id)
    annotations = _annotation_ids(instance_id)
    origin = _origin(session, origin)
    session.drain()
    df = session.dataframe
    available = [str(c) for c in df.columns]
    chosen = _choose_columns(requested, available)
    filters = {"columns": "all" if requested is None else requested,
               "sample_id": ids, "instance_id": annotations}
    if origin is not None:
        filters["origin"] = origin
    target = _target_path(session, path, "dataframe", format, filters)

    keep = np.ones(len(df), dtype=bool)
    if origin is not None:
        keep &= (df["origin"] == origin).to_numpy(dtype=bool, na_value=False)
    if ids is not None:
        keep &= df.index.get_level_values("sample_id").isin(ids)
    if annotations is not None:
        keep &= df.index.get_level_values("annotation_id").isin(annotations)
    frame = df.loc[keep, chosen].reset_index()

    if format == "csv":
        def write(tmp: Path) -> None:
            frame.to_csv(tmp, index=False)
    else:
        table, raw = _dataframe_table(frame, mixed="json" if format == "json" else "str")
        if format == "json":
            def write(tmp: Path) -> None:
                with open(tmp, "wb") as out, _duckdb() as con:
                    _write_json_records(con, out, table, raw)
                    out.write(b"\n")
        else:
            def write(tmp: Path) -> None:
                pq.write_table(table, tmp)
    _write_atomically(target, write)
    return target


def _column_request(columns) -> list[str] | None:
    """None for every column, else the requested names (groups kept as groups)."""
    if columns is None:
        return None
    items = [columns] if isinstance(columns, str) else _as_list(columns, "columns",
                                                                "a column name or group")
    for c in items:
        if not isinstance(c, str):
            raise InvalidTypeError(f"columns: expected names (str), got {c!r}")
    if "all" in items:
        return None
    return list(dict.fromkeys(c for c in items if c not in INDEX_COLUMNS))


def _choose_columns(requested: list[str] | None, available: list[str]) -> list[str]:
    if requested is None:
        return available
    chosen, unknown = {}, []  # a dict keeps the first position of each column
    for name in requested:
        if name == "tags":
            chosen.update(dict.fromkeys(c for c in available if c.startswith("tag:")))
        elif name == "signals":
            chosen.update(dict.fromkeys(c for c in available if c.startswith("signals")))
        elif name in available:
            chosen[name] = None
        else:
            unknown.append(name)
    if unknown:
        raise InvalidValueError(f"columns: unknown column(s) {unknown}; expected the groups "
                                f"{list(COLUMN_GROUPS)} or columns of the table: {available}")
    return list(chosen)


def _dataframe_table(frame, mixed: str):
    """(Arrow table of the exported rows, names of columns holding raw JSON tokens)."""
    table = pa.Table.from_pandas(frame.drop(columns="sample_id"), preserve_index=False)
    ids, is_raw = _id_array(frame["sample_id"], mixed=mixed)
    return table.add_column(0, "sample_id", ids), ({"sample_id"} if is_raw else set())


# ====================================================================== argument checks
def _check_format(format) -> None:
    if format not in FORMATS:
        raise InvalidValueError(f"format: expected one of {FORMATS}, got {format!r}")


def _as_list(value, argument: str, what: str) -> list:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise InvalidTypeError(f"{argument}: expected {what} or a list of them, got {value!r}")
    return list(value)


def _graph_names(graph_name) -> list[str] | None:
    """Sorted distinct signal names without the ``signals//`` prefix; None keeps all."""
    if graph_name is None:
        return None
    items = [graph_name] if isinstance(graph_name, str) else _as_list(
        graph_name, "graph_name", "a signal name")
    for name in items:
        if not isinstance(name, str):
            raise InvalidTypeError(f"graph_name: expected signal names (str), got {name!r}")
    return sorted({bare_signal_name(n) for n in items})


def _sample_ids(sample_id) -> list | None:
    """Distinct ids, ints before strings, each sorted; None keeps all."""
    if sample_id is None:
        return None
    ids = set(normalize_ids(sample_id, "sample_id"))
    return sorted(ids, key=lambda v: (isinstance(v, str), v))


def _annotation_ids(instance_id) -> list[int] | None:
    """Sorted distinct annotation ids (ints >= 0); None keeps all."""
    if instance_id is None:
        return None
    items = [instance_id] if isinstance(instance_id, (int, np.integer)) else _as_list(
        instance_id, "instance_id", "an annotation id (int)")
    for v in items:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
            raise InvalidTypeError(f"instance_id: expected annotation ids (int), got {v!r}")
        if v < 0:
            raise InvalidValueError(f"instance_id: annotation ids are >= 0, got {v!r}")
    return sorted({int(v) for v in items})


# ====================================================================== paths and writing
def filter_digest(filters: dict) -> str:
    """First 8 hex digits of the MD5 of the normalised filters, as canonical JSON.

    ``filters`` is a dict of JSON values (keys sorted when hashing). The callers normalise
    them first, so that equal selections share a file name and different ones do not:

    * a single value and a one-element list are the same; ``graph_name``, ``sample_id`` and
      ``instance_id`` lists are deduplicated and sorted (their order does not change the
      output); ``columns`` keeps its order, which orders the output, and only loses repeats;
    * int and string sample ids stay distinct (``5`` is not ``"5"``);
    * ``signals//loss`` is ``loss`` in ``graph_name``;
    * ``type_of_history`` None is ``"all"``, ``"instances"`` is ``"instance"``;
    * ``experiment_hash=None`` is replaced by the hash it resolves to, so
      ``write_history(d)`` and ``write_history(d, experiment_hash=<current hash>)`` share a
      file, and an export made after the experiment hash changed does not overwrite the
      previous one;
    * filters the selection ignores are dropped: ``sample_id`` for the global layer alone,
      ``instance_id`` unless the instance layer is exported, ``"sample_id"`` and
      ``"annotation_id"`` in ``columns``;
    * ``columns`` None, ``"all"`` and any list containing ``"all"`` are ``"all"``; groups stay
      groups (``"signals"`` is not expanded into the columns of the moment).

    The format is not part of the digest: the extension already tells the files apart.
    """
    canonical = json.dumps(filters, sort_keys=True, separators=(",", ":"))
    return hashlib.md5(canonical.encode(), usedforsecurity=False).hexdigest()[:8]


def _target_path(session, path, kind: str, format: str, filters: dict) -> Path:
    """The file to write (nothing is created here); ``InvalidValueError`` naming ``path`` when
    an existing file stands where a directory of it must go."""
    out = _target_file(session, path, kind, format, filters)
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise InvalidValueError(f"path: {str(parent)!r} is a file, not a directory")
            break
    return out


def _target_file(session, path, kind: str, format: str, filters: dict) -> Path:
    if path is None:  # a run opened read-only (wl.open) writes nothing there
        session.access.check_edit(f"write_{kind}", ", or path= to export elsewhere")
        directory = Path(session.root_log_dir)
    else:
        if not isinstance(path, (str, os.PathLike)):
            raise InvalidTypeError("path: expected a str or os.PathLike, got "
                                   f"{type(path).__name__}")
        raw = os.fspath(path)
        target = Path(raw).expanduser()
        if not (target.is_dir() or target.suffix == "" or raw.endswith(("/", os.sep))):
            other = target.suffix.lower().lstrip(".")
            if other in FORMATS and other != format:
                raise InvalidValueError(f"path: the extension {target.suffix!r} names another "
                                        f"format than format={format!r}; use a matching extension")
            return target
        directory = target
    return directory / f"{filter_digest(filters)}_{kind}.{format}"


def _write_atomically(target: Path, write: Callable[[Path], None]) -> None:
    """Create the parent directories, let ``write`` fill a temporary file beside ``target``,
    then move it over ``target``; on any error remove the temporary file and re-raise."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    try:
        write(tmp)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# ====================================================================== Arrow / JSON encoding
def _id_array(ids, mixed: str) -> tuple[pa.Array, bool]:
    """Sample ids (ints and/or strings, None for missing) as one Arrow column.

    All ints → int64; all strings → string. Mixed ids → strings (``mixed="str"``: ints in
    decimal) or JSON tokens (``mixed="json"``: ``5`` and ``"img"``; the second value of the
    result is then True, meaning the column is to be embedded as raw JSON).
    """
    kind = _id_kind(ids)
    if kind in ("integer", "empty"):
        return pa.array(ids, type=pa.int64(), from_pandas=True), False
    if kind == "string":
        return pa.array(ids, type=pa.string(), from_pandas=True), False
    codes, uniques = pd.factorize(np.asarray(ids, dtype=object))
    render = json.dumps if mixed == "json" else str
    tokens = pa.array([render(u) for u in uniques], type=pa.string())
    return tokens.take(pa.array(codes, mask=codes < 0)), mixed == "json"


def _json_ready(table: pa.Table) -> pa.Table:
    """Dictionary columns decoded to their values, non-finite floats turned into nulls."""
    columns = []
    for col in table.columns:
        if pa.types.is_dictionary(col.type):
            col = col.cast(col.type.value_type)
        if pa.types.is_floating(col.type):
            col = pc.if_else(pc.is_finite(col), col, pa.scalar(None, col.type))
        columns.append(col)
    return pa.table(columns, names=[f"c{i}" for i in range(len(columns))])


def _write_json_records(con, out, table: pa.Table, raw: set[str]) -> None:
    """Write ``table`` to the binary file ``out`` as a JSON array of row objects.

    Keys are the column names, in column order. DuckDB renders each value (``to_json``:
    shortest round-trip floats, escaped strings, null for nulls); the columns are renamed
    ``c0, c1...`` first so names that differ only by case, or need quoting, are safe. Columns
    in ``raw`` already hold JSON tokens and are copied as they are.
    """
    parts = []
    for i, name in enumerate(table.column_names):
        parts.append(_sql_string(("{" if i == 0 else ",") + json.dumps(name) + ":"))
        parts.append(f"coalesce(c{i}, 'null')" if name in raw
                     else f"coalesce(CAST(to_json(c{i}) AS VARCHAR), 'null')")
    sql = "SELECT " + " || ".join(parts) + " || '}' AS j FROM chunk"
    ready = _json_ready(table)
    out.write(b"[")
    for start in range(0, table.num_rows, _JSON_CHUNK_ROWS):
        con.register("chunk", ready.slice(start, _JSON_CHUNK_ROWS))
        try:
            rows = con.execute(sql).fetchnumpy()["j"]
        finally:
            con.unregister("chunk")
        out.write(("\n" if start == 0 else ",\n").encode())
        out.write(",\n".join(rows.tolist()).encode())
    out.write(b"\n]" if table.num_rows else b"]")


@contextlib.contextmanager
def _duckdb():
    """A private in-memory DuckDB connection, closed on exit (the store's file is not used)."""
    con = duckdb.connect(":memory:")
    try:
        yield con
    finally:
        con.close()


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
