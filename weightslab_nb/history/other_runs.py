"""Read the global curves of other run directories beside a run (for comparing runs).

Sessions put their ``root_log_dir`` under one parent by default
(``./weightslab_runs/<name>-<stamp>-<hex>``), each with its own ``history.duckdb``. This
module finds those siblings and reads their training curves (evaluation markers left out), read
only: a run that another process is still writing may refuse the connection (DuckDB locks the
file), which is reported as a :class:`~weightslab_nb.errors.StateError`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from weightslab_nb.errors import StateError
from weightslab_nb.history.store import _is_marker_hash

HISTORY_FILE = "history.duckdb"
MANIFEST_FILE = "manifest.json"
MAX_RUNS = 50


def sibling_runs(root_log_dir: Path, limit: int = MAX_RUNS) -> list[Path]:
    """Run directories beside ``root_log_dir`` (same parent) holding a ``history.duckdb``,
    newest first (by the file's modification time), at most ``limit``; ``root_log_dir``
    itself is not listed. A parent that cannot be listed gives ``[]``."""
    root = Path(root_log_dir).resolve()
    try:
        found = [p for p in root.parent.iterdir()
                 if p.is_dir() and p.resolve() != root and (p / HISTORY_FILE).is_file()]
    except OSError:
        return []
    found.sort(key=lambda p: (p / HISTORY_FILE).stat().st_mtime, reverse=True)
    return found[:limit]


def run_label(run_dir: Path) -> str:
    """A run's name for a chooser: its directory name, with its experiment name and last
    experiment hash (first 8 digits) from ``manifest.json`` when known."""
    run_dir = Path(run_dir)
    try:
        entries = json.loads((run_dir / MANIFEST_FILE).read_text())["experiments"]
    except (OSError, ValueError, KeyError, TypeError):
        entries = []
    if not entries:
        return run_dir.name
    last = entries[-1]
    hp = last.get("hyperparameters") or {}
    name = hp.get("experiment_name") if isinstance(hp, dict) else None
    short = str(last.get("experiment_hash", ""))[:8]
    head = f"{name} · " if isinstance(name, str) and name and name not in run_dir.name else ""
    return f"{head}{run_dir.name} ({short})" if short else f"{head}{run_dir.name}"


def read_global_curves(run_dir: Path) -> dict[str, dict[str, np.ndarray]]:
    """Every training curve of the run in ``run_dir``: signal name -> ``step`` (int64),
    ``mean``, ``min``, ``max`` (float64) arrays sorted by step (evaluation markers left out).

    Raises
    ------
    StateError
        The file cannot be opened (another process writes it, or it is not a history file).
    """
    import duckdb

    path = Path(run_dir) / HISTORY_FILE
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise StateError(f"run {Path(run_dir).name!r}: its history cannot be read now "
                         f"({type(exc).__name__}: {exc})") from None
    try:
        names = dict(con.execute("SELECT id, name FROM signals").fetchall())
        exps = dict(con.execute("SELECT id, hash FROM experiments").fetchall())
        res = con.execute("SELECT signal, step, mean, min, max, exp FROM global_history "
                          "ORDER BY signal, step, rowid").fetchnumpy()
    except duckdb.Error as exc:
        raise StateError(f"run {Path(run_dir).name!r}: not a readable history file "
                         f"({type(exc).__name__}: {exc})") from None
    finally:
        con.close()
    markers = [i for i, h in exps.items() if _is_marker_hash(str(h))]
    signal = np.asarray(res["signal"])
    keep = ~np.isin(np.asarray(res["exp"]), markers) if markers else np.ones(len(signal), bool)
    out = {}
    for sid in np.unique(signal[keep]):
        mine = keep & (signal == sid)
        out[str(names[int(sid)])] = {
            "step": np.asarray(res["step"])[mine].astype(np.int64),
            **{c: np.asarray(res[c])[mine].astype(np.float64) for c in ("mean", "min", "max")}}
    return out
