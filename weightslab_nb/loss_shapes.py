"""Loss-trajectory shapes: classify every sample's loss curve, flag likely mislabels, and keep a
categorical tag of it current.

Eight labels (:data:`LOSS_SHAPE_LABELS`; codes are their positions, ``-1`` = too short):

===================  =========================================================================
``monotonic``        it fell and kept falling: the model is learning (or learned) the sample
``plateaued``        it fell, then levelled off above 40 % of where it started: a hard sample
``Flat_high``        it did not fall (or rose) and stays high: unlearned or ambiguous
``high_variance``    it jumps from step to step by a sizeable share of the typical loss
``U_Shape``          it fell, then climbed back: learned, then forgotten
``Spiked``           one sudden jump: a data, augmentation or code change at that step
``Flat_low``         it did not fall because it was low all along: learned before its history
``likely_mislabel``  its mean loss sits in a separate high-loss cluster of the population
===================  =========================================================================

How a label is chosen (each condition stands on its own; :func:`shape_conditions` has the
formulas):

* **Base shape**, exactly one of four by construction: a trajectory either *fell* (its end
  level is at least :data:`MIN_FALL` below its start level) or not; one that fell is
  ``plateaued`` when its tail is flat above :data:`PLATEAU_LEVEL` of its start, else
  ``monotonic``; one that did not fall is ``Flat_high`` when its end level is at least
  :data:`HIGH_LEVEL` of the population's loss scale, else ``Flat_low``.
* **Events** replace the base shape when their own condition holds, with this fixed,
  documented precedence when several hold (:data:`PRECEDENCE`): ``likely_mislabel`` >
  ``Spiked`` > ``U_Shape`` > ``high_variance`` > base shape. So a mislabel whose loss jitters
  is still ``likely_mislabel`` (the old rules, checked in order, called it ``high_variance``).

Levels are compared with the **population's loss scale** ``s``: the median of the first values
of the trajectories classified together (one origin when tagging a session). Every rule is a
ratio (of ``s``, of the trajectory's own start level or range), so multiplying every loss by
a positive factor changes no label. Start and end levels are means over the first and last
fifth of the points, and durations are fractions of the trajectory, so the rules read a
30-epoch and a 120-epoch history alike.

``likely_mislabel`` (see :func:`mislabel_flags`) needs a population: the mean loss of each
trajectory over all its presentations (the training-dynamics view of Swayamdipta et al. 2020,
"Dataset Cartography": mislabels stay hard to learn across epochs; Arazo et al. 2019 model the
per-sample loss of clean and noisy labels as two mixture components) is put on a
``log1p(mean / s)`` scale; two-means (Otsu 1979)
finds the two groups, the cut is the lowest point of a Gaussian kernel density estimate
(Silverman's bandwidth) between their means, and samples above the cut are flagged only when
the high group forms a separate mode (the density at the cut at most :data:`MAX_DIP` of the
high mode's peak). Otherwise nothing is flagged: a population without a separate high-loss
cluster (clean data, or mislabels the loss cannot tell from hard samples) gets no verdict.

Sources of the rules: the spike, rebound, fall and plateau thresholds (``SPIKE_*``,
``REBOUND``, ``MIN_FALL``, ``PLATEAU_LEVEL``, ``TAIL_*``) are those of the earlier, purely
per-trajectory rules, now measured on segment means and a moving average instead of single
points; ``HIGH_LEVEL``, ``MATERIAL`` and ``NOISE`` are new, set a priori as round shares of the
population scale (half of it is "still high", a tenth is "material"), not fitted to a data
set; the verdict combines two-means (Otsu 1979), a kernel density estimate with Silverman's
(1986) rule-of-thumb bandwidth, and the mean loss over training as the score (see above).
On the digits protocol of issue 9 (the one ``bench/mislabel.py`` runs: 10 % and 20 % symmetric
noise, MLP, 30 and 120 epochs) the verdict's precision is 0.95-0.99 and its recall 0.78-0.97
(medians over 3 noise seeds); at most 0.4 % of the clean samples get ``high_variance`` (the
earlier rules gave it to 577 of 1,006).

:func:`classify_loss_shape` labels one trajectory (no population: its own first value is the
scale, and no verdict); :func:`classify_loss_shapes` many (one population);
:func:`tag_loss_shapes_now` classifies every sample of a session from its history in one
query and sets the tag; :func:`auto_tag_loss_shapes` keeps the tag current during training.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import numpy as np

from weightslab_nb.arguments import check_int, check_optional_name
from weightslab_nb.errors import InvalidTypeError, InvalidValueError
from weightslab_nb.ledger.names import check_tag_name
from weightslab_nb.ledger.sample_table import bare_signal_name, tag_column
from weightslab_nb.session import Session, register_feature, session_function
from weightslab_nb.signals import register_signal, signal_registry
from weightslab_nb.two_means import two_means

if TYPE_CHECKING:
    from weightslab_nb.signals import Signal

LOSS_SHAPE_LABELS = ["monotonic", "plateaued", "Flat_high", "high_variance", "U_Shape", "Spiked",
                     "Flat_low", "likely_mislabel"]
LOSS_SHAPE_CODES = {label: code for code, label in enumerate(LOSS_SHAPE_LABELS)}
MISLABEL_LABEL = "likely_mislabel"
# Which label a trajectory gets when several conditions hold: the first of these that holds.
# The last four (the base shapes) exclude each other and one of them always holds.
PRECEDENCE = ("likely_mislabel", "Spiked", "U_Shape", "high_variance",
              "monotonic", "plateaued", "Flat_high", "Flat_low")
NO_SHAPE = -1        # code for "not enough history yet"
MIN_POINTS = 5       # values a trajectory needs before it gets a label
MIN_POPULATION = 50  # trajectories (of MIN_POINTS+) a population needs for the mislabel verdict

# Base shape. Start / end level: mean of the first / last SEGMENT share of the points (>= 1).
SEGMENT = 0.2
MIN_FALL = 0.15        # fell: end level <= (1 - 15 %) x start level
HIGH_LEVEL = 0.5       # did not fall and end level >= 50 % of the population scale: Flat_high
PLATEAU_LEVEL = 0.4    # fell, but ended above 40 % of its start level...
TAIL_START = 0.6       # ...and the smoothed curve's last 40 %...
TAIL_FLAT = 0.15       # ...spans at most 15 % of the fall: plateaued
# Events. MATERIAL: a jump, rebound or jitter counts only when >= 10 % of the population scale,
# so the noise of a learned sample (loss ~0.001) never makes an event.
MATERIAL = 0.1
SPIKE_RISE = 0.5           # one step rises by more than half the range...
SPIKE_OTHER_RISES = 0.25   # ...and no other step by more than a quarter of it: Spiked
REBOUND = 0.3              # the end level is 30 %+ of the fall back above the smoothed minimum
NOISE = 0.25               # median |step change| >= 25 % of the population scale...
NOISE_TREND = 1.0          # ...and >= the mean change per step of its own trend: high_variance
# Mislabel verdict
MAX_DIP = 2 / 3            # density at the cut <= 2/3 of the high group's peak density
MISLABEL_SPLITS = 2        # two-means on the population, then once more inside its high group
KDE_POINTS = 512           # evaluation grid of the density estimate


# ---------------------------------------------------------------- the vectorised core
def shape_codes(values, counts, groups=None, scale: float | None = None) -> np.ndarray:
    """Shape codes of many trajectories given as one flat array, one population per group.

    Parameters
    ----------
    values : array-like of float, shape ``[N]``
        The trajectories one after the other, each oldest value first. Must be finite.
    counts : array-like of int, shape ``[S]``
        Length of each trajectory (``sum(counts) == N``); 0 is allowed.
    groups : array-like of int, shape ``[S]``, optional
        Population of each trajectory (e.g. the origin); the loss scale and the mislabel
        verdict are computed per population. Default: one population.
    scale : float, optional
        The loss scale ``s`` the level rules compare with, for every population. Default: the
        median first value of each population's trajectories that have :data:`MIN_POINTS`
        values.

    Returns
    -------
    ndarray of int64, shape ``[S]``
        Codes into :data:`LOSS_SHAPE_LABELS`: the first label of :data:`PRECEDENCE` whose
        condition (:func:`shape_conditions`) holds; :data:`NO_SHAPE` (-1) for trajectories
        with fewer than :data:`MIN_POINTS` values.

    Raises
    ------
    InvalidValueError
        Mismatched shapes, negative counts, non-finite values or a non-positive ``scale``.
    """
    conditions = shape_conditions(values, counts, groups, scale)
    codes = np.full(len(conditions[PRECEDENCE[0]]), NO_SHAPE, dtype=np.int64)
    undecided = np.ones(len(codes), dtype=bool)
    for label in PRECEDENCE:
        hit = undecided & conditions[label]
        codes[hit] = LOSS_SHAPE_CODES[label]
        undecided &= ~hit
    return codes


def shape_conditions(values, counts, groups=None, scale: float | None = None) -> dict:
    """Which label conditions hold for each trajectory (the rules behind :func:`shape_codes`,
    same parameters): ``{label: bool array [S]}``, all False for trajectories with fewer
    than :data:`MIN_POINTS` values.

    With ``a``, ``b`` the mean of the first and last fifth of the points (at least one),
    ``sm`` the moving average over that many points, ``n`` the number of points and ``s`` the
    population's loss scale:

    =================== ===========================================================================
    ``monotonic``       fell (``b <= (1 - MIN_FALL) a``), not plateaued
    ``plateaued``       fell, ``b >= PLATEAU_LEVEL a``, and the last 40 % of ``sm`` spans at most
                        ``TAIL_FLAT (a - b)``
    ``Flat_high``       did not fall, ``b >= HIGH_LEVEL s``
    ``Flat_low``        did not fall, ``b < HIGH_LEVEL s``
    ``Spiked``          the largest one-step rise exceeds ``SPIKE_RISE`` of the range (max - min)
                        and ``MATERIAL s``, every other rise stays within ``SPIKE_OTHER_RISES`` of
                        the range
    ``U_Shape``         ``min(sm) <= (1 - MIN_FALL) a`` and ``b - min(sm)`` is at least
                        ``REBOUND (a - min(sm))`` and ``MATERIAL s``
    ``high_variance``   the median absolute step change is at least ``NOISE s`` and at least
                        ``NOISE_TREND |b - a| / (n - 1)`` (jitter, not a trend)
    ``likely_mislabel`` :func:`mislabel_flags` on the population's mean losses (populations of
                        :data:`MIN_POPULATION`+ trajectories with non-negative losses)
    =================== ===========================================================================

    The four base conditions (monotonic, plateaued, Flat_high, Flat_low) exclude each other
    and one of them always holds; the events may hold together, and :data:`PRECEDENCE`
    settles which label a trajectory gets.
    """
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    counts = np.asarray(counts, dtype=np.int64).reshape(-1)
    if counts.size and counts.min() < 0:
        raise InvalidValueError("counts: trajectory lengths must be >= 0")
    if int(counts.sum()) != values.size:
        raise InvalidValueError(f"counts: they add up to {int(counts.sum())}, but values holds "
                                f"{values.size} numbers")
    if not np.isfinite(values).all():
        raise InvalidValueError("values: must be finite (drop NaN and inf first)")
    groups = np.zeros(counts.size, np.int64) if groups is None else \
        np.asarray(groups).reshape(-1)
    if groups.shape != counts.shape:
        raise InvalidValueError(f"groups: expected one group per trajectory ({counts.size}), "
                                f"got {groups.size}")
    if scale is not None and not (np.isfinite(scale) and scale > 0):
        raise InvalidValueError(f"scale: expected a positive number, got {scale!r}")
    out = {label: np.zeros(counts.size, dtype=bool) for label in LOSS_SHAPE_LABELS}
    ok = counts >= MIN_POINTS
    if not ok.any():
        return out
    starts = np.cumsum(counts) - counts
    idx = np.flatnonzero(ok)
    first = values[starts[idx]]
    means = _segment_means(values, starts[idx], counts[idx])
    s = np.empty(len(idx))
    for g in np.unique(groups[idx]):
        members = groups[idx] == g
        s_g = float(scale) if scale is not None else _population_scale(first[members],
                                                                      means[members])
        s[members] = s_g
        if s_g > 0 and members.sum() >= MIN_POPULATION and (means[members] >= 0).all():
            out[MISLABEL_LABEL][idx[members]] = mislabel_flags(means[members], s_g)
    for n in np.unique(counts[idx]):
        pick = counts[idx] == n
        rows = idx[pick]
        y = values.reshape(-1, n) if len(rows) * n == values.size else \
            values[starts[rows][:, None] + np.arange(n)]
        for label, holds in _trajectory_conditions(y, s[pick]).items():
            out[label][rows] = holds
    return out


def _segment_means(values: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    csum = np.concatenate([[0.0], np.cumsum(values)])
    return (csum[starts + counts] - csum[starts]) / counts


def _population_scale(first: np.ndarray, means: np.ndarray) -> float:
    """Median |first value|; the median |mean| where that is 0; 0 when every loss is 0."""
    s = float(np.median(np.abs(first)))
    if not s > 0:
        s = float(np.median(np.abs(means)))
    return s if s > 0 else 0.0


def _trajectory_conditions(y: np.ndarray, s: np.ndarray) -> dict[str, np.ndarray]:
    """The per-trajectory conditions of equal-length trajectories ``y`` ``[m, n]``
    (n >= MIN_POINTS) with scale ``s`` ``[m]`` (0: no population scale, the trajectory's own
    start level is used). See :func:`shape_conditions`."""
    m, n = y.shape
    k = max(1, int(round(SEGMENT * n)))
    a = y[:, :k].mean(axis=1)
    b = y[:, -k:].mean(axis=1)
    s = np.where(s > 0, s, np.abs(a))
    csum = np.concatenate([np.zeros((m, 1)), np.cumsum(y, axis=1)], axis=1)
    sm = (csum[:, k:] - csum[:, :-k]) / k            # moving average, n - k + 1 points
    low = sm.min(axis=1)
    tail = sm[:, int(TAIL_START * sm.shape[1]):]
    tail_span = tail.max(axis=1) - tail.min(axis=1)
    fell = b <= (1 - MIN_FALL) * a
    plateau = fell & (b >= PLATEAU_LEVEL * a) & (tail_span <= TAIL_FLAT * (a - b))
    high = b >= HIGH_LEVEL * s
    steps = np.diff(y, axis=1)
    jitter = np.median(np.abs(steps), axis=1)
    rebound = b - low
    rises = np.maximum(steps, 0.0)
    top = rises.argmax(axis=1)
    rise = rises[np.arange(m), top]
    rises[np.arange(m), top] = -1.0
    other_rise = rises.max(axis=1)
    span = y.max(axis=1) - y.min(axis=1)
    return {
        "monotonic": fell & ~plateau,
        "plateaued": plateau,
        "Flat_high": ~fell & high,
        "Flat_low": ~fell & ~high,
        "Spiked": (rise > SPIKE_RISE * span) & (other_rise <= SPIKE_OTHER_RISES * span)
        & (rise >= MATERIAL * s),
        "U_Shape": (low <= (1 - MIN_FALL) * a) & (rebound >= REBOUND * (a - low))
        & (rebound >= MATERIAL * s),
        "high_variance": (jitter >= NOISE * s) & (jitter >= NOISE_TREND * np.abs(b - a) / (n - 1)),
    }


def mislabel_flags(mean_losses, scale: float) -> np.ndarray:
    """The ``likely_mislabel`` verdict of one population from each sample's mean loss.

    Parameters
    ----------
    mean_losses : array-like of float, shape ``[S]``
        Mean of each sample's recorded losses (>= 0).
    scale : float
        The population's loss scale ``s`` (> 0), e.g. the median first loss.

    Returns
    -------
    ndarray of bool, shape ``[S]``
        True for the samples in a separate high-loss cluster; all False when the population
        has fewer than :data:`MIN_POPULATION` samples or no such cluster.

    The rule: ``v = log1p(mean / s)`` (``log1p`` keeps the many near-zero losses of learned
    samples together while spreading the high ones). Two-means on ``v`` (Otsu 1979: the cut
    maximising the between-group variance) gives the means of a low and a high group; a
    Gaussian kernel density estimate of ``v`` (bandwidth by Silverman's rule, on a
    :data:`KDE_POINTS` grid) is lowest between them at the cut. Samples with ``v`` above the
    cut are flagged when the density there is at most :data:`MAX_DIP` of the highest density
    above it, i.e. when the high group is a mode of its own rather than the tail of the low
    one. When it is not, two-means is run once more inside the high group (a small cluster of
    mislabels beside a wide tail of hard samples: two-means on the whole population then
    splits the wide low group instead), with the same density test; otherwise nothing is
    flagged. Two-means alone cuts into the tail of clean hard samples (precision 0.89-0.91
    at 10 % noise in our digits benchmark); the valley cut keeps it at 0.96-0.99.
    """
    m = np.asarray(mean_losses, dtype=np.float64).reshape(-1)
    out = np.zeros(m.size, dtype=bool)
    if m.size < MIN_POPULATION or not scale > 0:
        return out
    v = np.log1p(m / scale)
    grid, density = _density(v)
    if grid is None:
        return out
    group = np.sort(v)
    for _ in range(MISLABEL_SPLITS):
        split = two_means(group)
        if split is None:
            break
        lo, hi, cut = split
        between = np.flatnonzero((grid >= lo) & (grid <= hi))
        if between.size:
            j = between[int(np.argmin(density[between]))]
            if density[j] <= MAX_DIP * density[j:].max():
                return v > grid[j]
        group = group[group > cut]
        if group.size < 2:
            break
    return out


def _density(v: np.ndarray):
    """``(grid, density)`` of a Gaussian kernel density estimate of ``v`` on
    :data:`KDE_POINTS` points from its min to its max (Silverman's rule-of-thumb bandwidth;
    binned, then convolved); ``(None, None)`` when ``v`` has no spread."""
    q75, q25 = np.quantile(v, [0.75, 0.25])
    spread = min(v.std(), (q75 - q25) / 1.34)
    if not spread > 0:
        spread = v.std()
    bandwidth = 0.9 * spread * v.size ** -0.2
    grid = np.linspace(v.min(), v.max(), KDE_POINTS)
    dx = grid[1] - grid[0]
    if not (bandwidth > 0 and dx > 0):
        return None, None
    bins = np.minimum(((v - grid[0]) / dx + 0.5).astype(np.int64), KDE_POINTS - 1)
    hist = np.bincount(bins, minlength=KDE_POINTS).astype(np.float64)
    radius = int(min(np.ceil(4 * bandwidth / dx), KDE_POINTS))
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) * dx / bandwidth) ** 2)
    return grid, np.convolve(hist, kernel / kernel.sum(), mode="same")


# ---------------------------------------------------------------- trajectories as sequences
def _flatten(trajectories) -> tuple[np.ndarray, np.ndarray]:
    cleaned = []
    for t in trajectories:
        y = np.asarray(t, dtype=np.float64).reshape(-1)
        cleaned.append(y[np.isfinite(y)])
    counts = np.array([len(y) for y in cleaned], dtype=np.int64)
    values = np.concatenate(cleaned) if cleaned else np.empty(0)
    return values, counts


def loss_shape_codes(trajectories, scale: float | None = None) -> np.ndarray:
    """Shape codes of equal-length trajectories, a 2-D array ``[S, n]`` (oldest value first),
    classified as one population (see :func:`shape_codes`). Rows with fewer than
    :data:`MIN_POINTS` points or a non-finite value get :data:`NO_SHAPE`.

    Raises
    ------
    InvalidValueError
        ``trajectories`` is not 2-D, or ``scale`` is not positive.
    """
    y = np.asarray(trajectories, dtype=np.float64)
    if y.ndim != 2:
        raise InvalidValueError(f"trajectories: expected a 2-D array [S, n], got shape {y.shape}")
    s, n = y.shape
    codes = np.full(s, NO_SHAPE, dtype=np.int64)
    valid = np.isfinite(y).all(axis=1)
    if n < MIN_POINTS or not valid.any():
        return codes
    codes[valid] = shape_codes(y[valid].reshape(-1), np.full(int(valid.sum()), n), scale=scale)
    return codes


def classify_loss_shape(values, scale: float | None = None) -> str | None:
    """The shape label of one loss trajectory (values ordered by step, oldest first), or None
    with fewer than :data:`MIN_POINTS` finite values. Non-finite values are dropped.

    Without a population, ``scale`` (the level ``Flat_high``/``Flat_low`` and the events are
    measured against) defaults to the trajectory's own start level, so a flat curve reads as
    ``Flat_high``; pass the population's typical starting loss (e.g. ``log(n_classes)`` for
    a cross-entropy) to tell flat-low from flat-high. One trajectory never gets
    ``likely_mislabel``: that verdict needs a population (:func:`classify_loss_shapes`,
    :func:`tag_loss_shapes_now`). See :func:`shape_codes` for the rules.
    """
    y = np.asarray(values, dtype=np.float64).reshape(-1)
    y = y[np.isfinite(y)]
    if y.size < MIN_POINTS:
        return None
    if scale is None:
        k = max(1, round(SEGMENT * y.size))
        own = float(abs(y[:k].mean()))
        scale = own if own > 0 else None   # a curve starting at 0: the population default
    code = shape_codes(y, [y.size], scale=scale)[0]
    return LOSS_SHAPE_LABELS[int(code)]


def classify_loss_shapes(trajectories, scale: float | None = None) -> list[str | None]:
    """Labels of many trajectories (sequences of possibly different lengths, oldest value
    first), classified as one population in one vectorised :func:`shape_codes` call:
    the scale is their median first value unless ``scale`` is given, and with
    :data:`MIN_POPULATION` or more of them the ``likely_mislabel`` verdict applies.
    Non-finite values are dropped; None for trajectories with fewer than :data:`MIN_POINTS`
    values."""
    values, counts = _flatten(trajectories)
    codes = shape_codes(values, counts, scale=scale)
    return [LOSS_SHAPE_LABELS[c] if c >= 0 else None for c in codes.tolist()]


# ---------------------------------------------------------------- tagging a session
def session_shape_codes(session: Session, signal_name: str) -> tuple[np.ndarray, np.ndarray]:
    """Shape codes of every sample of ``session`` that recorded ``signal_name``.

    One history read (:meth:`~weightslab_nb.history.HistoryStore.signal_trajectories`), one
    vectorised :func:`shape_codes` call with one population per origin. Sample rows only
    (per-instance values are not loss trajectories); non-finite values are dropped. Does not
    drain: call ``session.drain()`` first to include values still queued.

    Returns
    -------
    (rows, codes) : two int64 arrays
        Sample-table rows with at least one value, and their codes (:data:`NO_SHAPE` below
        :data:`MIN_POINTS` values).
    """
    cols = session.history.signal_trajectories(bare_signal_name(signal_name))
    row, value = cols["row"], cols["value"]
    finite = np.isfinite(value)
    if not finite.all():
        row, value = row[finite], value[finite]
    rows, counts = _runs(row)
    with session.lock:  # two look-ups per sample, not per value
        known = rows < len(session.table)
        annotation = np.full(len(rows), -1, dtype=np.int64)
        annotation[known] = session.table.annotation_id[rows[known]]
        origins = np.full(len(rows), -1, dtype=np.int64)
        origins[known] = session.table.origin_code[rows[known]]
    is_sample = annotation == 0
    if not is_sample.all():
        value = value[np.repeat(is_sample, counts)]
        rows, counts, origins = rows[is_sample], counts[is_sample], origins[is_sample]
    return rows, shape_codes(value, counts, groups=origins)


def _runs(sorted_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values of a sorted array and how many times each occurs."""
    if sorted_rows.size == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    starts = np.flatnonzero(np.r_[True, sorted_rows[1:] != sorted_rows[:-1]])
    return sorted_rows[starts], np.diff(np.r_[starts, sorted_rows.size])


