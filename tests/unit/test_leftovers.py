"""Atomic writes leave the old or the new file; what an interrupted one leaves behind is
removed by clean_leftovers, and nothing else is; crash points are armed only on purpose."""

from __future__ import annotations

import os
import re
import shutil

import duckdb
import pytest

from tests.children import assert_killed, run_child
from weightslab_nb.experiment import clean_leftovers, write_atomic
from weightslab_nb.session import Session


def test_write_atomic_replaces_the_file_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "sub" / "state.json"
    write_atomic(target, b"old")
    write_atomic(target, b"new", sync=True)
    assert target.read_bytes() == b"new"
    assert oct(target.stat().st_mode & 0o777) == oct(0o644)
    assert sorted(p.name for p in target.parent.iterdir()) == ["state.json"]


def test_write_atomic_removes_its_temporary_file_when_the_write_fails(tmp_path):
    target = tmp_path / "state.json"
    write_atomic(target, b"old")
    with pytest.raises(TypeError):
        write_atomic(target, "not bytes")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def _touch(path, data=b"x"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_clean_leftovers_removes_interrupted_writes_and_nothing_else(tmp_path):
    root = tmp_path / "run"
    leftovers = [
        _touch(root / ".ledger.parquet.0123456789abcdef.tmp"),             # write_atomic
        _touch(root / "checkpoints" / "h1" / ".step_10.pt.abc_12xy.tmp"),   # mkstemp (earlier)
        _touch(root / "exports" / ".history.json.deadbeef.tmp"),           # history exports
    ]
    kept_file = _touch(root / "ledger.parquet")
    decoys = [
        kept_file,
        _touch(root / "notes.tmp"),
        _touch(root / ".hidden.tmp"),
        _touch(root / ".ledger.parquet.ABCDEFGH.tmp"),         # not a generated name
        _touch(root / ".ledger.parquet.0123.tmp"),             # too short
        _touch(root / "x.0123456789abcdef.tmp"),               # no leading dot
        _touch(root / ".a.0123456789abcdef.tmp.bak"),
        _touch(root / ".d.0123456789abcdef.tmp" / "inside"),   # a directory of that name
        _touch(root / "journal" / "00000000000000000001.log"),
        _touch(root / "history.duckdb"),
    ]
    link = root / ".l.0123456789abcdef.tmp"
    os.symlink(kept_file, link)
    assert clean_leftovers(root) == sorted(leftovers)
    assert all(p.exists() for p in decoys) and os.path.islink(link)
    assert not any(p.exists() for p in leftovers)
    assert clean_leftovers(root) == []
    assert clean_leftovers(tmp_path / "missing") == []


def test_the_name_write_atomic_gives_its_temporary_file_is_one_clean_leftovers_removes(tmp_path):
    target = tmp_path / "checkpoints" / "step_5.pt"
    child = ("import sys; from pathlib import Path; from weightslab_nb.experiment import "
             "write_atomic; write_atomic(Path(sys.argv[1]), b'x' * 1000, point='checkpoint')")
    assert_killed(run_child(child, target, crash_at="checkpoint.before-publish"))
    left = list(target.parent.iterdir())
    assert len(left) == 1 and re.fullmatch(r"\.step_5\.pt\.[0-9a-f]{16}\.tmp", left[0].name)
    assert left[0].stat().st_size == 1000
    assert clean_leftovers(tmp_path) == left


SAVE_CHECKPOINTS = """
import sys
import torch
from weightslab_nb.experiment import save_checkpoint
torch.manual_seed(0)
model = torch.nn.Linear(64, 32)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for step in (10, 20):
    print(save_checkpoint(sys.argv[1], "h1", step, {"model": model}, {"opt": optimizer}),
          flush=True)
"""


def test_a_crash_while_writing_a_checkpoint_leaves_the_earlier_ones_loadable(tmp_path):
    import torch

    from weightslab_nb.experiment import load_checkpoint

    result = run_child(SAVE_CHECKPOINTS, tmp_path, crash_at="checkpoint.mid-write@2")
    assert_killed(result)
    folder = tmp_path / "checkpoints" / "h1"
    assert sorted(p.name for p in folder.glob("*.pt")) == ["step_10.pt"]
    model = torch.nn.Linear(64, 32)
    assert load_checkpoint(folder / "step_10.pt", {"model": model}, {}) == 10
    removed = clean_leftovers(tmp_path)
    assert [p.name.startswith(".step_20.pt.") for p in removed] == [True]
    assert [p.name for p in folder.iterdir()] == ["step_10.pt"]


def test_an_unknown_crash_point_in_the_environment_fails_loudly_at_import():
    result = run_child("import weightslab_nb.crashpoints", crash_at="snapshot.befor-publish")
    assert result.returncode == 1
    assert "WEIGHTSLAB_NB_CRASH_AT" in result.stderr and "snapshot.before-publish" in result.stderr
    result = run_child("import weightslab_nb.crashpoints", crash_at="snapshot.mid-write@0")
    assert result.returncode == 1 and "positive integer" in result.stderr


def test_an_unarmed_crash_point_does_nothing():
    result = run_child("from weightslab_nb.crashpoints import crash_point, POINTS\n"
                       "for name in POINTS: crash_point(name)\nprint('alive')")
    assert result.returncode == 0 and result.stdout == "alive\n"


def test_a_history_file_left_empty_by_a_kill_during_its_creation_does_not_stop_a_reopen(
        tmp_path, small_dataset):
    """A kill -9 between DuckDB creating history.duckdb and writing its header leaves a 0-byte
    file (seen in the crash trials): it holds nothing, so the run reopens with its journaled
    edits and records history again; a damaged file that is not empty is still refused."""
    root = tmp_path / "run"
    with Session(root_log_dir=root) as live:
        live.watch_or_edit(small_dataset, flag="data", loader_name="train_loader",
                           batch_size=4)
        live.tag_samples([3], "hard")
        assert not (root / "history.duckdb").exists()  # nothing flushed: edits only journaled
        journal = live.files._journal
        assert journal.wait_synced(journal.last_seq, 10)
        crashed = tmp_path / "crashed"
        shutil.copytree(root, crashed)  # the directory as a kill would leave it
    (crashed / "history.duckdb").write_bytes(b"")

    with Session(root_log_dir=crashed) as again:
        again.watch_or_edit(small_dataset, flag="data", loader_name="train_loader",
                            batch_size=4)
        assert again.get_samples_by_tag("hard") == [3]
        again.save_signals({"loss": [0.5]}, [3], step=1)
        again.flush()
        assert [step for _, step, _, _ in again.query_signal_history("loss")] == [1]
    assert (crashed / "history.duckdb").stat().st_size > 0

    damaged = tmp_path / "damaged"
    _touch(damaged / "history.duckdb", b"not a database")
    with pytest.raises(duckdb.IOException, match="history.duckdb"):
        Session(root_log_dir=damaged)
    assert (damaged / "history.duckdb").read_bytes() == b"not a database"
