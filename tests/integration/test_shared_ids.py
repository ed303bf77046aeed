"""Train and validation sets that both index from 0: most users' setup.

The digits data are split in two ``Subset``s, each watched as its own loader with the default
ids (its own indices 0..n-1), so every validation id is also a training id. Training, an
evaluation, tagging, discarding, queries, exports and reopening must keep the two apart; an id
given without ``origin=`` where both origins hold it is refused with an error naming them.
"""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn
from torch.utils.data import Subset

import weightslab_nb as wl
from weightslab_nb.demo import digits_mlp
from weightslab_nb.errors import AmbiguousSampleError
from weightslab_nb.session import Session

WAIT = 60.0
N_TRAIN, N_VAL = 1200, 597
DIGITS_LABEL_0, DIGITS_LABEL_1200 = 0, 7  # sklearn's digits: labels of images 0 and 1200


def _watch(session, digits):
    train = Subset(digits, range(N_TRAIN))
    val = Subset(digits, range(N_TRAIN, N_TRAIN + N_VAL))
    model = session.watch_or_edit(digits_mlp(hidden=32), flag="model")
    train_loader = session.watch_or_edit(train, flag="data", loader_name="train_loader",
                                         batch_size=64, shuffle=True, seed=0)
    val_loader = session.watch_or_edit(val, flag="data", loader_name="val_loader",
                                       batch_size=128)
    optimizer = session.watch_or_edit(torch.optim.Adam(model.parameters(), lr=1e-2),
                                      flag="optimizer")
    loss_fn = session.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss",
                                    signal_name="loss", per_sample=True)
    return model, train_loader, val_loader, optimizer, loss_fn


def _train(model, loader, optimizer, loss_fn, epochs):
    for _ in range(epochs):
        for inputs, targets, ids in loader:
            optimizer.zero_grad()
            loss_fn(model(inputs), targets, batch_ids=ids).mean().backward()
            optimizer.step()


@pytest.fixture
def trained(make_session, digits):
    session = make_session("shared")
    model, train_loader, val_loader, optimizer, loss_fn = _watch(session, digits)
    _train(model, train_loader, optimizer, loss_fn, epochs=2)
    request = session.request_evaluation("val_loader")
    assert session.run_pending_evaluation()  # in this thread: no training runs
    assert request.state == "done", request.error
    return session


def test_both_origins_hold_their_own_samples_and_values(trained):
    df = trained.dataframe
    per_origin = df.groupby("origin", observed=True).size().to_dict()
    assert per_origin == {"train": N_TRAIN, "val": N_VAL}
    train = df[df["origin"] == "train"]
    val = df[df["origin"] == "val"]
    assert train["signals//loss"].notna().all() and val["signals//loss"].notna().all()
    # id 0 is two samples: image 0 of the data set and image 1200, each with its own label
    assert train.loc[(0, 0), "target"] == DIGITS_LABEL_0
    assert val.loc[(0, 0), "target"] == DIGITS_LABEL_1200
    # the evaluation recorded the val samples only, under its marker hash
    marker = trained.evaluation.history[-1].marker_hash
    val_rows = trained.query_signal_history("loss", exp_hash=marker, origin="val")
    assert len(val_rows) == N_VAL
    assert trained.query_signal_history("loss", exp_hash=marker, origin="train") == []
    train_rows = trained.query_signal_history("loss", origin="train_loader")
    assert len(train_rows) == 2 * N_TRAIN  # two epochs
    assert {h for *_, h in train_rows} == {trained.get_current_experiment_hash()}


def test_an_ambiguous_id_names_the_origins_and_changes_nothing(trained):
    before = trained.tag_summary()
    for call in (lambda: trained.tag_samples([0, 5], "hard"),
                 lambda: trained.discard_samples([5]),
                 lambda: trained.set_categorical_tag([5], "kind", "odd"),
                 lambda: trained.query_sample_history(5)):
        with pytest.raises(AmbiguousSampleError, match=r"\['train', 'val'\]") as info:
            call()
        assert "origin=" in str(info.value)
    assert trained.tag_summary() == before
    assert trained.get_discarded_samples(origin=None) == []
    # an id only one origin holds needs no origin
    trained.tag_samples([N_VAL + 10], "train_only")
    assert trained.get_samples_by_tag("train_only", origin=None) == [N_VAL + 10]