def _write_tags(session: Session, tag: str, rows: np.ndarray, codes: np.ndarray) -> int:
    """Set ``tag`` to the label of each classified row whose tag differs; one
    ``set_categorical_tag`` call per (label, origin). Returns how many samples changed."""
    labelled = codes >= 0
    rows, codes = rows[labelled], codes[labelled]
    with session.lock:
        column = session.table.cat_tags.get(tag_column(tag))
        if column is not None:
            values = column.values
            current = column.codes[rows]
            names = np.array(values + [None], dtype=object)
            current_labels = names[np.where(current >= 0, current, len(values))]
        else:
            current_labels = np.full(len(rows), None, dtype=object)
        new_labels = np.array(LOSS_SHAPE_LABELS, dtype=object)[codes]
        changed = current_labels != new_labels
        rows, codes = rows[changed], codes[changed]
        origin_codes = session.table.origin_code[rows]
        origins = list(session.table.origins)
        ids = session.table.sample_id[rows]
    for origin_code in np.unique(origin_codes):
        in_origin = origin_codes == origin_code
        for code in np.unique(codes[in_origin]):
            pick = in_origin & (codes == code)
            session.set_categorical_tag(ids[pick].tolist(), tag, LOSS_SHAPE_LABELS[int(code)],
                                        origin=origins[int(origin_code)])
    return int(len(rows))


