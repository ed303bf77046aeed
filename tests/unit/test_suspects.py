"""wl.suspects: the ranking, the flag set and the evidence a user reads, on hand-made logits.

Forty samples of three classes are presented ten times through a watched loss whose logits
the test writes: the model agrees with 36 labels and prefers another class for four of them
(the "mislabels"), so every expected number can be computed by hand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from weightslab_nb.errors import InvalidValueError, StateError, UnknownNameError
from weightslab_nb.suspects import SUSPECT_COLUMNS
from weightslab_nb.two_means import high_group

N, CLASSES, WRONG = 40, 3, [5, 17, 22, 31]
LABELS = torch.arange(N) % CLASSES
TRUE = LABELS.clone()
for i in WRONG:
    TRUE[i] = (LABELS[i] + 1) % CLASSES   # the class the model keeps preferring


def _watch(session, origin_loader="train_loader", labels=LABELS, evidence=True):
    data = TensorDataset(torch.zeros(len(labels), 2), labels)
    loader = session.watch_or_edit(data, flag="data", loader_name=origin_loader,
                                   batch_size=len(labels))
    loss = session.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss",
                                 signal_name=f"{origin_loader}-loss", per_sample=True,
                                 evidence=evidence)
    return loader, loss


def _present(loss, winners, gaps, ids=None, labels=LABELS):
    """One presentation: sample i's logits give ``gaps[i]`` to class ``winners[i]``."""
    logits = torch.zeros(len(winners), CLASSES)
    logits[torch.arange(len(winners)), winners] = torch.as_tensor(gaps, dtype=torch.float32)
    loss(logits, labels, batch_ids=torch.arange(len(winners)) if ids is None else ids)


@pytest.fixture
def trained(session):
    _, loss = _watch(session)
    gaps = 1.0 + torch.arange(N) / N            # a different confidence per sample
    gaps[WRONG] = torch.tensor([3.0, 2.5, 2.0, 1.5])
    for _ in range(10):
        _present(loss, TRUE, gaps)
    return session, gaps


def test_the_mislabels_come_first_and_are_the_flag_set(trained):
    session, gaps = trained
    frame = session.suspects()
    assert list(frame.columns) == list(SUSPECT_COLUMNS)
    assert len(frame) == N and frame.index.tolist() == list(range(N))
    assert frame["sample_id"].tolist()[:4] == WRONG          # ordered by how badly they lose
    assert frame.loc[frame.flagged, "sample_id"].tolist() == WRONG
    top = frame.iloc[0]
    assert (top.score, top.margin_deficit, top.mean_margin) == (3.0, 3.0, -3.0)
    assert (top.label, top.suggested_class, top.predicted_class) == (2, 0, 0)
    assert (top.presentations, top.forgetting, top.origin, top.discarded) == (10, 0, "train",
                                                                             False)
    clean = frame[~frame.flagged]
    assert (clean.score == 0).all()
    # a clean sample's margin is its own gap; its strongest rival is the next class (index 0
    # when every other logit is 0: the arg-max of equal values)
    row = clean.set_index("sample_id").loc[8]
    assert row.mean_margin == pytest.approx(float(gaps[8]))
    assert row.predicted_class == 2 and row.label == 2


def test_memorising_a_wrong_label_later_does_not_wash_out_the_evidence(trained):
    """Ten more presentations at which the network has memorised the wrong labels with a
    large margin: the score keeps what the first ten said; the plain AUM forgets it."""
    session, gaps = trained
    loss = session.registry.get("signal", "train_loader-loss")
    memorised = gaps.clone()
    memorised[WRONG] = 20.0
    for _ in range(10):
        _present(loss, LABELS, memorised)
    frame = session.suspects()
    assert frame.loc[frame.flagged, "sample_id"].tolist() == WRONG
    assert frame.iloc[0].score == pytest.approx(1.5)          # 3.0 over 20 presentations
    aum = session.suspects(method="aum")
    assert not set(aum["sample_id"].tolist()[:4]) & set(WRONG)   # AUM now ranks them last


def test_k_flags_the_k_highest(trained):
    session, _ = trained
    frame = session.suspects(k=2)
    assert frame.loc[frame.flagged, "sample_id"].tolist() == WRONG[:2]


def test_mean_loss_is_the_score_without_class_scores(session):
    """A regression loss records no margins: ``auto`` ranks by mean loss, ``margin`` says why
    it cannot."""
    data = TensorDataset(torch.zeros(6, 2), torch.zeros(6))
    session.watch_or_edit(data, flag="data", loader_name="train_loader", batch_size=6)
    loss = session.watch_or_edit(nn.MSELoss(reduction="none"), flag="loss", signal_name="mse",
                                 per_sample=True)
    for _ in range(3):
        loss(torch.tensor([0.0, 0.1, 0.1, 0.2, 3.0, 0.0]), torch.zeros(6),
             batch_ids=torch.arange(6))
    frame = session.suspects()
    assert frame["sample_id"].tolist()[0] == 4
    assert frame.iloc[0].score == pytest.approx(9.0)
    assert frame["mean_margin"].isna().all() and frame["suggested_class"].isna().all()
    with pytest.raises(InvalidValueError, match="method: 'margin' needs margins"):
        session.suspects(method="margin")


