"""A click on a confusion-matrix cell of RunMedia highlights the watched samples of that
(label, latest prediction) pair, and the sample grid then pages through exactly them; a matrix
logged under a split's key counts that split only; bad clicks change nothing."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

import weightslab_nb as wl
from weightslab_nb.demo import digits_mlp, train_digits
from weightslab_nb.panels import RunMedia, SampleGrid
from weightslab_nb.panels.confusion import origin_of_key

from tests.panel_capture import Capture, ask, ask_content


@pytest.fixture
def watched(session, digits):
    """Train 30 steps on the first 1,000 digits; record predictions for 300 validation digits
    (ids 0..299 of origin "val", the same ids as train's) and log two confusion matrices."""
    images, labels = digits.tensors
    train = session.watch_or_edit(TensorDataset(images[:1000], labels[:1000]), flag="data",
                                  loader_name="train_loader", batch_size=100, shuffle=False)
    session.watch_or_edit(TensorDataset(images[1000:1300], labels[1000:1300]), flag="data",
                          loader_name="val_loader")
    model = digits_mlp()
    loss = session.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss",
                                 name="train-loss", per_sample=True)
    train_digits(train, model, torch.optim.SGD(model.parameters(), lr=0.1), loss, max_steps=30)
    with torch.no_grad():
        val_scores = model(images[1000:1300])
    session.save_signals({"val-loss": torch.zeros(300)}, list(range(300)),
                         preds_raw=val_scores, targets=labels[1000:1300], origin="val")
    frame = session.dataframe
    wl.init(project="confusion")
    names = [f"d{i}" for i in range(10)]
    seen = frame.dropna(subset=["prediction"])
    wl.log({"confusion": wl.plot.confusion_matrix(seen["prediction"].to_numpy(int),
                                                  seen["target"].to_numpy(int), names),
            "val/confusion": wl.plot.confusion_matrix(val_scores.argmax(1), labels[1000:1300],
                                                      names),
            "loss": 0.5}, step=0)
    return session, frame


@pytest.fixture
def panels(watched):
    session, _ = watched
    media, grid = RunMedia(session), SampleGrid(session)
    mcap, gcap = Capture(media), Capture(grid)
    assert media.flush()
    yield media, mcap, grid, gcap
    media.close()
    grid.close()


def expected(frame, row, col, origin=None) -> set:
    keep = (frame["target"] == row) & (frame["prediction"] == col)
    if origin is not None:
        keep &= frame["origin"] == origin
    picked = frame[keep.fillna(False)]
    return {(o, s) for o, s in zip(picked["origin"], picked.index.get_level_values("sample_id"))}


def pairs(frame, origin=None) -> list[tuple[int, int, int]]:
    """(row, col, count) of every non-empty cell, off-diagonal first."""
    seen = frame if origin is None else frame[frame["origin"] == origin]
    seen = seen.dropna(subset=["prediction", "target"])
    counts = seen.groupby(["target", "prediction"]).size()
    cells = [(int(t), int(p), int(n)) for (t, p), n in counts.items()]
    return sorted(cells, key=lambda c: (c[0] == c[1], -c[2]))


def click(media, cap, req, key="confusion", row=0, col=0, step=0):
    return ask_content(media, cap, req, type="confusion", key=key, step=step, row=row, col=col)


def grid_refs(grid, gcap, req) -> tuple[set, dict]:
    page = ask_content(grid, gcap, req, type="page", highlight=True, limit=500)
    return {(r["origin"], r["sample_id"]) for r in page["rows"]}, page


def test_a_cell_click_shows_exactly_that_pairs_samples_in_the_grid(watched, panels):
    session, frame = watched
    media, mcap, grid, gcap = panels
    row, col, n = pairs(frame)[0]  # the largest confusion between two classes
    assert row != col
    reply = click(media, mcap, 1, row=row, col=col)
    want = expected(frame, row, col)
    assert len(want) == n
    assert reply["ok"] is True and reply["type"] == "confusion_result" and reply["count"] == n
    assert reply["origin"] is None and (reply["row"], reply["col"]) == (row, col)
    assert reply["label"] == f"label d{row} → predicted d{col}"
    assert f"{n:,} sample" in reply["message"]
    highlight = session.highlight.get()
    assert highlight.source == "confusion" and set(highlight.refs) == want
    assert grid.flush() and grid.highlight["label"] == reply["label"]
    shown, page = grid_refs(grid, gcap, 2)
    assert shown == want and page["matched"] == n
    # a diagonal cell: the samples of that class predicted right, of both origins
    right = max((c for c in pairs(frame) if c[0] == c[1]), key=lambda c: c[2])
    reply = click(media, mcap, 3, row=right[0], col=right[0])
    assert reply["count"] == len(expected(frame, right[0], right[0])) == right[2]
    assert grid_refs(grid, gcap, 4)[0] == expected(frame, right[0], right[0])
    assert {o for o, _ in expected(frame, right[0], right[0])} == {"train", "val"}


