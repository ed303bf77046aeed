"""Saving and restoring the sample table under ``root_log_dir``: one file, published atomically.

``ledger.parquet`` has one row per table row (in row order, matching the history's ``samples``
table): ``discarded``, ``target``, ``prediction``, ``last_step``, every ``signals//<name>``
column, boolean ``tag:<name>`` columns and categorical tags as int16 codes. What Parquet columns
cannot say is in the file's schema metadata, key ``weightslab_nb.ledger``, a JSON object::

    {"format": 2, "registry": {"categorical": {column: [values]}, "boolean": [columns]},
     "step": <training step reached>, "journal_seq": <last edit-journal record included>}

so a snapshot is one file, replaced by a rename: a crash at any moment leaves the old or the
new snapshot, never a mix. ``journal_seq`` says which records of the edit journal
(:mod:`weightslab_nb.ledger.journal`) the snapshot already includes: replay the ones after it.

Between two full snapshots, a snapshot may be a *delta* (:func:`save_delta`):
``ledger-deltas/<index>.parquet`` holds, for the rows whose recorded values changed since the
previous snapshot (``__row``: their row numbers), the value columns (``target``,
``prediction``, ``last_step``, ``signals//<name>``). Its metadata names the full snapshot it
extends (``"base"``, a random id every full snapshot gets) and its place in the chain
(``"index"``, 1, 2, ...), with the step, ``journal_seq`` and ``extra`` it brings up to date.
Tags, discards and the registry never change in a delta (an edit makes the next snapshot a full
one). Each delta is published atomically; restoring applies the base, then the unbroken chain of
deltas 1, 2, ... that name it (a delta of another base, or after a gap, is ignored). A full
snapshot removes the deltas after it is published.

Earlier versions wrote two files, ``ledger.parquet`` without the metadata and ``ledger.json``
(the registry and the step); :func:`restore_snapshot` still reads them (``journal_seq`` 0),
and the first new snapshot removes ``ledger.json``.
"""

from __future__ import annotations

import io
import json
import logging
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from weightslab_nb.errors import InvalidTypeError, InvalidValueError
from weightslab_nb.experiment import write_atomic
from weightslab_nb.ledger.sample_table import TAG_PREFIX, SampleTable

log = logging.getLogger(__name__)

LEDGER = "ledger.parquet"
DELTAS = "ledger-deltas"  # folder of the deltas of the current full snapshot
ROW = "__row"  # the row-number column of a delta
REGISTRY = "ledger.json"  # the registry of the two-file layout of earlier versions (read only)
METADATA_KEY = b"weightslab_nb.ledger"
FORMAT = 2
_FIXED = ("discarded", "target", "prediction", "last_step")
_VALUES = ("target", "prediction", "last_step")  # the fixed columns recordings change


@dataclass(frozen=True)
class SnapshotInfo:
    """What a restored snapshot says besides the table's columns.

    Attributes
    ----------
    step : int
        The training step reached when it was taken.
    journal_seq : int
        The last edit-journal record it includes (0: none; replay the journal from the start).
    layout : str
        ``"single-file"``, or ``"two-file"`` for a run written by an earlier version.
    extra : dict
        What the owner saved beside the table (``save(..., extra=)``); empty if nothing.
    base : str
        Id of the full snapshot (``""`` for files of earlier versions: no delta extends them).
    deltas : int
        How many deltas were applied on top of it.
    delta_rows : int
        Rows those deltas held together.
    """

    step: int
    journal_seq: int
    layout: str
    extra: dict = field(default_factory=dict)
    base: str = field(default="", compare=False)
    deltas: int = field(default=0, compare=False)
    delta_rows: int = field(default=0, compare=False)


def snapshot(table: SampleTable) -> tuple[dict[str, np.ndarray], dict]:
    """Copies of the table's columns and registry (take it under the session lock)."""
    n = len(table)
    cols = {"discarded": table.discarded[:n].copy(), "target": table.target[:n].copy(),
            "prediction": table.prediction[:n].copy(), "last_step": table.last_step[:n].copy()}
    cols.update({c: a[:n].copy() for c, a in table.signals.items()})
    cols.update({c: a[:n].copy() for c, a in table.bool_tags.items()})
    cols.update({c: cat.codes[:n].copy() for c, cat in table.cat_tags.items()})
    registry = {"categorical": {c: list(cat.values) for c, cat in table.cat_tags.items()},
                "boolean": list(table.bool_tags)}
    return cols, registry


