"""Agents run a sweep's trials as runs: each grid point once however many agents (threads or
processes) share the study, pruned trials end as "pruned", the best run is the one with the
best summary metric, and a sweep goes on after an agent process was killed mid-trial without
repeating finished trials (real Optuna, real SQLite and run files in tmp_path)."""

from __future__ import annotations

import itertools
import json
import signal
import subprocess
import sys
import threading

import pytest

import weightslab_nb as wl
from tests.children import child_env
from weightslab_nb.tracking.run import RUN_FILE

GRID = {"method": "grid", "metric": {"name": "loss"},
        "parameters": {"a": {"values": [1, 2, 3, 4]}, "opt": {"parameters": {
            "b": {"values": ["x", "y"]}}}}}
ALL_POINTS = {(a, b) for a, b in itertools.product([1, 2, 3, 4], ["x", "y"])}
WAIT = 60.0


def point(config) -> tuple:
    return config["a"], config["opt"]["b"]


def finished_points(api_sweep) -> list[tuple]:
    return sorted(point(r.config) for r in api_sweep.runs if r.state == "finished")


def test_one_agent_runs_each_grid_point_once_and_the_runs_belong_to_the_sweep(session):
    sweep_id = wl.sweep(GRID, project="grid")

    def train():
        run = wl.init()
        wl.log({"loss": run.config["a"] + (0.5 if run.config["opt"]["b"] == "y" else 0)})

    assert wl.agent(sweep_id, train) == 8
    assert wl.agent(sweep_id, train) == 0  # the sweep is done: a new agent runs nothing
    sweep = wl.Api().sweep(f"grid/{sweep_id}")
    assert finished_points(sweep) == sorted(ALL_POINTS)
    assert sweep.state == "finished" and sweep.expected_run_count == 8
    assert sweep.name == sweep_id and sweep.config == GRID and sweep.url.startswith("file://")
    run = sweep.runs[0]
    meta = json.loads((run.dir / RUN_FILE).read_text())
    assert meta["sweep"] == sweep_id and run.project == "grid"
    assert run.sweep.id == sweep_id and run.sweep.path == f"grid/{sweep_id}"
    assert len(wl.Api().runs(filters={"sweep": sweep_id})) == 8


