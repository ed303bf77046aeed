"""Evidence of many batches applied in one drain equals the evidence applied batch by batch."""

from __future__ import annotations

import numpy as np
import torch

from weightslab_nb.ledger.evidence import EVIDENCE_KEYS


def _record(session, batches, drain_each: bool):
    session.register_samples(list(range(30)), "train")
    for ids, scores, targets in batches:
        session.record_batch("loss", ids, torch.rand(len(ids)), preds=scores, targets=targets,
                             evidence=True)
        if drain_each:
            session.drain()
    session.drain()
    df = session.dataframe
    columns = ["signals//loss/" + k for k in EVIDENCE_KEYS] + ["prediction"]
    top = session.recorder.top_classes["signals//loss"]
    return df[columns].to_numpy(), top.classes[:30].copy(), top.probs[:30].copy(), \
        session.query_signal_history("loss/margin")


def test_one_drain_of_many_batches_gives_what_batch_by_batch_drains_give(make_session):
    rng = np.random.default_rng(3)
    batches = []
    for step in range(60):
        ids = rng.choice(30, size=8, replace=step % 7 == 0)  # some batches repeat an id
        scores = torch.from_numpy(rng.normal(size=(8, 4)) * 2)
        targets = torch.from_numpy(rng.integers(0, 4, size=8))
        batches.append((ids.tolist(), scores, targets))
    batches.append(([1, 2], torch.tensor([[np.nan, 1.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]]),
                    torch.tensor([0, 1])))  # not derivable: the others keep theirs
    one = _record(make_session("one"), batches, drain_each=False)
    each = _record(make_session("each"), batches, drain_each=True)
    np.testing.assert_array_equal(one[0], each[0])
    np.testing.assert_array_equal(one[1], each[1])
    np.testing.assert_array_equal(one[2], each[2])
    assert sorted(one[3]) == sorted(each[3])
    assert np.nanmax(one[0][:, EVIDENCE_KEYS.index("forgetting")]) >= 1  # forgetting occurred


def test_a_sample_twice_in_one_batch_is_one_presentation_with_its_last_scores(session):
    session.register_samples([0, 1], "train")
    scores = torch.tensor([[3.0, 0.0], [0.0, 3.0], [0.0, 3.0]])  # sample 0: right, then wrong
    session.record_batch("loss", [0, 1, 0], torch.ones(3), preds=scores,
                         targets=torch.tensor([0, 1, 0]), evidence=True)
    df = session.dataframe
    row = df.loc[(0, 0)]
    assert row["signals//loss/predicted_class_votes"] == 1.0
    assert row["signals//loss/correct"] == 0.0
    assert row["signals//loss/forgetting"] == 0.0  # no earlier presentation to forget