def test_tags_discards_and_queries_follow_the_origin(trained):
    trained.tag_samples([0, 1, 2], "hard", origin="val")
    trained.discard_samples([0], origin="train_loader")
    trained.set_categorical_tag([3], "kind", "odd", origin="val")
    assert trained.get_samples_by_tag("hard", origin="val") == [0, 1, 2]
    assert trained.get_samples_by_tag("hard", origin="train") == []
    assert trained.get_samples_by_tag("kind=odd", origin=None) == [3]
    assert trained.get_discarded_samples(origin="train") == [0]
    assert trained.get_discarded_samples(origin="val") == []
    val_history = trained.query_sample_history(0, "loss", origin="val")
    train_history = trained.query_sample_history(0, "loss", origin="train")
    assert len(val_history) == 1 and len(train_history) == 2
    # the discarded train sample 0 is skipped from the next epoch; val sample 0 is not
    trained.controller.resume()  # the evaluation left training paused
    loader = trained.registry.get("data", "train_loader")
    drawn = [int(i) for _, _, ids in loader for i in ids]
    assert 0 not in drawn and len(drawn) == N_TRAIN - 1


def test_an_evaluation_of_a_tagged_val_subset_records_only_those_samples(trained):
    trained.tag_samples([0, 1, 2, 3], "hard", origin="val")
    request = trained.request_evaluation("val_loader", tags="hard")
    assert trained.run_pending_evaluation()
    rows = trained.query_signal_history("loss", exp_hash=request.marker_hash)
    assert sorted(r[0] for r in rows) == [0, 1, 2, 3]
    assert trained.query_signal_history("loss", exp_hash=request.marker_hash,
                                        origin="train") == []


def test_exports_tell_the_origins_apart(trained, tmp_path):
    history = json.loads(trained.write_history(tmp_path / "h.json", experiment_hash="all",
                                               type_of_history="sample").read_text())
    zero = [r for r in history["sample"] if r["sample_id"] == 0 and r["graph_name"] == "loss"]
    assert {r["origin"] for r in zero} == {"train", "val"}
    assert sum(r["origin"] == "train" for r in zero) == 2
    only_val = json.loads(trained.write_history(tmp_path / "v.json", experiment_hash="all",
                                                type_of_history="sample",
                                                origin="val").read_text())
    assert {r["origin"] for r in only_val["sample"]} == {"val"}
    assert len([r for r in only_val["sample"] if r["graph_name"] == "loss"]) == N_VAL
    rows = json.loads(trained.write_dataframe(tmp_path / "d.json", sample_id=0).read_text())
    assert sorted(r["origin"] for r in rows) == ["train", "val"]
    val_frame = json.loads(trained.write_dataframe(tmp_path / "dv.json", origin="val")
                           .read_text())
    assert len(val_frame) == N_VAL and {r["origin"] for r in val_frame} == {"val"}


def test_reopening_keeps_each_origins_samples_and_edits(make_session, digits, tmp_path):
    first = make_session("reopen")
    model, train_loader, _, optimizer, loss_fn = _watch(first, digits)
    _train(model, train_loader, optimizer, loss_fn, epochs=1)
    first.tag_samples([7], "hard", origin="val")
    first.discard_samples([7], origin="train")
    first.close()
    with Session(root_log_dir=tmp_path / "reopen") as again:
        df = again.dataframe
        assert df.groupby("origin", observed=True).size().to_dict() == \
            {"train": N_TRAIN, "val": N_VAL}
        assert again.get_samples_by_tag("hard", origin="val") == [7]
        assert again.get_samples_by_tag("hard", origin="train") == []
        assert again.get_discarded_samples(origin="train") == [7]
        assert again.get_discarded_samples(origin="val") == []
        assert len(again.query_sample_history(7, "loss", origin="train")) == 1
        # watching the same data again reuses each origin's rows
        _watch(again, digits)
        assert len(again.dataframe) == N_TRAIN + N_VAL


def test_module_functions_take_origin_too(trained):
    wl.set_current_session(trained)
    wl.tag_samples([9], "checked", origin="val")
    wl.discard_samples([9], origin="val")
    assert wl.get_samples_by_tag("checked", origin="val") == [9]
    assert wl.get_discarded_samples(origin="val") == [9]
    assert len(wl.query_sample_history(9, origin="val")) == 1
