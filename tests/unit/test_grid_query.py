"""Pages of the sample grid: sorting, filtering, paging and validation of the browser's requests."""

from __future__ import annotations

import math

import pytest
import torch
from torch.utils.data import TensorDataset

from weightslab_nb.ledger.query import MAX_PAGE, GridQuery


@pytest.fixture
def grid(session, small_dataset):
    """20 train samples (labels i % 3) with a loss on 0..9 (loss of i is (i * 7) % 10) and
    10 val samples ``v0..v9`` without a loss."""
    session.watch_or_edit(small_dataset, flag="data", loader_name="train_loader")
    session.watch_or_edit(TensorDataset(torch.zeros(10, 4), torch.zeros(10, dtype=torch.long)),
                          flag="data", loader_name="val_loader", id_prefix="v")
    logits = torch.zeros(10, 3)
    logits[torch.arange(10), torch.arange(10) % 2] = 5.0  # prediction i % 2
    session.save_signals({"loss": torch.tensor([(i * 7) % 10 for i in range(10)],
                                               dtype=torch.float32)},
                         list(range(10)), preds_raw=logits, step=1)
    return session


def _ids(page):
    return [r["sample_id"] for r in page.rows]


def test_default_page_keeps_table_order_and_counts_everything(grid):
    page = grid.grid_page(GridQuery())
    assert (page.total, page.active, page.matched) == (30, 30, 30)
    assert _ids(page) == list(range(20)) + [f"v{i}" for i in range(10)]
    assert page.loss_column == "signals//loss"
    assert {"sample_id", "target", "prediction", "signals//loss"} <= set(page.columns)


def test_rows_carry_what_a_grid_cell_shows(grid):
    grid.tag_samples([3], "hard")
    grid.set_categorical_tag([3], "weather", "rainy")
    grid.discard_samples([3])
    row = grid.grid_page(GridQuery(limit=1, offset=3)).rows[0]
    assert row == {"sample_id": 3, "origin": "train", "ref": ["train", 3], "target": 0,
                   "prediction": 1,
                   "loss": 1.0, "discarded": True, "tags": ["hard"],
                   "categorical": {"weather": "rainy"}, "signals": {"signals//loss": 1.0}}
    unseen = grid.grid_page(GridQuery(limit=1, offset=15)).rows[0]
    assert unseen["loss"] is None and unseen["prediction"] is None
    assert unseen["signals"] == {"signals//loss": None}


def test_sort_by_loss_descending_puts_missing_values_last(grid):
    page = grid.grid_page(GridQuery(sort_by="signals//loss", limit=12))
    losses = [r["loss"] for r in page.rows]
    assert losses[:10] == [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]
    assert losses[10:] == [None, None]
    assert page.rows[0]["sample_id"] == 7  # (7 * 7) % 10 == 9


def test_sort_by_loss_ascending_also_puts_missing_values_last(grid):
    page = grid.grid_page(GridQuery(sort_by="signals//loss", descending=False, limit=500))
    losses = [r["loss"] for r in page.rows]
    assert losses[:10] == list(range(10))
    assert all(v is None for v in losses[10:]) and len(losses) == 30


def test_sort_by_target_and_prediction(grid):
    page = grid.grid_page(GridQuery(sort_by="target", descending=False, origin="train",
                                    limit=20))
    targets = [r["target"] for r in page.rows]
    assert targets == sorted(targets)
    page = grid.grid_page(GridQuery(sort_by="prediction", limit=10))
    assert all(r["prediction"] == 1 for r in page.rows[:5])


def test_pages_tile_the_sorted_view_without_gaps_or_overlaps(grid):
    q = dict(sort_by="signals//loss", descending=True)
    whole = _ids(grid.grid_page(GridQuery(limit=30, **q)))
    pages = [_ids(grid.grid_page(GridQuery(offset=o, limit=7, **q))) for o in range(0, 42, 7)]
    assert sum(pages, []) == whole
    assert pages[-1] == []


def test_filter_by_origin_accepts_the_origin(grid):
    page = grid.grid_page(GridQuery(origin="val", limit=100))
    assert page.matched == 10 and _ids(page)[0] == "v0"
    assert page.total == 30  # totals stay those of the whole table


def test_filter_by_origin_accepts_the_loader_name(grid):
    page = grid.grid_page(GridQuery(origin="val_loader", limit=100))
    assert page.matched == 10


