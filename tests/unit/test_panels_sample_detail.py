"""The sample detail view, against a real Session trained on the real digits data: what the
grid's ``detail`` message and ``wl.show_sample`` show (image, labels with class names, the
latest top-k probabilities, every signal's history with evaluation markers, tags), how
``class_names=`` is checked, and previous / next in the default order."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn
from torch.utils.data import Dataset, TensorDataset

import weightslab_nb as wl
from weightslab_nb.demo import digits_dataset, digits_mlp, train_digits
from weightslab_nb.errors import AmbiguousSampleError, InvalidTypeError, InvalidValueError, UnknownSampleError
from weightslab_nb.panels.grid import SampleGrid
from weightslab_nb.panels.sample_view import SampleView
from weightslab_nb.panels.wire import decode_arrays

from tests.panel_capture import Capture, ask

NAMES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
LOSS = "signals//train-loss"


@pytest.fixture
def trained(session, digits):
    """Digits, watched with class names, trained 40 steps (about 1.4 epochs)."""
    loader = session.watch_or_edit(digits, flag="data", loader_name="train_loader", batch_size=64,
                                   shuffle=False, class_names=NAMES)
    model = session.watch_or_edit(digits_mlp(), flag="model")
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loss = session.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss",
                                 name="train-loss", per_sample=True)
    train_digits(loader, model, opt, loss, epochs=2, max_steps=40)
    return session, model


def history_of(reply, buffers) -> dict[str, tuple[list, list]]:
    h = reply["history"]
    start = h["buffer_start"]
    a = decode_arrays(h["arrays"], buffers[start:start + len(h["arrays"])])
    o = a["offsets"]
    return {name: (a["steps"][o[i]:o[i + 1]].tolist(), a["values"][o[i]:o[i + 1]].tolist())
            for i, name in enumerate(h["signals"])}


def test_grid_detail_shows_image_labels_with_names_top_k_and_full_history(trained):
    session, model = trained
    g = SampleGrid(session)
    cap = Capture(g)
    try:
        reply, buffers = ask(g, cap, 1, type="detail", ref=["train", 3])
    finally:
        g.close()
    assert reply["type"] == "detail" and reply["ok"] is True
    assert reply["ref"] == ["train", 3] and reply["target"] == 3
    assert reply["target_name"] == "three"
    assert reply["prediction_name"] == NAMES[int(reply["prediction"])]
    # the image: the 8x8 digit, drawn from the dataset item, no overlays
    view = reply["input"]
    assert view["kind"] == "image" and (view["width"], view["height"]) == (8, 8)
    assert view["mask_buffer"] is None and view["boxes"] == []
    assert Image.open(io.BytesIO(bytes(buffers[view["buffer"]]))).size == (8, 8)
    # the full history of every per-sample signal: sample 3 was in the first batch of each epoch (29 batches)
    history = history_of(reply, buffers)
    assert list(history) == ["train-loss", "train-loss/margin"]  # the loss first
    expected = [(st, v) for name, st, v, _ in session.query_sample_history(3)
                if name == "train-loss"]
    assert history["train-loss"][0] == [st for st, _ in expected] == [1, 30]
    assert np.allclose(history["train-loss"][1], [v for _, v in expected], rtol=1e-6)
    assert reply["history"]["points"] == [2, 2] and reply["markers"] == []
    # the latest top-5, most probable first, the predicted class on top
    top = reply["top"]
    assert top["signal"] == "train-loss" and len(top["classes"]) == 5
    probs = [c["prob"] for c in top["classes"]]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-6
    assert top["classes"][0]["class"] == reply["prediction"]
    assert all(c["name"] == NAMES[c["class"]] for c in top["classes"])
    assert reply["signals"][LOSS] == pytest.approx(history["train-loss"][1][-1], rel=1e-6)


def test_top_k_is_the_softmax_of_the_latest_logits(session):
    """Logits of a tiny model on known inputs: the stored top-k are torch's softmax top-k of
    each sample's last presentation (not an earlier one)."""
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(12, 5, generator=gen), torch.arange(12) % 7
    loader = session.watch_or_edit(TensorDataset(x, y), flag="data", loader_name="train_loader",
                                   batch_size=4, shuffle=False)
    loss = session.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss",
                                 name="loss", per_sample=True)
    torch.manual_seed(0)
    model = nn.Linear(5, 7)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    seen, first = {}, {}
    for _ in range(2):
        for inputs, targets, ids in loader:
            opt.zero_grad()
            logits = model(inputs)
            for sid, row in zip(ids.tolist(), logits.detach()):
                first.setdefault(sid, torch.softmax(row, 0))
                seen[sid] = torch.softmax(row, 0)
            loss(logits, targets, batch_ids=ids).mean().backward()
            opt.step()
    moved = 0
    for sid, probs in seen.items():
        top = session.top_classes(sid)["loss"]
        want = torch.topk(probs, 5)
        assert [c for c, _ in top] == want.indices.tolist()
        assert np.allclose([p for _, p in top], want.values.tolist(), rtol=1e-5)
        moved += not np.allclose([p for _, p in top], first[sid][want.indices].tolist(), rtol=1e-5)
    assert moved == 12  # the first epoch's probabilities were replaced
    assert session.top_classes(0, origin="train_loader") == session.top_classes(0)


