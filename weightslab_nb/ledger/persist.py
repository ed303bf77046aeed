"""Saving and restoring the sample table under ``root_log_dir``.

``ledger.parquet`` has one row per table row (in row order, matching the history's ``samples``
table): ``discarded``, ``target``, ``prediction``, ``last_step``, every ``signals//<name>``
column, boolean ``tag:<name>`` columns and categorical tags as int16 codes. ``ledger.json``
holds what Parquet columns cannot say: each categorical tag's values, the empty boolean tags,
and the training step reached.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from weightslab_nb.experiment import write_atomic
from weightslab_nb.ledger.sample_table import SampleTable

LEDGER = "ledger.parquet"
REGISTRY = "ledger.json"


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


def save(root: Path, cols: dict[str, np.ndarray], registry: dict, step: int) -> None:
    """Write a snapshot atomically (both files)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(pa.table(cols), buffer)
    write_atomic(Path(root) / LEDGER, buffer.getvalue())
    write_atomic(Path(root) / REGISTRY, json.dumps({**registry, "step": step}).encode())


def restore(root: Path, table: SampleTable) -> int | None:
    """Load a snapshot into ``table`` (whose rows must already exist); return the saved step,
    or None when the directory has no snapshot."""
    import pyarrow.parquet as pq

    root = Path(root)
    if not (root / LEDGER).exists() or not (root / REGISTRY).exists():
        return None
    registry = json.loads((root / REGISTRY).read_text())
    data = pq.read_table(root / LEDGER)
    n = min(data.num_rows, len(table))
    for column in registry["boolean"]:
        table.ensure_bool_tag(column)
    for column, values in registry["categorical"].items():
        table.ensure_categorical(column, values)
    for name in data.column_names:
        values = data.column(name).to_numpy()[:n]
        if name in ("discarded", "target", "prediction", "last_step"):
            getattr(table, name)[:n] = values
        elif name in table.bool_tags:
            table.bool_tags[name][:n] = values
        elif name in table.cat_tags:
            table.cat_tags[name].codes[:n] = values
        else:
            table.write_signal(np.arange(n), name, values)
    table.discard_version += 1
    return int(registry.get("step", 0))
