"""The panels with a train and a val set that both index from 0 (most users' setup).

Two ``Subset``s of the real digits data are watched as ``train_loader`` and ``val_loader`` with
their default ids, so every val id is also a train id. The grid, the tag editor, the shared
selection, the step highlight, thumbnails and sparklines must carry the identity
``(origin, sample_id)``: selecting val sample 0 and tagging or discarding it changes the val
sample only, and the batch of a training step holds train samples only.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn
from torch.utils.data import Subset

from weightslab_nb.demo import digits_mlp, train_digits
from weightslab_nb.errors import AmbiguousSampleError, UnknownSampleError
from weightslab_nb.panels.curves import LossCurves
from weightslab_nb.panels.grid import SampleGrid
from weightslab_nb.panels.tags import TagEditor
from weightslab_nb.panels.thumbnails import default_thumbnail
from weightslab_nb.panels.wire import decode_arrays

from tests.panel_capture import Capture, ask

N_TRAIN, N_VAL = 256, 128  # 4 batches of 64 per epoch; val: digits 256..383
EPOCHS = 2


@pytest.fixture
def shared(session, digits):
    """Two epochs on train (8 steps), then an evaluation of val at the last step (8): val
    samples recorded ``loss`` at the same step as the last training batch."""
    train = session.watch_or_edit(Subset(digits, range(N_TRAIN)), flag="data",
                                  loader_name="train_loader", batch_size=64, shuffle=True, seed=0)
    session.watch_or_edit(Subset(digits, range(N_TRAIN, N_TRAIN + N_VAL)), flag="data",
                          loader_name="val_loader", batch_size=64)
    model = session.watch_or_edit(digits_mlp(hidden=16), flag="model")
    loss = session.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss",
                                 signal_name="loss", per_sample=True)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    assert train_digits(train, model, opt, loss, epochs=EPOCHS) == 8
    request = session.request_evaluation("val_loader")
    assert session.run_pending_evaluation() and request.state == "done", request.error
    session.register_tag("picked")
    session.register_categorical_tag("quality", ["good", "bad"])
    return session


@pytest.fixture
def grid(shared):
    g = SampleGrid(shared)
    cap = Capture(g)
    yield g, cap
    g.close()


@pytest.fixture
def editor(shared):
    t = TagEditor(shared)
    cap = Capture(t)
    yield t, cap
    t.close()


def state(session) -> dict:
    """Tags, categorical values and discards of each origin."""
    return {origin: {"picked": session.get_samples_by_tag("picked", origin=origin),
                     "bad": session.get_samples_by_tag("quality=bad", origin=origin),
                     "discarded": session.get_discarded_samples(origin=origin)}
            for origin in ("train", "val")}


NOTHING = {"picked": [], "bad": [], "discarded": []}


def test_rows_carry_refs_and_the_thumbnail_and_history_of_their_own_sample(grid, shared, digits):
    g, cap = grid
    reply, buffers = ask(g, cap, 1, type="page", limit=500, sort_by="sample_id",
                         descending=False)
    rows = reply["rows"]
    assert len(rows) == N_TRAIN + N_VAL
    by_ref = {tuple(r["ref"]): i for i, r in enumerate(rows)}
    assert all(r["ref"] == [r["origin"], r["sample_id"]] for r in rows)
    train0, val0 = by_ref[("train", 0)], by_ref[("val", 0)]
    # val 0 is digits[256], train 0 is digits[0]: different images, each its own thumbnail
    assert bytes(buffers[train0]) == default_thumbnail(digits[0][0])
    assert bytes(buffers[val0]) == default_thumbnail(digits[N_TRAIN][0])
    assert bytes(buffers[train0]) != bytes(buffers[val0])
    assert rows[val0]["target"] == int(digits[N_TRAIN][1]) and rows[train0]["target"] == \
        int(digits[0][1])
    # sparklines: train 0 has one loss per epoch, val 0 the evaluation's one value
    spark = reply["spark"]
    arrays = decode_arrays(spark["arrays"], buffers[spark["buffer_start"]:])
    off = arrays["offsets"]
    assert off[train0 + 1] - off[train0] == EPOCHS
    assert off[val0 + 1] - off[val0] == 1
    expected = shared.sample_series([0], "loss", origin="val")[0][1]
    np.testing.assert_allclose(arrays["values"][off[val0]:off[val0 + 1]], expected, rtol=1e-6)
    png = Image.open(io.BytesIO(bytes(buffers[val0])))
    assert png.size == (8, 8)


def test_selecting_and_tagging_val_0_in_the_grid_changes_only_the_val_sample(grid, shared):
    g, cap = grid
    assert ask(g, cap, 1, type="select", sample_ids=[["val", 0]])[0]["count"] == 1
    assert shared.selection.get() == [("val", 0)]
    reply = ask(g, cap, 2, type="action", action="add_tag", tag="picked",
                sample_ids=[["val", 0]])[0]
    assert reply["ok"] is True and reply["message"] == "tagged 1 sample 'picked'"
    ask(g, cap, 3, type="action", action="set_categorical", tag="quality", value="bad",
        sample_ids=[["val", 0]])
    assert ask(g, cap, 4, type="action", action="discard", sample_ids=[["val", 0]])[0]["ok"]
    assert state(shared) == {"train": NOTHING,
                             "val": {"picked": [0], "bad": [0], "discarded": [0]}}
    # the page shows it on the val row only
    rows = ask(g, cap, 5, type="page", limit=500)[0]["rows"]
    flagged = [r["ref"] for r in rows if r["discarded"] or r["tags"] or r["categorical"]]
    assert flagged == [["val", 0]]
    # a bare id with origin= in the message does the same; the train sample stays apart
    ask(g, cap, 6, type="action", action="restore", sample_ids=[0], origin="val_loader")
    assert shared.get_discarded_samples(origin=None) == []


def test_a_bare_id_both_origins_hold_is_refused_and_changes_nothing(grid, shared):
    g, cap = grid
    shared.selection.set([("val", 3)])
    for content in ({"type": "action", "action": "add_tag", "tag": "picked", "sample_ids": [0]},
                    {"type": "select", "sample_ids": [0]}):
        reply = ask(g, cap, 7, **content)[0]
        assert reply["ok"] is False
        assert "sample id 0 exists in origins ['train', 'val']" in reply["message"]
        cap.messages.clear()
        with pytest.raises(AmbiguousSampleError):
            g._dispatch[content["type"]](dict(content))
    assert state(shared) == {"train": NOTHING, "val": NOTHING}
    assert shared.selection.get() == [("val", 3)]
    # refs of two origins are checked together: one unknown ref changes nothing
    with pytest.raises(UnknownSampleError, match="999"):
        g._dispatch["action"]({"type": "action", "action": "discard",
                               "sample_ids": [["train", 1], ["val", 999]]})
    assert state(shared) == {"train": NOTHING, "val": NOTHING}


def test_the_tag_editor_applies_to_the_selected_val_sample_only(editor, shared):
    t, cap = editor
    shared.selection.set([0], origin="val")  # a user's bare ids, with their origin
    assert t.flush() and t.selection_size == 1 and t.selection_origins == {"val": 1}
    assert ask(t, cap, 1, type="apply", action="add_tag", tag="picked")[0]["ok"]
    assert ask(t, cap, 2, type="apply", action="set_categorical", tag="quality",
               value="bad")[0]["ok"]
    assert state(shared) == {"train": NOTHING,
                             "val": {"picked": [0], "bad": [0], "discarded": []}}
    # a selection over both origins: each sample in its own origin
    shared.selection.set([("train", 5), ("val", 5), ("val", 6)])
    assert t.flush() and t.selection_origins == {"train": 1, "val": 2}
    reply = ask(t, cap, 3, type="apply", action="discard")[0]
    assert reply == {"type": "action_result", "req": 3, "ok": True,
                     "message": "discarded 3 samples", "action": "discard", "count": 3}
    assert shared.get_discarded_samples(origin="train") == [5]
    assert shared.get_discarded_samples(origin="val") == [5, 6]
    assert shared.counts() == (N_TRAIN + N_VAL, N_TRAIN + N_VAL - 3)


def test_the_highlight_of_a_training_step_holds_train_samples_only(grid, shared):
    g, gcap = grid
    curves = LossCurves(shared)
    ccap = Capture(curves)
    try:
        last = int(shared.global_series("loss")["step"][-1])
        evaluation = shared.evaluation.history[-1]
        # the evaluation recorded every val sample at the step of the last training batch
        assert evaluation.step == last
        assert len(shared.query_signal_history("loss", exp_hash=evaluation.marker_hash,
                                               origin="val")) == N_VAL
        curves._handle_custom_msg({"type": "step_click", "req": 1, "signal": "loss",
                                   "step": last}, [])
        reply = ccap.reply(1)[0]
        assert reply["ok"] is True and reply["count"] == 64, reply
        refs = shared.highlight.get().refs
        assert {origin for origin, _ in refs} == {"train"}
        assert shared.samples_at_step("loss", last) == [sid for _, sid in refs]

        page = ask(g, gcap, 2, type="page", highlight=True, limit=500)[0]
        assert page["matched"] == 64
        assert {r["origin"] for r in page["rows"]} == {"train"}
        assert all(r["highlighted"] for r in page["rows"])
        everything = ask(g, gcap, 3, type="page", limit=500)[0]["rows"]
        marked = {tuple(r["ref"]) for r in everything if r["highlighted"]}
        assert marked == {tuple(r) for r in refs}
        # val samples with the ids of highlighted train samples are not marked
        shared_ids = {sid for _, sid in refs if sid < N_VAL}
        twins = [r for r in everything if r["origin"] == "val" and r["sample_id"] in shared_ids]
        assert twins and not any(r["highlighted"] for r in twins)
    finally:
        curves.close()
