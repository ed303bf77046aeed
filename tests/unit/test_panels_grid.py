"""SampleGrid: pages, sorting, filtering, thumbnails, selection and actions, against a real Session
trained a few steps on the real digits data."""

from __future__ import annotations

import io
import threading

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

import weightslab_nb as wl
from weightslab_nb.demo import digits_mlp, train_digits
from weightslab_nb.panels.grid import SampleGrid

from tests.panel_capture import Capture, ask


@pytest.fixture
def trained(session, digits):
    loader = session.watch_or_edit(digits, flag="data", loader_name="train_loader", batch_size=64,
                                   shuffle=False)
    model = digits_mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loss = session.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss",
                                 name="train-loss", per_sample=True)
    train_digits(loader, model, opt, loss, max_steps=5)
    return session


@pytest.fixture
def grid(trained):
    g = SampleGrid(trained)
    cap = Capture(g)
    yield g, cap
    g.close()


def png_size(buf) -> tuple[str, tuple[int, int]]:
    img = Image.open(io.BytesIO(bytes(buf)))
    img.load()
    return img.mode, img.size


LOSS = "signals//train-loss"


def test_page_reply_has_totals_rows_and_one_decodable_png_per_row(grid):
    g, cap = grid
    reply, buffers = ask(g, cap, 1, type="page", offset=0, limit=12)
    assert reply["type"] == "page" and reply["ok"] is True
    assert (reply["total"], reply["active"], reply["matched"]) == (1797, 1797, 1797)
    assert reply["loss_column"] == LOSS and LOSS in reply["columns"]
    assert len(reply["rows"]) == 12
    assert len(buffers) == 12 + 3  # then the sparkline arrays
    assert reply["spark"]["buffer_start"] == 12
    assert [r["sample_id"] for r in reply["rows"]] == list(range(12))
    for row, buf in zip(reply["rows"], buffers[:12]):
        assert png_size(buf) == ("L", (8, 8)) and row["thumbnail_error"] is None
    assert {"target", "prediction", "loss", "tags", "categorical", "discarded"} <= set(reply["rows"][0])


def test_pages_sort_by_signal_and_by_id_both_ways(grid, trained):
    g, cap = grid
    desc = ask(g, cap, 1, type="page", limit=50, sort_by=LOSS, descending=True)[0]["rows"]
    losses = [r["loss"] for r in desc]
    assert losses == sorted(losses, reverse=True)
    assert losses[0] == np.nanmax(trained.dataframe[LOSS].to_numpy())
    asc = ask(g, cap, 2, type="page", limit=50, sort_by=LOSS, descending=False)[0]["rows"]
    assert [r["loss"] for r in asc] == sorted(r["loss"] for r in asc)
    ids = ask(g, cap, 3, type="page", limit=5, sort_by="sample_id", descending=True)[0]["rows"]
    assert [r["sample_id"] for r in ids] == [1796, 1795, 1794, 1793, 1792]
    second = ask(g, cap, 4, type="page", offset=5, limit=5, sort_by="sample_id", descending=True)[0]
    assert [r["sample_id"] for r in second["rows"]] == [1791, 1790, 1789, 1788, 1787]


