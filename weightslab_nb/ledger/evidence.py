"""Classification evidence: what a batch's logits say about each sample's given label.

When a watched per-sample loss is called with ``[B, C]`` scores and ``[B]`` class targets, the
recorder derives, per sample and per presentation (the forward pass of the step that sample is
in, before the optimizer step):

=====================  ======================================================================
``margin``             the score of the given label minus the largest other score, in the
                       units of the scores (logits): the per-step margin whose average over
                       training is the *area under the margin* (AUM, Pleiss et al. 2020,
                       "Identifying Mislabeled Data using the Area Under the Margin Ranking").
                       Positive: the model agrees with the label; negative: another class wins.
``p_label``            softmax probability of the given label, in [0, 1] (the "confidence" of
                       Swayamdipta et al. 2020, "Dataset Cartography").
``correct``            1.0 when the arg-max class is the given label, else 0.0.
``predicted``          the arg-max class (float64 class index).
``rival``              the strongest class other than the given label (float64 class index):
                       the class a relabelling would most likely pick.
=====================  ======================================================================

Everything is computed with a handful of vectorised numpy operations on the recorder's thread
(:meth:`weightslab_nb.ledger.recorder.Recorder.drain`), never on the training thread, and
stored as per-sample signals of the loss ``L`` (:data:`EVIDENCE_KEYS`): ``L/margin`` (latest
value in the sample table, every value in the per-sample history), ``L/p_label`` and
``L/correct`` (latest value), ``L/forgetting`` (forgetting events so far: presentations at which
a sample the model classified correctly at its previous presentation is misclassified, Toneva
et al. 2019, "An Empirical Study of Example Forgetting"), ``L/predicted_class`` and
``L/suggested_class`` (running majority votes of ``predicted`` and ``rival``, with their
``_votes`` counters; see :func:`majority_vote`).

The latest **top-k classes** of each sample (``k = min(TOP_K, C)``, most probable first, with
their softmax probabilities) are kept apart from the signals, one small ``[rows, TOP_K]`` pair
of arrays per loss (:class:`~weightslab_nb.ledger.top_classes.TopClasses`): latest values
only, no history (the sample detail view shows them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from weightslab_nb.ledger.sample_table import bare_signal_name

#: Per-sample signals derived from a loss ``L`` (each named ``"L/<key>"``): ``margin`` also has
#: a per-sample history; the others hold the latest value, or a running count or vote.
EVIDENCE_KEYS = ("margin", "p_label", "correct", "forgetting", "predicted_class",
                 "predicted_class_votes", "suggested_class", "suggested_class_votes")
#: The most classes the latest top-k of a sample keeps.
TOP_K = 5


def evidence_name(loss: str, key: str) -> str:
    """Name of the evidence signal ``key`` of the loss signal ``loss`` (a name or a
    ``signals//`` column): ``("train-loss", "margin")`` -> ``"train-loss/margin"``."""
    return f"{bare_signal_name(loss)}/{key}"


@dataclass
class Evidence:
    """Per-sample evidence of one batch: float64 arrays of length B (see the module doc)."""

    margin: np.ndarray
    p_label: np.ndarray
    correct: np.ndarray
    predicted: np.ndarray
    rival: np.ndarray
    top_classes: np.ndarray | None = None  # int64 [B, k]: the k most probable classes
    top_probs: np.ndarray | None = None    # float64 [B, k]: their softmax probabilities


def classification_evidence(scores: np.ndarray | None,
                            targets: np.ndarray | None) -> Evidence | None:
    """The :class:`Evidence` of ``[B, C]`` ``scores`` (logits; C >= 2) against ``[B]``
    ``targets`` (class indices stored as numbers), or None when the batch is not a
    classification batch: no scores or targets, another shape, a target that is not a whole
    number in ``[0, C)``, or a non-finite score (nothing is derived then, no error: the loss
    itself is still recorded)."""
    if scores is None or targets is None:
        return None
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2 or scores.shape[1] < 2 or scores.shape[0] != len(targets):
        return None
    b, c = scores.shape
    if b == 0 or not np.isfinite(scores).all():
        return None
    labels = np.asarray(targets, dtype=np.float64)
    if not (np.isfinite(labels).all() and (labels == np.round(labels)).all()
            and labels.min() >= 0 and labels.max() < c):
        return None
    labels = labels.astype(np.int64)
    pos = np.arange(b)
    given = scores[pos, labels]
    others = scores.copy()
    others[pos, labels] = -np.inf
    rival = others.argmax(axis=1)
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(shifted).sum(axis=1))
    predicted = scores.argmax(axis=1)
    top, top_probs = top_classes(shifted, log_norm)
    return Evidence(margin=given - others[pos, rival],
                    p_label=np.exp(shifted[pos, labels] - log_norm),
                    correct=(predicted == labels).astype(np.float64),
                    predicted=predicted.astype(np.float64),
                    rival=rival.astype(np.float64),
                    top_classes=top, top_probs=top_probs)


def top_classes(shifted: np.ndarray, log_norm: np.ndarray,
                k: int = TOP_K) -> tuple[np.ndarray, np.ndarray]:
    """The ``min(k, C)`` most probable classes of each row of ``[B, C]`` max-shifted scores
    (``scores - scores.max(axis=1)``; ``log_norm``: the ``[B]`` log of the row sums of their
    exponentials), most probable first (ties: the lower class first): ``(classes int64 [B, k],
    softmax probabilities float64 [B, k])``."""
    b, c = shifted.shape
    k = min(k, c)
    if c <= 64:  # few classes: one stable sort per row (equal scores keep the lower class first)
        classes = np.argsort(-shifted, axis=1, kind="stable")[:, :k]
        return classes.astype(np.int64), \
            np.exp(np.take_along_axis(shifted, classes, axis=1) - log_norm[:, None])
    part = np.argpartition(-shifted, k - 1, axis=1)[:, :k] if k < c else \
        np.broadcast_to(np.arange(c), (b, c)).copy()
    pos = np.arange(b)[:, None]
    # most probable first; among equal scores the lower class index
    order = np.lexsort((part, -shifted[pos, part]), axis=1)
    classes = part[pos, order]
    return classes.astype(np.int64), np.exp(shifted[pos, classes] - log_norm[:, None])


def majority_vote(candidate: np.ndarray, votes: np.ndarray,
                  new: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One step of the Boyer-Moore majority vote, for many samples at once.

    ``candidate`` (float64 class, NaN = none yet) and ``votes`` (float64 count) are the running
    state of each sample, ``new`` the class seen at this presentation. Returns the new
    ``(candidate, votes)``. After every presentation, a class that was seen at more than half
    of a sample's presentations is its candidate (Boyer & Moore 1981); otherwise the candidate
    is a frequent class, not necessarily the most frequent one.
    """
    candidate = candidate.copy()
    votes = np.where(np.isnan(votes), 0.0, votes)
    same = candidate == new
    empty = ~same & (votes <= 0)
    candidate[empty] = new[empty]
    votes = np.where(same | empty, votes + 1.0, votes - 1.0)
    return candidate, votes