def tag_loss_shapes_now(session: Session, signal_name: str, tag: str = "loss_shape") -> dict:
    """Classify every sample's whole trajectory of ``signal_name`` now and set the categorical
    ``tag`` (registered with :data:`LOSS_SHAPE_LABELS` if needed).

    Drains what was recorded, reads the signal's whole per-sample history in one query,
    classifies every sample with :data:`MIN_POINTS`+ values in one vectorised call (one
    population per origin) and sets the tag of the samples whose label changed, one
    ``set_categorical_tag`` call per (label, origin). Samples with fewer values keep their
    tag. About 0.3 s for 50,000 samples x 30 values (``bench/loss_shapes.py``).

    Returns
    -------
    dict
        Label -> number of samples carrying it after the call (labels with none left out).

    Raises
    ------
    InvalidTypeError
        ``signal_name`` is not a non-empty string.
    InvalidValueError
        ``tag`` is not a valid tag name, or is a boolean tag.
    """
    _check_signal_name(signal_name)
    tag = _check_shape_tag(session, tag)
    session.drain()
    session.register_categorical_tag(tag, LOSS_SHAPE_LABELS)
    rows, codes = session_shape_codes(session, signal_name)
    _write_tags(session, tag, rows, codes)
    found = np.bincount(codes[codes >= 0], minlength=len(LOSS_SHAPE_LABELS))
    return {label: int(c) for label, c in zip(LOSS_SHAPE_LABELS, found) if c}