def test_a_matrix_logged_for_a_split_counts_that_splits_samples_only(watched, panels):
    session, frame = watched
    media, mcap, grid, gcap = panels
    row, col, n = pairs(frame, "val")[0]
    reply = click(media, mcap, 1, key="val/confusion", row=row, col=col)
    assert reply["ok"] and reply["origin"] == "val" and reply["count"] == n
    assert reply["label"] == f"label d{row} → predicted d{col} (val)"
    assert grid_refs(grid, gcap, 2)[0] == expected(frame, row, col, "val")
    assert origin_of_key(session, "val_cm") == "val"
    assert origin_of_key(session, "train_loader/cm") == "train"  # a loader name
    assert origin_of_key(session, "TRAIN-confusion") == "train"
    assert origin_of_key(session, "confusion") is None
    assert origin_of_key(session, "validation/cm") is None  # not an origin: every origin


def test_a_cell_without_samples_says_so_and_keeps_the_highlight(watched, panels):
    session, frame = watched
    media, mcap, _, _ = panels
    row, col, _ = pairs(frame)[0]
    first = click(media, mcap, 1, row=row, col=col)
    before = session.highlight.get()
    seen = {(r, c) for r, c, _ in pairs(frame)}
    empty = next((r, c) for r in range(10) for c in range(10) if (r, c) not in seen)
    reply = click(media, mcap, 2, row=empty[0], col=empty[1])
    assert reply["ok"] is True and reply["count"] == 0
    assert f"has label d{empty[0]} and latest prediction d{empty[1]}" in reply["message"]
    assert session.highlight.get() is before and first["count"] > 0


def test_a_session_without_watched_samples_answers_with_a_clear_message(session):
    wl.init()
    wl.log({"cm": wl.plot.confusion_matrix([0, 1, 1], [0, 1, 0])})
    media = RunMedia(session)
    cap = Capture(media)
    try:
        reply = click(media, cap, 1, key="cm", row=1, col=0)
        assert reply["ok"] is True and reply["count"] == 0
        assert "no watched samples in this session" in reply["message"]
        assert session.highlight.get() is None
    finally:
        media.close()


@pytest.mark.parametrize("content,words", [
    ({"row": 10, "col": 0}, "row: must be in 0..9"),
    ({"row": 0, "col": -1}, "col: must be in 0..9"),
    ({"row": "1", "col": 0}, "row: expected an integer"),
    ({"row": 1.0, "col": 0}, "row: expected an integer"),
    ({"row": True, "col": 0}, "row: expected an integer"),
    ({"row": 1}, "col: required"),
    ({"row": 1, "col": 1, "key": "loss"}, "holds no confusion matrix"),
    ({"row": 1, "col": 1, "key": "nope"}, "'nope' was not logged"),
    ({"row": 1, "col": 1, "step": 3}, "no value at step 3"),
    ({"row": 1, "col": 1, "key": ""}, "key"),
])
def test_bad_clicks_are_refused_and_change_nothing(watched, panels, content, words):
    session, _ = watched
    media, mcap, _, _ = panels
    version = session.highlight.version
    msg = {"type": "confusion", "key": "confusion", "step": 0, **content}
    reply, buffers = ask(media, mcap, 7, **msg)
    assert reply["ok"] is False and words in reply["message"] and not buffers
    assert reply["type"] == "confusion_result"
    assert session.highlight.version == version


def test_outcome_refs_checks_its_arguments(watched):
    session, frame = watched
    row, col, n = pairs(frame, "train")[0]
    assert len(session.outcome_refs(row, col, origin="train_loader")) == n
    assert session.outcome_refs(np.int64(row), float(col), origin="train") == \
        session.outcome_refs(row, col, origin="train")
    with pytest.raises(TypeError, match="label"):
        session.outcome_refs("3", 1)
    with pytest.raises(TypeError, match="prediction"):
        session.outcome_refs(1, True)
    with pytest.raises(ValueError, match="unknown origin"):
        session.outcome_refs(1, 1, origin="test")
