"""Training control on a small watched loader: the background thread's lifecycle, pause gate,
stop, errors, and that nothing starts before it is asked for."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

import weightslab_nb as wl

REPO = Path(__file__).resolve().parents[2]
WAIT = 20.0  # generous upper bound for any wait on a thread; tests normally take milliseconds


@pytest.fixture
def loader(session, small_dataset):
    return session.watch_or_edit(small_dataset, flag="data", loader_name="train_loader",
                                 batch_size=4)  # 5 batches per epoch


def run_epochs(loader, epochs=1, on_batch=None):
    """An ordinary user loop; returns the number of batches it saw."""
    n = 0
    for _ in range(epochs):
        for _, _, ids in loader:
            n += 1
            if on_batch is not None:
                on_batch(n, ids)
    return n


def run_forever(loader, on_batch=None):
    n = 0
    while True:
        for _, _, ids in loader:
            n += 1
            if on_batch is not None:
                on_batch(n, ids)


def _threads(name):
    return [t for t in threading.enumerate() if t.name == name and t.is_alive()]


# ---------------------------------------------------------------- lifecycle
def test_a_new_session_is_idle(session):
    snap = session.controller.snapshot()
    assert snap == {"state": "idle", "step": 0, "epoch": 0, "steps_per_second": 0.0,
                    "error": None, "stop_reason": None, "pause_requested": False}


def test_start_training_returns_at_once_while_the_function_runs(session, loader):
    release = threading.Event()
    entered = threading.Event()

    def train():
        entered.set()
        assert release.wait(WAIT)
        return run_epochs(loader)

    handle = wl.start_training(train)
    assert entered.wait(WAIT)
    assert handle.state == "running" and handle.step == 0
    assert handle.thread.is_alive() and handle.thread is not threading.current_thread()
    release.set()
    assert handle.wait(WAIT)
    assert handle.state == "stopped" and handle.stop_reason == "completed"
    assert handle.result == 5 and handle.step == 5 and handle.epoch == 1
    assert handle.error is None


def test_arguments_are_passed_to_the_training_function(session, loader):
    handle = session.start_training(run_epochs, loader, epochs=3)
    assert handle.wait(WAIT)
    assert handle.result == 15 and handle.epoch == 3


def test_a_non_callable_is_a_type_error(session):
    with pytest.raises(TypeError, match="train_fn"):
        session.start_training("train.py")
    assert session.controller.state == "idle"


def test_a_second_start_while_running_is_a_runtime_error(session, loader):
    release = threading.Event()
    handle = session.start_training(lambda: release.wait(WAIT) and run_epochs(loader))
    with pytest.raises(RuntimeError, match="already"):
        session.start_training(run_epochs, loader)
    assert handle.state == "running"
    release.set()
    assert handle.wait(WAIT)
    assert handle.result == 5  # the first run was not disturbed


def test_training_can_start_again_after_a_run_ended(session, loader):
    first = session.start_training(run_forever, loader)
    assert first.wait_for_step(3, WAIT)
    assert first.stop(WAIT)
    assert first.stop_reason == "requested"
    second = session.start_training(run_epochs, loader, epochs=2)
    assert second.wait(WAIT)
    assert second.stop_reason == "completed" and second.result == 10
    assert second.error is None


def test_wait_for_step_returns_false_at_once_when_training_ends_first(session, loader):
    handle = session.start_training(run_epochs, loader)
    t0 = time.monotonic()
    assert not handle.wait_for_step(1000, timeout=WAIT)
    assert time.monotonic() - t0 < WAIT / 2
    assert handle.state == "stopped"


# ---------------------------------------------------------------- pause, resume, stop
def held_at(batch, seen):
    """An ``on_batch`` that records each batch number in ``seen`` and holds the training thread
    inside batch ``batch`` (between two batches: the loader has yielded it, the loop has not
    asked for the next one) until ``release`` is set; ``inside`` says it got there."""
    inside, release = threading.Event(), threading.Event()

    def on_batch(n, ids):
        seen.append(n)
        if n == batch:
            inside.set()
            assert release.wait(WAIT)

    return on_batch, inside, release


def test_a_pause_requested_between_batches_holds_at_the_next_boundary_and_resume_continues(
        session, loader):
    seen = []
    on_batch, inside, release = held_at(3, seen)
    handle = session.start_training(run_forever, loader, on_batch)
    assert inside.wait(WAIT)  # between batches 3 and 4
    handle.pause()
    assert handle.state == "running" and session.controller.snapshot()["pause_requested"]
    release.set()
    assert handle.wait_paused(WAIT)
    assert handle.state == "paused"
    assert handle.step == 3 and seen == [1, 2, 3]  # held before batch 4 was drawn
    assert session.controller.snapshot()["pause_requested"]
    assert handle.steps_per_second == 0.0
    assert not handle.wait_for_step(4, timeout=0.3)  # a timed wait: nothing moves
    assert handle.step == 3 and seen == [1, 2, 3]

    handle.resume()
    assert handle.wait_for_step(6, WAIT)
    assert handle.state == "running"
    assert handle.stop(WAIT)
    assert seen == list(range(1, handle.step + 1))  # resumed with batch 4, none skipped


def test_stop_ends_a_running_run_at_the_next_batch(session, loader):
    seen = []
    on_batch, inside, release = held_at(2, seen)
    handle = session.start_training(run_forever, loader, on_batch)
    assert inside.wait(WAIT)  # between batches 2 and 3
    session.controller.stop()
    release.set()
    assert handle.wait(WAIT)
    assert not handle.thread.is_alive()
    assert handle.state == "stopped" and handle.stop_reason == "requested"
    assert seen == [1, 2] and handle.step == 2  # batch 3 was never drawn
    assert handle.result is None


def test_stop_ends_a_paused_run_at_once(session, loader):
    handle = session.start_training(run_forever, loader)
    assert handle.wait_for_step(1, WAIT)
    handle.pause()
    assert handle.wait_paused(WAIT) and handle.state == "paused"
    held = handle.step
    assert handle.stop(WAIT)
    assert handle.state == "stopped" and handle.stop_reason == "requested"
    assert handle.step == held


def test_session_close_stops_training_and_the_history_writer(make_session, small_dataset):
    s = make_session("closing")
    loader = s.watch_or_edit(small_dataset, flag="data", loader_name="train_loader",
                             batch_size=4)

    def train():
        for n in range(10**9):
            for _, _, ids in loader:
                s.save_signals({"loss": [1.0] * len(ids)}, ids)

    handle = s.start_training(train)
    assert handle.wait_for_step(3, WAIT)
    s.close()
    assert not handle.thread.is_alive()
    assert handle.stop_reason == "requested"
    assert s.history.path.is_file()
    assert s.recorder._thread is not None and not s.recorder._thread.is_alive()
    assert not _threads("wl-recorder")


def test_a_stop_honoured_during_a_run_does_not_stop_a_later_loop(session, loader):
    handle = session.start_training(run_forever, loader)
    assert handle.wait_for_step(2, WAIT)
    assert handle.stop(WAIT) and handle.stop_reason == "requested"
    assert run_epochs(loader) == 5  # the user's next loop, in the main thread, runs whole


def test_stopping_a_run_that_already_ended_does_not_stop_the_next_loop(session, loader):
    handle = session.start_training(run_epochs, loader)
    assert handle.wait(WAIT) and handle.stop_reason == "completed"
    assert handle.stop(WAIT)  # nothing left to stop
    assert handle.stop_reason == "completed"
    assert run_epochs(loader) == 5


# ---------------------------------------------------------------- errors surface
def test_an_exception_in_training_is_kept_shown_and_logged(session, loader, caplog):
    def train():
        for n, _ in enumerate(loader, start=1):
            if n == 3:
                raise ZeroDivisionError("bad batch 3")

    caplog.set_level(logging.ERROR)
    handle = session.start_training(train)
    assert handle.wait(WAIT)
    assert handle.state == "error"
    assert isinstance(handle.error, ZeroDivisionError)
    assert session.controller.snapshot()["error"] == "ZeroDivisionError: bad batch 3"
    assert "bad batch 3" in handle.traceback and "train" in handle.traceback
    assert "bad batch 3" in caplog.text
    assert handle.stop_reason is None
    with pytest.raises(ZeroDivisionError, match="bad batch 3"):
        handle.raise_error()
    assert "error" in repr(handle) and "bad batch 3" in repr(handle)


def test_an_error_is_cleared_when_training_starts_again(session, loader):
    failed = session.start_training(lambda: 1 / 0)
    assert failed.wait(WAIT) and failed.state == "error"
    ok = session.start_training(run_epochs, loader)
    assert ok.wait(WAIT)
    assert ok.state == "stopped" and ok.error is None
    assert session.controller.snapshot()["error"] is None


# ---------------------------------------------------------------- nothing starts by itself
def _run_python(code: str, cwd: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_importing_the_package_starts_no_thread_imports_no_torch_and_writes_no_file(tmp_path):
    result = _run_python("""
        import json, sys, threading
        before = threading.active_count()
        import weightslab_nb as wl
        print(json.dumps({"new_threads": threading.active_count() - before,
                          "torch": "torch" in sys.modules,
                          "file": wl.__file__}))
    """, tmp_path)
    assert result["new_threads"] == 0
    assert result["torch"] is False
    assert Path(result["file"]).resolve().is_relative_to(REPO)
    assert os.listdir(tmp_path) == []


def test_a_default_session_writes_nothing_until_a_value_is_recorded(tmp_path):
    result = _run_python("""
        import json, os, threading
        import weightslab_nb as wl
        s = wl.current_session()
        quiet = {"threads": threading.active_count(), "files": os.listdir(".")}
        s.save_signals({"loss": [1.0]}, [0])
        s.close()
        print(json.dumps({**quiet, "dir": str(s.root_log_dir)}))
    """, tmp_path)
    assert result["threads"] == 1 and result["files"] == []
    run_dir = Path(result["dir"])
    assert run_dir.parent == tmp_path / "weightslab_runs"
    assert (run_dir / "history.duckdb").is_file()