def test_one_origin_at_a_time_when_ids_are_shared(session):
    """Train and val both index from 0; the loss called inside each loader's loop records
    to that loader's samples."""
    train_loader, train_loss = _watch(session, "train_loader")
    val_loader, val_loss = _watch(session, "val_loader")
    gaps = torch.full((N,), 2.0)
    _, labels, ids = next(iter(train_loader))
    _present(train_loss, TRUE[ids], gaps, ids=ids, labels=labels)
    _, labels, ids = next(iter(val_loader))
    _present(val_loss, labels, gaps, ids=ids, labels=labels)    # val: every label right
    val = session.suspects(origin="val")
    assert set(val["origin"]) == {"val"} and len(val) == N
    assert not val.flagged.any() and (val.score == 0).all()
    train = session.suspects(origin="train")
    assert train.loc[train.flagged, "sample_id"].tolist() == sorted(WRONG)


def test_the_loss_shape_tag_is_read_when_it_exists(trained):
    session, _ = trained
    session.register_categorical_tag("loss_shape", ["monotonic", "Flat_high"])
    session.set_categorical_tag([5], "loss_shape", "Flat_high")
    frame = session.suspects().set_index("sample_id")
    assert frame.loc[5, "loss_shape"] == "Flat_high" and pd.isna(frame.loc[6, "loss_shape"])


def test_discarded_samples_stay_in_the_ranking_and_say_so(trained):
    session, _ = trained
    session.discard_samples([17])
    frame = session.suspects().set_index("sample_id")
    assert bool(frame.loc[17, "discarded"]) and frame.loc[17, "flagged"]


@pytest.mark.parametrize("kwargs, error, match", [
    ({"method": "best"}, InvalidValueError, "method: expected one of"),
    ({"method": None}, InvalidValueError, "method: expected one of"),
    ({"k": 0}, InvalidValueError, "k"),
    ({"k": 1.5}, TypeError, "k"),
    ({"origin": "test"}, UnknownNameError, "origin: no samples of origin 'test'"),
    ({"origin": 3}, UnknownNameError, "origin"),
    ({"signal": "nope"}, UnknownNameError, "signal: no per-sample history for 'nope'"),
    ({"signal": ""}, InvalidValueError, "signal"),
])
def test_bad_arguments_are_refused_by_name(trained, kwargs, error, match):
    session, _ = trained
    with pytest.raises(error, match=match):
        session.suspects(**kwargs)


def test_before_any_loss_there_is_nothing_to_rank(session):
    data = TensorDataset(torch.zeros(4, 2), torch.zeros(4, dtype=torch.long))
    session.watch_or_edit(data, flag="data", loader_name="train_loader", batch_size=4)
    with pytest.raises(StateError, match="no per-sample loss recorded yet"):
        session.suspects()


def test_the_module_function_acts_on_the_current_session(trained):
    import weightslab_nb as wl

    assert wl.suspects()["sample_id"].tolist()[:4] == WRONG


# ---------------------------------------------------------------- the split
def test_high_group_is_the_two_means_split():
    values = np.array([0.0, 0.1, 5.0, 0.2, 5.1])
    assert high_group(values).tolist() == [False, False, True, False, True]
    # the split minimises the within-group squared deviations: checked against every cut
    rng = np.random.default_rng(1)
    x = np.r_[rng.normal(0, 1, 200), rng.normal(6, 1, 30)]
    best = min(np.unique(x)[:-1], key=lambda t: x[x <= t].var() * (x <= t).sum()
               + x[x > t].var() * (x > t).sum())
    assert high_group(x).tolist() == (x > best).tolist()


@pytest.mark.parametrize("values", [np.array([]), np.array([1.0]), np.full(5, 2.0)])
def test_high_group_flags_nothing_without_two_distinct_values(values):
    assert not high_group(values).any() and len(high_group(values)) == len(values)


def test_loss_shapes_can_be_tagged_now_from_the_facade(trained):
    import weightslab_nb as wl

    counts = wl.tag_loss_shapes_now("train_loader-loss")
    assert sum(counts.values()) == N
    assert set(wl.get_samples_by_tag("loss_shape")) == set(range(N))


def test_samples_whose_label_never_lost_come_least_convincing_first(trained):
    """They all score 0; the ranking goes on by ascending mean margin."""
    session, gaps = trained
    clean = session.suspects().iloc[len(WRONG):]
    assert (clean.score == 0).all()
    assert clean["mean_margin"].is_monotonic_increasing
    assert clean["sample_id"].tolist() == sorted(set(range(N)) - set(WRONG))