def test_filter_by_discarded_state(grid):
    grid.discard_samples([1, 2, "v0"])
    active = grid.grid_page(GridQuery(discarded="active", limit=100))
    discarded = grid.grid_page(GridQuery(discarded="discarded", limit=100))
    assert (active.total, active.active) == (30, 27)
    assert active.matched == 27 and not ({1, 2, "v0"} & set(_ids(active)))
    assert _ids(discarded) == [1, 2, "v0"]


def test_filter_by_tags_requires_every_tag(grid):
    grid.tag_samples([1, 2, 3], "hard")
    grid.tag_samples([2, 3, 4], "blurry")
    grid.set_categorical_tag([3, 4], "weather", "rainy")
    grid.set_categorical_tag([2], "weather", "sunny")
    assert _ids(grid.grid_page(GridQuery(tags=("hard",)))) == [1, 2, 3]
    assert _ids(grid.grid_page(GridQuery(tags=("hard", "blurry")))) == [2, 3]
    assert _ids(grid.grid_page(GridQuery(tags=("weather",)))) == [2, 3, 4]
    assert _ids(grid.grid_page(GridQuery(tags=("hard", "weather=rainy")))) == [3]


def test_filter_by_signal_range_is_inclusive_and_drops_missing_values(grid):
    page = grid.grid_page(GridQuery(signal="signals//loss", signal_min=3, signal_max=5,
                                    sort_by="signals//loss", descending=False))
    assert [r["loss"] for r in page.rows] == [3, 4, 5]
    page = grid.grid_page(GridQuery(signal="signals//loss", signal_min=8))
    assert sorted(r["loss"] for r in page.rows) == [8, 9]


def test_sort_by_sample_id_orders_ints_before_strings(grid):
    page = grid.grid_page(GridQuery(sort_by="sample_id", descending=False, limit=500))
    ids = _ids(page)
    assert ids[:20] == list(range(20))
    assert ids[20:] == sorted(f"v{i}" for i in range(10))


@pytest.mark.parametrize("field, query", [
    ("sort_by", GridQuery(sort_by="signals//nope")),
    ("origin", GridQuery(origin="nowhere")),
    ("tags", GridQuery(tags=("weather=snowy",))),
    ("signal", GridQuery(signal="signals//nope", signal_min=1.0)),
])
def test_unknown_names_in_a_query_are_value_errors(grid, field, query):
    grid.register_categorical_tag("weather", ["rainy"])
    with pytest.raises(ValueError):
        grid.grid_page(query)


@pytest.mark.parametrize("message, field", [
    ({"offset": -1}, "offset"),
    ({"limit": 0}, "limit"),
    ({"limit": MAX_PAGE + 1}, "limit"),
    ({"limit": "10"}, "limit"),
    ({"offset": True}, "offset"),
    ({"descending": "yes"}, "descending"),
    ({"discarded": "some"}, "discarded"),
    ({"sort_by": 3}, "sort_by"),
    ({"tags": ["", "x"]}, "tags"),
    ({"signal_min": "low"}, "signal_min"),
    ({"signal_max": math.nan}, "signal_max"),
])
def test_a_bad_browser_request_is_rejected_naming_the_field(message, field):
    with pytest.raises(ValueError, match=field):
        GridQuery.from_message(message)


def test_a_browser_request_is_read_into_a_query(grid):
    q = GridQuery.from_message({"offset": 2, "limit": 3, "sort_by": "signals//loss",
                                "descending": False, "tags": [], "discarded": "all",
                                "type": "page", "id": 7})  # extra keys are ignored
    assert _ids(grid.grid_page(q)) == [6, 9, 2]  # losses 2, 3, 4


def test_a_non_object_request_is_rejected():
    with pytest.raises(ValueError):
        GridQuery.from_message(["offset", 0])


# ------------------------------------------------------------------ discarded samples last
def test_value_sorts_put_discarded_samples_last_so_stale_losses_do_not_lead(grid):
    # loss of i is (i * 7) % 10: sample 7 has the highest loss (9), sample 4 the next (8)
    grid.discard_samples([7])
    page = grid.grid_page(GridQuery(sort_by="signals//loss", limit=20, origin="train"))
    assert _ids(page)[:2] == [4, 1]          # the active ones in loss order first
    assert _ids(page)[-1] == 7  # after every active one, those without a loss too
    asc = grid.grid_page(GridQuery(sort_by="signals//loss", descending=False, limit=20,
                                   origin="train"))
    assert _ids(asc)[-1] == 7