def changed_rows(table: SampleTable, rows: np.ndarray) -> dict[str, np.ndarray]:
    """The value columns of ``rows`` (ascending int64 row numbers), with ``__row``: what
    :func:`save_delta` writes (take it under the session lock)."""
    rows = np.asarray(rows, dtype=np.int64)
    cols = {ROW: rows.copy()}
    cols.update({c: getattr(table, c)[rows] for c in _VALUES})
    cols.update({c: a[rows] for c, a in table.signals.items()})
    return cols


def save(root: Path, cols: dict[str, np.ndarray], registry: dict, step: int,
         journal_seq: int = 0, extra: dict | None = None) -> None:
    """Publish a snapshot (what :func:`snapshot` returned) as one file, atomically and synced.

    Parameters
    ----------
    root : Path
        The run directory.
    cols, registry
        From :func:`snapshot`.
    step : int
        The training step reached.
    journal_seq : int, default 0
        The last edit-journal record the snapshot includes (``EditJournal.last_seq`` read
        under the same lock as the snapshot); after saving, ``EditJournal.compact`` may drop
        the records up to it.
    extra : dict, optional
        JSON values the owner keeps with the snapshot (read back as ``SnapshotInfo.extra``):
        state the journal records it drops described, besides the table.

    Returns
    -------
    str
        The new snapshot's id (what :func:`save_delta` takes as ``base``). The deltas of the
        previous one are removed once it is published.

    Raises
    ------
    InvalidTypeError, InvalidValueError
        ``step`` or ``journal_seq`` is not a non-negative int; nothing is written.
    """
    base = secrets.token_hex(8)
    meta = {"format": FORMAT, "registry": registry, "step": _count(step, "step"),
            "journal_seq": _count(journal_seq, "journal_seq"), "extra": extra or {},
            "base": base}
    root = Path(root)
    write_atomic(root / LEDGER, _parquet(cols, meta), sync=True, point="snapshot")
    (root / REGISTRY).unlink(missing_ok=True)  # superseded: the registry is in the file now
    deltas = root / DELTAS
    if deltas.is_dir():  # superseded too
        for old in deltas.glob("*.parquet"):
            old.unlink(missing_ok=True)
    return base


def save_delta(root: Path, cols: dict[str, np.ndarray], base: str, index: int, step: int,
               journal_seq: int = 0, extra: dict | None = None) -> None:
    """Publish delta ``index`` (1, 2, ...) of full snapshot ``base``, atomically and synced.

    ``cols`` is what :func:`changed_rows` returned; ``step``, ``journal_seq`` and ``extra``
    replace the base's (as in :func:`save`). Raises like :func:`save`.
    """
    meta = {"format": FORMAT, "step": _count(step, "step"), "base": base,
            "index": _count(index, "index"),
            "journal_seq": _count(journal_seq, "journal_seq"), "extra": extra or {}}
    write_atomic(Path(root) / DELTAS / f"{index:06d}.parquet", _parquet(cols, meta), sync=True,
                 point="snapshot")


def _parquet(cols: dict[str, np.ndarray], meta: dict) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    data = pa.table(cols)
    data = data.replace_schema_metadata({**(data.schema.metadata or {}),
                                         METADATA_KEY: json.dumps(meta).encode()})
    buffer = io.BytesIO()
    pq.write_table(data, buffer)
    return buffer.getvalue()


def read_info(root: Path) -> SnapshotInfo | None:
    """The step and journal sequence number of the full snapshot under ``root`` (reading only
    the Parquet footer; its deltas are not read), or None when there is none."""
    found = _read_meta(Path(root))
    return None if found is None else found[0]


