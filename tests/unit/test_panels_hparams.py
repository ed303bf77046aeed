"""HyperParameterEditor against a real Session: every hyperparameter with its requested and
applied value, typed edits through the handle, refusals that change nothing, a bad YAML edit."""

from __future__ import annotations

import threading

import pytest
import torch
from torch import nn

from weightslab_nb.demo import digits_mlp
from weightslab_nb.panels import HyperParameterEditor

from tests.panel_capture import Capture, ask_content as ask

HP = {"experiment_name": "panel", "epochs": 3, "augment": True, "scheduler": None,
      "optimizer": {"lr": 0.01, "betas": [0.9, 0.999]}}


@pytest.fixture
def hp(session):
    return session.watch_or_edit(HP, flag="hyperparameters")


@pytest.fixture
def editor(session, hp):
    panel = HyperParameterEditor(session)
    cap = Capture(panel)
    yield panel, cap
    panel.close()


def row(panel, path):
    return next(r for r in panel.rows if r["path"] == path)


def test_every_hyperparameter_is_a_row_with_its_type_and_values(editor):
    panel, _ = editor
    assert panel.flush()
    assert panel.name == "hyperparameters" and panel.pending == 0 and panel.config_error == ""
    assert [(r["path"], r["type"]) for r in panel.rows] == [
        ("experiment_name", "str"), ("epochs", "int"), ("augment", "bool"),
        ("scheduler", "NoneType"), ("optimizer.lr", "float"), ("optimizer.betas", "list")]
    lr = row(panel, "optimizer.lr")
    assert lr == {"path": "optimizer.lr", "type": "float", "requested": 0.01, "applied": 0.01,
                  "pending": False, "editable": True, "item_types": None, "error": None,
                  "changed": None}
    assert row(panel, "optimizer.betas")["item_types"] == ["float", "float"]


def test_no_watched_hyperparameters_gives_an_empty_panel(session):
    panel = HyperParameterEditor(session)
    cap = Capture(panel)
    try:
        assert panel.flush() and panel.rows == [] and panel.name == ""
        reply = ask(panel, cap, 1, type="set", path="lr", value=0.1)
        assert reply["type"] == "set_result" and reply["ok"] is False
        assert "no hyperparameters are watched" in reply["message"]
        session.watch_or_edit({"lr": 0.1}, flag="hp")  # watched later: the panel follows
        assert panel.flush() and [r["path"] for r in panel.rows] == ["lr"]
    finally:
        panel.close()


def test_a_valid_edit_goes_through_the_handle_and_changes_the_experiment(editor, hp, session):
    panel, cap = editor
    exp_before, changes_before = session.get_current_experiment_hash(), session.changes.hyperparameters
    reply = ask(panel, cap, 1, type="set", path="optimizer.lr", value=0.001)
    assert reply == {"type": "set_result", "req": 1, "ok": True, "path": "optimizer.lr",
                     "applied": True, "message": "optimizer.lr = 0.001: applied"}
    assert hp["optimizer"]["lr"] == 0.001
    assert session.changes.hyperparameters > changes_before
    assert session.get_current_experiment_hash() != exp_before
    (record,) = hp.history()
    assert record["key"] == "optimizer.lr" and record["source"] == "panel"
    assert ask(panel, cap, 2, type="set", path="epochs", value=5)["ok"]
    assert ask(panel, cap, 3, type="set", path="augment", value=False)["ok"]
    assert ask(panel, cap, 4, type="set", path="optimizer.betas", value=[0.8, 1])["ok"]
    assert ask(panel, cap, 5, type="set", path="scheduler", value="cosine")["ok"]
    assert hp.to_dict() == {"experiment_name": "panel", "epochs": 5, "augment": False,
                            "scheduler": "cosine", "optimizer": {"lr": 0.001, "betas": [0.8, 1.0]}}
    assert panel.flush()
    lr = row(panel, "optimizer.lr")
    assert lr["requested"] == lr["applied"] == 0.001 and not lr["pending"]
    assert lr["changed"]["source"] == "panel" and lr["changed"]["old"] == 0.01
    assert row(panel, "scheduler")["type"] == "str"  # None took the type of its first value


@pytest.mark.parametrize("path, value, fragment", [
    ("epochs", 2.5, "expected an int"),
    ("epochs", True, "expected an int"),
    ("optimizer.lr", "fast", "expected a float"),
    ("optimizer.lr", -1.0, "learning rate must be a finite number >= 0"),
    ("augment", 1, "expected a bool"),
    ("experiment_name", 5, "expected a str"),
    ("optimizer.betas", ["a", 0.9], "expected a float"),
    ("optimizer.betas", 0.9, "expected a list"),
    ("optimizer", {"lr": 0.1}, "cannot be set as a whole"),
    ("optimizer.momentum", 0.9, "no hyperparameter 'optimizer.momentum'"),
    ("", 0.1, "path: expected a non-empty name"),
    ("epochs", None, "expected an int"),
])
def test_a_wrong_value_is_refused_and_nothing_changes(editor, hp, session, path, value, fragment):
    panel, cap = editor
    before = (hp.to_dict(), hp.to_dict(requested=True), hp.pending(), hp.history(),
              session.get_current_experiment_hash())
    reply = ask(panel, cap, 9, type="set", path=path, value=value)
    assert reply["type"] == "set_result" and reply["ok"] is False and fragment in reply["message"]
    assert (hp.to_dict(), hp.to_dict(requested=True), hp.pending(), hp.history(),
            session.get_current_experiment_hash()) == before
    assert panel.flush() and fragment in panel.error
    if any(r["path"] == path for r in panel.rows):  # the refusal shows in its row
        assert fragment in row(panel, path)["error"]


