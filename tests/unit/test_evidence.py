"""Classification evidence: what a watched loss's logits say about each sample's label.

The numbers a user reads in the sample table (``L/margin``, ``L/p_label``, ``L/correct``,
``L/forgetting``, ``L/predicted_class``, ``L/suggested_class``) are checked against values
computed by hand, presentation by presentation.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from weightslab_nb.ledger.evidence import EVIDENCE_KEYS, classification_evidence, majority_vote


def test_evidence_of_one_batch_by_hand():
    scores = np.array([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0]])
    ev = classification_evidence(scores, np.array([0.0, 2.0]))
    np.testing.assert_allclose(ev.margin, [1.0, -2.0])          # 2-1 ; 1-3
    softmax = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(ev.p_label, [softmax[0, 0], softmax[1, 2]])
    assert ev.correct.tolist() == [1.0, 0.0]
    assert ev.predicted.tolist() == [0.0, 1.0]
    assert ev.rival.tolist() == [1.0, 1.0]                       # best class other than the label


def test_huge_logits_give_finite_probabilities():
    ev = classification_evidence(np.array([[1000.0, -1000.0]]), np.array([1.0]))
    assert ev.p_label[0] == 0.0 and ev.margin[0] == -2000.0


@pytest.mark.parametrize("scores, targets", [
    (np.zeros((2, 3)), np.array([0.0, 3.0])),                    # a class out of range
    (np.zeros((2, 3)), np.array([0.0, 1.5])),                    # not a class index
    (np.zeros((2, 3)), np.array([-1.0, 1.0])),
    (np.zeros(2), np.array([0.0, 1.0])),                         # not [B, C]
    (np.zeros((2, 1)), np.array([0.0, 0.0])),                    # one class: no rival
    (np.array([[np.nan, 1.0], [0.0, 1.0]]), np.array([0.0, 1.0])),
    (None, np.array([0.0])),
    (np.zeros((1, 2)), None),
])
def test_no_evidence_for_batches_that_are_not_classification(scores, targets):
    assert classification_evidence(scores, targets) is None


def test_majority_vote_finds_every_class_seen_more_than_half_the_time():
    rng = np.random.default_rng(0)
    streams = rng.integers(0, 4, size=(500, 9)).astype(float)
    streams[:250, :5] = 2.0  # these samples see class 2 at least 5 times out of 9
    rng.permuted(streams[:250], axis=1, out=streams[:250])
    cand, votes = np.full(500, np.nan), np.full(500, np.nan)
    for t in range(9):
        cand, votes = majority_vote(cand, votes, streams[:, t])
    for i in range(500):
        value, count = Counter(streams[i].tolist()).most_common(1)[0]
        if count > 9 / 2:
            assert cand[i] == value
    assert (cand[:250] == 2.0).all()


# ---------------------------------------------------------------- through a watched loss
@pytest.fixture
def watched(session):
    data = TensorDataset(torch.zeros(4, 2), torch.tensor([0, 1, 2, 0]))
    loader = session.watch_or_edit(data, flag="data", loader_name="train_loader", batch_size=4)
    loss = session.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss",
                                 signal_name="train-loss", per_sample=True)
    return session, loader, loss


def _logits(winners, classes=3, gap=2.0):
    """One row per sample: class ``winners[i]`` scores ``gap``, the others 0."""
    out = torch.zeros(len(winners), classes)
    out[torch.arange(len(winners)), torch.tensor(winners)] = gap
    return out


def _column(session, key):
    session.drain()
    return session.table.signals[f"signals//train-loss/{key}"][:4].copy()


def test_a_watched_loss_keeps_the_evidence_of_every_presentation(watched):
    session, _, loss = watched
    ids, labels = torch.arange(4), torch.tensor([0, 1, 2, 0])
    loss(_logits([0, 1, 2, 0]), labels, batch_ids=ids)   # all right
    loss(_logits([0, 2, 2, 1]), labels, batch_ids=ids)   # samples 1 and 3 now wrong
    loss(_logits([0, 2, 2, 1]), labels, batch_ids=ids)   # still wrong: no second forgetting
    assert _column(session, "forgetting").tolist() == [0, 1, 0, 1]
    assert _column(session, "correct").tolist() == [1, 0, 1, 0]
    assert _column(session, "margin").tolist() == [2.0, -2.0, 2.0, -2.0]
    assert _column(session, "predicted_class").tolist() == [0, 2, 2, 1]  # 2 votes of 3
    assert _column(session, "suggested_class").tolist() == [1, 2, 0, 1]
    right, wrong = np.exp(2.0) / (np.exp(2.0) + 2), 1 / (np.exp(2.0) + 2)
    np.testing.assert_allclose(_column(session, "p_label"), [right, wrong, right, wrong])
    margins = session.query_sample_history(1, "train-loss/margin")
    assert [value for _, _, value, _ in margins] == [2.0, -2.0, -2.0]


def test_presentations_queued_together_count_in_order(watched):
    """Batches drained together (the recorder applies them in bulk) still count each
    presentation: right, wrong, right, wrong is two forgetting events."""
    session, _, loss = watched
    ids, labels = torch.arange(4), torch.tensor([0, 1, 2, 0])
    for winners in ([0, 1, 2, 0], [1, 1, 2, 0], [0, 1, 2, 0], [1, 1, 2, 0]):
        loss(_logits(winners), labels, batch_ids=ids)
    assert _column(session, "forgetting").tolist() == [2, 0, 0, 0]


def test_a_sample_twice_in_one_batch_keeps_its_last_presentation(watched):
    session, _, loss = watched
    loss(_logits([0, 0]), torch.tensor([0, 0]), batch_ids=torch.tensor([0, 0]))
    loss(_logits([1, 0]), torch.tensor([0, 0]), batch_ids=torch.tensor([0, 0]))
    assert _column(session, "correct")[0] == 1.0   # the second row of the second batch
    assert _column(session, "forgetting")[0] == 0.0


def test_evidence_false_opts_a_loss_out(session):
    data = TensorDataset(torch.zeros(4, 2), torch.tensor([0, 1, 2, 0]))
    session.watch_or_edit(data, flag="data", loader_name="train_loader", batch_size=4)
    loss = session.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss",
                                 signal_name="train-loss", per_sample=True, evidence=False)
    loss(_logits([0, 1, 2, 0]), torch.tensor([0, 1, 2, 0]), batch_ids=torch.arange(4))
    session.drain()
    assert list(session.table.signals) == ["signals//train-loss"]
    assert session.history.signal_names() == ["train-loss"]


def test_a_metric_records_no_evidence_unless_asked(session):
    data = TensorDataset(torch.zeros(4, 2), torch.tensor([0, 1, 2, 0]))
    session.watch_or_edit(data, flag="data", loader_name="train_loader", batch_size=4)
    metric = session.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="metric",
                                   signal_name="ce", per_sample=True)
    metric(_logits([0, 1, 2, 0]), torch.tensor([0, 1, 2, 0]), batch_ids=torch.arange(4))
    session.drain()
    assert list(session.table.signals) == ["signals//ce"]


def test_a_regression_loss_records_the_loss_alone(session):
    data = TensorDataset(torch.zeros(4, 2), torch.zeros(4))
    session.watch_or_edit(data, flag="data", loader_name="train_loader", batch_size=4)
    loss = session.watch_or_edit(nn.MSELoss(reduction="none"), flag="loss",
                                 signal_name="mse", per_sample=True)
    loss(torch.ones(4), torch.zeros(4), batch_ids=torch.arange(4))
    loss(torch.ones(4, 3), torch.zeros(4, 3), batch_ids=torch.arange(4))  # [B, 3] outputs
    session.drain()
    assert list(session.table.signals) == ["signals//mse"]


def test_the_evidence_survives_a_reopen(tmp_path, make_session):
    first = make_session("run")
    data = TensorDataset(torch.zeros(4, 2), torch.tensor([0, 1, 2, 0]))
    first.watch_or_edit(data, flag="data", loader_name="train_loader", batch_size=4)
    loss = first.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss",
                               signal_name="train-loss", per_sample=True)
    labels = torch.tensor([0, 1, 2, 0])
    loss(_logits([0, 1, 2, 0]), labels, batch_ids=torch.arange(4))
    loss(_logits([0, 2, 2, 0]), labels, batch_ids=torch.arange(4))
    before = {k: _column(first, k) for k in EVIDENCE_KEYS}
    first.close()
    again = make_session("run")
    again.watch_or_edit(data, flag="data", loader_name="train_loader", batch_size=4)
    for key, values in before.items():
        np.testing.assert_array_equal(_column(again, key), values, err_msg=key)


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_evidence_must_be_a_bool(session, value):
    from weightslab_nb.errors import WeightslabError

    with pytest.raises(WeightslabError, match="evidence"):
        session.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss",
                              signal_name="train-loss", per_sample=True, evidence=value)
    assert "train-loss" not in session.registry.all("signal")