def test_two_agent_threads_share_a_grid_without_repeating_a_point(make_session, tmp_path):
    root = tmp_path / "sweep-root"
    sweep_id = wl.sweep(GRID, dir=root)
    both_inside = threading.Barrier(2, timeout=WAIT)  # both agents are mid-trial at once
    ran: dict[str, int] = {}

    def agent_thread(name):
        session = make_session(name)
        first = [True]

        def train():
            run = wl.init(session=session)
            if first[0]:
                first[0] = False
                both_inside.wait()
            wl.log({"loss": float(run.config["a"])}, session=session)

        ran[name] = wl.agent(sweep_id, train, dir=root, session=session)

    threads = [threading.Thread(target=agent_thread, args=(n,)) for n in ("a1", "a2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT)
    assert not any(t.is_alive() for t in threads)
    assert sum(ran.values()) == 8 and min(ran.values()) >= 1, ran
    sweep = wl.Api(root=tmp_path).sweep(sweep_id)
    assert finished_points(sweep) == sorted(ALL_POINTS)  # each point once, none missing


CHILD = """
import sys
import weightslab_nb as wl
root, sweep_id, name, mode = sys.argv[1:]
session = wl.Session(root_log_dir=root + "/" + name)
done = 0

def train():
    global done
    run = wl.init(session=session)
    if mode == "hang" and done == 1:  # the second trial: tell the parent, then wait forever
        print("mid-trial", flush=True)
        sys.stdin.readline()
    wl.log({"loss": float(run.config["a"])}, session=session)
    done += 1

print("ran", wl.agent(sweep_id, train, dir=root, session=session), flush=True)
session.close()
"""


def start_child(root, sweep_id, name, mode="run"):
    return subprocess.Popen([sys.executable, "-c", CHILD, str(root), sweep_id, name, mode],
                            env=child_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_two_agent_processes_share_a_grid_without_repeating_a_point(tmp_path):
    sweep_id = wl.sweep(GRID, dir=tmp_path)
    children = [start_child(tmp_path, sweep_id, n) for n in ("p1", "p2")]
    outputs = [c.communicate(timeout=WAIT) for c in children]
    assert [c.returncode for c in children] == [0, 0], [o[1][-2000:] for o in outputs]
    ran = [int(o[0].split()[-1]) for o in outputs]
    assert sum(ran) == 8
    assert finished_points(wl.Api(root=tmp_path).sweep(sweep_id)) == sorted(ALL_POINTS)


def test_a_sweep_resumed_after_its_agent_was_killed_mid_trial_repeats_no_finished_trial(
        tmp_path, make_session):
    sweep_id = wl.sweep(GRID, dir=tmp_path)
    child = start_child(tmp_path, sweep_id, "killed", mode="hang")
    line = child.stdout.readline()  # the child finished one trial and is inside the second
    assert line.strip() == "mid-trial", child.stderr.read()[-2000:]
    child.send_signal(signal.SIGKILL)
    child.wait(WAIT)
    api = wl.Api(root=tmp_path)
    before = {r.state: r for r in api.sweep(sweep_id).runs}
    assert sorted(before) == ["finished", "running"]  # as the kill left them
    done_first, killed = point(before["finished"].config), point(before["running"].config)

    session = make_session("resumed")
    seen = []

    def train():
        run = wl.init(session=session)
        seen.append(point(run.config))
        wl.log({"loss": float(run.config["a"])}, session=session)

    assert wl.agent(sweep_id, train, dir=tmp_path, session=session) == 7
    assert seen[0] == killed  # the killed trial's parameters run first, again
    assert done_first not in seen and sorted(seen) == sorted(ALL_POINTS - {done_first})
    assert finished_points(api.sweep(sweep_id)) == sorted(ALL_POINTS)


PRUNED = {"method": "grid", "metric": {"name": "loss", "goal": "minimize"},
          "parameters": {"k": {"values": [0, 1, 2, 3]}},
          "early_terminate": {"type": "hyperband", "min_iter": 1, "max_iter": 2, "eta": 3}}


def test_hyperband_prunes_worse_trials_and_their_runs_end_as_pruned(session):
    sweep_id = wl.sweep(PRUNED)
    reached = []

    def train():
        run = wl.init()
        loss = 0.1 if not reached else 1.0  # the first trial is the best one
        for step in range(1, 4):
            wl.log({"loss": loss + step * 0.01}, step=step)
            reached.append((run.id, step))

    assert wl.agent(sweep_id, train) == 4
    runs = sorted(wl.Api().sweep(sweep_id).runs, key=lambda r: r.state)
    assert [r.state for r in runs] == ["finished", "pruned", "pruned", "pruned"]
    for run in runs[1:]:  # stopped by the log call of step 1: nothing after it ran
        assert [s for rid, s in reached if rid == run.id] == []
        assert [row["_step"] for row in run.scan_history()] == [1]
        assert run.summary["loss"] == pytest.approx(1.01)
    assert [s for rid, s in reached if rid == runs[0].id] == [1, 2, 3]


@pytest.mark.parametrize("goal,key,sign", [("minimize", "loss", 1.0), ("maximize", "acc", -1.0)])
def test_best_run_is_the_trial_with_the_best_summary_metric(session, goal, key, sign):
    config = {"method": "random", "run_cap": 6, "metric": {"name": key, "goal": goal},
              "parameters": {"x": {"min": -2.0, "max": 2.0}}}
    sweep_id = wl.sweep(config)

    def train():
        run = wl.init()
        wl.log({key: 5.0})  # an early value the summary's last value replaces
        wl.log({key: sign * (run.config["x"] - 0.5) ** 2})

    assert wl.agent(sweep_id, train) == 6
    sweep = wl.Api().sweep(sweep_id)
    assert sweep.state == "finished" and len(sweep.runs) == 6
    values = {r.id: r.summary[key] for r in sweep.runs}
    best = (min if goal == "minimize" else max)(values, key=values.get)
    assert sweep.best_run().id == best
    assert abs(sweep.best_run().config["x"] - 0.5) == min(abs(r.config["x"] - 0.5)
                                                         for r in sweep.runs)
    worst = sweep.best_run(order=("-" if goal == "minimize" else "+") + f"summary_metrics.{key}")
    assert worst.id == (max if goal == "minimize" else min)(values, key=values.get)


def test_a_trial_whose_function_raises_fails_and_the_agent_goes_on(session):
    sweep_id = wl.sweep({"method": "grid", "metric": {"name": "loss"},
                         "parameters": {"a": {"values": [1, 2, 3]}}})

    def train():
        run = wl.init()
        if run.config["a"] == 2:
            raise RuntimeError("diverged")
        wl.log({"loss": 1.0})

    assert wl.agent(sweep_id, train) == 3
    states = sorted((r.config["a"], r.state) for r in wl.Api().sweep(sweep_id).runs)
    assert states == [(1, "finished"), (2, "failed"), (3, "finished")]


def test_agent_refuses_bad_arguments(session):
    sweep_id = wl.sweep(GRID)
    with pytest.raises(TypeError, match="function: expected a callable"):
        wl.agent(sweep_id, "train")
    with pytest.raises(ValueError, match="count"):
        wl.agent(sweep_id, lambda: None, count=0)
    with pytest.raises(KeyError, match="no sweep 'nosuch'"):
        wl.agent("nosuch", lambda: None)


def test_an_interrupted_agent_leaves_its_trial_to_the_next_agent(session):
    sweep_id = wl.sweep({"method": "grid", "metric": {"name": "loss"},
                         "parameters": {"a": {"values": [1, 2, 3]}}})
    interrupted = []

    def stop_at_once():
        interrupted.append(wl.init().config["a"])
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        wl.agent(sweep_id, stop_at_once)
    seen = []

    def train():
        seen.append(wl.init().config["a"])
        wl.log({"loss": 1.0})

    assert wl.agent(sweep_id, train) == 3
    assert seen[0] == interrupted[0] and sorted(seen) == [1, 2, 3]
    states = sorted((r.config["a"], r.state) for r in wl.Api().sweep(sweep_id).runs)
    assert states.count((interrupted[0], "failed")) == 1 and len(states) == 4


@pytest.mark.parametrize("then", ["stop", "resume"])
def test_a_background_agent_pauses_and_stops_between_trials(session, then):
    sweep_id = wl.sweep({"method": "grid", "metric": {"name": "loss"},
                         "parameters": {"a": {"values": [1, 2, 3]}}})
    started, go = threading.Event(), threading.Event()

    def train():
        wl.init()
        started.set()
        assert go.wait(WAIT)
        wl.log({"loss": 1.0})

    bg = wl.agent(sweep_id, train, background=True)
    assert started.wait(WAIT) and bg.running  # the caller's thread is free meanwhile
    bg.pause()  # the trial in progress runs to its end; no new one starts
    go.set()
    getattr(bg, then)()
    if then == "resume":
        assert bg.join(WAIT) and bg.trials_run == 3 and bg.error is None
    else:
        assert bg.join(WAIT) and bg.trials_run == 1
    runs = wl.Api().sweep(sweep_id).runs
    assert len(runs) == bg.trials_run and all(r.state == "finished" for r in runs)


def test_an_agent_elsewhere_joins_the_sweep_through_its_storage_url(tmp_path, make_session):
    url = f"sqlite:///{tmp_path / 'server' / 'studies.db'}"
    (tmp_path / "server").mkdir()
    sweep_id = wl.sweep(GRID, dir=tmp_path / "creator", storage=url, project="shared")
    sweep = wl.Api(root=tmp_path / "creator").sweep(sweep_id)
    assert sweep.storage == url and not (tmp_path / "creator" / "sweeps" / sweep_id /
                                         "study.db").exists()
    other = make_session("other-machine")  # knows the id and the URL, not the sweep's folder

    def train():
        run = wl.init(session=other)
        wl.log({"loss": float(run.config["a"])}, session=other)

    assert wl.agent(f"shared/{sweep_id}", train, count=3, dir=tmp_path / "other-machine",
                    storage=url, session=other) == 3
    runs = wl.Api(root=tmp_path / "other-machine").runs(filters={"sweep": sweep_id})
    assert len(runs) == 3 and all(r.project == "shared" for r in runs)
    assert wl.Api(root=tmp_path).sweep(sweep_id).state == "pending"  # 5 points left
    with pytest.raises(KeyError, match="not a sweep of project 'other'"):
        wl.agent(f"other/{sweep_id}", train, storage=url, session=other)


def test_a_second_agent_on_the_same_session_is_refused_instead_of_cutting_a_trial_short(
        session):
    # two agents whose trials log to one session would finish each other's runs: the second
    # trial's wl.init is refused (that trial fails) and the first trial runs to its end
    sweep_id = wl.sweep(GRID, project="shared")
    inside, release = threading.Event(), threading.Event()
    refused: list[Exception] = []

    def slow():
        run = wl.init()
        inside.set()
        assert release.wait(WAIT)
        wl.log({"loss": float(run.config["a"])})

    def second():
        try:
            wl.init()
        except wl.errors.StateError as exc:
            refused.append(exc)
            raise

    bg = wl.agent(sweep_id, slow, count=1, background=True)
    assert inside.wait(WAIT)
    assert wl.agent(sweep_id, second, count=1) == 1
    release.set()
    assert bg.join(WAIT) and bg.error is None
    assert len(refused) == 1 and "its own Session" in str(refused[0])
    runs = wl.Api().sweep(f"shared/{sweep_id}").runs
    assert [(r.state, r.summary.get("loss")) for r in runs] == \
        [("finished", float(runs[0].config["a"]))]
