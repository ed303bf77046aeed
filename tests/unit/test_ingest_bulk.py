"""Batches applied in bulk (one drain for many recordings) leave exactly what applying them one by
one leaves: the sample table, the history rows, the curve points and the running statistics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from weightslab_nb.session import Session

SIGNALS = ("loss", "acc", "loss/margin", "aux")


def _record_mixed(session: Session, one_by_one: bool) -> None:
    """A training-like mix: plain float32/float16/float64 values, several signals per call,
    predictions and targets, classification evidence, NaNs, a scalar, unlogged batches,
    repeated rows, batches of several sizes and steps out of order.

    ``one_by_one``: each batch is applied on its own before the next one is recorded (a call
    with several signals is made as one call per signal, the first with the predictions);
    else everything stays queued for one drain."""
    rng = np.random.default_rng(7)

    def after_each():
        if one_by_one:
            session.recorder.drain()

    def save(signals, ids, **kwargs):
        if not one_by_one:
            return session.save_signals(signals, ids, **kwargs)
        for i, (name, values) in enumerate(signals.items()):
            extra = kwargs if i == 0 else {k: v for k, v in kwargs.items()
                                          if k not in ("preds", "targets")}
            session.save_signals({name: values}, ids, **extra)
            after_each()

    save({"loss": np.zeros(40)}, np.arange(40), step=0)
    for i in range(1, 61):
        size = (8, 16, 5)[i % 3]
        ids = rng.integers(0, 40, size)          # rows repeat within and across batches
        values = torch.from_numpy(rng.random(size, dtype=np.float32) * 3)
        step = i if i % 7 else i - 3             # a few steps go back
        kind = i % 6
        if kind == 0:
            save({"loss": values.half(), "acc": rng.random(size)}, ids, step=step)
        elif kind == 1:
            scores = torch.from_numpy(rng.standard_normal((size, 4), dtype=np.float32))
            session.record_batch("loss", torch.from_numpy(ids), values, preds=scores,
                                 targets=torch.from_numpy(ids % 4), step=step, evidence=True)
        elif kind == 2:
            save({"loss": values}, ids, preds=torch.from_numpy(ids % 3),
                 targets=(ids % 2).tolist(), step=step)
        elif kind == 3:
            vals = values.double().numpy().copy()
            vals[0] = np.nan
            save({"loss": vals, "aux": 2.5}, ids, step=step, log=i % 2 == 0)
        else:
            save({"loss": values, "aux": values * 2}, ids, step=step)
        if kind == 1:
            after_each()


def _snapshot(session: Session) -> dict:
    session.drain()
    store = session.recorder.store
    n = len(session.table)
    history = store.query_samples()
    # signal ids follow first use (evidence signals get theirs when applied): compare by name
    names = store.names_by_id()[0]
    code = {name: i for i, name in enumerate(sorted(names.values()))}
    history["signal"] = np.array([code[names[s]] for s in history["signal"].tolist()])
    order = np.lexsort((history["step"], history["signal"], history["row"]))
    return {
        "table": session.dataframe,
        "history": {k: v[order] for k, v in history.items()},
        "curves": {s: store.query_global(s) for s in SIGNALS},
        "stats": {s: store.sample_stats(s, n) for s in SIGNALS},
    }


def _assert_same(got: dict, want: dict) -> None:
    # columns appear in the order a drain first writes them: compared by name
    pd.testing.assert_frame_equal(got["table"], want["table"], check_like=True)
    for k, col in want["history"].items():
        np.testing.assert_array_equal(got["history"][k], col, err_msg=k)
    for s in SIGNALS:
        for k, col in want["curves"][s].items():
            if k == "signal":
                continue  # the id (ids follow first use); query_global(s) is by name
            np.testing.assert_array_equal(got["curves"][s][k], col, err_msg=f"{s} {k}")
        for k, col in want["stats"][s].items():
            if k == "mean":  # a sum of the same values, added in another grouping
                np.testing.assert_allclose(got["stats"][s][k], col, rtol=1e-12)
            else:
                np.testing.assert_array_equal(got["stats"][s][k], col, err_msg=f"{s} {k}")


def test_one_bulk_drain_leaves_what_a_drain_per_batch_leaves(make_session):
    one_by_one = make_session("one_by_one", flush_interval=60)
    _record_mixed(one_by_one, one_by_one=True)
    bulk = make_session("bulk", flush_interval=60)
    _record_mixed(bulk, one_by_one=False)
    assert len(bulk.recorder.queue) > 60  # nothing applied yet: one drain takes them all
    want = _snapshot(one_by_one)
    assert len(want["history"]["row"]) > 500 and len(want["curves"]["loss"]["step"]) > 50
    _assert_same(_snapshot(bulk), want)
    one_by_one.flush()
    bulk.flush()                       # the same rows and points in the DuckDB files
    _assert_same(_snapshot(bulk), _snapshot(one_by_one))


def test_a_bulk_drain_keeps_each_rows_last_value_and_every_history_row(make_session):
    session = make_session(flush_interval=60)
    session.save_signals({"loss": np.zeros(4)}, np.arange(4), step=0)
    for step, (ids, vals) in enumerate([([0, 1], [1.0, 2.0]), ([1, 1], [3.0, 4.0]),
                                        ([2, 0], [5.0, 6.0])], start=1):
        session.save_signals({"loss": torch.tensor(vals, dtype=torch.float16)},
                             np.array(ids), step=step)
    assert session.dataframe["signals//loss"].tolist() == [6.0, 4.0, 5.0, 0.0]
    history = session.recorder.store.query_samples(rows=np.array([1]))
    assert history["step"].tolist() == [0, 1, 2, 2] and \
        history["value"].tolist() == [0.0, 2.0, 3.0, 4.0]
    curve = session.global_series("loss")
    assert curve["mean"].tolist() == [0.0, 1.5, 3.5, 5.5]
    assert curve["count"].tolist() == [4, 2, 2, 2]


def test_history_recorded_in_bulk_comes_back_after_a_reopen(make_session, tmp_path):
    session = make_session(flush_interval=60)
    ids = np.arange(300)
    session.save_signals({"loss": np.zeros(300)}, ids, step=0)
    session.drain()  # then 40 batches of one size: one drain reduces them as a matrix
    for step in range(1, 41):
        session.save_signals({"loss": torch.full((30,), float(step))}, ids[step:step + 30],
                             step=step)
    session.flush()
    before = session.recorder.store.query_samples()
    curve = session.global_series("loss")
    assert curve["mean"].tolist() == list(range(41)) and curve["count"][1:].tolist() == [30] * 40
    session.close()
    reopened = Session(root_log_dir=tmp_path / "run")
    try:
        after = reopened.recorder.store.query_samples()
        for k, col in before.items():
            np.testing.assert_array_equal(after[k], col, err_msg=k)
        for k, col in curve.items():
            np.testing.assert_array_equal(reopened.global_series("loss")[k], col, err_msg=k)
        assert reopened.recorder.store.sample_stats("loss", 300)["last"][40:70].tolist() == \
            pytest.approx([40.0] * 30)
    finally:
        reopened.close()


@pytest.mark.parametrize("mixed", [False, True])
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float64, torch.int64])
def test_tensors_of_any_dtype_drained_together_keep_their_values(make_session, dtype, mixed):
    """One dtype throughout (joined in one piece; bfloat16, which numpy lacks, batch by batch)
    or mixed with float32 batches: the values and curve points of a drain per batch."""
    sessions = [make_session(f"run{i}", flush_interval=60) for i in range(2)]
    rng = np.random.default_rng(5)
    batches = [(torch.from_numpy(rng.random(6) * 100).to(
                   torch.float32 if mixed and k % 3 == 0 else dtype),
                rng.integers(0, 30, 6)) for k in range(12)]
    for one_by_one, session in zip((True, False), sessions):
        session.save_signals({"loss": np.zeros(30)}, np.arange(30), step=0)
        session.drain()
        for step, (values, ids) in enumerate(batches, start=1):
            session.save_signals({"loss": values}, ids, step=step)
            if one_by_one:
                session.drain()
    want, got = (_snapshot(s) for s in sessions)
    _assert_same(got, want)
    assert want["curves"]["loss"]["mean"][1] == pytest.approx(float(batches[0][0].double().mean()))
