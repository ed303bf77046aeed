"""The running per-sample statistics of the history store give what a DuckDB GROUP BY over the
recorded values gives: before and after flushes, with NaN values, evaluation rows, several
signals, and after the file is reopened."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

from weightslab_nb.history import HistoryStore
from weightslab_nb.ledger.query import GridQuery

N_ROWS = 300


def _store(path, **kwargs):
    return HistoryStore(lambda: path, lambda start: ([], [], []), **kwargs)


def _record(store, rng, steps, signals=("loss", "margin")):
    """Random batches (some NaN, some under an evaluation's marker experiment); each row at
    most once per (signal, step), so "the value at the highest step" is one value."""
    train, evaluation = store.experiment_id("abc"), store.experiment_id("abc_1")
    for step in steps:
        for name in signals:
            rows = rng.choice(N_ROWS, size=int(rng.integers(1, 120)), replace=False)
            values = rng.normal(size=len(rows))
            values[rng.random(len(rows)) < 0.05] = np.nan
            exp = evaluation if step % 7 == 3 else train
            store.append_samples(store.signal_id(name), step, rows.astype(np.int64), values, exp)


def _reference(path, signal_id, negative=False):
    """What the history file says, aggregated by DuckDB (the query the grid ran before)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        expr = "greatest(-value, 0)" if negative else "value"
        res = con.execute(
            f"SELECT row, sum({expr}) AS sum, count(*) AS count, min(value) AS min, "
            "max(value) AS max, arg_max(value, step) AS last FROM sample_history "
            "WHERE signal = ? GROUP BY row", [signal_id]).fetchnumpy()
    finally:
        con.close()
    out = {"sum": np.zeros(N_ROWS), "count": np.zeros(N_ROWS, np.int64),
           **{k: np.full(N_ROWS, np.nan) for k in ("mean", "min", "max", "last")}}
    r = np.asarray(res["row"])
    for k in ("sum", "count", "min", "max", "last"):
        out[k][r] = np.asarray(res[k])
    out["mean"][r] = out["sum"][r] / out["count"][r]
    return out


def _assert_matches_file(store, path):
    store.close()  # everything written, the file released for the reference reader
    for name in ("loss", "margin"):
        sig = store.signal_ids_of([name])[0]
        want = _reference(path, sig)
        got = store.sample_stats(name, N_ROWS)
        for k in ("mean", "min", "max", "last"):
            np.testing.assert_allclose(got[k], want[k], rtol=1e-12, equal_nan=True, err_msg=k)
        np.testing.assert_array_equal(got["count"], want["count"])
        total, count = store.sample_sums(name, N_ROWS)
        np.testing.assert_allclose(total, want["sum"], rtol=1e-12, equal_nan=True)
        np.testing.assert_array_equal(count, want["count"])
        neg, _ = store.sample_sums(name, N_ROWS, negative_part=True)
        np.testing.assert_allclose(neg, _reference(path, sig, negative=True)["sum"],
                                   rtol=1e-12, equal_nan=True)


def test_running_statistics_equal_the_group_by_of_the_file(tmp_path):
    path, rng = tmp_path / "h.duckdb", np.random.default_rng(0)
    store = _store(path)
    _record(store, rng, range(10))
    store.flush()
    _record(store, rng, range(10, 20))  # half flushed, half pending when first read
    assert store.sample_stats("loss", N_ROWS)["count"].sum() > 0
    _assert_matches_file(store, path)


def test_statistics_are_rebuilt_when_the_file_is_reopened_and_keep_counting(tmp_path):
    path, rng = tmp_path / "h.duckdb", np.random.default_rng(1)
    store = _store(path)
    _record(store, rng, range(15))
    store.close()
    reopened = _store(path)
    assert reopened.restore() is not None
    _record(reopened, rng, range(15, 30))
    _assert_matches_file(reopened, path)


def test_nan_rules_follow_duckdb(tmp_path):
    store = _store(tmp_path / "h.duckdb")
    sig, exp = store.signal_id("loss"), store.experiment_id("abc")
    store.append_samples(sig, 1, np.array([0, 1, 2]), np.array([np.nan, 1.0, np.nan]), exp)
    store.append_samples(sig, 2, np.array([0, 1]), np.array([2.0, 3.0]), exp)
    stats = store.sample_stats("loss", 4)
    # a NaN makes mean and max NaN; min ignores it unless every value is NaN
    np.testing.assert_array_equal(stats["count"], [2, 2, 1, 0])
    np.testing.assert_array_equal(stats["min"], [2.0, 1.0, np.nan, np.nan])
    np.testing.assert_array_equal(stats["max"], [np.nan, 3.0, np.nan, np.nan])
    np.testing.assert_array_equal(stats["mean"], [np.nan, 2.0, np.nan, np.nan])
    np.testing.assert_array_equal(stats["last"], [2.0, 3.0, np.nan, np.nan])


def test_the_latest_step_gives_last_and_a_repeat_at_that_step_wins(tmp_path):
    store = _store(tmp_path / "h.duckdb")
    sig, exp = store.signal_id("loss"), store.experiment_id("abc")
    store.append_samples(sig, 5, np.array([0, 0]), np.array([1.0, 2.0]), exp)
    store.append_samples(sig, 3, np.array([0, 1]), np.array([9.0, 4.0]), exp)  # late, older
    assert store.sample_stats("loss", 2)["last"].tolist() == [2.0, 4.0]


def test_a_signal_never_recorded_has_empty_statistics(tmp_path):
    store = _store(tmp_path / "h.duckdb")
    stats = store.sample_stats("nothing", 3)
    assert np.isnan(stats["mean"]).all() and stats["count"].tolist() == [0, 0, 0]
    total, count = store.sample_sums("nothing", 3)
    assert total.tolist() == [0.0] * 3 and count.tolist() == [0] * 3


@pytest.mark.parametrize("stat", ["mean", "max", "last"])
def test_grid_sorted_by_a_history_statistic_follows_the_values(make_session, stat):
    s = make_session("stats", flush_interval=60)
    rng = np.random.default_rng(2)
    ids = np.arange(50)
    for step in range(6):
        values = rng.normal(size=50)
        values[rng.random(50) < 0.1] = np.nan
        s.save_signals({"loss": values}, ids, step=step)
    s.flush()
    s.save_signals({"loss": rng.normal(size=10)}, ids[:10], step=7)  # pending, not flushed
    want = s.history_statistic("loss", stat)
    page = s.grid_page(GridQuery(sort_by=f"signals//loss@{stat}", descending=True, limit=50))
    got = [want[s.rows_of([r["sample_id"]])[0]] for r in page.rows]
    finite = [v for v in got if not np.isnan(v)]
    assert finite == sorted(finite, reverse=True)
    assert all(np.isnan(v) for v in got[len(finite):])  # NaN last
    assert len(finite) == int((~np.isnan(want)).sum())


def test_a_repeated_page_follows_new_values_and_discards(make_session):
    s = make_session("cache", flush_interval=60)
    s.save_signals({"loss": [1.0, 2.0, 3.0]}, [0, 1, 2], step=1)
    query = GridQuery(sort_by="signals//loss@mean", descending=True, limit=3)

    def order():
        return [r["sample_id"] for r in s.grid_page(query).rows]

    assert order() == [2, 1, 0]
    assert order() == [2, 1, 0]  # nothing changed: served again
    s.save_signals({"loss": [9.0]}, [0], step=2)  # mean of sample 0 becomes 5
    assert order() == [0, 2, 1]
    s.discard_samples([0])
    assert order() == [2, 1, 0]  # discarded last


def test_one_sample_history_is_the_same_from_the_row_ordered_copy(tmp_path):
    """Once a one-sample query asked for it, runs are copied into sample_by_row; with a tail
    left in the log and rows pending, a sample's history is every value it has, once; also
    after reopening."""
    path, rng = tmp_path / "h.duckdb", np.random.default_rng(3)
    store = _store(path, copy_run_rows=500)  # small runs, so the test copies several
    _record(store, rng, range(12))
    store.flush()
    assert len(store.query_samples(rows=np.array([0]))["row"]) > 0  # asks for the copy
    store.flush()  # nothing new to write, but copies one run
    _record(store, rng, range(12, 14))
    store.flush()  # copies another run, leaves a tail
    _record(store, rng, range(14, 16))  # pending
    con = duckdb.connect(str(path))  # the store's database instance (same process, config)
    copied, logged = (con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                      for t in ("sample_by_row", "sample_history"))
    con.close()
    assert copied == 1000 and logged > copied  # two runs copied, a tail left in the log

    def history(st, row):
        cols = st.query_samples(rows=np.array([row]))
        return sorted(zip(cols["signal"].tolist(), cols["step"].tolist(),
                          cols["value"].astype(str).tolist(), cols["exp"].tolist()))

    everything = store.query_samples()
    for row in range(0, N_ROWS, 7):
        mine = everything["row"] == row
        want = sorted(zip(everything["signal"][mine].tolist(), everything["step"][mine].tolist(),
                          everything["value"][mine].astype(str).tolist(),
                          everything["exp"][mine].tolist()))
        assert history(store, row) == want
    cols = store.query_samples(rows=np.array([5]), signal="loss", step=(3, 9))
    assert set(cols["step"].tolist()) <= set(range(3, 10)) and (cols["signal"] == 0).all()
    before = history(store, 14)
    store.close()
    reopened = _store(path)
    reopened.restore()
    assert history(reopened, 14) == before != []


def test_changes_name_the_rows_whose_statistics_moved_since_a_token(tmp_path):
    store = _store(tmp_path / "h.duckdb")
    rng = np.random.default_rng(4)
    _record(store, rng, range(1, 4), signals=("loss",))
    with store.stats_view("loss") as (stats, sig):
        rows, token = stats.changes(sig, None)  # no token yet: read everything
        before = stats.statistics(sig, N_ROWS)
    assert rows is None
    touched = np.array([5, 17, 17, 250], dtype=np.int64)
    store.append_samples(store.signal_id("loss"), 9, touched, np.ones(4), store.experiment_id("abc"))
    with store.stats_view("loss") as (stats, sig):
        rows, later = stats.changes(sig, token)
        after = stats.statistics(sig, N_ROWS)
        at = stats.statistics_at(sig, np.array([250, 5, N_ROWS + 3]))
    assert sorted(set(rows.tolist())) == [5, 17, 250]
    moved = np.flatnonzero(~np.isclose(before["mean"], after["mean"], equal_nan=True))
    assert set(moved.tolist()) <= {5, 17, 250}
    assert at["mean"][:2].tolist() == after["mean"][[250, 5]].tolist()
    assert np.isnan(at["mean"][2]) and at["count"][2] == 0  # a row without values
    with store.stats_view("loss") as (stats, sig):
        assert stats.changes(sig, later)[0].tolist() == []
    store.close()
    reopened = _store(tmp_path / "h.duckdb")  # rebuilt from the file: old tokens expire
    reopened.flush()
    with reopened.stats_view("loss") as (stats, sig):
        assert stats.changes(sig, later)[0] is None
    reopened.close()


@pytest.mark.parametrize("order", ["steps ascend", "steps go back"])
def test_folding_in_any_chunks_gives_the_statistics_of_all_values_at_once(order):
    """Chunks of repeated rows, non-negative or signed values, NaNs; steps that only grow (the
    assignment path for last) or that go back within and across chunks (the general path):
    the same per-row results as a plain loop over every value in arrival order."""
    from weightslab_nb.history.sample_stats import SampleStats

    rng = np.random.default_rng(3)
    stats, seen = SampleStats(), []
    step = 0
    for k in range(12):
        n = int(rng.integers(1, 400))
        rows = rng.integers(0, 50, n).astype(np.int64)
        values = rng.random(n) if k % 3 else rng.normal(size=n)
        if k % 4 == 1:
            values[rng.random(n) < 0.1] = np.nan
        if order == "steps ascend":
            steps = step + np.sort(rng.integers(0, 5, n))
        else:
            steps = rng.integers(0, 30, n)
        step = int(steps.max())
        if k % 5 == 2:  # one step for the whole chunk, given as an int
            steps = np.full(n, step)
            stats.update(0, rows, step, values)
        else:
            stats.update(0, rows, steps, values)
        seen += zip(rows.tolist(), steps.tolist(), values.tolist())
    got = stats.statistics(0, 50)
    neg, count = stats.sums(0, 50, negative_part=True)
    for row in range(50):
        mine = [(s, v) for r, s, v in seen if r == row]
        if not mine:
            assert count[row] == 0 and np.isnan(got["last"][row])
            continue
        vals = np.array([v for _, v in mine])
        top = max(s for s, _ in mine)
        assert got["count"][row] == len(mine)
        np.testing.assert_equal(got["last"][row], [v for s, v in mine if s == top][-1])
        np.testing.assert_allclose(got["mean"][row], vals.mean(), rtol=1e-12)
        np.testing.assert_allclose(neg[row], np.maximum(-vals, 0).sum(), rtol=1e-12, atol=0)
        numbers = vals[~np.isnan(vals)]
        np.testing.assert_equal(got["min"][row], numbers.min() if len(numbers) else np.nan)
        np.testing.assert_equal(got["max"][row], np.nan if np.isnan(vals).any() else vals.max())
