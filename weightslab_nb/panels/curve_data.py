"""What the curves panel sends besides live points: a step range of every curve, markers of
hyperparameter changes, and the curves of other experiments and runs to compare with.

Each function reads the session (or another run's files) and returns plain values the panel
encodes; none of them touches a widget.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from weightslab_nb.history.other_runs import read_global_curves, run_label, sibling_runs
from weightslab_nb.panels.messages import MessageError
from weightslab_nb.panels.wire import json_number

COLUMNS = ("step", "mean", "min", "max")
MAX_VALUE_TEXT = 80


def in_range(series: dict, lo: int, hi: int) -> dict[str, np.ndarray]:
    """The points of ``series`` (``step``, ``mean``, ``min``, ``max`` arrays) with
    ``lo <= step <= hi``, in their order."""
    step = np.asarray(series["step"])
    keep = (step >= lo) & (step <= hi)
    return {c: np.asarray(series[c])[keep] for c in COLUMNS}


def _plain(value):
    """A JSON value for a hyperparameter value: numbers (NaN/inf as text), strings, bools,
    None, lists of those; anything else as its (shortened) repr."""
    if value is None or isinstance(value, (bool, str)):
        return value if not isinstance(value, str) else value[:MAX_VALUE_TEXT]
    if isinstance(value, (int, float, np.integer, np.floating)):
        f = float(value)
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            return int(value)
        return f if math.isfinite(f) else repr(f)
    if isinstance(value, (list, tuple)) and len(value) <= 16:
        return [_plain(v) for v in value]
    return repr(value)[:MAX_VALUE_TEXT]


def marker_rows(session, start: int = 0) -> list[dict]:
    """Evaluation markers ``start ...`` of ``session.history.markers()`` as plain JSON values."""
    return [{"signal": str(m["signal"]), "step": int(m["step"]), "mean": json_number(m["mean"]),
             "min": json_number(m["min"]), "max": json_number(m["max"]), "count": int(m["count"]),
             "experiment_hash": None if m["experiment_hash"] is None else str(m["experiment_hash"])}
            for m in session.history.markers()[start:]]


def hp_change_count(session) -> int:
    """How many hyperparameter changes the session applied so far (cheap: no copy)."""
    steering = session.steering
    if steering is None:
        return 0
    with steering.lock:
        return len(steering.changes)


def hp_change_rows(session, start: int = 0) -> list[dict]:
    """Applied hyperparameter changes ``start ...`` of the session (all its watched
    hyperparameter handles, oldest first, see :func:`weightslab_nb.steering.changes`) as
    ``{"key", "step", "old", "new", "source", "deleted", "experiment_hash"}`` (``step`` None
    for a change applied outside a run; the view draws only those with a step)."""
    from weightslab_nb.steering import changes

    out = []
    for record in changes(session)[start:]:
        step = record.get("step")
        out.append({"key": str(record.get("key")), "step": None if step is None else int(step),
                    "old": _plain(record.get("old")), "new": _plain(record.get("new")),
                    "source": str(record.get("source") or ""),
                    "deleted": bool(record.get("deleted")),
                    "experiment_hash": record.get("experiment_hash")})
    return out


# ---------------------------------------------------------------- comparing runs
def compare_choices(session) -> list[dict]:
    """What the "compare" control offers: ``{"id", "kind", "label", "first", "last"}``.

    * ``kind="experiment"``: an earlier experiment (hash) of this run, whose points the curves
      hold (``id`` ``"experiment:<hash>"``; ``first``/``last``: its step span);
    * ``kind="run"``: another run directory beside this one (``id`` ``"run:<dir name>"``;
      ``first``/``last`` None: read when chosen).
    """
    out = []
    current = session.get_current_experiment_hash()
    _, exps = session.history.names_by_id()
    spans: dict[int, list[int]] = {}
    for name in session.global_signal_names():
        series = session.global_series(name)
        for eid in np.unique(series["exp"]).tolist():
            steps = series["step"][series["exp"] == eid]
            lo, hi = int(steps.min()), int(steps.max())
            span = spans.setdefault(int(eid), [lo, hi])
            span[0], span[1] = min(span[0], lo), max(span[1], hi)
    for eid, (lo, hi) in sorted(spans.items(), key=lambda kv: kv[1][0]):
        h = exps.get(eid)
        if h is None or h == current:
            continue
        out.append({"id": f"experiment:{h}", "kind": "experiment",
                    "label": f"experiment {h[:8]} · steps {lo:,}–{hi:,}", "first": lo,
                    "last": hi})
    root = session.chosen_root_log_dir
    if root is not None:
        for run_dir in sibling_runs(Path(root)):
            out.append({"id": f"run:{run_dir.name}", "kind": "run", "label": run_label(run_dir),
                        "first": None, "last": None})
    return out


def compare_series(session, choice: str) -> dict[str, dict[str, np.ndarray]]:
    """The curves of one compare choice (an ``id`` of :func:`compare_choices`): signal name
    -> ``step, mean, min, max`` arrays.

    Raises
    ------
    MessageError
        ``choice`` is not one of the current choices.
    weightslab_nb.errors.StateError
        The other run's history cannot be read now.
    """
    known = {c["id"]: c for c in compare_choices(session)}
    if choice not in known:
        shown = sorted(known)[:10]
        raise MessageError(f"run: unknown experiment or run {choice!r}; known: {shown}")
    kind, _, key = choice.partition(":")
    if kind == "run":
        return read_global_curves(Path(session.chosen_root_log_dir).resolve().parent / key)
    hashes = {h: i for i, h in session.history.names_by_id()[1].items()}
    eid = hashes[key]
    out = {}
    for name in session.global_signal_names():
        series = session.global_series(name)
        mine = series["exp"] == eid
        if mine.any():
            out[name] = {c: series[c][mine] for c in COLUMNS}
    return out