def test_pages_filter_by_discarded_state_tag_origin_and_signal_range(grid, trained):
    g, cap = grid
    trained.discard_samples([3, 4, 5])
    trained.tag_samples([4, 10], "odd")
    trained.register_categorical_tag("quality", ["good", "bad"])
    trained.set_categorical_tag([7, 8], "quality", "bad")
    page = ask(g, cap, 1, type="page", discarded="discarded")[0]
    assert (page["total"], page["active"], page["matched"]) == (1797, 1794, 3)
    assert [r["discarded"] for r in page["rows"]] == [True] * 3
    assert ask(g, cap, 2, type="page", discarded="active")[0]["matched"] == 1794
    page = ask(g, cap, 3, type="page", tags=["odd"])[0]
    assert [r["sample_id"] for r in page["rows"]] == [4, 10] and page["rows"][0]["tags"] == ["odd"]
    page = ask(g, cap, 4, type="page", tags=["quality=bad"])[0]
    assert [(r["sample_id"], r["categorical"]) for r in page["rows"]] == [(7, {"quality": "bad"}), (8, {"quality": "bad"})]
    assert ask(g, cap, 5, type="page", tags=["odd"], discarded="active")[0]["matched"] == 1
    assert ask(g, cap, 6, type="page", origin="train")[0]["matched"] == 1797
    losses = trained.dataframe[LOSS].to_numpy()
    lo, hi = np.nanquantile(losses, [0.25, 0.75])
    page = ask(g, cap, 7, type="page", signal=LOSS, signal_min=float(lo), signal_max=float(hi), limit=500)[0]
    expected = int(((losses >= lo) & (losses <= hi)).sum())
    assert page["matched"] == expected
    assert all(lo <= r["loss"] <= hi for r in page["rows"])


def test_actions_change_the_ledger_and_report_success(grid, trained):
    g, cap = grid
    trained.register_tag("suspect")
    trained.register_categorical_tag("shape", ["round", "sharp"])
    reply = ask(g, cap, 1, type="action", action="add_tag", sample_ids=[1, 2, 3], tag="suspect")[0]
    assert reply == {"type": "action_result", "req": 1, "ok": True, "message": "tagged 3 samples 'suspect'",
                     "action": "add_tag", "count": 3, "sample_ids": [],
                     "version": trained.selection.version}
    assert trained.get_samples_by_tag("suspect") == [1, 2, 3]
    ask(g, cap, 2, type="action", action="remove_tag", sample_ids=[2], tag="suspect")
    assert trained.get_samples_by_tag("suspect") == [1, 3]
    ask(g, cap, 3, type="action", action="set_categorical", sample_ids=[5, 6], tag="shape", value="sharp")
    df = trained.dataframe
    assert df.loc[(5, 0), "tag:shape"] == "sharp" and df.loc[(6, 0), "tag:shape"] == "sharp"
    ask(g, cap, 4, type="action", action="clear_categorical", sample_ids=[5], tag="shape")
    assert trained.get_samples_by_tag("shape=sharp") == [6]
    ask(g, cap, 5, type="action", action="discard", sample_ids=[7, 8])
    assert trained.get_discarded_samples() == [7, 8] and trained.counts() == (1797, 1795)
    ask(g, cap, 6, type="action", action="restore", sample_ids=[8])
    assert trained.get_discarded_samples() == [7]
    assert g.flush()
    assert (g.total, g.active) == (1797, 1796)
    assert g.tags == ["suspect"] and g.categorical == {"shape": ["round", "sharp"]}
    assert g.error == ""


def ledger_state(session):
    return (session.dataframe.to_json(), session.tag_summary(), session.selection.get())


