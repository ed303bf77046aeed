"""The whole-population history read the loss-shape tagger uses:
``HistoryStore.signal_trajectories``."""

from __future__ import annotations

import numpy as np

from weightslab_nb.loss_shapes import session_shape_codes


def test_signal_trajectories_reads_flushed_and_pending_values_in_row_then_step_order(session):
    rng = np.random.default_rng(0)
    ids = np.arange(40)
    for step in range(1, 7):
        order = rng.permutation(ids)
        session.save_signals({"loss": rng.random(40), "other": np.ones(40)}, order, step=step)
        if step == 3:
            session.flush()           # half in DuckDB, half still pending
    session.drain()
    cols = session.history.signal_trajectories("loss")
    assert set(cols) == {"row", "step", "value"}
    assert len(cols["row"]) == 240
    key = cols["row"] * 100 + cols["step"]
    assert (np.diff(key) > 0).all()   # sorted by row, then step
    reference = session.history.query_samples(signal="loss")
    for name in ("row", "step", "value"):
        assert np.array_equal(cols[name], reference[name])
    empty = session.history.signal_trajectories("never-recorded")
    assert all(len(v) == 0 for v in empty.values())


def test_signal_trajectories_sorts_steps_beyond_32_bits(session):
    big = 2**33
    session.save_signals({"loss": [3.0, 1.0]}, [0, 1], step=big + 5)
    session.save_signals({"loss": [2.0, 4.0]}, [1, 0], step=big)
    session.drain()
    cols = session.history.signal_trajectories("loss")
    assert cols["step"].tolist() == [big, big + 5, big, big + 5]
    assert cols["value"].tolist() == [4.0, 3.0, 2.0, 1.0]


def test_session_shape_codes_skips_instances_and_non_finite_values(session):
    session.save_signals({"loss": [2.3, 2.3]}, ["a", "b"], step=0)
    for step in range(1, 6):
        session.save_signals({"loss": [2.3 * 0.5 ** step, np.nan]}, ["a", "b"], step=step)
    session.save_instance_signals({"loss": [1.0, 2.0]}, ["a"], [0, 0], step=6)
    session.drain()
    assert len(np.unique(session.history.signal_trajectories("loss")["row"])) == 4  # 2 boxes
    rows, codes = session_shape_codes(session, "loss")
    assert len(rows) == 2 and session.table.annotation_id[rows].tolist() == [0, 0]
    assert codes.tolist() == [0, -1]   # "a": 6 values, falling; "b": only one finite value
