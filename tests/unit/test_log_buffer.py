"""The run's log buffer on its own: how buffered calls are cut into chunks and written as
history lines, and the history store's bulk curve append (real DuckDB in ``tmp_path``)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from weightslab_nb.history.store import HistoryStore
from weightslab_nb.tracking import log_buffer
from weightslab_nb.tracking.log_buffer import CAPTURED, MIXED, RowBuffer, chunks_of
from weightslab_nb.tracking.run import _dumps

TRICKY = [1.0, -0.0, 0.1 + 0.2, 1e-7, 1e16, 1e15, 123456789.0, 5e-324,
          1.7976931348623157e308, -2.5, float("nan"), float("inf"), -float("inf"), 3]


def lines(chunks, started=100.0) -> list[dict]:
    text = b"".join(c.history_bytes(started, _dumps) for c in chunks).decode()
    return [json.loads(line, parse_constant=lambda c: pytest.fail(f"non-JSON token {c}"))
            for line in text.splitlines()]


def test_long_and_short_chunks_write_the_same_rows(monkeypatch):
    buffer = RowBuffer()
    for i, value in enumerate(TRICKY):
        buffer.put(i, 100.0 + i / 8, 0, {"x": value, "y": float(i), "z": 1e16 * (i + 1)})
    meta, rows = buffer.take()
    short = lines(chunks_of(meta, rows))  # one format string per row
    monkeypatch.setattr(log_buffer, "ARROW_ROWS", 1)
    long = lines(chunks_of(meta, rows))  # Arrow kernels
    assert short == long
    for row, value in zip(long, TRICKY):
        expected = float(value) if math.isfinite(value) else None
        assert row["x"] == expected and (expected is None or type(row["x"]) is float)
        assert list(row) == ["_step", "_timestamp", "_runtime", "x", "y", "z"]
        assert type(row["y"]) is float and type(row["z"]) is float
    assert math.copysign(1.0, long[1]["x"]) == -1.0
    assert [r["_runtime"] for r in long[:3]] == [0.0, 0.125, 0.25]


def test_chunks_follow_key_sets_modes_and_experiments_in_call_order():
    buffer = RowBuffer()
    buffer.put(0, 1.0, 0, {"a": 1.0, "b": 2.0})
    buffer.put(1, 1.0, 0, {"a": 3.0, "b": 4.0})
    buffer.put(2, 1.0, 1, {"a": 5.0, "b": 6.0})  # another experiment
    buffer.put(3, 1.0, 1, {"b": 8.0, "a": 7.0})  # the same keys in another order
    buffer.put(4, 1.0, 1, {"a": 9.0})  # other keys
    buffer.put(5, 1.0, 1, {"note": "x"}, MIXED)
    buffer.put(6, 1.0, 1, {"note": "y"}, MIXED)
    buffer.put(7, 1.0, 1, {"note": "z"}, CAPTURED)
    meta, rows = buffer.take()
    chunks = chunks_of(meta, rows)
    assert [(c.steps.tolist(), c.keys, c.mode, c.exp) for c in chunks] == [
        ([0, 1], ("a", "b"), 0, 0), ([2], ("a", "b"), 0, 1), ([3], ("b", "a"), 0, 1),
        ([4], ("a",), 0, 1), ([5, 6], ("note",), MIXED, 1), ([7], ("note",), CAPTURED, 1)]
    assert chunks[0].matrix.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert [c.row(-1) for c in chunks[1:4]] == [{"a": 5.0, "b": 6.0}, {"b": 8.0, "a": 7.0},
                                                {"a": 9.0}]
    assert [key for c in chunks for key, *_ in c.curves()] == ["a", "b", "a", "b", "b", "a",
                                                              "a"]
    assert [r["note"] for r in lines(chunks[4:])] == ["x", "y", "z"]


def test_a_take_leaves_later_appends_for_the_next_take():
    buffer = RowBuffer()
    buffer.put(0, 1.0, 0, {"a": 1.0})
    meta, _ = buffer.take()
    buffer.put(1, 1.0, 0, {"a": 2.0})  # same keys: no marker, still its own take
    meta2, rows2 = buffer.take()
    assert meta[:, 0].tolist() == [0.0] and meta2[:, 0].tolist() == [1.0]
    assert [c.matrix.tolist() for c in chunks_of(meta2, rows2)] == [[[2.0]]]
    assert len(buffer) == 0 and buffer.take()[0].shape == (0, 3)


def test_recent_values_keep_the_last_value_of_each_step():
    buffer = RowBuffer()
    for step, value in [(0, 1.0), (1, 2.0), (1, 3.0), (2, 4.0)]:
        buffer.put(step, 1.0, 0, {"a": value})
    recent, logged = {}, {}
    for chunk in chunks_of(*buffer.take()):
        chunk.update_recent(recent, logged, keep=2)
    assert list(recent["a"]) == [(1, 3.0), (2, 4.0)] and logged == {"a": 4}
    buffer.put(2, 1.0, 0, {"a": 5.0})  # the same step again, in a later drain
    for chunk in chunks_of(*buffer.take()):
        chunk.update_recent(recent, logged, keep=2)
    assert list(recent["a"]) == [(1, 3.0), (2, 5.0)] and logged == {"a": 5}


def test_bulk_curve_points_keep_their_order_with_single_points_through_a_reopen(tmp_path):
    def store():
        return HistoryStore(lambda: tmp_path / "h.duckdb", lambda start: ([], [], []))

    first = store()
    loss = first.signal_id("loss")
    first.append_global(loss, 0, 1.0, 0.5, 1.5, 64, 0)
    first.append_global_many(loss, np.array([1, 2]), np.array([0.9, 0.8]), 0)
    first.append_global(loss, 3, 0.7, 0.7, 0.7, 1, 0)
    first.append_global_many(loss, [4], [0.6], 0)
    with pytest.raises(ValueError, match="one length"):
        first.append_global_many(loss, [5, 6], [0.5], 0)
    expected = {"step": [0, 1, 2, 3, 4], "mean": [1.0, 0.9, 0.8, 0.7, 0.6],
                "min": [0.5, 0.9, 0.8, 0.7, 0.6], "count": [64, 1, 1, 1, 1]}
    series = first.global_series("loss")
    assert {k: series[k].tolist() for k in expected} == expected
    assert first.global_series("loss", start=3)["step"].tolist() == [3, 4]
    first.flush()
    first.close()
    again = store()
    again.restore()
    series = again.global_series("loss")
    assert {k: series[k].tolist() for k in expected} == expected
    again.close()


def test_device_rows_are_converted_in_bulk_to_the_numbers_of_plain_rows():
    torch = pytest.importorskip("torch")
    values = [torch.tensor(0.1, dtype=torch.float16), torch.tensor(0.3, dtype=torch.bfloat16),
              torch.tensor(2 ** 40 + 1), torch.tensor(True), torch.tensor([[2.5]]),
              torch.tensor(float("nan"))]
    device, plain = RowBuffer(), RowBuffer()
    for i, value in enumerate(values):  # (host copy, device index): -1, nothing to wait for
        device.put(i, 1.0, 0, {"x": (value, -1), "lr": 0.5 * i}, log_buffer.DEVICE)
        plain.put(i, 1.0, 0, {"x": value.item(), "lr": 0.5 * i})
    got, expected = chunks_of(*device.take()), chunks_of(*plain.take())
    assert len(got) == 1 and got[0].mode == log_buffer.PLAIN and got[0].keys == ("x", "lr")
    assert np.array_equal(got[0].matrix, expected[0].matrix, equal_nan=True)
    assert got[0].matrix[2, 0] == 2 ** 40 + 1  # an int64 tensor is not rounded to float32
    assert lines(got) == lines(expected)