@pytest.mark.parametrize("content, reply_type, fragment", [
    ({"type": "page", "limit": 0}, "page", "limit"),
    ({"type": "page", "limit": "12"}, "page", "limit"),
    ({"type": "page", "sort_by": "signals//nope"}, "page", "sort_by"),
    ({"type": "page", "tags": "odd"}, "page", "tags"),
    ({"type": "page", "tags": ["missing"]}, "page", "missing"),
    ({"type": "page", "discarded": "maybe"}, "page", "discarded"),
    ({"type": "page", "signal_min": "low"}, "page", "signal_min"),
    ({"type": "page", "origin": "nowhere"}, "page", "origin"),
    ({"type": "action", "action": "explode", "sample_ids": [1]}, "action_result", "action"),
    ({"type": "action", "action": "add_tag", "sample_ids": [1], "tag": "never-created"}, "action_result", "never-created"),
    ({"type": "action", "action": "add_tag", "sample_ids": [1.5], "tag": "suspect"}, "action_result", "sample_ids"),
    ({"type": "action", "action": "add_tag", "sample_ids": [True], "tag": "suspect"}, "action_result", "sample_ids"),
    ({"type": "action", "action": "add_tag", "sample_ids": "1", "tag": "suspect"}, "action_result", "sample_ids"),
    ({"type": "action", "action": "add_tag", "sample_ids": [], "tag": "suspect"}, "action_result", "sample_ids"),
    ({"type": "action", "action": "add_tag", "sample_ids": [1, 99999], "tag": "suspect"}, "action_result", "99999"),
    ({"type": "action", "action": "discard", "sample_ids": [1], "tag": "suspect"}, "action_result", "no tag"),
    ({"type": "action", "action": "set_categorical", "sample_ids": [1], "tag": "shape", "value": "square"}, "action_result", "square"),
    ({"type": "select", "sample_ids": [1, "ghost"]}, "select_result", "ghost"),
    ({"type": "select", "sample_ids": [[1]]}, "select_result", "sample_ids"),
    ({"type": "frobnicate"}, "error", "unknown message type"),
])
def test_invalid_messages_change_nothing_and_show_an_error(grid, trained, content, reply_type, fragment):
    g, cap = grid
    trained.register_tag("suspect")
    trained.register_categorical_tag("shape", ["round"])
    before = ledger_state(trained)
    reply = ask(g, cap, 41, **content)[0]
    assert reply["type"] == reply_type and reply["ok"] is False and fragment in reply["message"]
    assert ledger_state(trained) == before
    assert g.flush()
    assert fragment in g.error
    # a later valid request clears the error
    ask(g, cap, 42, type="page", limit=1)
    assert g.flush() and g.error == ""


def test_messages_without_req_or_of_the_wrong_shape_only_set_the_error(grid):
    g, cap = grid
    g._handle_custom_msg(["not", "an", "object"], [])
    g._handle_custom_msg({"type": "page", "req": {"x": 1}}, [])
    assert g.flush()
    assert "req" in g.error
    assert not [m for m, _ in cap.messages if m.get("type") == "page"]
    g._handle_custom_msg({"type": "clear_error"}, [])
    assert g.flush() and g.error == ""


def test_selection_goes_to_the_session_and_comes_back_when_changed_elsewhere(grid, trained):
    """The selection holds refs (origin, sample_id); bare ids one origin holds are resolved."""
    g, cap = grid
    reply = ask(g, cap, 1, type="select", sample_ids=[5, 3, 5, ["train", 9], ["train_loader", 3]])[0]
    clicked = trained.selection.version
    assert reply == {"type": "select_result", "req": 1, "ok": True, "count": 3, "version": clicked}
    assert trained.selection.get() == [("train", 5), ("train", 3), ("train", 9)]
    assert trained.selection.ids() == [5, 3, 9]
    assert g.flush()
    assert not [m for m, _ in cap.messages if m.get("type") == "selection"]  # its own change
    trained.selection.set([1, 2])
    msg, _ = cap.wait_for(lambda m: m.get("type") == "selection")
    # numbered after the view's own change: a view drops pushes numbered below its last click
    assert msg["sample_ids"] == [["train", 1], ["train", 2]] and msg["version"] > clicked
    g._handle_custom_msg({"type": "select", "sample_ids": []}, [])
    assert trained.selection.get() == []
    trained.selection.set([4], origin="train_loader")
    assert ask(g, cap, 2, type="get_selection")[0] == {
        "type": "selection", "req": 2, "ok": True, "sample_ids": [["train", 4]],
        "version": trained.selection.version}


def test_version_grows_when_the_table_changes(grid, trained):
    g, _ = grid
    assert g.flush()
    v = g.version
    assert g.flush() and g.version == v  # nothing changed
    trained.discard_samples([0])
    assert g.flush()
    assert g.version > v and g.active == 1796


