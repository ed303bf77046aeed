"""A DDP run under ``torchrun`` (2 ranks, gloo, CPU): disjoint shards, one history, a discard
from rank 0 honoured by both ranks from the next step on."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "ddp_digits.py"
EVAL_CHILD = Path(__file__).resolve().parent / "ddp_eval_child.py"
SAMPLES = 1797


def _torchrun(script: Path, *args, cwd: Path) -> subprocess.CompletedProcess:
    torchrun = shutil.which("torchrun") or f"{sys.executable} -m torch.distributed.run"
    cmd = [*torchrun.split(), "--standalone", "--nproc_per_node", "2", str(script), *args]
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("ddp")
    root = work / "run"
    done = _torchrun(EXAMPLE, "--root", str(root), "--epochs", "2", "--discard-at", "40",
                     cwd=work)
    line = next(x for x in done.stdout.splitlines() if "discarded" in x)
    discarded = ast.literal_eval(line.split("discarded ", 1)[1])
    con = duckdb.connect(str(root / "history.duckdb"), read_only=True)
    yield work, con, discarded
    con.close()


def _rows(con, sql):
    return con.execute(sql).fetchall()


def test_every_sample_is_trained_once_per_epoch_across_the_ranks(ddp_run):
    _, con, discarded = ddp_run
    # epoch 1 is steps 1-29 (29 global batches of 2 x 32); the discard came at step 40
    per_sample = _rows(con, """
        SELECT s.sample_id, count(*) FILTER (WHERE h.step <= 29), count(*) FILTER (WHERE
               h.step > 29)
        FROM sample_history h JOIN samples s USING (row) JOIN signals g ON g.id = h.signal
        WHERE g.name = 'train-loss' GROUP BY 1""")
    assert len(per_sample) == SAMPLES
    gone = {str(i) for i in discarded}
    assert all(first == 1 for _, first, _ in per_sample)
    assert all(second == 1 for sid, _, second in per_sample if sid not in gone)
    assert all(second <= 1 for sid, _, second in per_sample if sid in gone)


def test_one_curve_point_per_step_over_both_ranks_batches(ddp_run):
    _, con, _ = ddp_run
    points = _rows(con, """SELECT step, count FROM global_history h JOIN signals g
                           ON g.id = h.signal WHERE g.name = 'train-loss' ORDER BY step""")
    steps = [s for s, _ in points]
    assert steps == list(range(1, len(steps) + 1))  # one point per step, none missing
    assert sum(c for s, c in points if s <= 29) == SAMPLES  # epoch 1: 29 global batches
    assert all(c == 64 for s, c in points if s < 29)  # 2 ranks x 32


def test_a_discard_on_rank_0_reaches_both_ranks_at_the_same_step(ddp_run):
    _, con, discarded = ddp_run
    assert len(discarded) == 20
    ids = ", ".join(f"'{i}'" for i in discarded)
    # made after step 40's optimizer step: rank 0 relays it at the next boundary, every rank
    # applies it at the one after (the header travels during step 41), so from step 42 on
    late = _rows(con, f"""SELECT count(*) FROM sample_history h JOIN samples s USING (row)
                          WHERE s.sample_id IN ({ids}) AND h.step > 41""")
    assert late == [(0,)]


def test_only_the_hub_writes_files(ddp_run):
    work, _, _ = ddp_run
    assert sorted(p.name for p in work.iterdir()) == ["run"]  # no run directory of rank 1


def test_an_evaluation_requested_on_rank_0_holds_both_ranks_and_training_goes_on(tmp_path):
    done = _torchrun(EVAL_CHILD, str(tmp_path / "run"), cwd=tmp_path)
    assert "evaluation done 87" in done.stdout  # 3 epochs x 29 steps: both ranks went on
    con = duckdb.connect(str(tmp_path / "run" / "history.duckdb"), read_only=True)
    try:
        marker = "regexp_matches(e.hash, '_[0-9]+$')"  # evaluation markers: <hash>_<N>
        markers = con.execute(f"""SELECT h.step FROM global_history h
                                  JOIN experiments e ON e.id = h.exp WHERE {marker}""").fetchall()
        steps = con.execute(f"""SELECT count(DISTINCT h.step) FROM global_history h
                                JOIN signals g ON g.id = h.signal
                                JOIN experiments e ON e.id = h.exp
                                WHERE g.name = 'train-loss' AND NOT {marker}""").fetchone()[0]
    finally:
        con.close()
    assert markers and all(step in (30, 31, 32) for step, in markers)
    assert steps == 87