def restore_snapshot(root: Path, table: SampleTable) -> SnapshotInfo | None:
    """Load the snapshot under ``root`` into ``table`` (whose rows must already exist).

    Returns
    -------
    SnapshotInfo or None
        The step and journal sequence number it includes (its deltas' when it has some: they
        are applied too); None when ``root`` has no snapshot. Rows the table does not have
        (yet) are ignored.
    """
    import pyarrow.parquet as pq

    root = Path(root)
    found = _read_meta(root)
    if found is None:
        return None
    info, registry = found
    data = pq.read_table(root / LEDGER)
    n = min(data.num_rows, len(table))
    for column in registry.get("boolean", []):
        table.ensure_bool_tag(column)
    for column, values in registry.get("categorical", {}).items():
        table.ensure_categorical(column, values)
    for name in data.column_names:
        values = data.column(name).to_numpy()[:n]
        if name in _FIXED:
            table.write_column(name, slice(0, n), values)
        elif name in table.bool_tags:
            table.bool_tags[name][:n] = values
        elif name in table.cat_tags:
            table.cat_tags[name].codes[:n] = values
        elif name.startswith(TAG_PREFIX):
            _restore_unregistered_tag(table, name, values, root)
        else:
            table.write_signal(np.arange(n), name, values)
    table.discard_version += 1
    return _apply_deltas(root, table, info) if info.base else info


def _apply_deltas(root: Path, table: SampleTable, info: SnapshotInfo) -> SnapshotInfo:
    """Apply the unbroken chain of deltas of ``info.base``; the info of the last one."""
    import pyarrow.parquet as pq

    applied, rows_held = 0, 0
    for path in sorted((root / DELTAS).glob("*.parquet")) if (root / DELTAS).is_dir() else []:
        try:
            meta = json.loads((pq.read_schema(path).metadata or {})[METADATA_KEY])
            if meta.get("base") != info.base or meta.get("index") != applied + 1:
                break
            data = pq.read_table(path)
        except (OSError, KeyError, ValueError) as exc:
            log.warning("%s: unreadable ledger delta (%s); later deltas ignored", path, exc)
            break
        rows = data.column(ROW).to_numpy()
        keep = rows < len(table)
        rows = rows[keep]
        for name in data.column_names:
            if name == ROW:
                continue
            values = data.column(name).to_numpy()[keep]
            if name in _VALUES:
                table.write_column(name, rows, values)
            elif not name.startswith(TAG_PREFIX) and name not in _FIXED:
                table.write_signal(rows, name, values)
        applied += 1
        rows_held += data.num_rows
        info = SnapshotInfo(int(meta["step"]), int(meta.get("journal_seq", 0)), info.layout,
                            dict(meta.get("extra") or {}), info.base, applied, rows_held)
    return info


def restore(root: Path, table: SampleTable) -> int | None:
    """Like :func:`restore_snapshot`, returning only the step (None: no snapshot)."""
    info = restore_snapshot(root, table)
    return None if info is None else info.step


def _read_meta(root: Path) -> tuple[SnapshotInfo, dict] | None:
    """``(info, registry)`` of the snapshot under ``root``, from either layout; None if none."""
    import pyarrow.parquet as pq

    if not (root / LEDGER).exists():
        return None
    raw = (pq.read_schema(root / LEDGER).metadata or {}).get(METADATA_KEY)
    if raw is not None:
        meta = json.loads(raw)
        return (SnapshotInfo(int(meta["step"]), int(meta.get("journal_seq", 0)), "single-file",
                             dict(meta.get("extra") or {}), str(meta.get("base", ""))),
                meta["registry"])
    # two-file layout of earlier versions
    if (root / REGISTRY).exists():
        registry = json.loads((root / REGISTRY).read_text())
    else:  # they wrote the Parquet file first: a crash before the registry left it alone
        log.warning("%s has no registry (%s missing): restoring its columns without "
                    "categorical values", root / LEDGER, REGISTRY)
        registry = {"categorical": {}, "boolean": []}
    return SnapshotInfo(int(registry.get("step", 0)), 0, "two-file"), registry


def _restore_unregistered_tag(table: SampleTable, name: str, values: np.ndarray,
                              root: Path) -> None:
    """A ``tag:`` column the registry does not list (a two-file snapshot whose registry is
    older than its Parquet file): a boolean tag comes back; a categorical one cannot (its values
    are unknown) and is dropped with a warning. Never read back as a signal."""
    if values.dtype == bool:
        table.ensure_bool_tag(name)[: len(values)] = values
    else:
        log.warning("%s: categorical tag column %r has no registered values (an older %s); "
                    "dropped", root / LEDGER, name, REGISTRY)


def _count(value, argument: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidTypeError(f"{argument}: expected an int, got {type(value).__name__}")
    if value < 0:
        raise InvalidValueError(f"{argument}: expected an int >= 0, got {value}")
    return int(value)