def test_a_user_thumbnail_callable_replaces_the_default(trained):
    seen = []

    def big_red(x):
        seen.append(tuple(x.shape))
        return Image.new("RGB", (16, 16), (255, 0, 0))

    g = SampleGrid(trained, thumbnail=big_red)
    cap = Capture(g)
    try:
        _, buffers = ask(g, cap, 1, type="page", limit=3)
        assert [png_size(b) for b in buffers[:3]] == [("RGB", (16, 16))] * 3
        assert seen == [(1, 8, 8)] * 3
        ask(g, cap, 2, type="page", limit=3)
        assert len(seen) == 3  # cached per sample
    finally:
        g.close()


def test_samples_without_a_drawable_input_get_a_placeholder(session):
    session.save_signals({"loss": [0.5, 0.7]}, batch_ids=["a", "b"])  # ids no loader holds
    g = SampleGrid(session)
    cap = Capture(g)
    try:
        reply, buffers = ask(g, cap, 1, type="page")
        assert [r["sample_id"] for r in reply["rows"]] == ["a", "b"]
        assert all("not held by any watched loader" in r["thumbnail_error"] for r in reply["rows"])
        assert [png_size(b)[1] for b in buffers[:2]] == [(1, 1), (1, 1)]
    finally:
        g.close()


def test_the_grid_uses_the_current_session_and_close_stops_its_publisher(trained):
    g = wl.SampleGrid()  # the facade: the current session
    assert g.session is trained
    publisher = g._publisher
    assert publisher.alive
    g.close()
    assert not publisher.alive
    assert not [t for t in threading.enumerate() if t.name.startswith("wl-SampleGrid")]


def test_bad_constructor_arguments_are_refused(session):
    with pytest.raises(ValueError, match="page_size"):
        SampleGrid(session, page_size=0)
    with pytest.raises(TypeError, match="thumbnail"):
        SampleGrid(session, thumbnail="not callable")


# ---------------------------------------------------------------- history: sparklines, sorts, step highlight
class RecordingLoader:
    """Iterates a watched loader and keeps the ids of every batch it yielded, in order."""

    def __init__(self, loader):
        self.loader = loader
        self.batches: list[list] = []

    def __iter__(self):
        for inputs, targets, ids in self.loader:
            self.batches.append([int(i) for i in ids])
            yield inputs, targets, ids


@pytest.fixture
def history_run(session, digits):
    """Two epochs (58 steps) of the real digits training, shuffled, batches of 64: every sample
    has two loss values; ``.batches[k]`` is what the loader yielded at the k-th step."""
    torch.manual_seed(0)
    loader = RecordingLoader(session.watch_or_edit(digits, flag="data", loader_name="train_loader",
                                                   batch_size=64, shuffle=True))
    model = digits_mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loss = session.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss",
                                 name="train-loss", per_sample=True)
    assert train_digits(loader, model, opt, loss, epochs=2) == 58
    return loader


@pytest.fixture
def panels(session, history_run):
    from weightslab_nb.panels.curves import LossCurves

    g, c = SampleGrid(session), LossCurves(session)
    gcap, ccap = Capture(g), Capture(c)
    yield g, gcap, c, ccap
    g.close()
    c.close()


def sparklines(reply, buffers) -> dict:
    from weightslab_nb.panels.wire import decode_arrays

    spark = reply["spark"]
    start = spark["buffer_start"]
    assert start == len(reply["rows"])  # after the PNGs
    arrays = decode_arrays(spark["arrays"], buffers[start:start + len(spark["arrays"])])
    assert len(buffers) == start + 3
    assert arrays["offsets"].dtype == np.int32 and arrays["steps"].dtype == np.int64
    assert arrays["values"].dtype == np.float32
    off = arrays["offsets"]
    assert len(off) == len(reply["rows"]) + 1 and off[0] == 0 and off[-1] == len(arrays["values"])
    return {r["sample_id"]: (arrays["steps"][off[i]:off[i + 1]], arrays["values"][off[i]:off[i + 1]])
            for i, r in enumerate(reply["rows"])}


