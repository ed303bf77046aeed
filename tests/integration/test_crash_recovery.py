"""kill -9 a training process that edits samples, at random moments and at each crash point;
the reopened run is whole, keeps every edit older than 0.5 s and all but <= 1 s of history.

The children are forks of one ``crash_child.py --serve`` process (it imports torch once), so the
20 random kills and the crash points fit in about a minute on 2 cores. Every check reads the
same trials (run once per module). A summary of what was measured is printed (``-s``) and kept
in ``FIGURES``.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from tests.children import child_env
from weightslab_nb.experiment import clean_leftovers
from weightslab_nb.session import Session

CHILD = Path(__file__).with_name("crash_child.py")
TRIALS = 20
SEED = 20240
EDIT_GRACE_S = 0.5      # an edit reported longer ago than this must survive
HISTORY_GRACE_S = 1.0   # history older than this must survive
CRASH_POINTS = ["snapshot.mid-write", "snapshot.before-publish", "checkpoint.mid-write",
                "checkpoint.before-publish", "journal.mid-append", "journal.after-append"]
JOURNAL_POINTS = {"journal.mid-append", "journal.after-append"}
FIGURES: dict = {}
pytestmark = pytest.mark.timeout(240)  # the whole module runs in about 50 s on 2 cores


@dataclass
class Trial:
    """What one child reported, how it ended, and what the reopened run holds."""

    name: str
    root: Path
    crash_at: str | None = None
    edits: list = field(default_factory=list)      # (t reported or None if in flight, edit)
    steps: list = field(default_factory=list)      # (t, step)
    killed_at: float | None = None                 # monotonic time of the kill (or exit)
    exit_code: int | None = None                   # signal number, or -exit status
    finished: bool = False                         # it printed "done" (clean close)
    leftovers_before: list = field(default_factory=list)
    reopen_error: str | None = None
    state: dict = field(default_factory=dict)      # (cell) -> value after reopening
    rows: int = 0                                  # rows restored before watching again
    last_history_step: int = 0
    leftovers_after: list = field(default_factory=list)


class Server:
    """The fork server: one run at a time, its lines read as they come."""

    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, str(CHILD), "--serve"], env=child_env(),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     bufsize=1)
        assert self.proc.stdout.readline() == "serving\n"

    def run(self, trial: Trial, seconds: float, kill_after: float | None, seed: int) -> None:
        """Run a child; kill it once a line it printed is ``kill_after`` s past its ready."""
        command = {"root": str(trial.root), "seed": seed, "seconds": seconds, "edit_every": 5,
                   "checkpoint_every": 25, "crash_at": trial.crash_at}
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        pid = ready = None
        for line in self.proc.stdout:
            kind, _, rest = line.rstrip("\n").partition(" ")
            if kind == "exit":
                _, code, t = rest.split()
                trial.exit_code = int(code)
                trial.killed_at = trial.killed_at or float(t)
                return
            if kind == "pid":
                pid = int(rest)
            elif kind == "ready":
                ready = float(rest)
            elif kind == "step":
                t, step = rest.split()
                trial.steps.append((float(t), int(step)))
            elif kind == "begin":
                trial.edits.append([None, json.loads(rest)])
            elif kind == "edit":
                t, edit = rest.split(" ", 1)
                assert trial.edits and trial.edits[-1][1] == json.loads(edit)
                trial.edits[-1][0] = float(t)
            elif kind == "done":
                trial.finished = True
            if (kill_after is not None and trial.killed_at is None and ready is not None
                    and kind in ("step", "edit") and float(rest.split()[0]) >= ready + kill_after):
                trial.killed_at = time.monotonic()
                os.kill(pid, signal.SIGKILL)  # lines it printed before dying still count
        raise AssertionError(f"the fork server ended during {trial.name}")

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def reopen(trial: Trial, digits) -> None:
    """Open the run in this process and watch the same data again, as a user would, then read
    what it holds. (Watching registers the samples when the run was killed before its first
    history flush had written them; edits kept for them apply from then on.)"""
    trial.leftovers_before = _leftovers(trial.root)
    try:
        session = Session(root_log_dir=trial.root)
    except Exception as error:  # noqa: BLE001  (a corrupted reopen is what we measure)
        trial.reopen_error = f"{type(error).__name__}: {error}"
        return
    try:
        trial.rows = len(session.table)
        session.watch_or_edit(digits, flag="data", loader_name="train_loader", batch_size=32,
                              shuffle=True, seed=0)
        frame = session.dataframe
        assert len(frame) == 1797, len(frame)
        ids = frame.index.get_level_values("sample_id")
        for column, kind in (("tag:flagged", "tag"), ("discarded", "discard"),
                             ("tag:quality", "categorical")):
            if column not in frame:
                continue
            values = frame[column].astype(object).where(frame[column].notna(), None)
            trial.state.update({(int(i), kind): v for i, v in zip(ids, values)})
        names = session.global_signal_names()
        steps = session.global_series("train-loss")["step"] if "train-loss" in names else []
        trial.last_history_step = int(np.max(steps)) if len(steps) else 0
    except Exception as error:  # noqa: BLE001
        trial.reopen_error = f"{type(error).__name__}: {error}"
    finally:
        session.close()
    trial.leftovers_after = _leftovers(trial.root)


def _leftovers(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob(".*.tmp"))


# ------------------------------------------------------------------ what an edit means
def cell_values(edit: dict) -> dict:
    """``{(sample_id, kind): value}`` the edit sets."""
    op = edit["op"]
    kind, value = {"tag": ("tag", True), "untag": ("tag", False), "discard": ("discard", True),
                   "restore": ("discard", False)}.get(op, ("categorical", edit.get("value")))
    return {(i, kind): value for i in edit["ids"]}


def lost_edits(trial: Trial) -> list[tuple[float, dict]]:
    """Reported edits whose effect is not in the reopened run: ``(age at the kill, edit)``.

    An edit survived if each cell it set holds its value or the value of a later edit of that
    cell (reported or in flight: a later one may have reached the disk too).
    """
    lost = []
    for index, (t, edit) in enumerate(trial.edits):
        if t is None:
            continue
        for cell, value in cell_values(edit).items():
            later = [cell_values(e)[cell] for _, e in trial.edits[index + 1:]
                     if cell in cell_values(e)]
            if _state_of(trial, cell) not in [value, *later]:
                lost.append((trial.killed_at - t, edit))
                break
    return lost


def _state_of(trial: Trial, cell):
    default = {"tag": False, "discard": False, "categorical": None}[cell[1]]
    value = trial.state.get(cell, default)
    return bool(value) if cell[1] != "categorical" else value


def history_lost_s(trial: Trial) -> float:
    """Seconds of reported steps missing from the reopened history (kill time minus the time
    the first missing step was reported; 0 when none is missing)."""
    missing = [t for t, step in trial.steps if step > trial.last_history_step]
    return max(0.0, trial.killed_at - min(missing)) if missing else 0.0


# ------------------------------------------------------------------ the trials
@pytest.fixture(scope="module")
def trials(tmp_path_factory, digits) -> dict[str, Trial]:
    """20 random kills, one crash per point and one clean run, each reopened."""
    base = tmp_path_factory.mktemp("crash")
    rng = random.Random(SEED)
    server = Server()
    done: dict[str, Trial] = {}
    try:
        clean = Trial("clean", base / "clean")
        server.run(clean, seconds=1.0, kill_after=None, seed=0)
        done["clean"] = clean
        for i in range(TRIALS):
            trial = Trial(f"kill-{i}", base / f"kill-{i}")
            server.run(trial, seconds=30.0, kill_after=rng.uniform(0.2, 1.8), seed=i)
            done[trial.name] = trial
        for point in CRASH_POINTS:
            trial = Trial(point, base / point, crash_at=point)
            server.run(trial, seconds=2.0, kill_after=None, seed=100)
            done[point] = trial
    finally:
        server.close()
    for trial in done.values():
        reopen(trial, digits)
    _record_figures(done)
    return done


def _record_figures(done: dict[str, Trial]) -> None:
    killed = [t for t in done.values() if t.name != "clean" and not t.finished]
    ages = [age for t in killed for age, _ in lost_edits(t)]
    FIGURES.update({
        "trials killed": len(killed),
        "edits reported": sum(1 for t in killed for e in t.edits if e[0] is not None),
        "edits lost": len(ages),
        "edits lost older than 0.5 s": sum(a > EDIT_GRACE_S for a in ages),
        "oldest lost edit age (s)": round(max(ages), 3) if ages else None,
        "trials reopened without samples (killed before the first flush)": sum(
            t.rows == 0 for t in killed),
        "trials losing an edit older than 0.5 s": sum(
            any(a > EDIT_GRACE_S for a, _ in lost_edits(t)) for t in killed),
        "history lost (s), max": round(max(history_lost_s(t) for t in killed), 3),
        "history lost (s), mean": round(float(np.mean([history_lost_s(t) for t in killed])), 3),
        "reopen errors": {t.name: t.reopen_error for t in done.values() if t.reopen_error},
        "leftovers after reopen": {t.name: t.leftovers_after for t in done.values()
                                   if t.leftovers_after},
    })
    print("\ncrash-recovery figures:", json.dumps(FIGURES, indent=1))


# ------------------------------------------------------------------ checks
def test_the_harness_loses_nothing_from_a_cleanly_closed_child(trials):
    clean = trials["clean"]
    assert clean.finished and clean.exit_code == 0 and clean.reopen_error is None
    assert len([e for e in clean.edits if e[0] is not None]) > 10
    assert lost_edits(clean) == []
    assert clean.last_history_step == clean.steps[-1][1]


def test_every_child_was_killed_where_it_was_meant_to_be(trials):
    for name, trial in trials.items():
        if name == "clean":
            continue
        assert trial.exit_code == signal.SIGKILL and not trial.finished, name


def test_the_journal_crash_points_are_reached(trials):
    for point in JOURNAL_POINTS:
        assert trials[point].exit_code == signal.SIGKILL, point


def test_a_killed_run_always_reopens(trials):
    for name, trial in trials.items():
        assert trial.reopen_error is None, (name, trial.reopen_error)
        # the samples are restored all or none: all once a history flush wrote them with the
        # first steps, none when the child died before its first flush
        assert trial.rows == (1797 if trial.last_history_step > 0 else 0), \
            (name, trial.rows, trial.last_history_step)
    assert trials["clean"].rows == 1797


def test_at_most_the_last_second_of_history_is_lost(trials):
    for name, trial in trials.items():
        assert history_lost_s(trial) <= HISTORY_GRACE_S, (name, trial.last_history_step)


def test_every_edit_older_than_half_a_second_survives_a_kill(trials):
    for name, trial in trials.items():
        old = [(round(age, 3), edit) for age, edit in lost_edits(trial) if age > EDIT_GRACE_S]
        assert old == [], (name, old[:3])


def test_clean_leftovers_removes_what_interrupted_writes_left(trials):
    for trial in trials.values():
        removed = clean_leftovers(trial.root)
        assert sorted(str(p.relative_to(trial.root)) for p in removed) == trial.leftovers_after
        assert _leftovers(trial.root) == []
    # (a checkpoint being written by the training thread at that moment may be left too)
    snapshot = trials["snapshot.before-publish"].leftovers_before
    assert any(Path(p).name.startswith(".ledger.parquet.") for p in snapshot), snapshot
    checkpoint = trials["checkpoint.mid-write"].leftovers_before
    assert any(Path(p).name.startswith(".step_25.pt.") for p in checkpoint), checkpoint


def test_reopening_a_run_removes_the_leftovers_of_interrupted_writes(trials):
    assert trials["snapshot.before-publish"].leftovers_before
    for name, trial in trials.items():
        assert trial.leftovers_after == [], name
