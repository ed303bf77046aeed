"""Export of the selection: ``grid.selection_frame()`` (a DataFrame in Python) and the grid's
``export`` message (the CSV the browser downloads), with a train and a val set that both index
from 0, so that the rows are picked by ``(origin, sample_id)``."""

from __future__ import annotations

import io

import pandas as pd
import pytest
import torch
from torch import nn
from torch.utils.data import Subset

from weightslab_nb.demo import digits_mlp, train_digits
from weightslab_nb.errors import AmbiguousSampleError, UnknownSampleError
from weightslab_nb.panels import grid as grid_module
from weightslab_nb.panels.grid import SampleGrid

from tests.panel_capture import Capture, ask

LOSS = "signals//loss"


@pytest.fixture
def two_origins(session, digits):
    """64 train samples (ids 0..63, one step recorded) and 32 val samples (ids 0..31), a tag."""
    train = session.watch_or_edit(Subset(digits, range(64)), flag="data",
                                  loader_name="train_loader", batch_size=32, shuffle=False)
    session.watch_or_edit(Subset(digits, range(64, 96)), flag="data", loader_name="val_loader",
                          batch_size=32)
    model = session.watch_or_edit(digits_mlp(hidden=8), flag="model")
    loss = session.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss",
                                 signal_name="loss", per_sample=True)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    train_digits(train, model, opt, loss, max_steps=2)
    session.register_tag("picked")
    return session


@pytest.fixture
def grid(two_origins):
    g = SampleGrid(two_origins)
    cap = Capture(g)
    yield g, cap
    g.close()


def test_selection_frame_holds_the_selected_rows_of_the_dataframe_in_selection_order(grid):
    g, _ = grid
    s = g.session
    s.tag_samples([3], "picked", origin="train")
    s.selection.set([("val", 3), ("train", 7), ("train", 3)])
    frame = g.selection_frame()
    whole = s.dataframe
    assert list(frame.columns) == list(whole.columns)
    assert list(frame.dtypes) == list(whole.dtypes)
    assert frame.index.names == ["sample_id", "annotation_id"]
    assert list(zip(frame["origin"].astype(str), frame.index.get_level_values("sample_id"))) == \
        [("val", 3), ("train", 7), ("train", 3)]
    # each row is that origin's sample, not the other origin's sample of the same id
    for (sid, ann), row in frame.iterrows():
        same = whole[(whole.index.get_level_values("sample_id") == sid)
                     & (whole["origin"] == row["origin"])]
        pd.testing.assert_series_equal(row, same.iloc[0], check_names=False)
    assert list(frame["tag:picked"]) == [False, False, True]
    assert frame[LOSS].notna().tolist() == [False, True, True]  # val never evaluated


def test_an_empty_selection_gives_an_empty_frame_with_every_column(grid):
    g, _ = grid
    g.session.selection.clear()
    frame = g.selection_frame()
    assert frame.empty and list(frame.columns) == list(g.session.dataframe.columns)
    assert frame.index.names == ["sample_id", "annotation_id"]


def test_session_selection_frame_takes_samples_and_refuses_unknown_or_ambiguous_ones(
        two_origins):
    s = two_origins
    frame = s.selection_frame([5, 6], origin="val_loader")
    assert frame["origin"].astype(str).tolist() == ["val", "val"]
    with pytest.raises(AmbiguousSampleError):
        s.selection_frame([5])  # train and val both hold 5
    with pytest.raises(UnknownSampleError):
        s.selection_frame([("val", 40)])


def test_export_message_answers_the_csv_of_the_selection_it_names(grid):
    g, cap = grid
    s = g.session
    s.selection.set([("train", 9)])
    refs = [["train", 2], ["val", 2], ["train", 11]]
    reply, _ = ask(g, cap, 1, type="export", sample_ids=refs)
    assert reply["type"] == "export_result" and reply["ok"] is True
    assert (reply["rows"], reply["total"], reply["truncated"]) == (3, 3, False)
    assert reply["origins"] == ["train", "val"]
    assert reply["message"] == "exported 3 samples"
    csv = pd.read_csv(io.StringIO(reply["csv"]))
    assert list(csv.columns[:3]) == ["sample_id", "annotation_id", "origin"]
    assert list(zip(csv["origin"], csv["sample_id"])) == [("train", 2), ("val", 2), ("train", 11)]
    expected = s.selection_frame([tuple(r) for r in refs])
    assert csv[LOSS].tolist() == pytest.approx(expected[LOSS].tolist(), nan_ok=True)
    assert s.selection.get() == [("train", 9)]  # exporting selects nothing
    # without sample_ids: the session's selection
    reply, _ = ask(g, cap, 2, type="export")
    assert reply["ok"] and pd.read_csv(io.StringIO(reply["csv"]))["sample_id"].tolist() == [9]


def test_export_is_cut_at_the_row_cap_and_says_so(grid, monkeypatch):
    g, cap = grid
    monkeypatch.setattr(grid_module, "EXPORT_MAX_ROWS", 2)
    reply, _ = ask(g, cap, 1, type="export", sample_ids=[["val", 0], ["val", 1], ["train", 0]])
    assert reply["ok"] and reply["truncated"] is True
    assert (reply["rows"], reply["total"], reply["origins"]) == (2, 3, ["val"])
    assert len(pd.read_csv(io.StringIO(reply["csv"]))) == 2
    assert "first 2 of 3" in reply["message"] and "selection_frame()" in reply["message"]


def test_an_empty_export_is_a_header_only_csv(grid):
    g, cap = grid
    reply, _ = ask(g, cap, 1, type="export", sample_ids=[])
    assert reply["ok"] and (reply["rows"], reply["total"], reply["origins"]) == (0, 0, [])
    assert reply["csv"].splitlines()[0].startswith("sample_id,annotation_id,origin,")
    assert len(reply["csv"].splitlines()) == 1


@pytest.mark.parametrize("bad, field", [
    ({"sample_ids": "train"}, "sample_ids"),
    ({"sample_ids": [["train", 0.5]]}, "sample_ids"),
    ({"sample_ids": [["nowhere", 0]]}, "nowhere"),
    ({"sample_ids": [["val", 99]]}, "99"),
    ({"sample_ids": [0]}, "0"),  # ambiguous: train and val both hold 0
    ({"req": True}, "req"),
])
def test_bad_export_messages_are_refused_and_change_nothing(grid, bad, field):
    g, cap = grid
    s = g.session
    s.selection.set([("train", 4)])
    before = (s.selection.get(), s.selection.version, s.changes.table)
    msg = {"type": "export", "req": 7, **bad}
    g._handle_custom_msg(msg, [])
    if bad.get("req") is True:
        assert g.flush() and field in g.error
    else:
        reply, _ = cap.reply(7)
        assert reply["type"] == "export_result" and reply["ok"] is False
        assert field in reply["message"]
        assert "csv" not in reply
    assert (s.selection.get(), s.selection.version, s.changes.table) == before


def test_wl_selection_frame_reads_the_current_session_selection(two_origins):
    import weightslab_nb as wl

    assert wl.current_session() is two_origins
    two_origins.selection.set([("val", 1), ("train", 1)])
    frame = wl.selection_frame()
    assert frame["origin"].astype(str).tolist() == ["val", "train"]
    assert wl.selection_frame([("train", 2)])["origin"].astype(str).tolist() == ["train"]