def test_page_replies_carry_each_rows_loss_history_as_in_sample_series(panels, session):
    g, cap, _, _ = panels
    reply, buffers = ask(g, cap, 1, type="page", offset=100, limit=24, sort_by=LOSS)
    assert reply["spark"]["signal"] == "train-loss" and reply["spark"]["column"] == LOSS
    assert reply["spark"]["max_points"] == 32 and reply["spark_error"] is None
    got = sparklines(reply, buffers)
    ids = [r["sample_id"] for r in reply["rows"]]
    expected = session.sample_series(ids, "train-loss", max_points=32)
    assert list(got) == ids
    for sid in ids:
        steps, values = got[sid]
        assert len(steps) == 2  # two epochs: one value each
        assert steps.tolist() == expected[sid][0].tolist()
        np.testing.assert_allclose(values, expected[sid][1], rtol=1e-6)
        assert values[-1] == pytest.approx(
            [r["loss"] for r in reply["rows"] if r["sample_id"] == sid][0], rel=1e-6)
    # fewer points on request, none at all with 0
    reply, buffers = ask(g, cap, 2, type="page", limit=5, spark_points=1)
    one = sparklines(reply, buffers)
    expected = session.sample_series(list(one), "train-loss", max_points=1)
    assert all(s.tolist() == expected[k][0].tolist() and len(s) == 1 for k, (s, _) in one.items())
    reply, buffers = ask(g, cap, 3, type="page", limit=5, spark_points=0)
    assert reply["spark"] is None and len(buffers) == 5


def test_samples_not_trained_on_yet_get_empty_sparklines(grid):
    g, cap = grid  # five steps of 64 in order: samples 0..319 have one loss value, the rest none
    reply, buffers = ask(g, cap, 1, type="page", offset=316, limit=8)
    got = sparklines(reply, buffers)
    assert [len(v) for v, _ in got.values()] == [1, 1, 1, 1, 0, 0, 0, 0]
    assert [r["loss"] is None for r in reply["rows"]] == [False] * 4 + [True] * 4


def history_by_sample(session) -> dict:
    out: dict = {}
    for sid, _step, value, _exp in session.query_signal_history("train-loss"):
        out.setdefault(sid, []).append(value)
    return out


@pytest.mark.parametrize("stat, reduce", [("mean", np.mean), ("max", np.max), ("last", lambda v: v[-1])])
@pytest.mark.parametrize("descending", [True, False])
def test_sorting_by_a_history_statistic_orders_rows_by_it(panels, session, stat, reduce, descending):
    g, cap, _, _ = panels
    reply = ask(g, cap, 1, type="page", limit=100, sort_by=f"{LOSS}@{stat}",
                descending=descending)[0]
    assert {f"{LOSS}@mean", f"{LOSS}@last", f"{LOSS}@max"} <= set(reply["columns"])
    values = {sid: float(reduce(np.asarray(v))) for sid, v in history_by_sample(session).items()}
    assert len(values) == 1797
    order = sorted(values, key=lambda sid: -values[sid] if descending else values[sid])
    got = [r["sample_id"] for r in reply["rows"]]
    assert [values[s] for s in got] == pytest.approx([values[s] for s in order[:100]], rel=1e-6)
    assert len(set(got)) == 100
    # the history mean differs from the latest value: the two sorts disagree somewhere
    if stat == "mean":
        latest = [r["sample_id"] for r in ask(g, cap, 2, type="page", limit=100, sort_by=LOSS,
                                               descending=descending)[0]["rows"]]
        assert latest != got


def step_click(curves, ccap, req, step, signal="train-loss"):
    curves._handle_custom_msg({"type": "step_click", "req": req, "signal": signal, "step": step}, [])
    return ccap.reply(req)[0]


