"""A data state on disk: what a session's samples look like (ids, discards, tags), as files.

A data state directory holds two files:

``samples.parquet``
    One row per sample (annotation 0) of each saved origin, sorted by origin then id. Columns:
    ``origin`` (string), ``sample_id`` (string: the id as text), ``sample_id_kind`` (``"int"``
    or ``"str"``: an int id reads back as that int, a string id as that string, so ``7`` and
    ``"7"`` stay distinct), ``discarded`` (bool), and one column per tag: ``tag:<name>``, bool
    for a boolean tag, string (null: no value) for a categorical tag.
``state.json``
    The manifest: ``format`` (:data:`FORMAT`), ``digest`` (sha256 of the content, independent
    of row order and file encoding: equal curations give equal digests), ``samples_sha256``
    (of the Parquet file's bytes: a half-written or edited file is refused), ``experiment_hash``
    (the session's at save time), ``tags`` (the registry: ``{"boolean": [names],
    "categorical": {name: [values]}}``) and per origin ``{"samples", "discarded",
    "fingerprint", "loaders": {loader name: fingerprint}, "tags": {name: count},
    "categorical": {name: {value: count}}}``. A fingerprint is :func:`ids_fingerprint` of the
    ids (of the origin, or of one watched loader).

Files are written atomically, the Parquet file first, so a reader never mixes two saves.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from weightslab_nb.errors import InvalidValueError, MissingFileError
from weightslab_nb.experiment import write_atomic

FORMAT = "weightslab-data-state/1"
STATE_FILE = "state.json"
SAMPLES_FILE = "samples.parquet"
TAG_PREFIX = "tag:"


@dataclass
class OriginSamples:
    """The samples of one origin in a data state, in a fixed order.

    ``ids``: list of int/str; ``discarded``: bool array; ``bool_tags``: name -> bool array;
    ``cat_tags``: name -> object array of values (None: no value); all of length ``len(ids)``.
    """

    ids: list
    discarded: np.ndarray
    bool_tags: dict[str, np.ndarray] = field(default_factory=dict)
    cat_tags: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class DataState:
    """A data state: samples per origin and the tag registry (``boolean`` names,
    ``categorical`` name -> values); ``manifest`` is the state.json of a saved one."""

    origins: dict[str, OriginSamples]
    boolean: list[str]
    categorical: dict[str, list[str]]
    loaders: dict[str, dict[str, str]] = field(default_factory=dict)  # origin -> name -> fp
    manifest: dict = field(default_factory=dict)


def _id_order(ids: list) -> np.ndarray:
    """Positions of ``ids`` sorted ints first (numerically), then strings."""
    return np.array(sorted(range(len(ids)), key=lambda i: (isinstance(ids[i], str), ids[i])),
                    dtype=np.int64)


def ids_fingerprint(ids) -> str:
    """sha256 (hex) of a set of sample ids: independent of their order; ``7`` and ``"7"``
    differ."""
    ids = list(ids)
    ints = [s for s in ids if not isinstance(s, str)]
    strs = sorted(s for s in ids if isinstance(s, str))
    digest = hashlib.sha256()
    try:
        digest.update(b"i" + np.sort(np.asarray(ints, dtype="<i8")).tobytes())
    except OverflowError:  # ids beyond int64
        digest.update(b"I" + json.dumps(sorted(ints)).encode())
    digest.update(b"s" + json.dumps(strs).encode())
    return digest.hexdigest()


def content_digest(state: DataState) -> str:
    """sha256 (hex) of what a state says: registry, and per origin each id's discard and tags."""
    digest = hashlib.sha256(json.dumps({"boolean": sorted(state.boolean),
                                        "categorical": state.categorical},
                                       sort_keys=True).encode())
    for origin in sorted(state.origins):
        part = state.origins[origin]
        order = _id_order(part.ids)
        digest.update(json.dumps([origin, [part.ids[i] for i in order]]).encode())
        digest.update(np.packbits(part.discarded[order]).tobytes())
        for name in sorted(part.bool_tags):
            digest.update(name.encode() + np.packbits(part.bool_tags[name][order]).tobytes())
        for name in sorted(part.cat_tags):
            digest.update(json.dumps([name, part.cat_tags[name][order].tolist()]).encode())
    return digest.hexdigest()


def _origin_summary(part: OriginSamples, loaders: dict[str, str]) -> dict:
    categorical = {}
    for name, values in part.cat_tags.items():
        present = [v for v in values.tolist() if v is not None]
        found, counts = np.unique(np.asarray(present, dtype=object), return_counts=True) \
            if present else ([], [])
        categorical[name] = {str(v): int(c) for v, c in zip(found, counts)}
    return {"samples": len(part.ids), "discarded": int(part.discarded.sum()),
            "fingerprint": ids_fingerprint(part.ids), "loaders": dict(loaders),
            "tags": {n: int(a.sum()) for n, a in part.bool_tags.items()},
            "categorical": categorical}


