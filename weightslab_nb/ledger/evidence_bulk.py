"""Classification evidence for every batch of one drain at once.

The recorder drains hundreds of batches per round. Deriving the evidence batch by batch costs
more Python than the numbers themselves (and the recorder's thread holds the GIL the training
thread needs meanwhile), so this module

* computes it for all the batches of a drain that share a class count in one vectorised call
  (:func:`derive`), then hands each batch its slice; and
* writes it to the sample table in *rounds* (:func:`write`): round k holds each row's k-th
  presentation in the drain, in recording order, so the running state (forgetting events,
  majority votes) advances exactly as it would batch by batch, with one vectorised update per
  round instead of one per batch.

A row presented twice within one batch counts once, with its last value (as a batch applied on
its own does).
"""

from __future__ import annotations

import numpy as np

from weightslab_nb.ledger.evidence import (Evidence, classification_evidence, evidence_name,
                                           majority_vote)
from weightslab_nb.ledger.top_classes import TopClasses

_FIELDS = ("margin", "p_label", "correct", "predicted", "rival", "top_classes", "top_probs")


def derive(wanting: list[tuple[object, np.ndarray, np.ndarray]]) -> list[Evidence | None]:
    """The evidence of each ``(key, scores [B, C], targets [B])`` in ``wanting``, in order.

    Batches with the same C are derived together; a group that does not qualify as a whole
    (a non-finite score or a bad label in one batch) is derived batch by batch, so one bad
    batch leaves the others their evidence.
    """
    out: list[Evidence | None] = [None] * len(wanting)
    groups: dict[int, list[int]] = {}
    for i, (_, scores, _) in enumerate(wanting):
        groups.setdefault(scores.shape[1], []).append(i)
    for members in groups.values():
        joint = None
        if len(members) > 1:
            joint = classification_evidence(
                np.concatenate([wanting[i][1] for i in members]),
                np.concatenate([np.asarray(wanting[i][2], dtype=np.float64) for i in members]))
        if joint is None:
            for i in members:
                out[i] = classification_evidence(wanting[i][1], wanting[i][2])
            continue
        start = 0
        for i in members:
            end = start + len(wanting[i][1])
            out[i] = Evidence(**{f: getattr(joint, f)[start:end] for f in _FIELDS})
            start = end
    return out


def write(table, top_store: dict[str, TopClasses], column: str,
          parts: list[tuple[np.ndarray, Evidence]]) -> None:
    """Apply the evidence of the batches ``parts`` (``(rows, evidence)``, in recording order) of
    the loss column ``column`` to ``table`` and its :class:`TopClasses` in ``top_store``; call
    under the session lock."""
    if not parts:
        return
    rows = np.concatenate([r for r, _ in parts])
    batch = np.repeat(np.arange(len(parts)), [len(r) for r, _ in parts])
    ev = {f: _concat([getattr(e, f) for _, e in parts]) for f in _FIELDS}
    # stable sort by row: each row's presentations in recording order
    order = np.argsort(rows, kind="stable")
    srows, sbatch = rows[order], batch[order]
    same_row = srows[1:] == srows[:-1]
    # a row twice in one batch: keep its last entry only
    keep = np.ones(len(order), dtype=bool)
    keep[:-1] = ~(same_row & (sbatch[1:] == sbatch[:-1]))
    order, srows = order[keep], srows[keep]
    if not len(order):
        return
    starts = np.flatnonzero(np.r_[True, srows[1:] != srows[:-1]])
    counts = np.diff(np.r_[starts, len(srows)])
    occurrence = np.arange(len(srows)) - np.repeat(starts, counts)  # k-th presentation
    by_round = np.argsort(occurrence, kind="stable")
    bounds = np.r_[0, np.cumsum(np.bincount(occurrence))]
    cols = {key: table.signal_array(evidence_name(column, key)) for key in
            ("forgetting", "correct", "margin", "p_label", "predicted_class",
             "predicted_class_votes", "suggested_class", "suggested_class_votes")}
    top = None
    if ev["top_classes"] is not None:
        top = top_store.get(column)
        if top is None:
            top = top_store[column] = TopClasses()
    for k in range(len(bounds) - 1):
        idx = order[by_round[bounds[k]:bounds[k + 1]]]  # positions in `rows`, rows unique
        r = rows[idx]
        correct = ev["correct"][idx]
        was_correct = cols["correct"][r] == 1.0
        cols["forgetting"][r] = np.nan_to_num(cols["forgetting"][r]) + \
            (was_correct & (correct == 0.0))
        cols["margin"][r] = ev["margin"][idx]
        cols["p_label"][r] = ev["p_label"][idx]
        cols["correct"][r] = correct
        for key, seen in (("predicted_class", ev["predicted"]), ("suggested_class", ev["rival"])):
            votes = cols[f"{key}_votes"]
            cols[key][r], votes[r] = majority_vote(cols[key][r], votes[r], seen[idx])
    if top is not None:  # latest top-k: each row's last presentation
        last = order[np.r_[starts[1:] - 1, len(order) - 1]]
        top.write(rows[last], ev["top_classes"][last], ev["top_probs"][last])


def _concat(arrays: list):
    if any(a is None for a in arrays):
        return None
    return np.concatenate(arrays)
