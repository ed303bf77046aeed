"""The command table (``weightslab_nb.commands``): one definition of every user action, used
from code, the panels and the console backend.

The sessions here watch a train and a val set that both index from 0 (20 and 10 samples), a
model, a per-sample loss and hyperparameters. The main test runs the same command with the
same arguments through the three entry points, each on a fresh session, and checks that they
change the same things, answer the same result and refuse the same bad input with the same
error and message.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

import weightslab_nb as wl
from weightslab_nb import commands
from weightslab_nb.errors import (AmbiguousSampleError, ArgumentError, InvalidTypeError,
                                  InvalidValueError, StateError, UnknownNameError,
                                  UnknownSampleError, WeightslabError)
from weightslab_nb.panels import HyperParameterEditor, SampleGrid, TagEditor, TrainingControls
from weightslab_nb.serving import BackendError, Client, serve

from tests.panel_capture import Capture

N_TRAIN, N_VAL = 20, 10


def _setup(session) -> SimpleNamespace:
    gen = torch.Generator().manual_seed(0)
    hp = session.watch_or_edit({"experiment_name": "commands", "optimizer": {"lr": 0.01}},
                               flag="hp")
    session.watch_or_edit(TensorDataset(torch.randn(N_TRAIN, 4, generator=gen),
                                        torch.arange(N_TRAIN) % 3),
                          flag="data", loader_name="train_loader", batch_size=4)
    session.watch_or_edit(TensorDataset(torch.randn(N_VAL, 4, generator=gen),
                                        torch.arange(N_VAL) % 3),
                          flag="data", loader_name="val_loader", batch_size=4)
    session.watch_or_edit(nn.Linear(4, 3), flag="model")
    session.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss",
                          signal_name="loss", per_sample=True)
    session.register_tag("picked")
    session.register_categorical_tag("quality", ["good", "bad"])
    return SimpleNamespace(session=session, hp=hp)


@pytest.fixture
def env(session):
    return _setup(session)


def observable(session) -> dict:
    """What a command can change, per origin."""
    per_origin = {origin: {"picked": session.get_samples_by_tag("picked", origin=origin),
                           "bad": session.get_samples_by_tag("quality=bad", origin=origin),
                           "discarded": session.get_discarded_samples(origin=origin)}
                  for origin in ("train", "val")}
    hp = session.registry.all("hyperparameters")["hyperparameters"]
    return {"samples": per_origin, "tags": session.tag_summary(),
            "lr": hp.get_path("optimizer.lr"), "pause": session.controller.pause_requested,
            "evaluations": len(session.evaluation.queued()) + len(session.evaluation.history)}


# ---------------------------------------------------------------- the entry points
class Code:
    """``weightslab_nb.commands.run``."""

    name = "code"

    def __init__(self, env):
        self.env = env

    def call(self, command, args, panel_msg):
        return commands.run(self.env.session, command, args)

    def close(self):
        pass


class Cli:
    """A real console backend and its client (the transport of ``weightslab-nb cli``)."""

    name = "cli"

    def __init__(self, env):
        self.env = env
        self.server = serve(serving_cli=True, session=env.session)
        self.client = Client(self.server.port, self.server.token, timeout=30)

    def call(self, command, args, panel_msg):
        return self.client.call(command, **json.loads(json.dumps(args)))

    def close(self):
        self.server.stop()


class Panel:
    """The panel message that runs the command; raises what the panel's handler raises (after
    checking that the panel answered ``ok: false`` with the same message)."""

    name = "panel"
    kinds = {"action": SampleGrid, "apply": TagEditor, "set": HyperParameterEditor,
             "evaluate": TrainingControls, "pause": TrainingControls, "create_tag": TagEditor}

    def __init__(self, env):
        self.env = env
        self.panels = {}

    def call(self, command, args, panel_msg):
        msg = dict(panel_msg)
        cls = self.kinds[msg["type"]]
        if cls not in self.panels:
            widget = cls(self.env.session)
            self.panels[cls] = (widget, Capture(widget))
        widget, cap = self.panels[cls]
        req = len(cap.messages) + 1
        state = observable(self.env.session)
        widget._handle_custom_msg({"req": req, **msg}, [])
        reply = cap.reply(req)[0]
        if reply["ok"]:
            return reply
        assert observable(self.env.session) == state
        try:  # the exception behind the reply
            widget._dispatch[msg["type"]](msg)
        except WeightslabError as exc:
            assert reply["message"] == str(exc), (reply, exc)
            raise
        raise AssertionError(f"the panel refused {msg} but its handler did not: {reply}")

    def close(self):
        for widget, _ in self.panels.values():
            widget.close()


ENTRY_POINTS = (Code, Cli, Panel)


def _outcome(entry, command, args, panel_msg):
    """``("ok", result)`` or ``("refused", error class, message)`` of one call."""
    try:
        return ("ok", entry.call(command, args, panel_msg))
    except BackendError as exc:  # the CLI: 400 for a malformed argument, 422 for the session
        kind = "ArgumentError" if exc.kind == "bad_request" else exc.kind
        assert exc.status == (400 if kind == "ArgumentError" else 422), exc.reply
        return ("refused", kind, exc.message)
    except WeightslabError as exc:
        return ("refused", type(exc).__name__, str(exc))


def _val(i):
    return ["val", i]


# command, args, the panel message that runs it, what changes (None: refused)
CASES = [
    pytest.param("tag_add", {"tag": "picked", "ids": [_val(0), _val(1)]},
                 {"type": "action", "action": "add_tag", "tag": "picked",
                  "sample_ids": [_val(0), _val(1)]},
                 {"val": {"picked": [0, 1]}}, id="tag_add-val-refs"),
    pytest.param("tag_add", {"tag": "picked", "ids": [0, 1], "origin": "val_loader"},
                 {"type": "action", "action": "add_tag", "tag": "picked", "sample_ids": [0, 1],
                  "origin": "val_loader"},
                 {"val": {"picked": [0, 1]}}, id="tag_add-ids-with-origin"),
    pytest.param("discard", {"ids": [_val(2), ["train", 3]]},
                 {"type": "action", "action": "discard", "sample_ids": [_val(2), ["train", 3]]},
                 {"val": {"discarded": [2]}, "train": {"discarded": [3]}},
                 id="discard-two-origins"),
    pytest.param("cat_set", {"tag": "quality", "value": "bad", "ids": [_val(4)]},
                 {"type": "action", "action": "set_categorical", "tag": "quality",
                  "value": "bad", "sample_ids": [_val(4)]},
                 {"val": {"bad": [4]}}, id="cat_set-val"),
    pytest.param("hp_set", {"path": "optimizer.lr", "value": 0.001},
                 {"type": "set", "path": "optimizer.lr", "value": 0.001},
                 {"lr": 0.001}, id="hp_set"),
    pytest.param("pause", {}, {"type": "pause"}, {"pause": True}, id="pause"),
    pytest.param("evaluate", {"loader": "val", "tags": ["picked"]},
                 {"type": "evaluate", "loader": "val", "tags": ["picked"]},
                 None, id="evaluate-a-subset-no-sample-has"),
    # refusals: the same error class and message from every entry point
    pytest.param("tag_add", {"tag": "picked", "ids": [0]},
                 {"type": "action", "action": "add_tag", "tag": "picked", "sample_ids": [0]},
                 None, id="ambiguous-id"),
    pytest.param("discard", {"ids": [["train", 1], _val(99)]},
                 {"type": "action", "action": "discard", "sample_ids": [["train", 1], _val(99)]},
                 None, id="unknown-val-id-with-a-good-train-ref"),
    pytest.param("discard", {"ids": [0], "origin": "test"},
                 {"type": "action", "action": "discard", "sample_ids": [0], "origin": "test"},
                 None, id="unknown-origin"),
    pytest.param("tag_add", {"tag": "picked", "ids": [["train", 0]], "origin": "val"},
                 {"type": "action", "action": "add_tag", "tag": "picked",
                  "sample_ids": [["train", 0]], "origin": "val"},
                 None, id="ref-of-another-origin"),
    pytest.param("tag_add", {"tag": "a\x00b", "ids": [_val(0)]},
                 {"type": "action", "action": "add_tag", "tag": "a\x00b",
                  "sample_ids": [_val(0)]},
                 None, id="tag-name-NUL"),
    pytest.param("cat_set", {"tag": "quality", "value": "a\nb", "ids": [_val(0)]},
                 {"type": "action", "action": "set_categorical", "tag": "quality",
                  "value": "a\nb", "sample_ids": [_val(0)]},
                 None, id="categorical-value-newline"),
    pytest.param("evaluate", {"loader": "test_loader"},
                 {"type": "evaluate", "loader": "test_loader"}, None, id="unknown-loader"),
    pytest.param("evaluate", {"loader": "val", "tags": ["nope"]},
                 {"type": "evaluate", "loader": "val", "tags": ["nope"]}, None,
                 id="unknown-evaluation-tag"),
    pytest.param("evaluate", {"loader": "val", "resume": "yes"},
                 {"type": "evaluate", "loader": "val", "resume": "yes"}, None,
                 id="resume-not-a-bool"),
    pytest.param("hp_set", {"path": "optimizer.lr", "value": "fast"},
                 {"type": "set", "path": "optimizer.lr", "value": "fast"}, None,
                 id="hp-wrong-type"),
    pytest.param("tag_create", {"name": "tag:x"}, {"type": "create_tag", "name": "tag:x"}, None,
                 id="tag-create-prefix"),
]


@pytest.mark.parametrize("command, args, panel_msg, changes", CASES)
def test_one_command_gives_the_same_result_or_refusal_from_code_panels_and_the_cli(
        make_session, command, args, panel_msg, changes):
    outcomes, states, before = {}, {}, None
    for cls in ENTRY_POINTS:
        env = _setup(make_session(cls.name))
        before = observable(env.session)
        entry = cls(env)
        try:
            outcomes[cls.name] = _outcome(entry, command, args, panel_msg)
        finally:
            entry.close()
        states[cls.name] = observable(env.session)
    code, cli, panel = outcomes["code"], outcomes["cli"], outcomes["panel"]
    if code[0] == "refused":
        assert cli == panel == code, outcomes
        assert states["code"] == states["cli"] == states["panel"] == before
        assert changes is None
        return
    assert cli[0] == panel[0] == "ok", outcomes
    assert cli[1] == json.loads(json.dumps(code[1], default=list)), outcomes
    if "count" in code[1]:
        assert panel[1]["count"] == code[1]["count"]
    expected = before
    for key, value in changes.items():
        if key in ("train", "val"):
            expected["samples"][key].update(value)
        else:
            expected[key] = value
    for name, got in states.items():
        if command in ("tag_add", "cat_set", "discard"):
            assert got["samples"] == expected["samples"], name
        else:
            assert {k: got[k] for k in changes} == changes, name


def test_a_hyperparameter_change_records_its_source(make_session):
    for cls in ENTRY_POINTS:
        env = _setup(make_session(cls.name))
        entry = cls(env)
        try:
            entry.call("hp_set", {"path": "optimizer.lr", "value": 0.002},
                       {"type": "set", "path": "optimizer.lr", "value": 0.002})
        finally:
            entry.close()
        (record,) = env.hp.history()
        assert (record["key"], record["new"], record["source"]) == ("optimizer.lr", 0.002,
                                                                    cls.name)


# ---------------------------------------------------------------- from code
def test_run_returns_json_results(env):
    s = env.session
    result = commands.run(s, "tag_add", {"tag": "hard", "ids": [0, 1], "origin": "val"})
    assert result == {"tag": "hard", "mode": "add", "count": 2, "tagged": 2}
    assert s.get_samples_by_tag("hard", origin="val") == [0, 1]
    assert s.get_samples_by_tag("hard", origin="train") == []
    assert commands.run(s, "tag_create", {"name": "fresh"}) == {"tag": "fresh", "created": True}
    assert commands.run(s, "tag_create", {"name": "fresh"})["created"] is False
    assert commands.run(s, "cat_register", {"name": "quality", "values": ["ugly", "good"]}) == \
        {"tag": "quality", "values": ["good", "bad", "ugly"]}
    status = commands.run(s, "status")
    assert status["origins"] == ["train", "val"] and status["samples"] == N_TRAIN + N_VAL
    assert set(commands.run(s, "commands")) == set(commands.COMMANDS)
    json.dumps(status)
    # the facade runs it on the current session
    assert wl.run_command("restore", {"ids": [["val", 0]]})["count"] == 1


def test_refs_of_several_origins_are_checked_before_anything_changes(env):
    s = env.session
    with pytest.raises(UnknownSampleError, match="99"):
        commands.run(s, "tag_add", {"tag": "x", "ids": [["train", 1], ["val", 99]]})
    with pytest.raises(AmbiguousSampleError, match=r"\['train', 'val'\]"):
        commands.run(s, "discard", {"ids": [["train", 1], 5]})
    assert s.tag_summary()["boolean"] == {"picked": 0} and s.get_discarded_samples(None) == []
    # bare ids only one origin holds need no origin
    commands.run(s, "discard", {"ids": [15, ["val", 5]]})
    assert s.get_discarded_samples(origin="train") == [15]
    assert s.get_discarded_samples(origin="val") == [5]


def test_create_false_takes_known_tags_and_values_only(env):
    s = env.session
    with pytest.raises(UnknownNameError, match="no boolean tag named 'new'"):
        commands.run(s, "tag_add", {"tag": "new", "ids": [["val", 0]], "create": False})
    with pytest.raises(InvalidValueError, match="'ugly' is not a value of 'quality'"):
        commands.run(s, "cat_set", {"tag": "quality", "value": "ugly", "ids": [["val", 0]],
                                    "create": False})
    commands.run(s, "cat_set", {"tag": "quality", "value": "ugly", "ids": [["val", 0]]})
    assert s.get_samples_by_tag("quality=ugly", origin="val") == [0]


@pytest.mark.parametrize("name, args, error, fragment", [
    ("shutdown", {}, ArgumentError, "command: unknown command 'shutdown'"),
    ("pause", {"force": True}, ArgumentError, "unexpected argument(s) ['force']"),
    ("tag_add", {"ids": [1]}, ArgumentError, "tag: required"),
    ("discard", {"ids": []}, ArgumentError, "ids: expected a non-empty list"),
    ("discard", {"ids": [["val"]]}, ArgumentError, "ids: a ref is [origin, sample_id]"),
    ("discard", {"ids": [[1, 2]]}, ArgumentError, "ids: a ref is [origin, sample_id]"),
    ("discard", {"ids": [1.5]}, ArgumentError, "ids: sample ids are ints or strings"),
    ("discard", {"ids": [1], "origin": 3}, ArgumentError, "origin: expected an origin"),
    ("discard", "ids", ArgumentError, "args: expected an object"),
    ("cancel_evaluation", {"id": 0}, ArgumentError, "id: expected an integer >= 1"),
    ("cancel_evaluation", {}, StateError, "no evaluation is running or queued"),
    ("hp_set", {"path": "optimizer..lr", "value": 1}, ArgumentError, "path: expected a dotted"),
    ("hp_set", {"path": "optimizer.lr", "value": float("nan")}, ArgumentError,
     "value: expected a JSON value with finite numbers"),
    ("hp_set", {"path": "optimizer.lr", "value": "fast"}, InvalidTypeError, "expected a float"),
])
def test_bad_calls_are_refused_with_the_packages_errors(env, name, args, error, fragment):
    before = observable(env.session)
    with pytest.raises(error) as info:
        commands.run(env.session, name, args)
    assert fragment in str(info.value)
    assert observable(env.session) == before


def test_a_closed_session_refuses_commands(make_session):
    env = _setup(make_session("closed"))
    env.session.close()
    with pytest.raises(StateError, match="session: the session is closed"):
        commands.run(env.session, "status")


def test_panel_errors_name_the_panels_fields(env):
    with pytest.raises(ArgumentError, match="^sample_ids: expected a non-empty list"):
        commands.run(env.session, "discard", {"ids": "1"}, source="panel",
                     fields={"ids": "sample_ids"})
