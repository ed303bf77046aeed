"""``wl.log`` buffers its rows and hands them over in bulk; what a user can observe must not
change: every reader sees every value logged before it reads, in order, a refused call leaves
nothing behind, concurrent callers lose no row, and ``finish`` writes everything. Real session,
real files, real threads."""

from __future__ import annotations

import json
import math
import threading

import numpy as np
import pytest

import weightslab_nb as wl
from weightslab_nb.tracking.run import HISTORY_FILE, SUMMARY_FILE

WAIT = 60.0


def strict_lines(run) -> list[dict]:
    """The run's history file as strict JSON (a NaN or Infinity token fails the test)."""
    text = (run.dir / HISTORY_FILE).read_text()
    return [json.loads(line, parse_constant=lambda c: pytest.fail(f"non-JSON token {c}"))
            for line in text.splitlines()]


def api_rows(session, run) -> list[dict]:
    return list(wl.Api(root=session.root_log_dir).run(run.path).scan_history())


def test_every_reader_sees_every_value_at_once_in_order(session):
    run = wl.init()
    logged = []  # (step, key, value) in call order
    for i in range(300):  # plain numbers: the buffered fast path
        row = {"loss": 1.0 / (i + 1), "acc": i / 300}
        wl.log(row)
        logged += [(i, k, v) for k, v in row.items()]
    wl.log({"acc": 0.5, "loss": 0.25}, step=400)  # same keys in another order, explicit step
    logged += [(400, "acc", 0.5), (400, "loss", 0.25)]
    wl.log({"phase": "eval", "loss": 0.2})  # a string: the checked path, then plain again
    logged += [(401, "phase", "eval"), (401, "loss", 0.2)]
    wl.log({"epoch": 3, "flag": True})  # ints and bools are numbers
    logged += [(402, "epoch", 3.0), (402, "flag", 1.0)]

    # no flush, no wait: each read drains first
    assert run.summary["loss"] == 0.2 and run.summary["acc"] == 0.5
    assert run.summary.to_dict() == {"loss": 0.2, "acc": 0.5, "phase": "eval", "epoch": 3.0,
                                     "flag": 1.0}
    numbers = [(s, k, v) for s, k, v in logged if isinstance(v, float)]
    for key in ("loss", "acc", "epoch"):
        expected = [(s, v) for s, k, v in numbers if k == key]
        assert run.recent(key) == expected
        curve = session.global_series(key)
        assert list(zip(curve["step"].tolist(), curve["mean"].tolist())) == expected
    assert run.log_counts() == {"loss": 302, "acc": 301, "phase": 1, "epoch": 1, "flag": 1}
    frame = session.history_frame("global", signals=["acc"])
    assert frame["step"].tolist() == list(range(300)) + [400]
    rows = api_rows(session, run)  # the Api flushes the live run
    assert [r["_step"] for r in rows] == list(range(300)) + [400, 401, 402]
    flat = [(r["_step"], k, v) for r in rows for k, v in r.items() if not k.startswith("_")]
    assert sorted(flat, key=str) == sorted(logged, key=str)


def test_a_value_set_in_the_summary_replaces_values_logged_before(session):
    run = wl.init()
    for i in range(50):
        wl.log({"acc": i / 100})
    run.summary["acc"] = 0.99  # logged rows not drained yet must not overwrite it later
    assert run.summary["acc"] == 0.99
    run.flush()
    assert json.loads((run.dir / SUMMARY_FILE).read_text())["acc"] == 0.99
    wl.log({"acc": 0.1})
    assert run.summary["acc"] == 0.1


def test_a_refused_call_stores_nothing_and_takes_no_step(session):
    run = wl.init()
    wl.log({"a": 1.0, "b": 2.0})  # the keys become known: later calls take the fast path
    for bad, error, words in [({"a": 1.5, "b": object()}, TypeError, "'b'"),
                              ({"a": 1.5, "b": 10**400}, ValueError, r"'b'.*too large"),
                              ({"a": 1.5, "_b": 2.0}, ValueError, "keys"),
                              ({"a": 1.5, "b": np.array([1.0, 2.0]), "c": object()},
                               TypeError, "'c'")]:
        with pytest.raises(error, match=words):
            wl.log(bad)
    wl.log({"a": 3.0, "b": 4.0})
    assert run.recent("a") == [(0, 1.0), (1, 3.0)] and run.recent("c") is None
    assert session.global_series("a")["mean"].tolist() == [1.0, 3.0]
    assert run.summary.to_dict() == {"a": 3.0, "b": 4.0}
    assert [(r["_step"], r["a"], r["b"]) for r in api_rows(session, run)] == [
        (0, 1.0, 2.0), (1, 3.0, 4.0)]
    assert not (run.dir / "media").exists()  # the refused histogram was never written