def write_state(state: DataState, directory, experiment_hash: str | None) -> dict:
    """Write ``state`` into ``directory`` (created; its two files replaced) and return the
    manifest written to ``state.json``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns: dict[str, list] = {"origin": [], "sample_id": [], "sample_id_kind": [],
                                "discarded": []}
    bool_names, cat_names = sorted(state.boolean), sorted(state.categorical)
    for name in bool_names + cat_names:
        columns[TAG_PREFIX + name] = []
    for origin in sorted(state.origins):
        part = state.origins[origin]
        order = _id_order(part.ids)
        ids = [part.ids[i] for i in order]
        columns["origin"] += [origin] * len(ids)
        columns["sample_id"] += [str(s) for s in ids]
        columns["sample_id_kind"] += ["str" if isinstance(s, str) else "int" for s in ids]
        columns["discarded"] += part.discarded[order].tolist()
        empty_bool, empty_cat = np.zeros(len(ids), dtype=bool), np.full(len(ids), None, object)
        for name in bool_names:
            columns[TAG_PREFIX + name] += part.bool_tags.get(name, empty_bool)[order].tolist()
        for name in cat_names:
            columns[TAG_PREFIX + name] += part.cat_tags.get(name, empty_cat)[order].tolist()
    types = {"discarded": pa.bool_(), **{TAG_PREFIX + n: pa.bool_() for n in bool_names}}
    table = pa.table({k: pa.array(v, type=types.get(k, pa.string())) for k, v in columns.items()})
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    data = sink.getvalue().to_pybytes()
    manifest = {
        "format": FORMAT, "digest": content_digest(state),
        "samples_sha256": hashlib.sha256(data).hexdigest(), "experiment_hash": experiment_hash,
        "tags": {"boolean": bool_names, "categorical": {n: state.categorical[n]
                                                         for n in cat_names}},
        "origins": {o: _origin_summary(state.origins[o], state.loaders.get(o, {}))
                    for o in sorted(state.origins)},
    }
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    write_atomic(directory / SAMPLES_FILE, data, sync=True)
    write_atomic(directory / STATE_FILE, json.dumps(manifest, indent=1).encode(), sync=True)
    return manifest


def read_manifest(directory) -> dict:
    """The ``state.json`` of a data state directory.

    Raises
    ------
    MissingFileError
        No ``state.json`` there.
    InvalidValueError
        Not a data state manifest (another ``format``).
    """
    path = Path(directory) / STATE_FILE
    if not path.is_file():
        raise MissingFileError(f"directory: {str(directory)!r} holds no data state "
                               f"({STATE_FILE} is missing)")
    manifest = json.loads(path.read_text())
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise InvalidValueError(f"directory: {str(path)!r} is not a data state of format "
                                f"{FORMAT!r}")
    return manifest


def read_state(directory) -> DataState:
    """Load the data state saved in ``directory``.

    Raises
    ------
    MissingFileError
        A missing file.
    InvalidValueError
        Another format, or a Parquet file that is not the one the manifest was written with.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    manifest = read_manifest(directory)
    path = Path(directory) / SAMPLES_FILE
    if not path.is_file():
        raise MissingFileError(f"directory: {str(directory)!r} lacks {SAMPLES_FILE}")
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != manifest["samples_sha256"]:
        raise InvalidValueError(f"directory: {str(path)!r} does not match its {STATE_FILE} "
                                "(changed or half-written); save the state again")
    table = pq.read_table(pa.BufferReader(data)).to_pydict()
    registry = manifest["tags"]
    origins: dict[str, OriginSamples] = {}
    column_origin = np.asarray(table["origin"], dtype=object)
    ids_text, kinds = table["sample_id"], table["sample_id_kind"]
    discarded = np.asarray(table["discarded"], dtype=bool)
    bools = {n: np.asarray(table[TAG_PREFIX + n], dtype=bool) for n in registry["boolean"]}
    cats = {n: np.asarray(table[TAG_PREFIX + n], dtype=object) for n in registry["categorical"]}
    for origin in manifest["origins"]:
        at = np.flatnonzero(column_origin == origin)
        ids = [int(ids_text[i]) if kinds[i] == "int" else ids_text[i] for i in at.tolist()]
        origins[origin] = OriginSamples(ids, discarded[at], {n: a[at] for n, a in bools.items()},
                                        {n: a[at] for n, a in cats.items()})
    return DataState(origins, list(registry["boolean"]), dict(registry["categorical"]),
                     {o: dict(m.get("loaders", {})) for o, m in manifest["origins"].items()},
                     manifest)