def test_a_step_click_on_the_curves_restricts_the_grid_to_that_steps_batch(panels, session, history_run):
    g, gcap, c, ccap = panels
    steps = session.global_series("train-loss")["step"].tolist()
    assert len(steps) == len(history_run.batches) == 58
    k = 40  # a step of the second epoch
    step, batch = steps[k], history_run.batches[k]
    assert len(batch) == 64
    reply = step_click(c, ccap, 1, step)
    assert reply["ok"] is True and reply["count"] == 64 and reply["step"] == step
    assert g.flush()
    assert g.highlight == {"version": reply["version"], "signal": "train-loss", "step": step, "count": 64,
                           "step_end": None, "label": f"step {step:,} batch", "source": "step"}

    page, buffers = ask(g, gcap, 2, type="page", highlight=True, limit=500)
    ids = [r["sample_id"] for r in page["rows"]]
    assert sorted(ids) == sorted(batch) == sorted(session.samples_at_step("train-loss", step))
    assert page["matched"] == 64 and page["total"] == 1797
    assert all(r["highlighted"] for r in page["rows"])
    assert page["highlight"] == {**g.highlight, "only": True}
    assert len(sparklines(page, buffers)) == 64
    # sorting, filtering and paging still apply inside the batch
    by_loss = ask(g, gcap, 3, type="page", highlight=True, sort_by=LOSS, limit=500)[0]["rows"]
    losses = [r["loss"] for r in by_loss]
    assert losses == sorted(losses, reverse=True) and len(losses) == 64
    assert [r["sample_id"] for r in ask(g, gcap, 4, type="page", highlight=True, sort_by=LOSS,
                                       offset=60, limit=10)[0]["rows"]] == \
        [r["sample_id"] for r in by_loss[60:]]
    session.discard_samples(batch[:5] + [s for s in range(1797) if s not in batch][:3])
    active = ask(g, gcap, 5, type="page", highlight=True, discarded="active", limit=500)[0]
    assert active["matched"] == 59 and sorted(r["sample_id"] for r in active["rows"]) == sorted(batch[5:])
    # not restricted: every sample, the batch marked
    everything = ask(g, gcap, 6, type="page", limit=500)[0]
    assert everything["matched"] == 1797 and everything["highlight"]["only"] is False
    assert {r["sample_id"] for r in everything["rows"] if r["highlighted"]} == \
        set(batch) & {r["sample_id"] for r in everything["rows"]}

    # a click on another step replaces the highlight
    step2, batch2 = steps[3], history_run.batches[3]
    assert step_click(c, ccap, 7, step2)["ok"] is True
    page = ask(g, gcap, 8, type="page", highlight=True, limit=500)[0]
    assert sorted(r["sample_id"] for r in page["rows"]) == sorted(batch2)

    # the grid's chip clears it for every panel; highlight=true then shows everything
    assert ask(g, gcap, 9, type="clear_highlight")[0] == {
        "type": "highlight_result", "req": 9, "ok": True, "message": "highlight cleared"}
    assert g.flush() and c.flush()
    assert "step" not in g.highlight and "step" not in c.highlight
    page = ask(g, gcap, 10, type="page", highlight=True, limit=5)[0]
    assert page["matched"] == 1797 and page["highlight"] is None
    assert not any(r["highlighted"] for r in page["rows"])


def test_a_grid_created_after_the_click_shows_the_highlight(panels, session):
    _, _, c, ccap = panels
    assert step_click(c, ccap, 1, 2)["ok"] is True
    g2 = SampleGrid(session)
    try:
        assert g2.highlight["step"] == 2 and g2.highlight["count"] == 64
    finally:
        g2.close()


