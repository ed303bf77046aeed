"""Edits are journaled before they are made and replayed when a run is reopened.

A crash is taken in-process by copying the run directory of a live session once its journal
is synced (what a ``kill -9`` would leave: nothing the session holds in memory, the journal and
whatever was flushed) and opening the copy. ``tests/integration/test_crash_recovery.py`` kills
real processes.
"""

from __future__ import annotations

import shutil

import torch
from torch import nn

from weightslab_nb.demo import digits_mlp
from weightslab_nb.ledger.journal import read_records, segments
from weightslab_nb.persistence import JOURNAL_DIR
from weightslab_nb.session import Session

WAIT = 30.0


def _crash_copy(session, tmp_path, name="crashed", edited=True):
    """The run directory as a kill would leave it now (journal synced). ``edited``: the
    session journaled edits (else it has no journal open)."""
    journal = session.files._journal
    if edited:
        assert journal is not None and journal.wait_synced(journal.last_seq, WAIT)
    else:
        assert journal is None
    target = tmp_path / name
    shutil.copytree(session.root_log_dir, target)
    return target


def _watch(session, digits):
    return session.watch_or_edit(digits, flag="data", loader_name="train_loader", batch_size=64)


def test_edits_made_after_the_last_snapshot_come_back_after_a_crash(make_session, digits,
                                                                    tmp_path):
    live = make_session("live")
    _watch(live, digits)
    live.save_signals({"loss": torch.ones(3)}, [0, 1, 2])
    live.flush()  # history and a snapshot on disk: the edits below are in the journal only
    live.tag_samples([5, 6], "hard")
    live.register_categorical_tag("kind", ["clean", "noisy"])
    live.set_categorical_tag([7], "kind", "noisy")
    live.discard_samples([8, 9])
    live.discard_samples([9], discarded=False)
    live.tag_samples([6], "hard", mode="remove")
    copy = _crash_copy(live, tmp_path)
    assert [r.record["op"] for r in read_records(copy / JOURNAL_DIR)][-6:] == \
        ["tag", "register_categorical", "categorical", "discard", "discard", "tag"]
    with Session(root_log_dir=copy) as again:
        assert again.get_samples_by_tag("hard") == [5]
        assert again.get_samples_by_tag("kind=noisy") == [7]
        assert again.get_discarded_samples() == [8]
        assert again.tag_summary()["categorical"]["kind"]["values"] == ["clean", "noisy"]


def test_edits_of_samples_not_flushed_yet_wait_for_the_loader(make_session, digits, tmp_path):
    live = make_session("live")
    _watch(live, digits)
    live.tag_samples([3], "hard")  # nothing flushed: the history file does not exist yet
    live.discard_samples([4])
    copy = _crash_copy(live, tmp_path)
    assert not (copy / "history.duckdb").exists()
    with Session(root_log_dir=copy) as again:
        assert len(again.table) == 0  # no samples known yet: the edits wait
        _watch(again, digits)
        assert again.get_samples_by_tag("hard") == [3]
        assert again.get_discarded_samples() == [4]
        again.flush()
    with Session(root_log_dir=copy) as third:  # now in the snapshot: no loader needed
        assert third.get_samples_by_tag("hard") == [3]


def test_a_snapshot_drops_the_journal_records_it_includes(make_session, digits, tmp_path):
    live = make_session("live")
    _watch(live, digits)
    live.save_signals({"loss": torch.ones(2)}, [0, 1])
    live.flush()
    for i in range(10):
        live.tag_samples([i], "seen")
    assert len(list(read_records(live.root_log_dir / JOURNAL_DIR))) == 10
    live.files._next_snapshot = 0.0  # a snapshot is due at the next flush
    live.flush()
    assert list(read_records(live.root_log_dir / JOURNAL_DIR)) == []
    assert len(segments(live.root_log_dir / JOURNAL_DIR)) == 1  # the fresh segment
    live.tag_samples([10], "seen")
    copy = _crash_copy(live, tmp_path)
    with Session(root_log_dir=copy) as again:
        assert again.get_samples_by_tag("seen") == list(range(11))


def test_applied_hyperparameter_changes_are_requested_again_on_reopen(make_session, digits,
                                                                      tmp_path):
    live = make_session("live")
    hp = live.watch_or_edit({"optimizer": {"lr": 0.1}, "epochs": 3}, flag="hp")
    model = live.watch_or_edit(digits_mlp(hidden=16), flag="model")
    live.watch_or_edit(torch.optim.SGD(model.parameters(), lr=0.1), flag="optimizer")
    hp["optimizer"]["lr"] = 0.01
    hp["epochs"] = 5
    copy = _crash_copy(live, tmp_path)
    with Session(root_log_dir=copy) as again:
        steered = again.watch_or_edit({"optimizer": {"lr": 0.1}, "epochs": 3}, flag="hp")
        assert steered.to_dict() == {"optimizer": {"lr": 0.01}, "epochs": 5}
        model = again.watch_or_edit(digits_mlp(hidden=16), flag="model")
        opt = again.watch_or_edit(torch.optim.SGD(model.parameters(), lr=0.1),
                                  flag="optimizer")
        assert steered["optimizer"]["lr"] == 0.01
        hp_again = again.watch_or_edit({"optimizer": {"lr": 0.1}, "epochs": 3}, flag="hp")
        assert hp_again["optimizer"]["lr"] == 0.01
        assert opt.param_groups[0]["lr"] == 0.01  # applied to the optimizer watched later


def test_a_refused_edit_is_not_journaled(session, digits):
    _watch(session, digits)
    session.tag_samples([1], "ok")
    for bad in (lambda: session.tag_samples([10**6], "ok"),
                lambda: session.discard_samples([1], discarded="yes"),
                lambda: session.set_categorical_tag([1], "ok", "x")):
        try:
            bad()
        except Exception:
            pass
        else:
            raise AssertionError("the edit was accepted")
    ops = [r.record["op"] for r in read_records(session.root_log_dir / JOURNAL_DIR)]
    assert ops == ["tag"]


def test_a_loss_recorded_after_reopening_keeps_the_step_count(make_session, digits, tmp_path):
    live = make_session("live")
    loader = _watch(live, digits)
    model = live.watch_or_edit(digits_mlp(hidden=16), flag="model")
    loss_fn = live.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss",
                                 signal_name="loss", per_sample=True)
    for step, (x, y, ids) in enumerate(loader):
        loss_fn(model(x), y, batch_ids=ids)
        if step == 4:
            break
    live.flush()
    copy = _crash_copy(live, tmp_path, edited=False)
    with Session(root_log_dir=copy) as again:
        assert again.controller.step == live.controller.step == 5
