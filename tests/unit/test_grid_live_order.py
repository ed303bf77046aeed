"""Sorted grid pages kept current without a full sort: the same rows, in the same order, as a
sort from scratch, after values change, samples are discarded, tagged or registered."""

from __future__ import annotations

import numpy as np
import pytest

from weightslab_nb.ledger import live_order
from weightslab_nb.ledger.live_order import LiveOrder, sort_key
from weightslab_nb.ledger.query import GridQuery, HeldOrder, select_rows


def _reference(values, accept, descending):
    rows = np.flatnonzero(accept)
    return rows[np.argsort(sort_key(values[rows], descending), kind="stable")]


def _noisy(rng, n):
    """Values with many ties and some NaN (what makes an order ambiguous)."""
    v = rng.integers(0, 6, n).astype(float)
    v[rng.random(n) < 0.1] = np.nan
    return v


@pytest.mark.parametrize("descending", [True, False])
@pytest.mark.parametrize("min_dirty", [1024, 0])
def test_live_order_matches_a_fresh_sort_after_marked_changes(descending, min_dirty,
                                                               monkeypatch):
    monkeypatch.setattr(live_order, "MIN_DIRTY", min_dirty)  # 0: full sorts happen too
    rng = np.random.default_rng(1)
    values = _noisy(rng, 500)
    order = LiveOrder(descending)
    order.rebuild(values)
    for _ in range(30):
        grown = rng.integers(0, 20)  # rows registered since the sort
        values = np.concatenate([values, _noisy(rng, grown)])
        changed = rng.integers(0, len(values), rng.integers(0, 40))
        values[changed] = _noisy(rng, len(changed))
        order.mark(changed, len(values))
        if order.stale(len(values)):
            order.rebuild(values)
        accept = rng.random(len(values)) < 0.7
        want = _reference(values, accept, descending)
        keys = values[order.dirty_rows]
        assert np.array_equal(order.full(keys, accept), want)
        k = int(rng.integers(1, 120))
        assert np.array_equal(order.first(k, keys, lambda r: accept[r]), want[:k])


def test_compare_finds_exactly_the_rows_whose_value_moved():
    values = np.array([1.0, np.nan, 3.0, 0.0])
    order = LiveOrder(descending=True)
    order.rebuild(values, keep_base=True)
    now = np.array([1.0, np.nan, 5.0, 0.0, 2.0])  # row 2 moved, row 4 is new
    order.compare(now)
    assert order.dirty_rows.tolist() == [2, 4]
    assert order.full(now[order.dirty_rows], np.ones(5, bool)).tolist() == [2, 4, 0, 3, 1]


def _record(session, rng, ids, step):
    values = rng.integers(0, 5, len(ids)).astype(float) / 2  # ties
    session.save_signals({"loss": values}, list(ids), step=step)


QUERIES = [
    dict(sort_by="signals//loss@mean"),
    dict(sort_by="signals//loss@mean", descending=False, offset=37),
    dict(sort_by="signals//loss@max", discarded="active"),
    dict(sort_by="signals//loss@last", tags=("hard",), offset=3),
    dict(sort_by="signals//loss@count", discarded_last=False),
    dict(sort_by="signals//loss@min", signal="signals//loss", signal_min=1.0),
    dict(sort_by="signals//loss", offset=150, limit=100),
    dict(sort_by="signals//loss", descending=False, discarded="discarded"),
    dict(sort_by="target"),
]


def _expected(session, q):
    values = None
    if "@" in q.sort_by:
        values = session.history_statistic(*q.sort_by.rsplit("@", 1))
    return select_rows(session.table, q, values)


def test_grid_pages_match_a_sort_from_scratch_while_training_changes_things(session):
    rng = np.random.default_rng(7)
    ids = np.arange(200)
    _record(session, rng, ids[:150], step=1)  # 50 samples have no value yet
    session.tag_samples([1, 2, 3], "hard")
    for step in range(2, 14):
        _record(session, rng, rng.choice(ids[:150 + 5 * step], 25, replace=False), step)
        if step % 3 == 0:
            session.discard_samples(rng.choice(150, 10, replace=False).tolist(),
                                    discarded=bool(step % 2))
            session.tag_samples(rng.choice(150, 10, replace=False).tolist(), "hard")
        for spec in QUERIES:
            q = GridQuery(**{"limit": 48, **spec})
            want = _expected(session, q)
            page = session.grid_page(q)
            got = [r["sample_id"] for r in page.rows]
            assert got == session.table.ids_of(want[q.offset:q.offset + q.limit]), (step, spec)
            assert page.matched == len(want)
            held = session.grid_page(q, hold=HeldOrder())  # a new snapshot: the whole order
            assert [r["sample_id"] for r in held.rows] == got and held.matched == len(want)


def test_pages_after_a_few_changes_merge_them_into_the_last_full_sort(session):
    rng = np.random.default_rng(2)
    _record(session, rng, range(300), step=1)
    q = GridQuery(sort_by="signals//loss@mean", offset=20)
    for step in range(2, 8):
        _record(session, rng, rng.choice(300, 5, replace=False), step)
        got = [r["sample_id"] for r in session.grid_page(q).rows]
        assert got == session.table.ids_of(_expected(session, q)[20:68])
    mean = session._grid_sorter.orders.get(("stat", "loss", "mean"), True)
    assert mean.sorts == 1 and len(mean.dirty_rows) <= 25


def test_caller_given_values_follow_their_changes(session):
    rng = np.random.default_rng(3)
    _record(session, rng, range(100), step=1)
    values = _noisy(rng, 90)  # rows past its end sort last
    q = GridQuery(sort_by="suspects", limit=30, offset=10)
    for _ in range(5):
        values[rng.integers(0, 90, 7)] = _noisy(rng, 7)
        session.discard_samples(rng.integers(0, 100, 3).tolist())
        want = select_rows(session.table, q, values.copy())
        got = [r["sample_id"] for r in session.grid_page(q, values.copy()).rows]
        assert got == session.table.ids_of(want[10:40])


def test_a_held_grid_keeps_its_snapshot_while_the_live_order_moves(session):
    rng = np.random.default_rng(5)
    _record(session, rng, range(60), step=1)
    hold = HeldOrder()
    q = GridQuery(sort_by="signals//loss@mean", limit=60)
    first = [r["sample_id"] for r in session.grid_page(q, hold=hold).rows]
    _record(session, rng, range(60), step=2)
    again = session.grid_page(q, hold=hold)
    assert [r["sample_id"] for r in again.rows] == first and not again.fresh
    fresh = session.table.ids_of(_expected(session, q))
    assert again.changed == sum(a != b for a, b in zip(first, fresh))
