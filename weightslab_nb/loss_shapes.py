"""Loss-trajectory shapes: classify each sample's loss curve, and keep a tag of it up to date.

Six shapes (:data:`LOSS_SHAPE_LABELS`):

==================  ==========================================================================
``monotonic``       the loss fell steadily: the model is learning the sample
``plateaued``       it fell, then levelled off well above where it started to fall to
``Flat_high``       it barely moved (or rose): often a mislabel or an unlearnable sample
``high_variance``   it oscillates: the model is unsure, often an ambiguous label
``U_Shape``         it fell, then climbed back: learned, then forgotten
``Spiked``          one sudden jump: a data, augmentation or code change at that step
==================  ==========================================================================

:func:`classify_loss_shape` labels one trajectory; :func:`classify_loss_shapes` many at once
(vectorised per trajectory length); :func:`auto_tag_loss_shapes` registers a batched dynamic
signal that keeps the categorical tag ``loss_shape`` current during training.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from weightslab_nb.arguments import check_int, check_optional_name
from weightslab_nb.errors import InvalidTypeError, InvalidValueError
from weightslab_nb.ledger.names import check_tag_name
from weightslab_nb.session import Session, register_feature, session_function
from weightslab_nb.signals import register_signal

if TYPE_CHECKING:
    from weightslab_nb.signals import Signal

LOSS_SHAPE_LABELS = ["monotonic", "plateaued", "Flat_high", "high_variance", "U_Shape", "Spiked"]
LOSS_SHAPE_CODES = {label: code for code, label in enumerate(LOSS_SHAPE_LABELS)}
NO_SHAPE = -1   # code for "not enough history yet"
MIN_POINTS = 5

# Thresholds. Every one compares quantities measured on the trajectory itself (its range,
# its mean level, its first value), so multiplying a trajectory by any positive factor never
# changes its label.
FLAT_RANGE = 0.15          # range <= 15 % of the mean level: the loss never really moved
SPIKE_RISE = 0.5           # one step rises by more than half the range...
SPIKE_OTHER_RISES = 0.25   # ...and no other step rises by more than a quarter of it
NOISE_PATH = 3.0           # the path (sum of |step changes|) covers the range 3+ times
TROUGH_WINDOW = (0.2, 0.8)  # the minimum lies inside the middle 60 % of the steps...
REBOUND = 0.3              # ...and the last value is 30 %+ of the range above it
MIN_FALL = 0.15            # fell by less than 15 % of its first value: it did not learn
TAIL_START = 0.6           # the tail is the last 40 % of the points
TAIL_FLAT = 0.15           # tail range <= 15 % of the whole range: it levelled off
PLATEAU_FALL = 0.6         # a flat tail after falling less than 60 %: plateaued


def loss_shape_codes(trajectories) -> np.ndarray:
    """Shape codes (index into :data:`LOSS_SHAPE_LABELS`, or ``-1``) of equal-length
    trajectories given as a 2-D array ``[S, n]``, oldest value first. Rows with fewer than
    :data:`MIN_POINTS` points or a non-finite value get ``-1``. Rules, checked in order:

    1. ``Flat_high``: the range (max - min) is at most ``FLAT_RANGE`` (15 %) of the mean
       absolute level.
    2. ``Spiked``: the largest single-step rise exceeds ``SPIKE_RISE`` (50 %) of the range and
       every other rise stays within ``SPIKE_OTHER_RISES`` (25 %) of it: one isolated jump.
    3. ``high_variance``: the path length (sum of absolute step changes) is more than
       ``NOISE_PATH`` (3) times the range: a monotone curve covers its range once, a U twice.
    4. ``U_Shape``: the minimum lies strictly inside the middle 60 % of the points and the last
       value sits more than ``REBOUND`` (30 %) of the range above it.
    5. ``Flat_high``: the last value is less than ``MIN_FALL`` (15 %) below the first (relative
       to the first value's magnitude): no learning, or the loss rose.
    6. ``plateaued``: the tail (last 40 % of points) spans at most ``TAIL_FLAT`` (15 %) of the
       range while the loss fell by less than ``PLATEAU_FALL`` (60 %) of its first value.
    7. ``monotonic`` otherwise.

    These rules depart from a plain coefficient of variation on purpose: a well-learned sample
    (loss 2.3 falling to 0.01) has a large CV and would read as noise. Being scale-invariant,
    the rules cannot tell a flat *low* loss from a flat high one; combine the tag with the
    loss column when it matters.
    """
    y = np.asarray(trajectories, dtype=np.float64)
    if y.ndim != 2:
        raise InvalidValueError(f"trajectories: expected a 2-D array [S, n], got shape {y.shape}")
    s, n = y.shape
    codes = np.full(s, NO_SHAPE, dtype=np.int64)
    if n < MIN_POINTS or s == 0:
        return codes
    valid = np.isfinite(y).all(axis=1)
    if not valid.any():
        return codes
    y = y[valid]
    out = np.full(len(y), LOSS_SHAPE_CODES["monotonic"], dtype=np.int64)
    undecided = np.ones(len(y), dtype=bool)

    def decide(mask, label):
        hit = undecided & mask
        out[hit] = LOSS_SHAPE_CODES[label]
        undecided[hit] = False

    first, last = y[:, 0], y[:, -1]
    lo, hi = y.min(axis=1), y.max(axis=1)
    span = hi - lo
    safe_span = np.where(span > 0, span, 1.0)
    level = np.abs(y).mean(axis=1)
    steps = np.diff(y, axis=1)
    rises = np.sort(np.maximum(steps, 0.0), axis=1)
    path = np.abs(steps).sum(axis=1)
    trough = np.argmin(y, axis=1)
    tail = y[:, int(TAIL_START * n):]
    tail_span = tail.max(axis=1) - tail.min(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        fall = np.where(first != 0, (first - last) / np.abs(first),
                        np.where(last == first, 0.0, -np.inf * np.sign(last - first)))

    decide(span <= FLAT_RANGE * level, "Flat_high")
    decide((rises[:, -1] > SPIKE_RISE * safe_span)
           & (rises[:, -2] <= SPIKE_OTHER_RISES * safe_span), "Spiked")
    decide(path > NOISE_PATH * safe_span, "high_variance")
    decide((trough > TROUGH_WINDOW[0] * n) & (trough < TROUGH_WINDOW[1] * n)
           & (last - lo > REBOUND * safe_span), "U_Shape")
    decide(fall < MIN_FALL, "Flat_high")
    decide((tail_span <= TAIL_FLAT * safe_span) & (fall < PLATEAU_FALL), "plateaued")
    codes[valid] = out
    return codes


def classify_loss_shape(values) -> str | None:
    """The shape label of one loss trajectory (values ordered by step, oldest first), or None
    with fewer than :data:`MIN_POINTS` finite values. Non-finite values are dropped. See
    :func:`loss_shape_codes` for the rules and thresholds."""
    y = np.asarray(values, dtype=np.float64).reshape(-1)
    y = y[np.isfinite(y)]
    if y.size < MIN_POINTS:
        return None
    return LOSS_SHAPE_LABELS[int(loss_shape_codes(y[None, :])[0])]


def classify_loss_shapes(trajectories) -> list[str | None]:
    """Labels of many trajectories (sequences of possibly different lengths), computed with
    one vectorised :func:`loss_shape_codes` call per distinct length."""
    cleaned = []
    for t in trajectories:
        y = np.asarray(t, dtype=np.float64).reshape(-1)
        cleaned.append(y[np.isfinite(y)])
    labels: list[str | None] = [None] * len(cleaned)
    by_length: dict[int, list[int]] = {}
    for i, y in enumerate(cleaned):
        if y.size >= MIN_POINTS:
            by_length.setdefault(y.size, []).append(i)
    for idx in by_length.values():
        codes = loss_shape_codes(np.stack([cleaned[i] for i in idx]))
        for i, code in zip(idx, codes.tolist()):
            labels[i] = LOSS_SHAPE_LABELS[code] if code >= 0 else None
    return labels


def auto_tag_loss_shapes(session: Session, signal_name: str, tag: str = "loss_shape",
                         every_n_steps: int = 25, name: str | None = None) -> "Signal":
    """Keep a categorical tag with each sample's loss shape current during training of
    ``session`` (``wl.auto_tag_loss_shapes`` is this for the current session).

    Registers the categorical ``tag`` with the six :data:`LOSS_SHAPE_LABELS`, and a batched
    dynamic signal (default name ``"<tag>_classifier"``) subscribed to the per-sample signal
    ``signal_name``. On every ``every_n_steps``-th batch of it, each sample of that batch gets
    its whole trajectory of ``signal_name`` classified (one history query for the batch, one
    vectorised classification, one ``set_categorical_tag`` call per label) and the tag set; the
    shape code (:data:`LOSS_SHAPE_CODES`, ``-1`` while fewer than :data:`MIN_POINTS` values
    exist) is stored as ``signals//<name>``, without a curve. Samples keep their last label
    until they are in a fired batch again.

    ::

        wl.auto_tag_loss_shapes("train-loss")
        ...
        wl.get_samples_by_tag("loss_shape=Flat_high")   # mislabel suspects

    Returns the registered :class:`~weightslab_nb.signals.Signal` (remove it with
    ``signal_registry(session).remove(name)``).
    """
    if not isinstance(signal_name, str) or not signal_name:
        raise InvalidTypeError(f"signal_name: expected the name of a per-sample signal, got "
                               f"{signal_name!r}")
    # everything is checked before the tag or the signal is registered: a refused call
    # registers neither
    tag = check_tag_name(tag, "tag")
    if tag in session.tag_summary()["boolean"]:
        raise InvalidValueError(f"tag: {tag!r} is already a boolean tag; the loss shapes need a "
                                "categorical one (pick another name)")
    every_n_steps = check_int(every_n_steps, "every_n_steps", minimum=1)
    name = check_optional_name(name, "name", "a signal name")
    tagging_session = session

    def classify(ctx):
        history = ctx.subscribed_history
        trajectories = [[e["signal_value"] for e in history.get(sid, ())] + [float(v)]
                        for sid, v in zip(ctx.sample_ids, ctx.subscribed_values)]
        labels = classify_loss_shapes(trajectories)
        by_label: dict[tuple[str, str], list] = {}  # (label, origin) -> ids
        for sid, origin, label in zip(ctx.sample_ids, ctx.origins, labels):
            if label is not None:
                by_label.setdefault((label, origin), []).append(sid)
        for (label, origin), ids in by_label.items():
            tagging_session.set_categorical_tag(ids, tag, label, origin=origin)
        return np.array([NO_SHAPE if lab is None else LOSS_SHAPE_CODES[lab] for lab in labels],
                        dtype=np.float64)

    classify.__name__ = name or f"{tag}_classifier"
    registered = register_signal(session, classify, name=name or f"{tag}_classifier",
                                 subscribe_to=signal_name, compute_every_n_steps=every_n_steps,
                                 include_history=True, log=False, batched=True)
    session.register_categorical_tag(tag, LOSS_SHAPE_LABELS)
    return registered


register_feature("auto_tag_loss_shapes", session_function(auto_tag_loss_shapes))
