"""``tag_flagged`` and ``discard_flagged``: the flag set of ``wl.suspects(origin)`` tagged or
discarded in one command, from code, the grid panel and the CLI alike, with an exact undo.

The session trains a small MLP on 400 digits of which 15 % carry a wrong label (seeded), beside
a val set whose ids repeat train's; ``wl.suspects`` then has a non-empty flag set.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

import weightslab_nb as wl
from weightslab_nb import cli, commands
from weightslab_nb.demo import digits_mlp, train_digits
from weightslab_nb.errors import (ArgumentError, InvalidValueError, StateError, UnknownNameError,
                                  WeightslabError)
from weightslab_nb.panels.grid import SampleGrid
from weightslab_nb.serving import Client, serve

from tests.panel_capture import Capture

N_TRAIN, N_VAL = 400, 100


def noisy_digits(digits, noise: float = 0.15, seed: int = 0):
    """The first ``N_TRAIN`` digits with ``noise`` of their labels moved to another class, and
    the flipped ids."""
    images, labels = digits.tensors
    labels = labels[:N_TRAIN].clone()
    rng = np.random.default_rng(seed)
    flipped = rng.choice(N_TRAIN, size=int(noise * N_TRAIN), replace=False)
    labels[flipped] = torch.as_tensor((labels[flipped].numpy() + rng.integers(1, 10, len(flipped)))
                                      % 10)
    return TensorDataset(images[:N_TRAIN], labels), set(flipped.tolist())


def train_noisy(session, digits, epochs: int = 8):
    """Train on the noisy split (and register a val set with the same ids); return the flipped
    ids."""
    data, flipped = noisy_digits(digits)
    images, labels = digits.tensors
    loader = session.watch_or_edit(data, flag="data", loader_name="train_loader", batch_size=32,
                                   shuffle=True, seed=0)
    session.watch_or_edit(TensorDataset(images[N_TRAIN:N_TRAIN + N_VAL],
                                        labels[N_TRAIN:N_TRAIN + N_VAL]),
                          flag="data", loader_name="val_loader", batch_size=50)
    model = digits_mlp()
    loss = session.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss",
                                 signal_name="train-loss", per_sample=True)
    train_digits(loader, model, torch.optim.Adam(model.parameters(), lr=0.01), loss,
                 epochs=epochs)
    return flipped


@pytest.fixture
def trained(session, digits):
    flipped = train_noisy(session, digits)
    frame = session.suspects(origin="train")
    flag_set = sorted(frame.loc[frame["flagged"], "sample_id"].tolist())
    assert 20 <= len(flag_set) <= 120, len(flag_set)  # the fixture is what the tests assume
    return session, flag_set, flipped


def state(session) -> dict:
    return {origin: {"suspect": session.get_samples_by_tag("suspect", origin=origin)
                     if "suspect" in session.tag_summary()["boolean"] else [],
                     "discarded": session.get_discarded_samples(origin=origin)}
            for origin in ("train", "val")}


def test_discard_flagged_discards_the_flag_set_and_its_undo_restores_exactly_those(trained):
    session, flag_set, flipped = trained
    assert len(set(flag_set) & flipped) >= 0.8 * len(flag_set)  # they are mostly mislabels
    by_hand = flag_set[:3] + [next(i for i in range(N_TRAIN) if i not in flag_set)]
    session.discard_samples(by_hand, origin="train")  # before: three flagged, one other
    session.discard_samples([0], origin="val")

    result = wl.run_command("discard_flagged", {"origin": "train"})
    assert result["origin"] == "train" and result["dry_run"] is False
    assert result["flagged"] == len(flag_set)
    assert result["count"] == len(flag_set) - 3 and result["already"] == 3
    assert result["refs"] == [["train", i] for i in session.suspects()["sample_id"]
                              if i in set(flag_set) - set(by_hand)]  # in score order
    assert result["undo"] == {"command": "restore", "args": {"ids": result["refs"]}}
    assert state(session)["train"]["discarded"] == sorted(set(flag_set) | set(by_hand))
    assert (result["samples"], result["active"]) == session.counts()

    wl.run_command(result["undo"]["command"], result["undo"]["args"])
    after = state(session)
    assert after["train"]["discarded"] == sorted(by_hand)  # the earlier discards stay
    assert after["val"]["discarded"] == [0]


def test_tag_flagged_adds_the_tag_and_its_undo_removes_it_only_where_it_added_it(trained):
    session, flag_set, _ = trained
    session.tag_samples([flag_set[0], 399 if 399 not in flag_set else 398], "suspect",
                        origin="train")
    session.tag_samples([flag_set[1]], "suspect", origin="val")  # val shares the ids
    before = state(session)

    result = commands.run(session, "tag_flagged", {"origin": "train_loader"})  # a loader name
    assert (result["origin"], result["tag"]) == ("train", "suspect")
    assert result["count"] == len(flag_set) - 1 and result["already"] == 1
    assert state(session)["train"]["suspect"] == sorted(set(flag_set) | set(before["train"]["suspect"]))
    assert state(session)["val"]["suspect"] == [flag_set[1]]
    assert result["undo"]["command"] == "tag_remove"
    commands.run(session, result["undo"]["command"], result["undo"]["args"])
    assert state(session) == before


def test_a_dry_run_changes_nothing_and_its_digest_guards_the_run(trained):
    session, flag_set, _ = trained
    before = (state(session), session.get_current_experiment_hash())
    preview = wl.run_command("discard_flagged", {"origin": "train", "dry_run": True})
    assert (state(session), session.get_current_experiment_hash()) == before
    assert preview["count"] == len(flag_set) and preview["undo"] is None
    assert preview["digest"] == commands.flag_set_digest("train", flag_set)
    tag_preview = wl.run_command("tag_flagged", {"origin": "train", "tag": "noisy",
                                                 "dry_run": True})
    assert "noisy" not in session.tag_summary()["boolean"]  # not even created
    assert tag_preview["digest"] == preview["digest"]

    with pytest.raises(StateError, match=r"expect: the flag set of 'train' changed since it was "
                                         rf"previewed \({len(flag_set)} flagged samples now\)"):
        wl.run_command("discard_flagged", {"origin": "train", "expect": "0123456789abcdef"})
    assert state(session) == before[0]
    done = wl.run_command("discard_flagged", {"origin": "train", "expect": preview["digest"]})
    assert done["count"] == len(flag_set)
    again = wl.run_command("discard_flagged", {"origin": "train"})
    assert (again["count"], again["already"], again["refs"], again["undo"]) == \
        (0, len(flag_set), [], None)


@pytest.mark.parametrize("command, args, error, fragment", [
    ("discard_flagged", {}, ArgumentError, "origin: required"),
    ("discard_flagged", {"origin": ""}, ArgumentError, "origin: expected an origin"),
    ("discard_flagged", {"origin": "train", "dry_run": "yes"}, ArgumentError,
     "dry_run: expected true or false"),
    ("discard_flagged", {"origin": "train", "expect": 7}, ArgumentError, "expect: expected"),
    ("discard_flagged", {"origin": "train", "tag": "x"}, ArgumentError,
     "unexpected argument(s) ['tag']"),
    ("discard_flagged", {"origin": "test"}, InvalidValueError, "origin: unknown origin 'test'"),
    ("tag_flagged", {"origin": "train", "tag": "tag:x"}, ArgumentError, "tag"),
    ("tag_flagged", {"origin": "train", "tag": "quality"}, InvalidValueError,
     "'quality' is a categorical tag"),
    ("tag_flagged", {"origin": "train", "tag": "new", "create": False}, UnknownNameError,
     "no boolean tag named 'new'"),
])
def test_bad_flagged_commands_are_refused_and_change_nothing(trained, command, args, error,
                                                             fragment):
    session, _, _ = trained
    session.register_categorical_tag("quality", ["good", "bad"])
    before = (state(session), session.tag_summary())
    with pytest.raises(error) as exc:
        commands.run(session, command, args)
    assert fragment in str(exc.value)
    assert (state(session), session.tag_summary()) == before


def test_an_origin_without_history_is_refused(session, digits):
    session.watch_or_edit(digits, flag="data", loader_name="train_loader", batch_size=64)
    with pytest.raises(WeightslabError, match="no per-sample loss recorded yet"):
        commands.run(session, "discard_flagged", {"origin": "train"})
    assert session.get_discarded_samples() == []


def test_code_the_grid_and_the_cli_discard_the_same_samples(make_session, digits, capsys):
    """Three fresh sessions trained alike: the same flag set is discarded from each entry
    point, and each entry point's undo restores it."""
    results = {}
    for entry in ("code", "panel", "cli"):
        s = make_session(entry)
        train_noisy(s, digits)
        if entry == "code":
            got = commands.run(s, "discard_flagged", {"origin": "train"})
            count, undo = got["count"], lambda got=got, s=s: commands.run(
                s, got["undo"]["command"], got["undo"]["args"])
        elif entry == "panel":
            grid = SampleGrid(s)
            cap = Capture(grid)
            grid._handle_custom_msg({"type": "flagged", "req": 1, "action": "discard",
                                     "origin": "train"}, [])
            reply = cap.reply(1)[0]
            assert reply["ok"], reply
            count = reply["count"]

            def undo(grid=grid, cap=cap, token=reply["undo"]):
                grid._handle_custom_msg({"type": "undo", "req": 2, "token": token}, [])
                assert cap.reply(2)[0]["ok"]
        else:
            server = serve(serving_cli=True, session=s)
            base = ["cli", "--port", str(server.port), "--token", server.token]
            assert cli.main([*base, "discard-flagged", "--origin", "train", "--dry-run"]) == 0
            text = capsys.readouterr().out
            assert text.startswith("would discard ") and "flagged sample(s) of train" in text
            assert s.get_discarded_samples() == []
            assert cli.main([*base, "--json", "discard-flagged", "--origin", "train"]) == 0
            got = json.loads(capsys.readouterr().out)["result"]
            count = got["count"]

            def undo(got=got, server=server):
                Client(server.port, server.token).call(got["undo"]["command"],
                                                       **got["undo"]["args"])
                server.stop()
        results[entry] = (count, s.get_discarded_samples())
        undo()
        assert s.get_discarded_samples() == []
        if entry == "panel":
            grid.close()
    assert results["code"] == results["panel"] == results["cli"]
    assert results["code"][0] > 0


