"""SweepView: after a real sweep run by ``wl.agent`` (real Optuna, SQLite and run files in
tmp_path) the panel lists every trial with its parameters, metric, state, duration and run,
marks the best one, and refuses malformed browser messages with a clear reply."""

from __future__ import annotations

import pytest

import weightslab_nb as wl
from tests.panel_capture import Capture, ask_content as ask
from weightslab_nb.errors import UnknownNameError
from weightslab_nb.panels import SweepView

GRID = {"method": "grid", "metric": {"name": "loss", "goal": "minimize"},
        "parameters": {"lr": {"values": [0.1, 0.01, 0.001]},
                       "opt": {"parameters": {"name": {"values": ["sgd", "adam"]}}}}}


def train():
    run = wl.init()
    loss = run.config["lr"] * (2 if run.config["opt"]["name"] == "sgd" else 1)
    wl.log({"loss": loss})
    if run.config["lr"] == 0.001 and run.config["opt"]["name"] == "sgd":
        raise RuntimeError("this trial fails")


@pytest.fixture
def view(session):
    sweep_id = wl.sweep(GRID, project="panel")
    assert wl.agent(sweep_id, train) == 6
    panel = SweepView(f"panel/{sweep_id}", session=session)
    cap = Capture(panel)
    yield panel, cap, sweep_id
    panel.close()


def test_every_trial_is_a_row_with_params_metric_state_and_the_best_marked(view):
    panel, _, sweep_id = view
    assert panel.flush()
    assert panel.parameters == ["lr", "opt.name"]
    assert panel.metric == {"name": "loss", "goal": "minimize"}
    assert panel.sweep["id"] == sweep_id and panel.sweep["expected"] == 6
    rows = panel.trials
    assert [r["number"] for r in rows] == list(range(6))
    points = {(r["params"]["lr"], r["params"]["opt.name"]) for r in rows}
    assert points == {(lr, o) for lr in (0.1, 0.01, 0.001) for o in ("sgd", "adam")}
    failed = [r for r in rows if r["state"] == "failed"]
    assert [(r["params"]["lr"], r["params"]["opt.name"]) for r in failed] == [(0.001, "sgd")]
    finished = [r for r in rows if r["state"] == "finished"]
    assert len(finished) == 5 and all(r["value"] is not None for r in finished)
    assert all(r["run"].startswith("panel/") and r["duration"] >= 0 for r in rows)
    best = next(r for r in rows if r["number"] == panel.best)
    assert best["params"] == {"lr": 0.001, "opt.name": "adam"} and best["value"] == 0.001
    assert best["run"] == wl.Api().sweep(f"panel/{sweep_id}").best_run().path


def test_a_trial_request_names_its_run_and_bad_messages_are_refused(view):
    panel, cap, _ = view
    assert panel.flush()
    reply = ask(panel, cap, 1, type="trial", number=panel.best)
    assert reply["ok"] is True and reply["run"].startswith("panel/") and reply["run_dir"]
    for req, fields, words in [
            (2, {"number": 99}, "no trial 99"),
            (3, {"number": "1"}, "number: expected an integer"),
            (4, {}, "number: required"),
            (5, {"number": -1}, "must be in")]:
        reply = ask(panel, cap, req, type="trial", **fields)
        assert reply["type"] == "trial_result" and reply["ok"] is False, reply
        assert words in reply["message"]
    reply = ask(panel, cap, 6, type="nope")
    assert reply["ok"] is False and "unknown message type" in reply["message"]
    assert panel.flush() and "rejected" in panel.error


def test_the_facade_panel_takes_the_sweep_id_first_and_the_current_session(view):
    panel, _, sweep_id = view
    facade = wl.SweepView(sweep_id)
    try:
        assert facade.flush() and len(facade.trials) == 6 and facade.best == panel.best
    finally:
        facade.close()


def test_an_unknown_sweep_is_refused_with_where_it_looked(session):
    with pytest.raises(UnknownNameError, match="no sweep 'missing1'"):
        SweepView("missing1", session=session)
    with pytest.raises(TypeError, match="sweep_id: expected a string"):
        SweepView(42, session=session)