def test_top_k_keeps_fewer_classes_when_there_are_fewer_and_ties_go_to_the_lower_class():
    from weightslab_nb.ledger.evidence import classification_evidence

    ev = classification_evidence(np.array([[1.0, 3.0, 3.0], [0.0, 0.0, 5.0]]), np.array([0, 2]))
    assert ev.top_classes.tolist() == [[1, 2, 0], [2, 0, 1]]
    e = np.exp([1.0, 3.0, 3.0])
    assert np.allclose(ev.top_probs[0], np.array([e[1], e[2], e[0]]) / e.sum())


# ---------------------------------------------------------------- class names
def test_class_names_are_checked_and_kept_per_origin(session, digits):
    session.watch_or_edit(digits, flag="data", loader_name="train_loader", class_names=NAMES)
    session.watch_or_edit(digits, flag="data", loader_name="val_loader", id_prefix="val_",
                          class_names={0: "zero", 7: "seven"})
    assert session.class_names("train") == dict(enumerate(NAMES))
    assert session.class_names("val_loader") == {0: "zero", 7: "seven"}  # a loader name works
    session.set_class_names("val", ("a", "b"))
    assert session.class_names("val") == {0: "a", 1: "b"}
    for bad, error, words in [
        ("zero one", InvalidTypeError, "class_names: expected a sequence of class names"),
        (["zero", 1], InvalidTypeError, "class_names[1]: expected a string, got int"),
        (["zero", ""], InvalidValueError, "class_names[1]: expected a non-empty printable name"),
        ({"0": "zero"}, InvalidTypeError, "class_names: class indices are ints, got '0'"),
        ({-1: "x"}, InvalidValueError, "class_names: class indices are >= 0, got -1"),
        ({True: "x"}, InvalidTypeError, "class indices are ints"),
        (5, InvalidTypeError, "got int"),
    ]:
        with pytest.raises(error, match=re.escape(words)):
            session.watch_or_edit(digits, flag="data", loader_name="test_loader",
                                  id_prefix="test_", class_names=bad)
    assert "test" not in session.origins()  # a refused loader registers nothing
    with pytest.raises(InvalidValueError, match="origin: unknown origin 'nope'"):
        session.class_names("nope")


def test_the_grid_page_carries_the_class_names_of_its_origins(trained):
    session, _ = trained
    g = SampleGrid(session)
    cap = Capture(g)
    try:
        reply = ask(g, cap, 1, type="page", limit=4)[0]
    finally:
        g.close()
    assert reply["class_names"] == {"train": {str(i): n for i, n in enumerate(NAMES)}}


# ---------------------------------------------------------------- overlays and other inputs
class Segments(Dataset):
    """Two 6x6 images: one with a class mask, one with detection boxes."""

    def __len__(self):
        return 2

    def __getitem__(self, i):
        image = torch.arange(36, dtype=torch.float32).reshape(1, 6, 6)
        if i == 0:
            mask = torch.zeros(6, 6, dtype=torch.int64)
            mask[1:3, 2:5] = 2
            return image, mask
        return image, {"boxes": torch.tensor([[0.0, 0.0, 3.0, 6.0]]), "labels": torch.tensor([4])}