def test_the_cli_renders_the_flagged_commands(trained, capsys):
    session, flag_set, _ = trained
    server = serve(serving_cli=True, session=session)
    try:
        base = ["cli", "--port", str(server.port), "--token", server.token]
        assert cli.main([*base, "tag-flagged", "--origin", "train", "--tag", "noisy"]) == 0
        out = capsys.readouterr().out.strip()
        assert out == (f"tagged 'noisy' on {len(flag_set)} of {len(flag_set)} flagged sample(s) "
                       f"of train; undo: tag_remove on the {len(flag_set)} refs (--json)")
        assert session.get_samples_by_tag("noisy") == flag_set
        assert cli.main([*base, "tag-flagged", "--origin", "train", "--tag", "noisy",
                         "--dry-run"]) == 0
        assert capsys.readouterr().out.strip() == (
            f"would tag 'noisy' on 0 of {len(flag_set)} flagged sample(s) of train "
            f"({len(flag_set)} needed no change)")
        with pytest.raises(SystemExit):  # --origin is required
            cli.main([*base, "discard-flagged"])
        capsys.readouterr()
        assert cli.main([*base, "discard-flagged", "--origin", "test"]) == 1
        assert "unknown origin 'test'" in capsys.readouterr().err
    finally:
        server.stop()


def test_the_command_table_lists_the_flagged_commands(session):
    listed = commands.run(session, "commands")
    assert listed["tag_flagged"]["args"] == ["origin", "tag?", "create?", "dry_run?", "expect?"]
    assert listed["discard_flagged"]["args"] == ["origin", "dry_run?", "expect?"]
