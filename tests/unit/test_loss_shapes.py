"""Loss-shape classification (synthetic trajectories and populations), the likely-mislabel
verdict, and the tagger that classifies every sample of a session."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from weightslab_nb import auto_tag_loss_shapes  # the facade: session= or the current one
from weightslab_nb import loss_shapes
from weightslab_nb.errors import InvalidTypeError, InvalidValueError
from weightslab_nb.loss_shapes import (LOSS_SHAPE_CODES, LOSS_SHAPE_LABELS, MIN_POINTS,
                                       MIN_POPULATION, NO_SHAPE, PRECEDENCE,
                                       classify_loss_shape, classify_loss_shapes,
                                       loss_shape_codes, mislabel_flags, shape_codes,
                                       shape_conditions, tag_loss_shapes_now)
from weightslab_nb.signals import signal_registry

T = np.arange(30, dtype=float)
NOISE = np.random.default_rng(0)
WAIT = 30.0

TRAJECTORIES = {
    "monotonic": [
        2.3 * np.exp(-T / 6) + 0.01,                      # learned: falls to almost nothing
        np.linspace(2.3, 1.4, 30),                        # slow, steady fall
        2.3 * np.exp(-T / 8) + NOISE.normal(0, 0.01, 30) + 0.05,
    ],
    "plateaued": [
        1.2 + 1.1 * np.exp(-T / 2) + NOISE.normal(0, 0.01, 30),   # fell, stuck at half
        np.r_[np.linspace(2.0, 1.3, 10), np.full(20, 1.3)],
    ],
    "Flat_high": [
        2.3 + NOISE.normal(0, 0.03, 30),                  # never moved
        np.full(30, 2.3),
        np.linspace(0.5, 2.0, 30),                        # got worse steadily
    ],
    "high_variance": [
        1.0 + NOISE.uniform(-0.5, 0.5, 30),
        1.0 + 0.6 * np.sin(T * 2.5),
    ],
    "U_Shape": [
        np.r_[np.linspace(2.3, 0.2, 15), np.linspace(0.2, 1.8, 15)],   # learned, then forgotten
        np.r_[2.3 * np.exp(-T[:18] / 3), np.linspace(0.2, 1.2, 12)],
    ],
    "Spiked": [
        np.where(T == 20, 2.0, 2.3 * np.exp(-T / 4) + 0.1),   # one-step jump, then back
        np.where(T >= 20, 2.0, 2.3 * np.exp(-T / 4) + 0.1),   # jumped and stayed
        np.where(T == 12, 5.0, 2.3),                          # a flat-high sample with a spike
    ],
}
CASES = [(label, i, y) for label, ys in TRAJECTORIES.items() for i, y in enumerate(ys)]


def population(epochs: int, clean: int = 450, mislabels: int = 50, seed: int = 0):
    """Synthetic loss histories of a classifier trained on data with wrong labels: clean
    samples fall at their own pace (rates spread over 20x); a mislabel's loss first rises
    above chance (the model learns the true class), then is memorised from a random epoch on.
    Returns ``(trajectories [clean + mislabels, epochs], is_mislabel)``."""
    rng = np.random.default_rng(seed)
    t = np.arange(epochs, dtype=float)
    rate = np.exp(rng.uniform(np.log(0.08), np.log(1.5), clean))   # fast to slow learners
    good = 2.3 * np.exp(-rate[:, None] * t) * rng.lognormal(0, 0.3, (clean, epochs))
    start = rng.uniform(12, 25, (mislabels, 1))
    peak = 2.3 + 2.0 * (1 - np.exp(-t / 3))
    bad = np.where(t < start, peak, peak * np.exp(-(t - start) / 4)) \
        * rng.lognormal(0, 0.3, (mislabels, epochs))
    return np.r_[good, bad], np.r_[np.zeros(clean, bool), np.ones(mislabels, bool)]


# ---------------------------------------------------------------- labels and rules
def test_the_labels_keep_their_old_codes_and_add_flat_low_and_likely_mislabel():
    assert LOSS_SHAPE_LABELS[:6] == ["monotonic", "plateaued", "Flat_high", "high_variance",
                                     "U_Shape", "Spiked"]   # codes stored by earlier runs
    assert LOSS_SHAPE_LABELS[6:] == ["Flat_low", "likely_mislabel"]
    assert [LOSS_SHAPE_CODES[label] for label in LOSS_SHAPE_LABELS] == list(range(8))
    assert sorted(PRECEDENCE) == sorted(LOSS_SHAPE_LABELS)


@pytest.mark.parametrize("label, i, y", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_each_shape_is_recognised(label, i, y):
    assert classify_loss_shape(y) == label
    assert classify_loss_shape(list(y)) == label


@pytest.mark.parametrize("scale", [1000.0, 1e-3, 7.5])
@pytest.mark.parametrize("label, i, y", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_labels_are_scale_invariant(label, i, y, scale):
    assert classify_loss_shape(np.asarray(y) * scale) == label


def test_flat_low_and_flat_high_differ_by_the_population_scale():
    flat = np.full(30, 0.02) + NOISE.normal(0, 0.001, 30)
    assert classify_loss_shape(flat) == "Flat_high"               # alone: its own level
    assert classify_loss_shape(flat, scale=2.3) == "Flat_low"     # against chance level
    learned, stuck = 2.3 * np.exp(-T / 2), np.full(30, 2.2)
    assert classify_loss_shapes([learned, flat, stuck]) == ["monotonic", "Flat_low", "Flat_high"]
    with pytest.raises(InvalidValueError, match="scale"):
        classify_loss_shape(flat, scale=0.0)


def test_the_base_shapes_exclude_each_other_and_the_label_is_the_first_condition_that_holds():
    rng = np.random.default_rng(1)
    walks = np.abs(2.3 + np.cumsum(rng.normal(0, 0.3, (400, 20)), axis=1))
    walks[::3] *= np.exp(-np.arange(20) / rng.uniform(1, 10, (134, 1)))
    ys, _ = population(30)
    for y in (walks, ys):
        conditions = shape_conditions(y.reshape(-1), np.full(len(y), y.shape[1]))
        base = np.stack([conditions[k] for k in ("monotonic", "plateaued", "Flat_high",
                                                 "Flat_low")])
        assert (base.sum(axis=0) == 1).all()
        codes = loss_shape_codes(y)
        first = [next(label for label in PRECEDENCE if conditions[label][i])
                 for i in range(len(y))]
        assert [LOSS_SHAPE_LABELS[c] for c in codes] == first
    several = sum(conditions[e] for e in ("Spiked", "U_Shape", "high_variance")) >= 1
    assert several.any()   # the events do overlap the base shapes: precedence matters


def test_precedence_a_jittery_mislabel_is_a_likely_mislabel_not_high_variance():
    ys, bad = population(30)
    jittery = 3.5 + 1.5 * np.sin(T * 2.5)          # loss of a mislabel the model flips on
    labels = classify_loss_shapes([*ys, jittery])
    assert classify_loss_shape(jittery) == "high_variance"      # its own condition...
    assert labels[-1] == "likely_mislabel"                      # ...loses to the verdict
    jump_and_stay = TRAJECTORIES["Spiked"][1]                    # Spiked and U_Shape both hold
    conditions = shape_conditions(jump_and_stay, [30], scale=2.3)
    assert conditions["Spiked"][0] and conditions["U_Shape"][0]
    assert classify_loss_shape(jump_and_stay) == "Spiked"


@pytest.mark.parametrize("epochs", [30, 120])
def test_the_verdict_finds_mislabels_and_holds_as_training_lengthens(epochs):
    ys, bad = population(epochs)
    labels = np.array(classify_loss_shapes(ys), dtype=object)
    flagged = labels == "likely_mislabel"
    precision = (flagged & bad).sum() / flagged.sum()
    recall = (flagged & bad).sum() / bad.sum()
    assert precision >= 0.9 and recall >= 0.8, (precision, recall)
    # clean samples that learned are not read as noise, however long training runs
    assert (labels[~bad] == "high_variance").mean() < 0.02
    assert (labels[~bad] == "monotonic").mean() > 0.8


def test_the_verdict_is_scale_invariant_and_independent_of_order():
    ys, bad = population(30)
    labels = classify_loss_shapes(ys)
    assert classify_loss_shapes(ys * 1e-3) == labels
    order = np.random.default_rng(2).permutation(len(ys))
    assert [classify_loss_shapes(ys[order])[i] for i in np.argsort(order)] == labels


def test_the_verdict_abstains_without_a_separate_high_loss_cluster():
    ys, _ = population(30, mislabels=0, clean=500)          # clean data: hard samples only
    assert "likely_mislabel" not in classify_loss_shapes(ys)
    rng = np.random.default_rng(3)
    assert not mislabel_flags(rng.lognormal(0, 1, 1000), 1.0).any()   # one skewed mode
    ys, _ = population(30, clean=MIN_POPULATION - 10, mislabels=9)    # too few to tell
    assert "likely_mislabel" not in classify_loss_shapes(ys)
    assert not mislabel_flags(np.full(100, 0.3), 1.0).any()          # no spread at all


def test_many_trajectories_at_once_are_one_population():
    ys, bad = population(30)
    ragged = [y[: n] for y, n in zip(ys, np.r_[np.full(250, 30), np.full(250, 29)])]
    ragged += [ys[0][:3], [], [np.nan, 1.0, np.inf]]
    labels = classify_loss_shapes(ragged)
    assert labels[-3:] == [None, None, None]
    assert labels.count("likely_mislabel") >= 40
    equal = loss_shape_codes(ys)
    assert [LOSS_SHAPE_LABELS[c] for c in equal] == classify_loss_shapes(list(ys))
    # one trajectory alone is its own population: no verdict, its own start as the scale
    assert classify_loss_shape(ys[-1]) != "likely_mislabel"


def test_too_short_or_non_finite_trajectories():
    assert MIN_POINTS == 5
    assert classify_loss_shape([]) is None
    assert classify_loss_shape([2.3, 2.0, 1.5, 1.0]) is None
    assert classify_loss_shape([2.3, 2.0, 1.5, 1.0, 0.5]) == "monotonic"
    assert classify_loss_shape([2.3, np.nan, 2.0, 1.5, np.inf, 1.0]) is None  # 4 finite left
    assert classify_loss_shape([2.3, np.nan, 2.0, 1.5, 1.0, 0.5]) == "monotonic"
    assert loss_shape_codes(np.ones((2, 4))).tolist() == [NO_SHAPE, NO_SHAPE]
    assert loss_shape_codes(np.array([[1.0, np.nan, 1, 1, 1, 1]])).tolist() == [NO_SHAPE]


def test_populations_are_classified_separately_by_group():
    ys, bad = population(30)
    both = np.r_[ys, ys * 10.0]                   # a second origin whose loss is 10x larger
    groups = np.r_[np.zeros(len(ys), int), np.ones(len(ys), int)]
    codes = shape_codes(both.reshape(-1), np.full(len(both), 30), groups=groups)
    assert (codes[: len(ys)] == codes[len(ys):]).all()
    assert (codes[: len(ys)] == loss_shape_codes(ys)).all()


def test_bad_arguments_name_the_argument():
    with pytest.raises(InvalidValueError, match="trajectories.*2-D"):
        loss_shape_codes(np.ones(5))
    with pytest.raises(InvalidValueError, match="counts"):
        shape_codes(np.ones(5), [2, 2])
    with pytest.raises(InvalidValueError, match="counts"):
        shape_codes(np.ones(5), [6, -1])
    with pytest.raises(InvalidValueError, match="values"):
        shape_codes([1.0, np.nan, 1, 1, 1], [5])
    with pytest.raises(InvalidValueError, match="groups"):
        shape_codes(np.ones(10), [5, 5], groups=[0])
    with pytest.raises(InvalidValueError, match="scale"):
        shape_codes(np.ones(5), [5], scale=-1.0)
    with pytest.raises(ValueError):     # our errors refine the builtin ones
        loss_shape_codes([1.0, 2.0])


# ---------------------------------------------------------------- the tagger
def record_passes(session, trajectories, batches, start_step=0, origin=None):
    """Record ``trajectories[id][epoch]`` one epoch after the other, each epoch as the given
    batches of ids; drain after each batch (as the recorder's ingest thread would)."""
    step = start_step
    for epoch in range(trajectories.shape[1]):
        for ids in batches:
            step += 1
            session.save_signals({"train-loss": trajectories[ids, epoch]}, list(ids),
                                 step=step, origin=origin)
            session.drain()
    return step


def test_the_tagger_tags_every_sample_not_just_the_batches_it_fires_on(session, small_dataset,
                                                                       monkeypatch):
    session.watch_or_edit(small_dataset, flag="data", loader_name="train_loader")
    reads = []
    real = session.history.signal_trajectories
    monkeypatch.setattr(session.history, "signal_trajectories",
                        lambda *a, **k: reads.append(a) or real(*a, **k))
    sig = auto_tag_loss_shapes("train-loss", every_n_steps=2, session=session)
    assert sig.name == "loss_shape_classifier" and sig.batched and not sig.log
    assert session.tag_summary()["categorical"]["loss_shape"]["values"] == LOSS_SHAPE_LABELS
    learned, flat = TRAJECTORIES["monotonic"][0], TRAJECTORIES["Flat_high"][1]
    losses = np.stack([learned] * 3 + [flat] * 2)[:, :10]
    # samples 0-2 come in odd batches, 3-4 in even ones: the tagger fires on even batches only
    record_passes(session, losses, [np.array([0, 1, 2]), np.array([3, 4])])
    tagger = sig.fn
    assert tagger.classifications == len(reads) >= 5      # one history read per classification
    df = session.dataframe
    assert df["tag:loss_shape"].iloc[:5].tolist() == ["monotonic"] * 3 + ["Flat_high"] * 2
    assert df["signals//loss_shape_classifier"].iloc[:5].tolist() == [0.0] * 3 + [2.0] * 2
    assert session.get_samples_by_tag("loss_shape=Flat_high") == [3, 4]
    assert "loss_shape_classifier" not in session.global_signal_names()


def test_the_tagger_classifies_about_once_per_pass_over_the_data(session, monkeypatch):
    ys, bad = population(12, clean=90, mislabels=10)
    sig = auto_tag_loss_shapes("train-loss", every_n_steps=1, session=session)
    batches = np.array_split(np.arange(100), 10)          # 10 batches per pass
    record_passes(session, ys, batches)
    # every batch is checked (120 calls); a classification waits for as many new values as
    # samples were known at the previous one: batches 1, 2, 4, 8, 16 while the first pass
    # discovers the samples, then once per pass (26, 36, ..., 116)
    assert sig.calls == 120
    assert sig.fn.classifications == 5 + 10
    counts = tag_loss_shapes_now(session, "train-loss")  # on demand: every value so far
    df = session.dataframe
    expected = classify_loss_shapes(ys)
    assert df["tag:loss_shape"].astype(str).tolist() == expected
    assert np.flatnonzero(np.array(expected) == "likely_mislabel").tolist() == list(range(90, 100))
    assert counts["likely_mislabel"] == 10 and sum(counts.values()) == 100


def test_auto_tag_loss_shapes_codes_minus_one_until_five_values(session, small_dataset):
    session.watch_or_edit(small_dataset, flag="data", loader_name="train_loader")
    auto_tag_loss_shapes("train-loss", tag="shape", every_n_steps=1, session=session,
                         name="shapes")
    for step in range(4):
        session.save_signals({"train-loss": [2.0 - step * 0.4]}, [7], step=step)
    session.drain()
    df = session.dataframe
    assert df.loc[(7, 0), "signals//shapes"] == -1.0 and df["tag:shape"].isna().all()
    session.save_signals({"train-loss": [0.2]}, [7], step=4)
    session.drain()
    df = session.dataframe
    assert df.loc[(7, 0), "signals//shapes"] == 0.0 and df.loc[(7, 0), "tag:shape"] == "monotonic"
    assert signal_registry(session).get("shapes").subscribe_to == "train-loss"


def test_the_classification_runs_off_the_recording_thread_and_never_blocks_it(session,
                                                                               monkeypatch):
    started, release = threading.Event(), threading.Event()
    threads = []
    real = loss_shapes.session_shape_codes

    def slow(*args):
        threads.append(threading.current_thread().name)
        started.set()
        assert release.wait(WAIT)
        return real(*args)

    monkeypatch.setattr(loss_shapes, "session_shape_codes", slow)
    auto_tag_loss_shapes("train-loss", every_n_steps=1, session=session)
    session.save_signals({"train-loss": [2.0, 2.1]}, [0, 1], step=1)
    session.drain(wait_signals=False)                 # what the recorder's thread does
    assert started.wait(WAIT)                         # the classification is running...
    for step in range(2, 8):                          # ...while recording goes on
        session.save_signals({"train-loss": [2.0 / step, 2.1]}, [0, 1], step=step)
        session.drain(wait_signals=False)
    assert not release.is_set()
    release.set()
    session.drain()                                   # a reader waits for the signals
    assert threads and set(threads) == {"wl-signals"}
    assert session.dataframe["tag:loss_shape"].notna().all()


def test_tags_are_written_in_bulk_per_label_and_origin_and_only_when_they_change(session,
                                                                                  monkeypatch):
    ys, bad = population(8, clean=90, mislabels=10)
    ids = np.arange(100)
    record_passes(session, ys, [ids], origin="train")
    record_passes(session, ys * 3.0, [ids], start_step=100, origin="val")  # shared ids
    calls = []
    real = session.set_categorical_tag
    monkeypatch.setattr(session, "set_categorical_tag",
                        lambda i, tag, value, origin=None: calls.append((value, origin, len(i)))
                        or real(i, tag, value, origin=origin))
    counts = tag_loss_shapes_now(session, "train-loss")
    keys = [(value, origin) for value, origin, _ in calls]
    assert len(keys) == len(set(keys))                # one call per (label, origin)
    assert {origin for _, origin in keys} == {"train", "val"}
    assert sum(n for *_, n in calls) == 200 == sum(counts.values())
    for origin in ("train", "val"):                   # each origin is its own population
        tagged = session.get_samples_by_tag("loss_shape", origin=origin)
        assert sorted(tagged) == list(range(100))
    assert session.get_samples_by_tag("loss_shape=likely_mislabel", origin="train") == \
        session.get_samples_by_tag("loss_shape=likely_mislabel", origin="val")
    calls.clear()
    assert tag_loss_shapes_now(session, "train-loss") == counts
    assert calls == []                                # nothing changed: nothing written


def test_tag_loss_shapes_now_checks_its_arguments_before_changing_anything(session):
    session.register_tag("hard")
    with pytest.raises(InvalidTypeError, match="signal_name"):
        tag_loss_shapes_now(session, None)
    with pytest.raises(InvalidValueError, match="tag"):
        tag_loss_shapes_now(session, "train-loss", tag="shape=x")
    with pytest.raises(InvalidValueError, match="tag"):
        tag_loss_shapes_now(session, "train-loss", tag="hard")
    assert "loss_shape" not in session.tag_summary()["categorical"]
    assert tag_loss_shapes_now(session, "no-such-signal") == {}   # nothing recorded: no labels


def test_auto_tag_loss_shapes_acts_on_the_current_session_and_checks_its_argument(session):
    with pytest.raises(TypeError, match="signal_name"):
        auto_tag_loss_shapes(None)
    assert auto_tag_loss_shapes("loss").name == "loss_shape_classifier"
    assert "loss_shape_classifier" in signal_registry(session)
    assert session.feature("tag_loss_shapes_now")("loss") == {}
