"""The sample detail view's payload: everything about one sample, in one message.

Used by the grid's ``detail`` message (the overlay Enter and double-click open) and by the
``wl.show_sample`` panel (:mod:`weightslab_nb.panels.sample_view`); the browser side is
``js/src/lib/detail.ts``.

Payload (``detail_payload(...)[0]``)
-----------------------------------
``ref`` ``[origin, sample_id]``, ``sample_id``, ``origin``; ``target``, ``prediction`` (numbers
or None) with ``target_name``, ``prediction_name`` (the origin's class names, or None);
``discarded``; ``tags`` (boolean tags it has), ``categorical`` (name -> value);
``tag_names`` (every boolean tag) and ``categorical_values`` (name -> values), for editing;
``signals`` (column -> latest value); ``top``: None, or ``{"signal", "classes": [{"class",
"name", "prob"}]}``: the latest top-k classes (most probable first) of the loss the grid sorts
by (else of the first loss with classification evidence); ``input``: see
:func:`~weightslab_nb.panels.sample_image.input_view`; ``history``: ``{"signals": [names],
"points": [count per signal], "thinned": bool, "arrays": [offsets, steps, values]}`` with the
arrays in the buffers after the input's (``buffer_start``): signal ``i`` owns
``offsets[i]:offsets[i+1]``; ``markers``: ``[{"step", "signals"}]``: the evaluations, one entry
per step (``session.history.markers()``), oldest first.
"""

from __future__ import annotations

import numpy as np

from weightslab_nb.ledger.class_names import class_label
from weightslab_nb.ledger.ids import SampleRef
from weightslab_nb.ledger.sample_table import bare_signal_name
from weightslab_nb.panels.sample_image import input_view
from weightslab_nb.panels.wire import encode_arrays

#: The most history points sent per signal (a longer history is thinned evenly, keeping its
#: first and last points).
MAX_HISTORY_POINTS = 5000


def _plain(v):
    if isinstance(v, np.generic):
        return v.item()
    return v


def detail_payload(session, ref: SampleRef, thumbnail=None) -> tuple[dict, list]:
    """``(payload, buffers)`` for the sample ``ref`` of ``session`` (see the module doc).

    ``thumbnail``: the grid's ``thumbnail=`` callable, or None (the default image).

    Raises
    ------
    UnknownSampleError, AmbiguousSampleError, InvalidValueError
        An unknown sample or origin.
    """
    row = session.sample_row(ref.sample_id, origin=ref.origin)
    names = session.class_names(ref.origin)
    summary = session.tag_summary()
    payload = {
        "ref": [ref.origin, _plain(ref.sample_id)], "sample_id": _plain(ref.sample_id),
        "origin": ref.origin, "target": row["target"], "prediction": row["prediction"],
        "target_name": class_label(row["target"], names),
        "prediction_name": class_label(row["prediction"], names),
        "discarded": row["discarded"], "tags": row["tags"], "categorical": row["categorical"],
        "tag_names": list(summary["boolean"]),
        "categorical_values": {k: list(v["values"]) for k, v in summary["categorical"].items()},
        "signals": row["signals"], "top": _top(session, ref, names),
    }
    try:
        inputs, targets = session.sample_item(ref.sample_id, origin=ref.origin)
        view, buffers = input_view(inputs, targets, thumbnail)
    except Exception as exc:  # a sample without a readable input still has its history
        view, buffers = {"kind": "none", "error": f"{type(exc).__name__}: {exc}"}, []
    payload["input"] = view
    history, arrays = _history(session, ref)
    history["buffer_start"] = len(buffers)
    buffers.extend(arrays)
    payload["history"] = history
    payload["markers"] = _markers(session)
    return payload, buffers


def _top(session, ref: SampleRef, names: dict) -> dict | None:
    tops = session.top_classes(ref.sample_id, origin=ref.origin)
    if not tops:
        return None
    loss = session.loss_column
    signal = bare_signal_name(loss) if loss and bare_signal_name(loss) in tops else next(iter(tops))
    return {"signal": signal,
            "classes": [{"class": c, "name": names.get(c), "prob": p} for c, p in tops[signal]]}


def _history(session, ref: SampleRef) -> tuple[dict, list]:
    """Every per-sample signal's history of the sample: names, counts and three arrays."""
    points = session.query_sample_history(ref.sample_id, origin=ref.origin)
    by_signal: dict[str, tuple[list, list]] = {}
    for name, step, value, _exp in points:
        steps, values = by_signal.setdefault(name, ([], []))
        steps.append(step)
        values.append(value)
    loss = session.loss_column
    first = bare_signal_name(loss) if loss else None
    order = sorted(by_signal, key=lambda n: (n != first, n))  # the grid's loss first
    thinned = False
    parts = []
    for name in order:
        steps = np.asarray(by_signal[name][0], dtype=np.int64)
        values = np.asarray(by_signal[name][1], dtype=np.float64)
        if len(steps) > MAX_HISTORY_POINTS:
            keep = np.unique(np.linspace(0, len(steps) - 1, MAX_HISTORY_POINTS).round()
                             .astype(np.int64))
            steps, values, thinned = steps[keep], values[keep], True
        parts.append((steps, values))
    offsets = np.zeros(len(parts) + 1, dtype=np.int32)
    offsets[1:] = np.cumsum([len(s) for s, _ in parts])
    steps = np.concatenate([s for s, _ in parts]) if parts else np.empty(0, np.int64)
    values = np.concatenate([v for _, v in parts]) if parts else np.empty(0, np.float64)
    metas, bufs = encode_arrays({"offsets": offsets, "steps": steps,
                                 "values": values.astype(np.float32)})
    return {"signals": order, "points": [len(s) for s, _ in parts], "thinned": thinned,
            "arrays": metas}, bufs


def _markers(session) -> list[dict]:
    """The evaluation markers, one per step: ``[{"step", "signals"}]``."""
    steps: dict[int, list[str]] = {}
    for m in session.history.markers():
        names = steps.setdefault(int(m["step"]), [])
        if m["signal"] not in names:
            names.append(m["signal"])
    return [{"step": s, "signals": n} for s, n in sorted(steps.items())]
