"""``wl.log``'s fast paths (floats under the keys of the call before; one-value tensors, numpy
scalars and ints converted per value; an explicit step) store exactly what the checked path
stores: the same history, summary, recent values, log counts and curves. Real sessions, real
files."""

from __future__ import annotations

import logging
import types

import numpy as np
import pytest
import torch

import weightslab_nb as wl


def calls() -> list[dict]:
    """Calls that switch keys, key order and value kinds, each logged twice in a row (the
    second call finds its keys known)."""
    once = [
        {"loss": 0.5, "acc": 0.1},
        {"acc": 0.3, "loss": 0.3},  # the same keys in another order
        {"loss": torch.tensor(0.25), "acc": 0.35},  # a tensor among floats
        {"loss": 0.2, "acc": 0.4},  # floats again under keys that held a tensor
        {"loss": torch.tensor(0.2, dtype=torch.float16), "lr": 1e-3},
        {"loss": torch.tensor(0.15, dtype=torch.bfloat16), "lr": 1e-3},
        {"n": torch.tensor(7), "flag": torch.tensor(True), "lr": 2},  # int, bool, int
        {"n": np.int64(8), "flag": np.bool_(False), "lr": np.float32(0.5)},
        {"loss": float("nan"), "acc": float("inf")},  # non-finite: null, no curve point
        {"loss": torch.tensor(float("-inf")), "acc": 0.45},
        {"w": torch.ones(1, 1) * 3},  # one value in a [1, 1] tensor
        {"loss": 0.1, "acc": 0.5},
    ]
    return [row for row in once for _ in range(2)]


def observe(session, run) -> dict:
    """What a user can read back: history rows (without clock times), summary, recent values,
    log counts and every curve."""
    rows = [{k: v for k, v in r.items() if k not in ("_timestamp", "_runtime")}
            for r in wl.Api(root=session.root_log_dir).run(run.path).scan_history()]
    keys = sorted({k for r in rows for k in r if not k.startswith("_")})
    curves = {k: (session.global_series(k)["step"].tolist(),
                  session.global_series(k)["mean"].tolist()) for k in keys}
    return {"rows": rows, "summary": repr(run.summary.to_dict()), "recent": repr(run.recent()),
            "counts": run.log_counts(), "curves": curves}


def test_the_fast_paths_store_what_the_checked_path_stores(make_session):
    fast_session = make_session("fast")
    fast = wl.init(session=fast_session)
    for row in calls():
        fast.log(row)
    got = observe(fast_session, fast)
    checked_session = make_session("checked")
    checked = wl.init(session=checked_session)
    for row in calls():  # not a dict: every call takes the checked path
        checked.log(types.MappingProxyType(row))
    expected = observe(checked_session, checked)
    assert got == expected
    by_step = {r["_step"]: r for r in got["rows"]}
    assert by_step[8]["loss"] == torch.tensor(0.2, dtype=torch.float16).item() != 0.2
    assert by_step[10]["loss"] == torch.tensor(0.15, dtype=torch.bfloat16).item()
    assert (by_step[12]["n"], by_step[12]["flag"], by_step[14]["flag"]) == (7.0, 1.0, 0.0)
    assert by_step[16]["loss"] is None and by_step[16]["acc"] is None  # strict JSON
    assert by_step[18]["loss"] is None and by_step[20]["w"] == 3.0
    assert 16 not in got["curves"]["loss"][0] and 18 not in got["curves"]["loss"][0]
    assert (fast.summary["loss"], fast.summary["acc"], fast.summary["w"]) == (0.1, 0.5, 3.0)


def test_a_tensor_changed_in_place_after_the_call_keeps_its_logged_value(session):
    run = wl.init()
    total = torch.zeros(())
    weight = torch.nn.Parameter(torch.tensor([1.0]))
    for i in range(5):
        total += 1.0  # an accumulator: the same tensor object at every call
        run.log({"total": total, "w": weight[0] * 2})  # w requires grad
        with torch.no_grad():
            weight += 1.0
    assert run.recent("total") == [(i, float(i + 1)) for i in range(5)]
    assert run.recent("w") == [(i, 2.0 * (i + 1)) for i in range(5)]


def test_explicit_steps_with_tensors_follow_the_step_rules(session, caplog):
    run = wl.init()
    run.log({"loss": torch.tensor(1.0)}, step=10)
    run.log({"loss": torch.tensor(0.5)}, step=10)  # the same step: the later value wins
    run.log({"loss": torch.tensor(0.9), "acc": 1}, step=12)
    with caplog.at_level(logging.WARNING, logger="weightslab_nb.tracking.run"):
        run.log({"loss": torch.tensor(2.0)}, step=5)  # going back: refused, nothing stored
    assert "lower than the last step" in caplog.text
    run.log({"loss": torch.tensor(0.25)})  # counting mode: the step after the last one
    assert run.recent("loss") == [(10, 0.5), (12, torch.tensor(0.9).item()), (13, 0.25)]
    assert run.log_counts()["loss"] == 4 and run.step == 14


def test_bad_values_under_cached_tensor_keys_take_the_checked_path(session):
    run = wl.init()
    run.log({"loss": torch.tensor(1.0)})
    run.log({"loss": torch.tensor(0.5)})  # the keys are cached as tensor keys now
    with pytest.raises(TypeError, match="'loss'"):
        run.log({"loss": object()})
    with pytest.raises(ValueError, match=r"'loss'.*too large"):
        run.log({"loss": 10 ** 400})
    run.log({"loss": torch.tensor([1.0, 2.0, 3.0])})  # several values: a histogram
    assert run.recent("loss")[:2] == [(0, 1.0), (1, 0.5)]
    assert run.recent("loss")[2][1]["_type"] == "histogram"


def test_the_fast_path_sees_a_training_loop_start_and_end(session, digits_run):
    r = digits_run()
    run = wl.init()
    run.log({"x": 1.0})
    run.log({"x": 2.0})  # counting log calls: steps 0 and 1
    steps = []

    def train(epochs):
        run.log({"x": 3.0})  # the loop runs, no batch yet: the last step, not the counter
        steps.append(run.recent("x")[-1][0])
        for x, y, ids in r.loader:
            r.loss(r.model(x), y, batch_ids=ids)
            if session.controller.step == 3:
                break
        run.log({"x": 4.0})  # the training step
        steps.append(run.recent("x")[-1][0])

    handle = wl.start_training(train, 1)
    assert handle.wait(60.0) and handle.error is None, handle
    run.log({"x": 5.0})  # trained once: no counting any more
    assert steps == [1, 3]
    assert run.recent("x") == [(0, 1.0), (1, 3.0), (3, 5.0)]  # one value per step: the last
