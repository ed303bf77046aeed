"""Sample ids and the sample table: what ``session.dataframe`` shows and which row a value lands on."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from weightslab_nb import UnknownSampleError
from weightslab_nb.errors import AmbiguousSampleError, InvalidValueError, WeightslabError
from weightslab_nb.ledger.evidence import EVIDENCE_KEYS
from weightslab_nb.demo import digits_mlp
from weightslab_nb.ledger.ids import normalize_ids
from weightslab_nb.ledger.sample_table import SampleTable


# ---------------------------------------------------------------- ids
@pytest.mark.parametrize("ids, expected", [
    (torch.tensor([3, 1, 2]), [3, 1, 2]),
    (np.array([3, 1, 2], dtype=np.int32), [3, 1, 2]),
    ([3, "a", np.int64(7)], [3, "a", 7]),
    ((1, 2), [1, 2]),
    (5, [5]),
    ("img_1", ["img_1"]),
    (np.array(["a", "b"]), ["a", "b"]),
    ([torch.tensor(4), np.int16(5)], [4, 5]),
])
def test_ids_of_every_common_container_become_plain_ints_and_strings(ids, expected):
    out = normalize_ids(ids)
    assert out == expected
    assert [type(v) for v in out] == [type(v) for v in expected]  # plain int and str only


@pytest.mark.parametrize("bad", [None, 1.5, [1.0], [True], torch.tensor([0.5]), [[1, 2]]])
def test_ids_that_are_not_ints_or_strings_are_a_type_error_naming_the_argument(bad):
    with pytest.raises(TypeError, match="batch_ids"):
        normalize_ids(bad, "batch_ids")


# ---------------------------------------------------------------- unknown ids
def test_unknown_sample_error_is_a_key_error_listing_the_missing_ids(session, small_dataset):
    session.watch_or_edit(small_dataset, flag="data", loader_name="train_loader")
    with pytest.raises(UnknownSampleError) as err:
        session.tag_samples([1, 99, "ghost"], "hard")
    assert isinstance(err.value, KeyError)
    assert err.value.missing == [99, "ghost"]
    message = str(err.value)
    assert "99" in message and "'ghost'" in message and "sample_ids" in message


def test_unknown_sample_error_shows_the_first_ten_and_counts_the_rest(session, small_dataset):
    session.watch_or_edit(small_dataset, flag="data", loader_name="train_loader")
    with pytest.raises(UnknownSampleError) as err:
        session.discard_samples(list(range(100, 125)))
    assert err.value.missing == list(range(100, 110))
    assert "25 unknown" in str(err.value) and "15 more" in str(err.value)


def test_a_long_tensor_with_an_unregistered_id_in_range_is_unknown(session, small_dataset):
    session.watch_or_edit(small_dataset, flag="data", loader_name="train_loader")
    session.watch_or_edit(TensorDataset(torch.zeros(2, 4), torch.zeros(2)), flag="data",
                          loader_name="extra_loader", sample_ids=[30, 31])
    # 25 lies between the known ids 0..19 and 30..31
    with pytest.raises(UnknownSampleError) as err:
        session.record_batch("loss", torch.tensor([0, 25, 30]), torch.ones(3))
    assert err.value.missing == [25]
    assert "signals//loss" not in session.dataframe.columns


def test_sparse_and_huge_int_ids_work_everywhere(session):
    ids = [10**12 + 7 * i for i in range(5)]
    ds = TensorDataset(torch.zeros(5, 2), torch.arange(5))
    loader = session.watch_or_edit(ds, flag="data", loader_name="train_loader", sample_ids=ids,
                                   batch_size=5)
    _, _, got = next(iter(loader))
    assert got.tolist() == ids
    session.record_batch("loss", got, torch.arange(5.0))
    session.tag_samples(ids[3], "hard")
    assert session.get_samples_by_tag("hard") == [ids[3]]
    assert session.dataframe.loc[(ids[4], 0), "signals//loss"] == 4.0


# ---------------------------------------------------------------- dataframe layout
def test_dataframe_has_the_documented_index_and_columns(session, small_dataset):
    loader = session.watch_or_edit(small_dataset, flag="data", loader_name="train_loader",
                                   batch_size=4)
    lossf = session.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss",
                                  name="train-loss", per_sample=True)
    x, y, ids = next(iter(loader))
    lossf(torch.randn(4, 3), y, batch_ids=ids)
    session.tag_samples([0], "hard")
    session.register_categorical_tag("weather", ["rainy", "sunny"])

    df = session.dataframe
    assert isinstance(df.index, pd.MultiIndex)
    assert list(df.index.names) == ["sample_id", "annotation_id"]
    assert (df.index.get_level_values("annotation_id") == 0).all()
    assert list(df.index.get_level_values("sample_id")) == list(range(20))
    assert {"origin", "target", "prediction", "discarded", "signals//train-loss", "tag:hard",
            "tag:weather"} <= set(df.columns)
    assert df["discarded"].dtype == bool
    assert df["tag:hard"].dtype == bool
    assert isinstance(df["tag:weather"].dtype, pd.CategoricalDtype)
    assert list(df["tag:weather"].cat.categories) == ["rainy", "sunny"]
    assert df["signals//train-loss"].notna().sum() == 4
    # a loss called with [B, C] scores and class targets also keeps its classification evidence
    assert sorted(df.filter(like="signals").columns) == sorted(
        ["signals//train-loss", *(f"signals//train-loss/{key}" for key in EVIDENCE_KEYS)])


def test_an_empty_session_has_an_empty_dataframe_with_the_same_index(session):
    df = session.dataframe
    assert len(df) == 0
    assert list(df.index.names) == ["sample_id", "annotation_id"]
    assert {"origin", "target", "prediction", "discarded"} <= set(df.columns)


def test_dataframe_is_a_copy_that_user_edits_do_not_leak_into(session, small_dataset):
    session.watch_or_edit(small_dataset, flag="data", loader_name="train_loader")
    df = session.dataframe
    df.loc[(0, 0), "discarded"] = True
    assert session.get_discarded_samples() == []
    assert not session.dataframe.loc[(0, 0), "discarded"]


def test_targets_of_a_tensor_dataset_are_known_before_training(session, digits):
    session.watch_or_edit(digits, flag="data", loader_name="train_loader")
    df = session.dataframe
    assert len(df) == 1797
    assert df["target"].tolist() == digits.tensors[1].tolist()
    assert df["prediction"].isna().all()
    assert session.counts() == (1797, 1797)


def test_per_sample_loss_values_land_on_the_rows_of_their_sample_ids(session, digits):
    model = digits_mlp(hidden=16)
    loader = session.watch_or_edit(digits, flag="data", loader_name="train_loader",
                                   batch_size=50, shuffle=True, seed=1)
    lossf = session.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss",
                                  signal_name="train-loss", per_sample=True)
    seen = []
    with torch.no_grad():
        for i, (x, y, ids) in enumerate(loader):
            lossf(model(x), y, batch_ids=ids)
            seen.extend(ids.tolist())
            if i == 2:
                break
    assert len(seen) == 150 and seen != sorted(seen)

    # the same values, computed by hand from the dataset for those ids
    idx = torch.tensor(seen)
    with torch.no_grad():
        logits = model(digits.tensors[0][idx])
        expected = nn.functional.cross_entropy(logits, digits.tensors[1][idx], reduction="none")
    df = session.dataframe.xs(0, level="annotation_id")
    np.testing.assert_allclose(df.loc[seen, "signals//train-loss"].to_numpy(), expected.numpy(),
                               rtol=1e-6)
    assert df.loc[seen, "prediction"].tolist() == logits.argmax(1).tolist()
    assert df.loc[seen, "target"].tolist() == digits.tensors[1][idx].tolist()
    untouched = sorted(set(range(1797)) - set(seen))
    assert df.loc[untouched, "signals//train-loss"].isna().all()
    assert df.loc[untouched, "prediction"].isna().all()


def test_a_per_sample_loss_called_without_batch_ids_uses_the_batch_just_drawn(session,
                                                                              small_dataset):
    loader = session.watch_or_edit(small_dataset, flag="data", loader_name="train_loader",
                                   batch_size=6, shuffle=True, seed=2)
    lossf = session.watch_or_edit(lambda out, y: (out - y.float()).abs(), flag="loss",
                                  name="err", per_sample=True)
    for _, y, ids in loader:
        lossf(torch.zeros(len(ids)), y)  # no batch_ids: the ids the loader yielded last
    df = session.dataframe.xs(0, level="annotation_id")
    assert df["signals//err"].tolist() == [float(i % 3) for i in range(20)]


def test_a_later_value_replaces_the_earlier_one_in_the_table(session, small_dataset):
    session.watch_or_edit(small_dataset, flag="data", loader_name="train_loader")
    session.save_signals({"loss": torch.tensor([1.0, 2.0])}, [3, 4], step=1)
    session.save_signals({"loss": torch.tensor([5.0])}, [4], step=2)
    df = session.dataframe
    assert df.loc[(3, 0), "signals//loss"] == 1.0
    assert df.loc[(4, 0), "signals//loss"] == 5.0


def test_string_ids_index_the_dataframe(session, small_dataset):
    names = [f"s{i}" for i in range(20)]
    session.watch_or_edit(small_dataset, flag="data", loader_name="train_loader",
                          sample_ids=names)
    session.save_signals({"loss": np.arange(3.0)}, ["s5", "s0", "s19"])
    df = session.dataframe
    assert df.loc[("s5", 0), "signals//loss"] == 0.0
    assert df.loc[("s0", 0), "signals//loss"] == 1.0
    assert df.loc[("s19", 0), "signals//loss"] == 2.0
    assert df.loc[("s19", 0), "target"] == 19 % 3


def test_ids_are_unique_per_origin_and_origins_may_share_ids():
    table = SampleTable()
    rows = table.add_samples([5, 6, "a"], "train")
    assert table.add_samples(["a", 5], "train").tolist() == [rows[2], rows[0]]
    val = table.add_samples([7, 6, "a"], "val")  # 6 and "a" are val samples of their own
    assert len(table) == 6 and len(set(val.tolist()) | set(rows.tolist())) == 6
    assert table.origins_of(6) == ["train", "val"] and table.origins_of(7) == ["val"]
    assert table.rows_for([6, "a"], origin="val").tolist() == [val[1], val[2]]
    assert table.rows_for(torch.tensor([6, 5]), origin="train").tolist() == [rows[1], rows[0]]
    assert table.rows_for([7, 5]).tolist() == [val[0], rows[0]]  # each in one origin only
    for ids in ([5, 6], torch.tensor([5, 6]), ["a"]):  # the fast and the general path
        with pytest.raises(AmbiguousSampleError, match=r"\['train', 'val'\]") as info:
            table.rows_for(ids)
        assert isinstance(info.value, WeightslabError) and "origin=" in str(info.value)
    with pytest.raises(UnknownSampleError):
        table.rows_for([7], origin="train")
    with pytest.raises(InvalidValueError, match="unknown origin 'test'"):
        table.rows_for([5], origin="test")


def test_the_table_grows_past_its_initial_capacity_keeping_every_value():
    table = SampleTable(capacity=4)
    table.add_samples(list(range(3)), "train")
    table.write_signal(np.arange(3), "loss", np.array([0.0, 1.0, 2.0]))
    table.ensure_bool_tag("hard")[1] = True
    table.add_samples(list(range(3, 5000)), "train")
    df = table.dataframe()
    assert len(df) == 5000
    assert df["signals//loss"].iloc[:3].tolist() == [0.0, 1.0, 2.0]
    assert df["signals//loss"].iloc[3:].isna().all()
    assert df["tag:hard"].sum() == 1 and df["tag:hard"].iloc[1]
    assert table.rows_for(torch.tensor([4999, 0])).tolist() == [4999, 0]


@pytest.mark.parametrize("samples", [100, 5000])  # the scatter path, and the sort path
def test_the_last_recorded_value_of_a_sample_wins_within_one_drain(session, samples):
    ids = np.arange(samples)
    session.save_signals({"loss": np.full(samples, -1.0)}, ids, step=0)
    session.flush()
    rng = np.random.default_rng(1)
    expected, last_step = np.full(samples, -1.0), np.zeros(samples, np.int64)
    for step in range(1, 40):  # recorded back to back: one drain applies them all
        batch = rng.integers(0, 100, size=16)  # repeats within and across batches
        values = rng.random(16)
        session.save_signals({"loss": values}, batch, step=step)
        for sid, value in zip(batch, values):
            expected[sid], last_step[sid] = value, step
    assert session.dataframe["signals//loss"].to_numpy() == pytest.approx(expected)
    assert session.table.last_step[:samples].tolist() == last_step.tolist()


def test_last_occurrences_names_each_row_once_with_its_last_position():
    table = SampleTable()
    table.add_samples(list(range(50)), "train")
    rows = np.array([3, 7, 3, 9, 7, 3])
    for big in (rows, np.tile(rows, 2)):  # few rows (sort) and many against the table (scatter)
        distinct, last = table.last_occurrences(big)
        assert distinct.tolist() == [3, 7, 9]
        assert last.tolist() == [len(big) - 1, len(big) - 2, len(big) - 3]
    empty, none = table.last_occurrences(np.empty(0, np.int64))
    assert empty.size == 0 and none.size == 0


def test_ids_registered_out_of_order_or_with_gaps_still_find_their_rows():
    table = SampleTable()
    first = table.add_samples(np.arange(100), "train")  # one range: no look-up array
    assert first.tolist() == list(range(100))
    more = table.add_samples(torch.tensor([150, 120, 100, 5]), "train")  # breaks the range
    assert more.tolist() == [100, 101, 102, 5]
    assert table.rows_for([120, 0, 150, 99]).tolist() == [101, 0, 100, 99]
    assert table.has(150) and not table.has(149) and table.sample_id[102] == 100
    with pytest.raises(UnknownSampleError):
        table.rows_for(np.array([149]))
    assert table.add_samples([3, "x", 2**70], "train").tolist() == [3, 103, 104]
    assert table.ids_of(np.array([103, 104, 0])) == ["x", 2**70, 0]
    assert table.rows_for(["x", 2**70, 150]).tolist() == [103, 104, 100]


def test_a_table_of_dense_int_ids_costs_no_python_object_per_sample():
    table = SampleTable()
    table.add_samples(np.arange(100_000), "train")
    for j in range(4):
        table.write_signal(np.arange(100_000), f"s{j}", np.zeros(100_000))
    # ids (8) + origin (2) + discarded (1) + last step (8) + change mark (1) + 4 signals (32)
    assert table.nbytes < 100_000 * 53 + 10_000
    assert isinstance(table.sample_id[7], int) and table.sample_id.ints(slice(0, 3)).dtype == np.int64


def test_ids_inside_one_origins_id_range_get_their_rows_in_a_new_array():
    table = SampleTable()
    table.add_samples(np.arange(1000), "train")       # ids 0..999 -> rows 0..999
    ids = np.array([5, 999, 0, 5])
    rows = table.rows_for(ids)
    assert rows.tolist() == [5, 999, 0, 5]
    rows[0] = -7                                      # the caller's ids are not the rows
    assert ids.tolist() == [5, 999, 0, 5]
    table.add_samples(np.arange(500, 700), "val")     # rows 1000..1199, ids overlap train's
    assert table.rows_for(np.array([600, 650]), origin="val").tolist() == [1100, 1150]
    assert table.rows_for(np.array([0, 999]), origin="train").tolist() == [0, 999]
    assert table.rows_for(np.array([0, 499])).tolist() == [0, 499]  # only train holds them
    with pytest.raises(AmbiguousSampleError):
        table.rows_for(np.array([0, 600]))            # 600: train and val
    with pytest.raises(UnknownSampleError):
        table.rows_for(np.array([1000]), origin="train")
    with pytest.raises(UnknownSampleError):
        table.rows_for(np.array([-1, 3]), origin="train")
    with pytest.raises(UnknownSampleError):
        table.rows_for(np.array([499]), origin="val")