def test_discarded_last_can_be_turned_off_and_recorded_order_is_left_alone(grid):
    grid.discard_samples([7])
    off = grid.grid_page(GridQuery(sort_by="signals//loss", limit=1, discarded_last=False))
    assert _ids(off) == [7]
    recorded = grid.grid_page(GridQuery(limit=10))
    assert _ids(recorded) == list(range(10))
    with pytest.raises(ValueError, match="discarded_last"):
        GridQuery.from_message({"discarded_last": "yes"})


def test_discarding_drops_the_samples_from_the_selection_restoring_does_not_reselect(grid):
    grid.selection.set([("train", 1), ("train", 2), ("val", "v3")])
    version = grid.selection.version
    grid.discard_samples([2])
    assert grid.selection.get() == [("train", 1), ("val", "v3")]
    assert grid.selection.version > version
    grid.discard_samples([2], discarded=False)
    assert grid.selection.get() == [("train", 1), ("val", "v3")]
    version = grid.selection.version
    grid.discard_samples([5])  # not selected: the selection does not change
    assert grid.selection.version == version


# ------------------------------------------------------------------ the held order
def _loss(session, values: dict, step: int):
    ids = list(values)
    session.save_signals({"loss": torch.tensor([values[i] for i in ids], dtype=torch.float32)},
                         ids, step=step)


def test_held_order_keeps_positions_while_values_change_and_counts_what_would_move(grid):
    from weightslab_nb.ledger.query import HeldOrder

    hold = HeldOrder()
    q = GridQuery(sort_by="signals//loss", origin="train", limit=3)
    first = grid.grid_page(q, hold=hold)
    assert first.fresh and first.changed == 0 and _ids(first) == [7, 4, 1]
    _loss(grid, {0: 100.0}, step=2)  # sample 0 (loss 0) jumps to the top of a fresh order
    held = grid.grid_page(q, hold=hold)
    assert not held.fresh and _ids(held) == [7, 4, 1]  # same cells, same places
    assert held.changed > 0
    fresh = grid.grid_page(GridQuery(sort_by="signals//loss", origin="train", limit=3))
    assert _ids(fresh)[0] == 0
    # the values shown are the new ones: page 4 of the held order shows sample 0 at loss 100
    rest = grid.grid_page(replace_offset(q, 9), hold=hold)
    assert any(r["sample_id"] == 0 and r["loss"] == 100.0 for r in rest.rows)
    resorted = grid.grid_page(q, hold=hold, resort=True)
    assert resorted.fresh and resorted.changed == 0 and _ids(resorted)[0] == 0


def test_a_new_query_takes_the_fresh_order_paging_keeps_the_snapshot(grid):
    from weightslab_nb.ledger.query import HeldOrder

    hold = HeldOrder()
    q = GridQuery(sort_by="signals//loss", origin="train", limit=3)
    grid.grid_page(q, hold=hold)
    _loss(grid, {0: 100.0}, step=2)
    assert not grid.grid_page(replace_offset(q, 3), hold=hold).fresh  # next page: same order
    asc = GridQuery(sort_by="signals//loss", origin="train", limit=3, descending=False)
    assert grid.grid_page(asc, hold=hold).fresh  # the direction changed: a fresh order
    other = GridQuery(sort_by="signals//loss", origin="train", limit=3, discarded="active")
    assert grid.grid_page(other, hold=hold).fresh


def test_held_order_drops_rows_that_stop_matching_and_appends_new_matches(grid):
    from weightslab_nb.ledger.query import HeldOrder

    hold = HeldOrder()
    q = GridQuery(sort_by="signals//loss", origin="train", discarded="active", limit=20)
    before = _ids(grid.grid_page(q, hold=hold))
    grid.discard_samples([4])
    after = grid.grid_page(q, hold=hold)
    assert _ids(after) == [i for i in before if i != 4] and after.matched == 19
    grid.discard_samples([4], discarded=False)
    back = grid.grid_page(q, hold=hold)
    assert _ids(back)[-1] == 4 and back.changed > 0  # re-enters at the end until a re-sort


def replace_offset(q, offset):
    from dataclasses import replace

    return replace(q, offset=offset)