def _check_signal_name(signal_name) -> None:
    if not isinstance(signal_name, str) or not signal_name:
        raise InvalidTypeError(f"signal_name: expected the name of a per-sample signal, got "
                               f"{signal_name!r}")


def _check_shape_tag(session: Session, tag) -> str:
    tag = check_tag_name(tag, "tag")
    if tag in session.tag_summary()["boolean"]:
        raise InvalidValueError(f"tag: {tag!r} is already a boolean tag; the loss shapes need a "
                                "categorical one (pick another name)")
    return tag


class _Tagger:
    """The state of one :func:`auto_tag_loss_shapes` registration (its batched signal's
    function): batches and values seen since the last classification, and the codes last
    saved per table row."""

    def __init__(self, session: Session, signal_name: str, tag: str, every_n_steps: int,
                 name: str):
        self.session = session
        self.signal_name = signal_name
        self.tag = tag
        self.every_n_steps = every_n_steps
        self.name = name
        self.batches = 0
        self.values_since = 0
        self.tracked = 0          # samples with a trajectory at the last classification
        self.classifications = 0
        self.saved = np.empty(0, dtype=np.int64)   # code last saved per row (-2: none)
        self._lock = threading.Lock()

    def due(self, batch_size: int) -> bool:
        """Count one batch of ``batch_size`` values; True when a classification is due."""
        self.batches += 1
        self.values_since += batch_size
        return self.batches % self.every_n_steps == 0 and self.values_since >= self.tracked

    def __call__(self, ctx):
        if not self.due(len(ctx.sample_ids)):
            return None
        with self._lock:
            self.values_since = 0
            rows, codes = session_shape_codes(self.session, self.signal_name)
            self.tracked = len(rows)
            self.classifications += 1
            _write_tags(self.session, self.tag, rows, codes)
            self._save_codes(rows, codes, ctx.step)
        return None

    def _save_codes(self, rows: np.ndarray, codes: np.ndarray, step: int) -> None:
        """Record ``signals//<name>`` for the rows whose code changed (one vectorised
        recording; the history keeps the changes, the column the latest code)."""
        if rows.size == 0:
            return
        if self.saved.size <= rows.max():
            grown = np.full(int(rows.max()) + 1, -2, dtype=np.int64)
            grown[: self.saved.size] = self.saved
            self.saved = grown
        changed = self.saved[rows] != codes
        if not changed.any():
            return
        registry = signal_registry(self.session)
        signal = registry.get(self.name)
        registry.save(signal, rows[changed], codes[changed].astype(np.float64), step,
                      log_values=False)
        self.saved[rows[changed]] = codes[changed]