def test_an_invalid_step_click_leaves_the_grid_unrestricted(panels):
    g, gcap, c, ccap = panels
    version = g.highlight["version"]
    reply = step_click(c, ccap, 1, -3)
    assert reply["ok"] is False and "step" in reply["message"]
    assert g.flush() and g.highlight == {"version": version}
    page = ask(g, gcap, 2, type="page", highlight=True, limit=5)[0]
    assert page["matched"] == 1797 and page["highlight"] is None


@pytest.mark.parametrize("content, fragment", [
    ({"highlight": "yes"}, "highlight: expected true or false"),
    ({"highlight": 1}, "highlight: expected true or false"),
    ({"spark_points": -1}, "spark_points: must be in 0..256"),
    ({"spark_points": 257}, "spark_points: must be in 0..256"),
    ({"spark_points": 3.0}, "spark_points: expected an integer"),
    ({"spark_points": True}, "spark_points: expected an integer"),
    ({"sort_by": f"{LOSS}@median"}, "median"),
    ({"sort_by": "signals//nope@mean"}, "nope"),
    ({"sort_by": "target@mean"}, "target"),
])
def test_invalid_history_fields_of_a_page_request_are_refused(panels, content, fragment):
    g, gcap, _, _ = panels
    reply = ask(g, gcap, 1, type="page", **content)[0]
    assert reply["type"] == "page" and reply["ok"] is False and fragment in reply["message"]
    assert "rows" not in reply
    assert g.flush() and fragment in g.error


def test_pages_hold_their_order_while_training_records_until_resort(grid, trained):
    g, cap = grid
    q = dict(type="page", limit=8, sort_by=LOSS)
    first = ask(g, cap, 101, **q)[0]
    assert first["order"]["changed"] == 0 and first["order"]["fresh"] is True
    ids = [r["sample_id"] for r in first["rows"]]
    # training moves the losses: the page under the user's pointer keeps its cells
    bottom = [r["sample_id"] for r in ask(g, cap, 102, **{**q, "offset": 1789})[0]["rows"]]
    trained.save_signals({"train-loss": torch.full((len(bottom),), 50.0)}, bottom, step=99)
    held = ask(g, cap, 103, **q)[0]
    assert [r["sample_id"] for r in held["rows"]] == ids
    assert held["order"]["fresh"] is False and held["order"]["changed"] >= len(bottom)
    assert held["order"]["changed_page"] == 8  # every cell of the first page would change
    resorted = ask(g, cap, 104, **q, resort=True)[0]
    assert resorted["order"]["changed"] == 0 and resorted["order"]["fresh"] is True
    assert resorted["order"]["snapshot"] == held["order"]["snapshot"] + 1
    assert {r["sample_id"] for r in resorted["rows"]} == set(bottom)


def test_discard_action_drops_the_samples_from_the_selection_and_says_so(grid, trained):
    g, cap = grid
    ask(g, cap, 1, type="select", sample_ids=[["train", 1], ["train", 2], ["train", 3]])
    reply = ask(g, cap, 2, type="action", action="discard", sample_ids=[["train", 2]])[0]
    assert reply["ok"] and reply["sample_ids"] == [["train", 1], ["train", 3]]
    assert trained.selection.get() == [("train", 1), ("train", 3)]


def test_add_tag_with_create_makes_a_new_tag_from_the_grid_other_actions_refuse_it(grid, trained):
    g, cap = grid
    reply = ask(g, cap, 1, type="action", action="add_tag", sample_ids=[["train", 4]],
                tag="odd_one", create=True)[0]
    assert reply["ok"] and reply["count"] == 1
    assert trained.get_samples_by_tag("odd_one") == [4]
    refused = ask(g, cap, 2, type="action", action="add_tag", sample_ids=[["train", 5]],
                  tag="never_made")[0]
    assert refused["ok"] is False and "never_made" in refused["message"]
    refused = ask(g, cap, 3, type="action", action="discard", sample_ids=[["train", 5]],
                  create=True)[0]
    assert refused["ok"] is False and "create" in refused["message"]
    assert trained.get_discarded_samples() == []
