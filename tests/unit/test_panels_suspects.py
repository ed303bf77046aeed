"""The sample grid's suspects: the cached ranking, when it is ready to be the default sort, the
"suspects" sort preset, the evidence each row on a page carries, and the grid's flagged actions
with their confirmation (dry run) and undo, against a session trained on digits with flipped
labels."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from weightslab_nb.demo import digits_mlp, train_digits
from weightslab_nb.panels.grid import SampleGrid
from weightslab_nb.panels.suspect_ranking import (READY_PRESENTATIONS, READY_SHARE, ROW_EVIDENCE,
                                                  SUSPECTS_SORT, SuspectRanking)

from tests.panel_capture import Capture, ask_content as ask
from tests.unit.test_commands_flagged import N_TRAIN, noisy_digits, train_noisy


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def count_calls(session) -> list:
    """Count the session's ``suspects`` computations (an instance attribute shadows the
    method)."""
    calls = []
    original = session.suspects

    def counted(*args, **kwargs):
        calls.append(kwargs.get("origin"))
        return original(*args, **kwargs)

    session.suspects = counted
    return calls


@pytest.fixture
def trained(session, digits):
    flipped = train_noisy(session, digits)
    return session, flipped


@pytest.fixture
def grid(trained):
    session, _ = trained
    g = SampleGrid(session)
    cap = Capture(g)
    assert g.flush()
    yield g, cap
    g.close()


# ---------------------------------------------------------------- the cached ranking
def test_the_ranking_is_computed_again_only_after_a_change_and_the_interval(trained):
    session, _ = trained
    clock = Clock()
    ranking = SuspectRanking(session, min_interval=3.0, clock=clock)
    calls = count_calls(session)
    first = ranking.get()
    assert first.version == 1 and calls == ["train", "val"]  # one per origin
    session.discard_samples([0], origin="train")
    clock.now += 1
    assert ranking.due() is False and ranking.get() is first  # changed, but too soon
    clock.now += 2
    assert ranking.due() is True
    second = ranking.get()
    assert second.version == 2 and len(calls) == 4
    clock.now += 60
    assert not ranking.due() and ranking.get() is second  # nothing changed: never again
    assert len(calls) == 4
    assert ranking.get(refresh=False) is second


def test_a_slow_computation_spaces_the_next_ones_out(trained):
    session, _ = trained
    clock = Clock()
    ranking = SuspectRanking(session, min_interval=3.0, cost_factor=5.0, clock=clock)
    calls = count_calls(session)
    original = session.suspects

    def slow(*args, **kwargs):  # each origin's computation "takes" 1 s
        clock.now += 1.0
        return original(*args, **kwargs)

    session.suspects = slow
    ranking.get()
    assert len(calls) == 2
    session.discard_samples([0], origin="train")
    clock.now += 9.9
    assert not ranking.due()  # 2 s of work: 10 s before the next one
    clock.now += 0.1
    assert ranking.due()


def test_the_ranking_matches_wl_suspects_and_leaves_out_origins_without_history(trained):
    session, flipped = trained
    ranking = SuspectRanking(session).get()
    assert list(ranking.origins) == ["train"]  # val was never trained on
    assert "no recorded values" in ranking.errors["val"]
    frame = session.suspects(origin="train")
    train = ranking.origins["train"]
    assert train.flagged == int(frame["flagged"].sum()) > 0
    assert session.rows_of(frame["sample_id"].tolist(), "train").tolist() == train.rows.tolist()
    assert np.array_equal(train.columns["score"], frame["score"].to_numpy())
    keys = ranking.sort_values()   # descending: wl.suspects' own order, ties included
    assert len(keys) == N_TRAIN  # the val rows come after: the grid sorts them last
    assert train.rows[np.argsort(-keys[train.rows], kind="stable")].tolist() == \
        train.rows.tolist()
    top = ranking.evidence(int(train.rows[0]))
    assert set(ROW_EVIDENCE) <= set(top)
    assert (top["origin"], top["rank"], top["scored"], top["method"]) == \
        ("train", 1, N_TRAIN, "margin")
    assert top["flagged"] is True
    assert top["label"] != top["suggested_class"]
    json.dumps(top)  # JSON values only (NaN and <NA> become None)


def test_the_ranking_is_ready_once_most_active_samples_were_seen_twice(make_session, digits):
    assert (READY_PRESENTATIONS, READY_SHARE) == (2, 0.5)
    session = make_session()
    data, _ = noisy_digits(digits)
    loader = session.watch_or_edit(data, flag="data", loader_name="train_loader", batch_size=40,
                                   shuffle=True, seed=0)
    model = digits_mlp()
    loss = session.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss",
                                 signal_name="train-loss", per_sample=True)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    ranking = SuspectRanking(session, min_interval=0.0, cost_factor=0.0)
    train_digits(loader, model, opt, loss, epochs=1)
    one = ranking.get().origins["train"]
    assert (one.ready, one.ready_share, one.scored) == (False, 0.0, N_TRAIN)
    train_digits(loader, model, opt, loss, epochs=1, max_steps=4)  # 160 samples seen twice
    part = ranking.get().origins["train"]
    assert part.ready_share == pytest.approx(160 / N_TRAIN) and not part.ready
    # discarding the samples seen once leaves an active set that was all seen twice
    twice = session.suspects().query("presentations >= 2")["sample_id"].tolist()
    once = sorted(set(range(N_TRAIN)) - set(twice))
    session.discard_samples(once[:len(once) - 100], origin="train")
    ready = ranking.get().origins["train"]
    assert ready.samples == 260 and ready.ready_share == pytest.approx(160 / 260) and ready.ready
    assert ready.summary() == {"ready": True, "scored": N_TRAIN, "flagged": ready.flagged,
                               "samples": 260, "ready_share": round(160 / 260, 4),
                               "method": "margin"}


# ---------------------------------------------------------------- the grid
def test_the_grid_publishes_the_ranking_summary(grid, trained):
    g, _ = grid
    session, _ = trained
    frame = session.suspects()
    assert g.suspects["version"] == 1
    assert g.suspects["origins"] == {"train": {
        "ready": True, "scored": N_TRAIN, "flagged": int(frame["flagged"].sum()),
        "samples": N_TRAIN, "ready_share": 1.0, "method": "margin"}}


def test_the_suspects_preset_sorts_most_suspect_first_and_unscored_samples_last(grid, trained):
    g, cap = grid
    session, flipped = trained
    frame = session.suspects()
    page = ask(g, cap, 1, type="page", sort_by=SUSPECTS_SORT, descending=True, limit=500)
    assert page["columns"][0] == SUSPECTS_SORT
    assert page["matched"] == N_TRAIN + 100
    rows = page["rows"][:N_TRAIN]
    assert [r["origin"] for r in rows] == ["train"] * N_TRAIN
    assert [r["sample_id"] for r in rows] == frame["sample_id"].tolist()
    assert [r["suspect"]["rank"] for r in rows] == list(range(1, N_TRAIN + 1))
    top = [r["sample_id"] for r in rows[:int(frame["flagged"].sum())]]
    assert len(set(top) & flipped) >= 0.8 * len(top)
    last = ask(g, cap, 2, type="page", sort_by=SUSPECTS_SORT, descending=True, offset=N_TRAIN,
               limit=100)["rows"]
    assert {r["origin"] for r in last} == {"val"} and all(r["suspect"] is None for r in last)
    asc = ask(g, cap, 3, type="page", sort_by=SUSPECTS_SORT, descending=False, limit=3)["rows"]
    assert [r["suspect"]["score"] for r in asc] == sorted(frame["score"])[:3]  # least suspect
    only = ask(g, cap, 4, type="page", sort_by=SUSPECTS_SORT, origin="val")
    assert only["matched"] == 100 and only["rows"][0]["suspect"] is None


def test_every_row_carries_its_evidence_and_only_the_page_is_sent(grid, trained):
    g, cap = grid
    session, _ = trained
    frame = session.suspects().set_index("sample_id")
    page = ask(g, cap, 1, type="page", limit=12)  # recorded order: the evidence is there too
    for row in page["rows"]:
        ev = row["suspect"]
        expected = frame.loc[row["sample_id"]]
        assert ev["score"] == pytest.approx(expected["score"])
        assert ev["flagged"] is bool(expected["flagged"])
        assert ev["label"] == int(expected["label"]) == row["target"]
        assert ev["suggested_class"] == int(expected["suggested_class"])
        assert ev["mean_loss"] == pytest.approx(expected["mean_loss"])
        assert ev["mean_margin"] == pytest.approx(expected["mean_margin"])
        assert ev["forgetting"] == int(expected["forgetting"])
        assert ev["loss_shape"] is None
        assert len(json.dumps(ev)) < 400
    assert len(page["rows"]) == 12


def test_a_new_ranking_moves_the_version_so_that_the_view_asks_again(grid, trained):
    g, _ = grid
    session, _ = trained
    ranking = session.feature("suspect_ranking")
    version, suspects = g.version, g.suspects["version"]
    ranking.min_interval = ranking.cost_factor = 0.0
    session.tag_samples([1], "look", origin="train")  # any table change makes it due
    assert g.flush()
    assert g.suspects["version"] == suspects + 1 and g.version > version


def test_the_step_highlight_pages_sort_by_suspects_too(grid, trained):
    g, cap = grid
    session, _ = trained
    refs = session.refs_at_step("train-loss", session.controller.step - 1)
    session.highlight.set("train-loss", session.controller.step - 1, refs)
    page = ask(g, cap, 1, type="page", sort_by=SUSPECTS_SORT, highlight=True, limit=500)
    assert page["matched"] == len(refs)
    scores = [r["suspect"]["score"] for r in page["rows"]]
    assert scores == sorted(scores, reverse=True)


# ---------------------------------------------------------------- flagged actions
def test_discard_flagged_from_the_grid_previews_runs_and_undoes(grid, trained):
    g, cap = grid
    session, _ = trained
    frame = session.suspects()
    flag_set = sorted(frame.loc[frame["flagged"], "sample_id"].tolist())
    preview = ask(g, cap, 1, type="flagged", action="discard", origin="train", dry_run=True)
    assert preview == {"type": "flagged_result", "req": 1, "ok": True, "action": "discard",
                       "message": f"discard {len(flag_set)} flagged samples of 'train'?",
                       "undo": None, "tag": None, "origin": "train", "flagged": len(flag_set),
                       "count": len(flag_set), "already": 0, "digest": preview["digest"],
                       "dry_run": True}
    assert session.get_discarded_samples() == []
    done = ask(g, cap, 2, type="flagged", action="discard", origin="train",
               expect=preview["digest"])
    assert done["ok"] and done["undo"] == "u1"
    assert done["message"] == f"discarded {len(flag_set)} flagged samples of 'train'"
    assert session.get_discarded_samples() == flag_set
    assert session.get_discarded_samples(origin="val") == []
    again = ask(g, cap, 3, type="flagged", action="discard", origin="train", dry_run=True)
    assert again["message"] == f"all {len(flag_set)} flagged samples of 'train' are discarded " \
        "already"
    undone = ask(g, cap, 4, type="undo", token="u1")
    assert undone == {"type": "undo_result", "req": 4, "ok": True, "count": len(flag_set),
                      "message": f"undone: restored {len(flag_set)} samples"}
    assert session.get_discarded_samples() == []
    twice = ask(g, cap, 5, type="undo", token="u1")
    assert twice["ok"] is False and "nothing to undo for 'u1'" in twice["message"]


def test_tag_flagged_from_the_grid_and_its_undo(grid, trained):
    g, cap = grid
    session, _ = trained
    frame = session.suspects()
    flag_set = sorted(frame.loc[frame["flagged"], "sample_id"].tolist())
    session.tag_samples(flag_set[:2], "noisy", origin="train")
    done = ask(g, cap, 1, type="flagged", action="tag", origin="train", tag="noisy")
    assert done["message"] == f"tagged {len(flag_set) - 2} flagged samples of 'train' with " \
        "'noisy' (2 had it already)"
    assert session.get_samples_by_tag("noisy") == flag_set
    undone = ask(g, cap, 2, type="undo", token=done["undo"])
    assert undone["message"] == f"undone: removed 'noisy' from {len(flag_set) - 2} samples"
    assert session.get_samples_by_tag("noisy") == flag_set[:2]


def test_a_changed_flag_set_refuses_the_confirmed_action(grid, trained):
    g, cap = grid
    session, _ = trained
    reply = ask(g, cap, 1, type="flagged", action="discard", origin="train",
                expect="0000000000000000")
    assert reply["ok"] is False and "changed since it was previewed" in reply["message"]
    assert session.get_discarded_samples() == []


@pytest.mark.parametrize("msg, fragment", [
    ({"type": "flagged", "action": "delete", "origin": "train"}, "action: expected one of"),
    ({"type": "flagged", "action": "discard"}, "origin: required"),
    ({"type": "flagged", "action": "discard", "origin": " train"}, "origin: expected a non-empty"),
    ({"type": "flagged", "action": "discard", "origin": "train", "tag": "x"},
     "discard: takes no tag"),
    ({"type": "flagged", "action": "discard", "origin": "train", "dry_run": "yes"},
     "dry_run: expected true or false"),
    ({"type": "flagged", "action": "discard", "origin": "train", "expect": 5}, "expect: expected"),
    ({"type": "flagged", "action": "tag", "origin": "train", "tag": "a=b"}, "tag"),
    ({"type": "flagged", "action": "discard", "origin": "nope"}, "unknown origin 'nope'"),
    ({"type": "undo", "token": ""}, "token: expected the token of an undo"),
    ({"type": "undo", "token": ["u1"]}, "token: expected the token of an undo"),
    ({"type": "undo", "token": "u9"}, "nothing to undo for 'u9'"),
])
def test_bad_flagged_messages_are_refused_and_change_nothing(grid, trained, msg, fragment):
    g, cap = grid
    session, _ = trained
    before = (session.get_discarded_samples(), session.tag_summary())
    reply = ask(g, cap, 7, **msg)
    assert reply["ok"] is False and fragment in reply["message"], reply
    assert (session.get_discarded_samples(), session.tag_summary()) == before


def test_a_failing_ranking_is_shown_as_an_error_and_the_grid_keeps_working(trained):
    session, _ = trained
    session.suspects = lambda *a, **k: 1 / 0  # a bug in the ranking
    g = SampleGrid(session)
    cap = Capture(g)
    try:
        assert g.flush()
        assert g.error == "suspects ranking failed: ZeroDivisionError: division by zero"
        assert g.suspects == {"version": 0, "origins": {}}
        page = ask(g, cap, 1, type="page", sort_by=SUSPECTS_SORT, limit=3)
        assert page["ok"] and [r["sample_id"] for r in page["rows"]] == [0, 1, 2]
        assert page["columns"][0] != SUSPECTS_SORT and page["rows"][0]["suspect"] is None
        del session.suspects  # fixed: the next computation (when due) clears the error
        ranking = session.feature("suspect_ranking")
        ranking.min_interval = ranking.cost_factor = 0.0
        session.tag_samples([1], "look", origin="train")
        assert g.flush() and g.error == "" and "train" in g.suspects["origins"]
    finally:
        g.close()


def test_the_suspects_order_holds_still_while_the_ranking_moves_until_resort(grid, trained):
    g, cap = grid
    session, _ = trained
    q = dict(type="page", sort_by="suspects", limit=8, origin="train")
    first = ask(g, cap, 1, **q)
    ids = [r["sample_id"] for r in first["rows"]]
    assert first["order"]["fresh"] and first["rows"][0]["suspect"]["rank"] == 1
    ranking = session.feature("suspect_ranking")
    ranking.min_interval = ranking.cost_factor = 0.0
    # the ranking moves: the first eight become the least suspect (a fake loss on them)
    session.save_signals({"train-loss": torch.zeros(8)}, ids, step=10_000)
    session.discard_samples(ids[:1])
    assert g.flush()
    held = ask(g, cap, 2, **q)
    assert [r["sample_id"] for r in held["rows"]] == ids
    assert held["order"]["fresh"] is False and held["order"]["changed"] > 0
    resorted = ask(g, cap, 3, **q, resort=True)
    assert resorted["order"]["changed"] == 0 and resorted["order"]["fresh"] is True
    assert resorted["rows"][0]["sample_id"] != ids[0]  # discarded: last now