def test_two_threads_logging_at_once_lose_no_row_while_readers_drain(session):
    run = wl.init()
    per_thread = 3000
    start = threading.Barrier(3)
    writers_done = threading.Event()
    errors = []

    def write(name: str) -> None:
        try:
            start.wait(WAIT)
            for i in range(per_thread):
                wl.log({f"{name}/x": float(i), f"{name}/y": -float(i)})
        except Exception as exc:  # reported below
            errors.append(exc)

    def read() -> None:  # drains concurrently with the writers: swap and pop paths
        try:
            start.wait(WAIT)
            while not writers_done.is_set():
                run.recent()
                session.global_series("t0/x")
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in ("t0", "t1")]
    reader = threading.Thread(target=read)
    for t in [*threads, reader]:
        t.start()
    for t in threads:
        t.join(WAIT)
    writers_done.set()
    reader.join(WAIT)
    assert not errors and not any(t.is_alive() for t in [*threads, reader])

    rows = api_rows(session, run)
    assert [r["_step"] for r in rows] == list(range(2 * per_thread))  # one step per call
    for name in ("t0", "t1"):
        mine = [r for r in rows if f"{name}/x" in r]
        assert [r[f"{name}/x"] for r in mine] == [float(i) for i in range(per_thread)]
        assert all(r[f"{name}/y"] == -r[f"{name}/x"] for r in mine)
        curve = session.global_series(f"{name}/x")
        assert curve["mean"].tolist() == [float(i) for i in range(per_thread)]
        assert curve["step"].tolist() == [r["_step"] for r in mine]
    assert run.log_counts() == {k: per_thread for k in ("t0/x", "t0/y", "t1/x", "t1/y")}


def test_finish_after_20k_rows_writes_every_row_as_strict_json(session):
    run = wl.init()
    n = 20_000
    rng = np.random.default_rng(0)
    values = rng.normal(size=(n, 4)) * 10.0 ** rng.integers(-8, 17, size=(n, 4))
    values[5, 1], values[6, 2], values[7, 3] = np.nan, np.inf, -np.inf
    values[8] = [1.0, -0.0, 1e16, 5e-324]  # numbers whose text form is easy to get wrong
    keys = ["a", "b", "c", "d"]
    for i in range(n):
        wl.log(dict(zip(keys, values[i].tolist())))
    wl.finish()
    rows = strict_lines(run)
    assert len(rows) == n and [r["_step"] for r in rows] == list(range(n))
    got = np.array([[np.nan if r[k] is None else r[k] for k in keys] for r in rows])
    finite = np.isfinite(values)
    assert np.array_equal(got[finite], values[finite])  # exactly: every digit kept
    assert np.isnan(got[~finite]).all()  # non-finite numbers are written as null
    assert all(type(r[k]) is float for r in rows for k in keys if r[k] is not None)
    assert math.copysign(1.0, rows[8]["b"]) == -1.0
    summary = json.loads((run.dir / SUMMARY_FILE).read_text())
    assert summary == dict(zip(keys, values[-1].tolist()))
    assert len(api_rows(session, run)) == n


def test_a_read_never_waits_for_a_log_call_writing_media(session):
    run = wl.init()
    wl.log({"loss": 0.5})
    started, release = threading.Event(), threading.Event()

    class SlowHtml(wl.Html):
        def to_json(self, run_dir, key, step):
            started.set()
            assert release.wait(WAIT)
            return super().to_json(run_dir, key, step)

    logger = threading.Thread(target=run.log, args=({"loss": 0.4, "page": SlowHtml("<b>")},))
    logger.start()
    try:
        assert started.wait(WAIT)
        # the log call holds the run's log lock while it writes its file: reads go on
        assert run.recent("loss") == [(0, 0.5)] and run.summary["loss"] == 0.5
        assert session.global_series("loss")["mean"].tolist() == [0.5]
    finally:
        release.set()
        logger.join(WAIT)
    assert run.recent("loss") == [(0, 0.5), (1, 0.4)]


def test_values_logged_during_an_evaluation_pass_stay_off_the_training_curves(session):
    run = wl.init()
    wl.log({"val/acc": 0.5})
    with session.recorder.capture() as captured:  # what an evaluation pass does
        wl.log({"val/acc": 0.7})
    assert session.global_series("val/acc")["mean"].tolist() == [0.5]
    assert captured.summary()["val/acc"][0] == 0.7
    assert run.recent("val/acc") == [(0, 0.5), (1, 0.7)]  # the run still has both rows


def test_curves_logged_by_a_run_come_back_when_the_experiment_is_reopened(make_session):
    first = make_session("reopen")
    wl.init()
    for i in range(100):
        wl.log({"val/loss": 1.0 / (i + 1)})
    first.close()
    again = make_session("reopen")
    curve = again.global_series("val/loss")
    assert curve["step"].tolist() == list(range(100))
    assert curve["mean"].tolist() == [1.0 / (i + 1) for i in range(100)]
