"""LossCurves: a snapshot on sync, then only new points; long series are bucketed."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from tests.panel_capture import Capture, ask, ask_content
from weightslab_nb.panels.curves import LossCurves
from weightslab_nb.panels.highlight import highlight_bus
from weightslab_nb.panels.wire import decode_arrays


def record(session, name, values, start_step=0):
    for i, v in enumerate(values):
        session.record_scalar(name, float(v), vmin=float(v) - 1, vmax=float(v) + 1, step=start_step + i)


def snapshot_series(msg, buffers):
    out, at = {}, 0
    for entry in msg["series"]:
        k = len(entry["arrays"])
        out[entry["signal"]] = (entry, decode_arrays(entry["arrays"], buffers[at:at + k]))
        at += k
    assert at == len(buffers)
    return out


@pytest.fixture
def curves(session):
    panel = LossCurves(session)
    cap = Capture(panel)
    yield panel, cap
    panel.close()


def test_nothing_is_sent_before_a_view_asks(curves, session):
    panel, cap = curves
    record(session, "loss", [3, 2, 1])
    assert panel.flush()
    assert cap.messages == []


def test_sync_sends_a_snapshot_then_only_new_points(curves, session):
    panel, cap = curves
    record(session, "loss", [3, 2, 1])
    record(session, "acc", [0.1, 0.2])
    panel._handle_custom_msg({"type": "sync", "req": 7}, [])
    [(snap, buffers)] = cap.of_type("snapshot")
    assert snap["req"] == 7 and snap["ok"] is True and snap["total_points"] == 5
    series = snapshot_series(snap, buffers)
    entry, arrays = series["loss"]
    assert (entry["start"], entry["n"], entry["downsampled"]) == (0, 3, False)
    assert arrays["step"].tolist() == [0, 1, 2] and arrays["mean"].tolist() == [3, 2, 1]
    assert arrays["min"].tolist() == [2, 1, 0] and arrays["max"].tolist() == [4, 3, 2]

    assert panel.flush()
    assert cap.of_type("points") == []  # nothing new yet
    record(session, "loss", [0.5, 0.25], start_step=3)
    assert panel.flush()
    [(msg, bufs)] = cap.of_type("points")
    assert {k: msg[k] for k in ("signal", "start", "n", "downsampled")} == \
        {"signal": "loss", "start": 3, "n": 2, "downsampled": False}
    got = decode_arrays(msg["arrays"], bufs)
    assert got["step"].tolist() == [3, 4] and got["mean"].tolist() == [0.5, 0.25]
    record(session, "loss", [0.1], start_step=5)
    record(session, "new-signal", [9.0])
    assert panel.flush()
    later = [(m["signal"], m["start"], m["n"]) for m, _ in cap.of_type("points")[1:]]
    assert sorted(later) == [("loss", 5, 1), ("new-signal", 0, 1)]
    assert panel.points_sent == 4


def test_a_second_sync_resends_everything_from_the_start(curves, session):
    panel, cap = curves
    record(session, "loss", [1, 2])
    panel._handle_custom_msg({"type": "sync"}, [])
    record(session, "loss", [3], start_step=2)
    panel._handle_custom_msg({"type": "sync"}, [])
    snaps = cap.of_type("snapshot")
    assert [s["series"][0]["n"] for s, _ in snaps] == [2, 3]
    assert panel.flush()
    assert cap.of_type("points") == []  # the second snapshot already covered point 2


def test_long_series_are_bucketed_in_the_snapshot_and_later_points_are_raw(session):
    panel = LossCurves(session, max_points=100)
    cap = Capture(panel)
    try:
        rng = np.random.default_rng(0)
        values = rng.normal(size=1000)
        values[417] = 50.0
        record(session, "loss", values)
        panel._handle_custom_msg({"type": "sync"}, [])
        [(snap, buffers)] = cap.of_type("snapshot")
        entry, arrays = snapshot_series(snap, buffers)["loss"]
        assert entry["downsampled"] is True and entry["n"] == 1000
        assert len(arrays["step"]) <= 100
        assert arrays["max"].max() == 51.0 and arrays["min"].min() == (values - 1).min()
        assert arrays["step"][-1] == 999 and arrays["mean"][-1] == values[-1]
        assert arrays["weight"].sum() == 1000
        # buckets of a power-of-two width in steps (1000 points, 100 rows: 16 steps)
        assert entry["width"] == 16 and np.all(arrays["weight"][:-2] == 16)
        assert arrays["mean_weight"].sum() == 1000
        record(session, "loss", [7.0], start_step=1000)
        assert panel.flush()
        [(msg, bufs)] = cap.of_type("points")
        assert (msg["start"], msg["n"], msg["downsampled"]) == (1000, 1, False)
        assert decode_arrays(msg["arrays"], bufs)["mean"].tolist() == [7.0]
    finally:
        panel.close()


def test_points_recorded_while_training_runs_all_arrive_exactly_once(curves, session):
    panel, cap = curves
    panel._handle_custom_msg({"type": "sync"}, [])
    done = threading.Event()

    def writer():
        record(session, "loss", np.arange(2000.0))
        done.set()

    t = threading.Thread(target=writer)
    t.start()
    assert done.wait(30)
    t.join(5)
    assert panel.flush()
    steps = [s for m, b in cap.of_type("points") for s in decode_arrays(m["arrays"], b)["step"].tolist()]
    assert steps == list(range(2000))


def test_invalid_messages_and_arguments_are_reported(curves):
    panel, cap = curves
    panel._handle_custom_msg({"type": "points", "req": 3}, [])
    [(reply, _)] = cap.messages
    assert reply == {"type": "error", "req": 3, "ok": False,
                     "message": "type: unknown message type 'points'; expected one of "
                                "['clear_error', 'clear_highlight', 'compare', 'range', 'runs', 'step_click', "
                                "'steps_highlight', 'sync']"}
    assert panel.flush() and "unknown message type" in panel.error
    with pytest.raises(ValueError, match="max_points"):
        LossCurves(panel.session, max_points=3)


def test_close_stops_the_publisher(session):
    panel = LossCurves(session)
    publisher = panel._publisher
    panel.close()
    assert not publisher.alive


# ---------------------------------------------------------------- step clicks (highlight)
@pytest.fixture
def trained_curves(session, digits):
    """Five steps of the real digits training (batches of 64, in order), and a curves panel."""
    import torch
    from torch import nn

    from weightslab_nb.demo import digits_mlp, train_digits

    loader = session.watch_or_edit(digits, flag="data", loader_name="train_loader", batch_size=64,
                                   shuffle=False)
    model = digits_mlp()
    loss = session.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss",
                                 name="train-loss", per_sample=True)
    train_digits(loader, model, torch.optim.SGD(model.parameters(), lr=0.1), loss, max_steps=5)
    record(session, "global-only", [1.0, 2.0], start_step=1)  # a curve without per-sample values
    panel = LossCurves(session)
    cap = Capture(panel)
    yield panel, cap
    panel.close()


def test_a_step_click_highlights_that_steps_batch(trained_curves, session):
    panel, cap = trained_curves
    steps = session.global_series("train-loss")["step"].tolist()
    assert steps == [1, 2, 3, 4, 5]
    panel._handle_custom_msg({"type": "step_click", "req": 1, "signal": "train-loss", "step": 3}, [])
    reply, _ = cap.reply(1)
    bus = highlight_bus(session)
    assert reply == {"type": "step_result", "req": 1, "ok": True, "signal": "train-loss", "step": 3,
                     "count": 64, "version": bus.version, "step_end": None, "label": "step 3 batch",
                     "source": "step", "message": "step 3: 64 samples highlighted in the grid"}
    # shuffle=False, batches of 64: the third batch holds samples 128..191
    assert list(bus.get().sample_ids) == list(range(128, 192)) == session.samples_at_step("train-loss", 3)
    assert panel.flush()
    assert panel.highlight == {"version": bus.version, "signal": "train-loss", "step": 3, "count": 64,
                               "step_end": None, "label": "step 3 batch", "source": "step"}
    assert panel.error == ""
    # clearing goes through the same bus; the trait follows
    panel._handle_custom_msg({"type": "clear_highlight", "req": 2}, [])
    assert cap.reply(2)[0] == {"type": "highlight_result", "req": 2, "ok": True,
                               "message": "highlight cleared"}
    assert bus.get() is None
    assert panel.flush() and panel.highlight == {"version": bus.version}


@pytest.mark.parametrize("content, fragment", [
    ({"step": -1}, "step: must be in 0.."),
    ({"step": 1.5}, "step: expected an integer"),
    ({"step": 2.0}, "step: expected an integer"),
    ({"step": "3"}, "step: expected an integer"),
    ({"step": True}, "step: expected an integer"),
    ({"step": None}, "step: required"),
    ({"step": 2**60}, "step: must be in"),
    ({"step": 999}, "no sample recorded 'train-loss' at step 999"),
    ({"step": 0}, "at step 0"),
    ({"signal": "nope"}, "signal: no curve named 'nope'"),
    ({"signal": 5}, "signal: expected a string"),
    ({"signal": ""}, "signal: expected a non-empty name"),
    ({"signal": "global-only", "step": 1}, "no sample recorded 'global-only' at step 1"),
])
def test_an_invalid_step_click_shows_an_error_and_changes_no_highlight(trained_curves, session,
                                                                        content, fragment):
    panel, cap = trained_curves
    bus = highlight_bus(session)
    panel._handle_custom_msg({"type": "step_click", "req": 1, "signal": "train-loss", "step": 2}, [])
    assert cap.reply(1)[0]["ok"] is True
    before = bus.get()
    msg = {"type": "step_click", "req": 2, "signal": "train-loss", "step": 4, **content}
    panel._handle_custom_msg(msg, [])
    reply, _ = cap.reply(2)
    assert reply["type"] == "step_result" and reply["ok"] is False and fragment in reply["message"]
    assert bus.get() is before and bus.version == before.version
    assert panel.flush()
    assert fragment in panel.error
    assert panel.highlight["step"] == 2


def test_a_zoomed_step_range_highlights_the_samples_of_those_batches(trained_curves, session):
    panel, cap = trained_curves
    bus = highlight_bus(session)
    # "global-only" has no per-sample values: the first curve with samples there is used
    panel._handle_custom_msg({"type": "steps_highlight", "req": 1, "signal": "global-only",
                              "lo": 2, "hi": 3}, [])
    reply, _ = cap.reply(1)
    assert reply["type"] == "highlight_result" and reply["ok"] is True, reply
    assert (reply["signal"], reply["step"], reply["step_end"], reply["source"]) == \
        ("train-loss", 2, 3, "steps")
    assert reply["count"] == 128 and reply["label"] == "steps 2–3"
    # shuffle=False, batches of 64: steps 2 and 3 hold samples 64..191
    assert sorted(bus.get().sample_ids) == list(range(64, 192))
    assert sorted(bus.get().sample_ids) == sorted(
        session.samples_at_step("train-loss", 2) + session.samples_at_step("train-loss", 3))
    assert panel.flush() and panel.highlight["source"] == "steps"


@pytest.mark.parametrize("content, fragment", [
    ({"lo": 4, "hi": 3}, "lo: must be <= hi"),
    ({"lo": -1, "hi": 3}, "lo: must be in 0.."),
    ({"lo": 1.5, "hi": 3}, "lo: expected an integer"),
    ({"hi": 3}, "lo: required"),
    ({"lo": 1}, "hi: required"),
    ({"lo": 500, "hi": 900}, "no sample recorded a per-sample value in steps 500..900"),
    ({"lo": 1, "hi": 2, "signal": "nope"}, "signal: no curve named 'nope'"),
])
def test_a_bad_step_range_highlight_changes_nothing(trained_curves, session, content, fragment):
    panel, cap = trained_curves
    bus = highlight_bus(session)
    version = bus.version
    panel._handle_custom_msg({"type": "steps_highlight", "req": 1, **content}, [])
    reply, _ = cap.reply(1)
    assert reply["ok"] is False and fragment in reply["message"], reply
    assert bus.version == version and bus.get() is None


def test_highlights_belong_to_their_session(trained_curves, session, make_session):
    panel, cap = trained_curves
    other = make_session("other")
    panel._handle_custom_msg({"type": "step_click", "req": 1, "signal": "train-loss", "step": 1}, [])
    assert cap.reply(1)[0]["ok"] is True
    assert highlight_bus(session).get().step == 1
    assert highlight_bus(other).get() is None and highlight_bus(other) is not highlight_bus(session)


# ---------------------------------------------------------------- zoom: a finer step range
def test_a_range_request_sends_the_finer_series_of_that_step_range_only(session):
    panel = LossCurves(session, max_points=100)
    cap = Capture(panel)
    try:
        values = np.sin(np.arange(10_000) / 50.0)
        values[5_017] = 40.0  # a spike inside the zoomed range
        record(session, "loss", values)
        reply, buffers = ask(panel, cap, 1, type="range", lo=5_000, hi=5_099)
        assert (reply["type"], reply["ok"], reply["lo"], reply["hi"]) == \
            ("range_result", True, 5_000, 5_099)
        entry, arrays = snapshot_series(reply, buffers)["loss"]
        # 100 points fit in max_points: raw, every step of the range, nothing outside it
        assert (entry["n"], entry["downsampled"], entry["width"]) == (100, False, 1)
        assert arrays["step"].tolist() == list(range(5_000, 5_100))
        assert arrays["max"].max() == 41.0
        # a wider range is bucketed to max_points rows, keeping the spike
        reply, buffers = ask(panel, cap, 2, type="range", lo=2_000, hi=8_000)
        entry, arrays = snapshot_series(reply, buffers)["loss"]
        assert entry["n"] == 6_001 and entry["downsampled"] and len(arrays["step"]) <= 100
        assert arrays["step"][0] == 2_000 and arrays["step"][-1] == 8_000
        assert arrays["max"].max() == 41.0 and arrays["weight"].sum() == 6_001
    finally:
        panel.close()


@pytest.mark.parametrize("content, fragment", [
    ({"lo": 10, "hi": 5}, "lo: must be <= hi, got lo=10 > hi=5"),
    ({"lo": -1, "hi": 5}, "lo: must be in 0.."),
    ({"lo": 0}, "hi: required"),
    ({"lo": 0.5, "hi": 5}, "lo: expected an integer"),
    ({"lo": 0, "hi": "9"}, "hi: expected an integer"),
])
def test_a_bad_range_request_is_answered_with_a_clear_error(curves, content, fragment):
    panel, cap = curves
    reply = ask_content(panel, cap, 5, type="range", **content)
    assert reply["type"] == "range_result" and reply["ok"] is False
    assert fragment in reply["message"]
    assert panel.flush() and fragment in panel.error


# ---------------------------------------------------------------- hyperparameter markers
def test_applied_hyperparameter_changes_become_markers_in_the_snapshot_and_live(curves, session):
    panel, cap = curves
    hp = session.watch_or_edit({"lr": 0.01, "note": "a"}, flag="hyperparameters")
    record(session, "loss", [3, 2, 1])
    session.controller.step = 1_199
    hp["lr"] = 0.001  # no training thread: applied at once, from the next step
    panel._handle_custom_msg({"type": "sync"}, [])
    [(snap, _)] = cap.of_type("snapshot")
    [change] = snap["hp_markers"]
    assert {k: change[k] for k in ("key", "step", "old", "new", "deleted")} == \
        {"key": "lr", "step": 1_200, "old": 0.01, "new": 0.001, "deleted": False}
    hp["note"] = "b"
    assert panel.flush()
    [(msg, _)] = cap.of_type("hp_markers")
    assert msg["start"] == 1 and [(m["key"], m["old"], m["new"]) for m in msg["markers"]] == \
        [("note", "a", "b")]
    assert panel.flush() and len(cap.of_type("hp_markers")) == 1  # each sent once


# ---------------------------------------------------------------- compare: other runs
def test_other_runs_beside_this_one_can_be_listed_and_overlaid(make_session):
    earlier = make_session("earlier")
    record(earlier, "loss", [9.0, 8.0, 7.0])
    earlier.close()
    session = make_session("now")
    record(session, "loss", [5.0, 4.0])
    panel = LossCurves(session)
    cap = Capture(panel)
    try:
        reply = ask_content(panel, cap, 1, type="runs")
        runs = [c for c in reply["choices"] if c["kind"] == "run"]
        assert [c["id"] for c in runs] == ["run:earlier"] and "earlier" in runs[0]["label"]
        reply, buffers = ask(panel, cap, 2, type="compare", run="run:earlier")
        assert reply["ok"] is True and reply["run"] == "run:earlier"
        entry, arrays = snapshot_series(reply, buffers)["loss"]
        assert entry["n"] == 3 and arrays["mean"].tolist() == [9.0, 8.0, 7.0]
        assert arrays["step"].tolist() == [0, 1, 2]

        reply = ask_content(panel, cap, 3, type="compare", run="run:nope")
        assert reply["ok"] is False and "unknown experiment or run 'run:nope'" in reply["message"]
        assert "run:earlier" in reply["message"]
        reply = ask_content(panel, cap, 4, type="compare", run="../etc")
        assert reply["ok"] is False and "unknown experiment or run" in reply["message"]
        reply = ask_content(panel, cap, 5, type="compare")
        assert reply["ok"] is False and "run: required" in reply["message"]
    finally:
        panel.close()


def test_earlier_experiments_of_this_run_are_offered_with_their_step_span(curves, session):
    panel, cap = curves
    hp = session.watch_or_edit({"lr": 0.01}, flag="hyperparameters")
    first = session.get_current_experiment_hash()
    record(session, "loss", [3.0, 2.0, 1.0])
    hp["lr"] = 0.5  # a new experiment hash from here on
    assert session.get_current_experiment_hash() != first
    record(session, "loss", [0.5, 0.4], start_step=3)
    reply = ask_content(panel, cap, 1, type="runs")
    [choice] = [c for c in reply["choices"] if c["kind"] == "experiment"]
    assert choice["id"] == f"experiment:{first}" and (choice["first"], choice["last"]) == (0, 2)
    reply, buffers = ask(panel, cap, 2, type="compare", run=choice["id"])
    _, arrays = snapshot_series(reply, buffers)["loss"]
    assert arrays["step"].tolist() == [0, 1, 2] and arrays["mean"].tolist() == [3.0, 2.0, 1.0]