def auto_tag_loss_shapes(session: Session, signal_name: str, tag: str = "loss_shape",
                         every_n_steps: int = 25, name: str | None = None) -> "Signal":
    """Keep a categorical tag with every sample's loss shape current during training of
    ``session`` (``wl.auto_tag_loss_shapes`` is this for the current session).

    Registers the categorical ``tag`` with the :data:`LOSS_SHAPE_LABELS`, and a batched
    dynamic signal (default name ``"<tag>_classifier"``) subscribed to the per-sample signal
    ``signal_name``. It runs in the signals' own thread, never in the training thread. After
    every ``every_n_steps``-th batch of ``signal_name``, once the signal recorded at least as
    many values since the last classification as there are samples with a trajectory (about
    one pass over the data: a trajectory changes only when its sample gets a new value), it
    classifies **every** sample as :func:`tag_loss_shapes_now` does: one history read, one
    vectorised classification, one ``set_categorical_tag`` call per (label, origin) for the
    samples whose label changed. The shape code (:data:`LOSS_SHAPE_CODES`, ``-1`` while fewer
    than :data:`MIN_POINTS` values exist) of every classified sample is kept in
    ``signals//<name>`` (recorded when it changes, without a curve).

    Readers that wait for the signals (``session.drain()``, ``session.dataframe``, the
    history queries) see the tags of the last classification; call
    :func:`tag_loss_shapes_now` for tags that include every value recorded so far.

    Parameters
    ----------
    signal_name : str
        The per-sample loss signal (e.g. ``"train-loss"``).
    tag : str, default "loss_shape"
        The categorical tag to keep current.
    every_n_steps : int, default 25
        Batches of ``signal_name`` between two classification checks (>= 1).
    name : str, optional
        Name of the registered signal.

    Raises
    ------
    InvalidTypeError
        ``signal_name`` is not a non-empty string, or ``every_n_steps`` not an int.
    InvalidValueError
        ``tag`` is invalid or a boolean tag, ``every_n_steps`` < 1, or ``name`` invalid.
        Nothing is registered then.

    ::

        wl.auto_tag_loss_shapes("train-loss")
        ...
        wl.get_samples_by_tag("loss_shape=likely_mislabel")   # mislabel suspects

    Returns the registered :class:`~weightslab_nb.signals.Signal` (remove it with
    ``signal_registry(session).remove(name)``).

    A session opened on a finished run (:func:`weightslab_nb.open`) refuses it with
    :class:`~weightslab_nb.errors.ReadOnlyError`: nothing trains there;
    :func:`tag_loss_shapes_now` classifies its recorded history (with ``writable=True``).
    """
    session.access.check_recording("auto_tag_loss_shapes", "; tag_loss_shapes_now classifies "
                                   "the recorded history (with writable=True)")
    _check_signal_name(signal_name)
    # everything is checked before the tag or the signal is registered: a refused call
    # registers neither
    tag = _check_shape_tag(session, tag)
    every_n_steps = check_int(every_n_steps, "every_n_steps", minimum=1)
    name = check_optional_name(name, "name", "a signal name")
    name = name or f"{tag}_classifier"
    tagger = _Tagger(session, signal_name, tag, every_n_steps, name)
    registered = register_signal(session, tagger, name=name, subscribe_to=signal_name,
                                 compute_every_n_steps=1, log=False, batched=True)
    session.register_categorical_tag(tag, LOSS_SHAPE_LABELS)
    return registered


register_feature("auto_tag_loss_shapes", session_function(auto_tag_loss_shapes))
register_feature("tag_loss_shapes_now", session_function(tag_loss_shapes_now))
