"""History queries return what their contract says: per-sample rows only, per origin."""

from __future__ import annotations

import pytest

from weightslab_nb.errors import InvalidTypeError


def test_query_signal_history_returns_sample_rows_not_instance_rows(session):
    session.save_signals({"iou": [0.5, 0.6]}, ["img0", "img1"], step=1, log=False)
    session.save_instance_signals({"iou": [0.1, 0.2, 0.3]}, ["img0", "img1"], [0, 0, 1],
                                  step=1, log=False)
    rows = session.query_signal_history("iou")
    assert sorted(rows) == [("img0", 1, 0.5, None), ("img1", 1, 0.6, None)]
    assert [r[2] for r in session.query_instance_history("img0", 2, "iou")] == [0.2]


@pytest.mark.parametrize("bad", [123, None, b"loss"])
def test_query_signal_history_refuses_a_name_that_is_not_a_string(session, bad):
    with pytest.raises(InvalidTypeError, match="^signal_name:"):
        session.query_signal_history(bad)
