"""Loss-shape classification on synthetic trajectories, and the loss-shape auto-tagger."""

from __future__ import annotations

import numpy as np
import pytest

from weightslab_nb import auto_tag_loss_shapes  # the facade: session= or the current one
from weightslab_nb.loss_shapes import (LOSS_SHAPE_CODES, LOSS_SHAPE_LABELS, MIN_POINTS, NO_SHAPE,
                                       classify_loss_shape, classify_loss_shapes,
                                       loss_shape_codes)
from weightslab_nb.signals import signal_registry

T = np.arange(30, dtype=float)
NOISE = np.random.default_rng(0)

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


def test_the_six_labels_and_their_codes():
    assert LOSS_SHAPE_LABELS == ["monotonic", "plateaued", "Flat_high", "high_variance",
                                 "U_Shape", "Spiked"]
    assert [LOSS_SHAPE_CODES[label] for label in LOSS_SHAPE_LABELS] == list(range(6))


@pytest.mark.parametrize("label, i, y", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_each_shape_is_recognised(label, i, y):
    assert classify_loss_shape(y) == label
    assert classify_loss_shape(list(y)) == label


@pytest.mark.parametrize("scale", [1000.0, 1e-3, 7.5])
@pytest.mark.parametrize("label, i, y", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_labels_are_scale_invariant(label, i, y, scale):
    assert classify_loss_shape(np.asarray(y) * scale) == label


def test_too_short_or_non_finite_trajectories():
    assert MIN_POINTS == 5
    assert classify_loss_shape([]) is None
    assert classify_loss_shape([2.3, 2.0, 1.5, 1.0]) is None
    assert classify_loss_shape([2.3, 2.0, 1.5, 1.0, 0.5]) == "monotonic"
    assert classify_loss_shape([2.3, np.nan, 2.0, 1.5, np.inf, 1.0]) is None  # 4 finite left
    assert classify_loss_shape([2.3, np.nan, 2.0, 1.5, 1.0, 0.5]) == "monotonic"


def test_many_trajectories_at_once_match_one_at_a_time():
    trajectories = [y[:n] for _, _, y in CASES for n in (3, 8, 30)]
    expected = [classify_loss_shape(y) for y in trajectories]
    assert classify_loss_shapes(trajectories) == expected
    assert None in expected and "U_Shape" in expected
    codes = loss_shape_codes(np.stack([y for _, _, y in CASES]))
    assert [LOSS_SHAPE_LABELS[c] for c in codes] == [label for label, _, _ in CASES]
    assert loss_shape_codes(np.ones((2, 4))).tolist() == [NO_SHAPE, NO_SHAPE]
    assert loss_shape_codes(np.array([[1.0, np.nan, 1, 1, 1, 1]])).tolist() == [NO_SHAPE]
    with pytest.raises(ValueError, match="2-D"):
        loss_shape_codes(np.ones(5))


# ---------------------------------------------------------------- the auto-tagger
def test_auto_tag_loss_shapes_tags_each_fired_batch_with_one_history_query(session,
                                                                          small_dataset,
                                                                          monkeypatch):
    session.watch_or_edit(small_dataset, flag="data", loader_name="train_loader")
    sig = auto_tag_loss_shapes("train-loss", every_n_steps=2, session=session)
    assert sig.name == "loss_shape_classifier" and sig.batched and not sig.log
    assert session.tag_summary()["categorical"]["loss_shape"]["values"] == LOSS_SHAPE_LABELS

    queries = []
    real = session.history.query_samples
    monkeypatch.setattr(session.history, "query_samples",
                        lambda *a, **k: queries.append(k) or real(*a, **k))
    learned, flat = TRAJECTORIES["monotonic"][0], TRAJECTORIES["Flat_high"][1]
    for step in range(10):  # samples 0-2 learn, 3-4 stay flat
        values = [learned[3 * step]] * 3 + [flat[step]] * 2
        session.save_signals({"train-loss": values}, [0, 1, 2, 3, 4], step=step)
        session.drain()
    assert len(queries) == 5  # fired on batches 2, 4, ..., 10: one query each
    df = session.dataframe
    assert df["tag:loss_shape"].iloc[:5].tolist() == ["monotonic"] * 3 + ["Flat_high"] * 2
    assert df["signals//loss_shape_classifier"].iloc[:5].tolist() == [0.0] * 3 + [2.0] * 2
    assert session.get_samples_by_tag("loss_shape=Flat_high") == [3, 4]
    assert "loss_shape_classifier" not in session.global_signal_names()


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


def test_auto_tag_loss_shapes_acts_on_the_current_session_and_checks_its_argument(session):
    with pytest.raises(TypeError, match="signal_name"):
        auto_tag_loss_shapes(None)
    assert auto_tag_loss_shapes("loss").name == "loss_shape_classifier"
    assert "loss_shape_classifier" in signal_registry(session)