def test_masks_and_boxes_of_the_targets_are_drawn_over_the_image(session):
    session.watch_or_edit(Segments(), flag="data", loader_name="train_loader")
    g = SampleGrid(session)
    cap = Capture(g)
    try:
        masked, buffers = ask(g, cap, 1, type="detail", ref=["train", 0])
        boxed = ask(g, cap, 2, type="detail", ref=["train", 1])[0]
    finally:
        g.close()
    view = masked["input"]
    mask = np.asarray(Image.open(io.BytesIO(bytes(buffers[view["mask_buffer"]]))).convert("RGBA"))
    assert mask.shape == (6, 6, 4)
    assert (mask[..., 3] > 0).sum() == 6 and (mask[1:3, 2:5, 3] > 0).all()  # the class-2 patch
    assert boxed["input"]["mask_buffer"] is None
    assert boxed["input"]["boxes"] == [{"x0": 0.0, "y0": 0.0, "x1": 0.5, "y1": 1.0, "label": 4}]
    # no history, no logits yet: the view says so rather than failing
    assert masked["top"] is None and masked["history"]["signals"] == []


def test_an_input_that_is_no_image_shows_its_values(session):
    feats = torch.linspace(0, 1, 7).repeat(3, 1)  # 7 values: not a square image
    session.watch_or_edit(TensorDataset(feats, torch.zeros(3)), flag="data",
                          loader_name="train_loader")
    view = SampleView(session, 1)
    cap = Capture(view)
    try:
        reply, buffers = ask(view, cap, 1, type="detail")
    finally:
        view.close()
    assert reply["input"]["kind"] == "vector" and reply["input"]["length"] == 7
    values = decode_arrays([reply["input"]["array"]], [buffers[reply["input"]["buffer"]]])["values"]
    assert np.allclose(values, np.linspace(0, 1, 7))


# ---------------------------------------------------------------- wl.show_sample
def test_show_sample_refuses_unknown_ids_and_ids_of_several_origins(trained):
    session, _ = trained
    session.watch_or_edit(digits_dataset(), flag="data", loader_name="val_loader")  # ids 0..1796 too
    with pytest.raises(UnknownSampleError, match="99999"):
        wl.show_sample(99999)
    with pytest.raises(AmbiguousSampleError, match=r"'train'.*'val'|'val'.*'train'"):
        wl.show_sample(5)
    view = wl.show_sample(5, origin="val")
    try:
        assert isinstance(view, SampleView) and view.ref == ["val", 5]
    finally:
        view.close()


def test_show_sample_walks_the_loss_order_and_edits_the_sample_it_shows(trained):
    session, _ = trained
    order = [r["sample_id"] for r in session.grid_page(
        wl_query(sort_by=LOSS, limit=3)).rows]  # highest loss first
    view = wl.show_sample(order[1])
    cap = Capture(view)
    try:
        here = ask(view, cap, 1, type="detail")[0]
        assert (here["position"], here["count"]) == (1, 1797)
        nxt = ask(view, cap, 2, type="detail", move=1)[0]
        assert nxt["sample_id"] == order[2] and view.ref == ["train", order[2]]
        back = ask(view, cap, 3, type="detail", move=-1)[0]
        assert back["sample_id"] == order[1] and back["position"] == 1
        done = ask(view, cap, 4, type="action", action="add_tag", tag="odd", create=True)[0]
        assert done["ok"] and done["message"] == "tagged 1 sample 'odd'"
        ask(view, cap, 5, type="action", action="discard")
        again = ask(view, cap, 6, type="detail")[0]
        assert again["tags"] == ["odd"] and again["discarded"] is True
        assert session.get_samples_by_tag("odd") == [order[1]]
        assert session.get_discarded_samples() == [order[1]]
        refused = ask(view, cap, 7, type="action", action="discard", sample_ids=[1, 2])[0]
        assert refused["ok"] is False and refused["message"].startswith("sample_ids:")
        assert session.get_discarded_samples() == [order[1]]
    finally:
        view.close()


def wl_query(**kwargs):
    from weightslab_nb.ledger.query import GridQuery

    return GridQuery(**kwargs)


def test_evaluation_steps_are_markers_and_a_validation_sample_shows_its_evaluations(trained):
    session, model = trained
    session.watch_or_edit(digits_dataset(), flag="data", loader_name="val_loader",
                          id_prefix="val_")
    request = session.request_evaluation("val_loader")
    assert request.wait(60) and request.state == "done", request.error
    view = wl.show_sample("val_3")
    cap = Capture(view)
    try:
        reply, buffers = ask(view, cap, 1, type="detail")
    finally:
        view.close()
    assert [m["step"] for m in reply["markers"]] == [request.step]
    history = history_of(reply, buffers)
    assert history and all(steps == [request.step] for steps, _ in history.values())