def test_a_row_error_clears_after_a_good_edit_and_on_dismiss(editor):
    panel, cap = editor
    assert not ask(panel, cap, 1, type="set", path="epochs", value="ten")["ok"]
    assert not ask(panel, cap, 2, type="set", path="augment", value="yes")["ok"]
    assert panel.flush() and "expected an int" in row(panel, "epochs")["error"]
    assert ask(panel, cap, 3, type="set", path="epochs", value=10)["ok"]
    assert panel.flush() and row(panel, "epochs")["error"] is None
    assert "expected a bool" in row(panel, "augment")["error"]
    panel._handle_custom_msg({"type": "clear_error"}, [])
    assert panel.flush() and row(panel, "augment")["error"] is None and panel.error == ""


def test_a_message_without_value_is_refused(editor, hp):
    panel, cap = editor
    reply = ask(panel, cap, 1, type="set", path="epochs")
    assert reply["ok"] is False and reply["message"] == "value: required"
    assert hp["epochs"] == 3


def test_an_edit_during_a_step_is_pending_until_the_batch_boundary(session, digits):
    """Requested while the training thread is inside step 1: the row shows the requested value
    beside the old applied one; the loader's boundary before step 2 applies it (the stock
    session and loader: no hook is called by the test), and step 2 trains with it."""
    hp = session.watch_or_edit({"optimizer": {"lr": 0.05}}, flag="hyperparameters")
    loader = session.watch_or_edit(digits, flag="data", loader_name="train_loader", batch_size=32)
    model = digits_mlp()
    optimizer = session.watch_or_edit(torch.optim.SGD(model.parameters(), lr=0.05),
                                      flag="optimizer")
    loss_fn = session.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss",
                                    signal_name="loss", per_sample=True)
    inside, release = threading.Event(), threading.Event()
    used = []  # (step, lr) of every optimizer step

    def two_steps():
        for inputs, targets, ids in loader:
            step = session.controller.step
            if step == 1:
                inside.set()
                assert release.wait(30)  # the test edits while this step runs
            optimizer.zero_grad()
            loss_fn(model(inputs), targets, batch_ids=ids).mean().backward()
            used.append((step, optimizer.param_groups[0]["lr"]))
            optimizer.step()
            if step == 2:
                return

    panel = HyperParameterEditor(session)
    cap = Capture(panel)
    try:
        handle = session.start_training(two_steps)
        assert inside.wait(30)
        reply = ask(panel, cap, 1, type="set", path="optimizer.lr", value=0.001)
        message = reply.pop("message")
        assert reply == {"type": "set_result", "req": 1, "ok": True, "path": "optimizer.lr",
                         "applied": False}
        assert "next batch boundary" in message  # the wording is the panel's
        assert panel.flush()
        lr = row(panel, "optimizer.lr")
        assert lr["pending"] and lr["requested"] == 0.001 and lr["applied"] == 0.05
        assert panel.pending == 1 and optimizer.param_groups[0]["lr"] == 0.05
        release.set()
        assert handle.wait(30) and handle.error is None
        assert used == [(1, 0.05), (2, 0.001)]  # step 1 finished with the old rate
        assert [(r["key"], r["step"], r["source"]) for r in hp.history()] == [
            ("optimizer.lr", 2, "panel")]
        assert panel.flush()
        lr = row(panel, "optimizer.lr")
        assert not lr["pending"] and lr["applied"] == 0.001 and panel.pending == 0
        assert lr["changed"]["source"] == "panel" and lr["changed"]["old"] == 0.05
        assert lr["changed"]["step"] == 2
    finally:
        release.set()
        panel.close()


def test_a_bad_yaml_edit_shows_in_the_panel_and_keeps_the_values(session, tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("epochs: 3\noptimizer:\n  lr: 0.01\n")
    hp = session.watch_or_edit(str(path), flag="hyperparameters", poll_interval=60)
    panel = HyperParameterEditor(session)
    try:
        assert panel.flush() and panel.config_path == str(path) and panel.config_error == ""
        path.write_text("epochs: [unclosed\n")
        assert hp.config.check_now()
        assert panel.flush() and panel.config_error and "keeping the last good values" in panel.config_error
        assert row(panel, "epochs")["applied"] == 3
        path.write_text("epochs: 4\noptimizer:\n  lr: 0.01\n")
        assert hp.config.check_now()
        assert panel.flush() and panel.config_error == ""
        assert row(panel, "epochs")["applied"] == 4
        assert row(panel, "epochs")["changed"]["source"] == "yaml"
    finally:
        panel.close()


def test_the_panel_can_follow_a_named_handle(session):
    session.watch_or_edit({"a": 1}, "first", flag="hp")
    session.watch_or_edit({"b": 2.0}, "second", flag="hp")
    latest, named = HyperParameterEditor(session), HyperParameterEditor(session, name="first")
    try:
        assert latest.flush() and named.flush()
        assert latest.name == "second" and [r["path"] for r in latest.rows] == ["b"]
        assert named.name == "first" and [r["path"] for r in named.rows] == ["a"]
    finally:
        latest.close()
        named.close()
    with pytest.raises(ValueError, match="name"):
        HyperParameterEditor(session, name="")
