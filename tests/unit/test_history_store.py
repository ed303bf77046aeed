"""save_signals / record_batch and the history behind query_signal_history, query_sample_history
and the global curves: what is kept, in which shape, before and after it reaches DuckDB."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest
import torch
from torch import nn

import weightslab_nb as wl
from weightslab_nb import UnknownSampleError


@pytest.fixture
def quiet(make_session, small_dataset):
    """A session whose writer never flushes on its own (flush_interval=60 s) with a 20-sample
    train loader and a model watched (so an experiment hash exists)."""
    s = make_session("quiet", flush_interval=60)
    s.watch_or_edit(small_dataset, flag="data", loader_name="train_loader")
    s.watch_or_edit(nn.Linear(4, 3), flag="model")
    return s


def _history_snapshot(s, *signals):
    return ({name: s.query_signal_history(name) for name in signals},
            {name: s.global_series(name)["step"].tolist() for name in signals})


# ---------------------------------------------------------------- documented shapes
def test_query_signal_history_returns_sample_step_value_hash_tuples(quiet):
    h = wl.get_current_experiment_hash()
    wl.save_signals({"train/loss": torch.tensor([0.5, 1.5, 2.5])}, torch.tensor([7, 2, 5]),
                    step=3)
    wl.save_signals({"train/loss": torch.tensor([0.25])}, [2], step=4)
    rows = wl.query_signal_history("train/loss")
    assert rows == [(2, 3, 1.5, h), (2, 4, 0.25, h), (5, 3, 2.5, h), (7, 3, 0.5, h)]
    for sample_id, step, value, exp in rows:
        assert type(sample_id) is int and type(step) is int and type(value) is float
        assert isinstance(exp, str)


def test_query_sample_history_returns_signal_step_value_hash_tuples(quiet):
    h = quiet.get_current_experiment_hash()
    quiet.save_signals({"loss": [1.0, 2.0], "acc": [0.0, 1.0]}, [3, 4], step=1)
    quiet.save_signals({"loss": [0.5]}, [3], step=2)
    rows = wl.query_sample_history(3)
    assert sorted(rows) == sorted([("loss", 1, 1.0, h), ("loss", 2, 0.5, h), ("acc", 1, 0.0, h)])
    loss_steps = [step for sig, step, _, _ in rows if sig == "loss"]
    assert loss_steps == [1, 2]
    assert wl.query_sample_history(3, signal_name="acc") == [("acc", 1, 0.0, h)]
    assert wl.query_sample_history(3, signal_name="signals//acc") == [("acc", 1, 0.0, h)]
    assert wl.query_sample_history(0) == []
    assert wl.query_sample_history(3, signal_name="never-logged") == []


def test_string_ids_come_back_as_strings(session):
    session.watch_or_edit(nn.Linear(1, 1), flag="model")
    session.save_signals({"loss": [1.0, 2.0]}, ["img_0042", "img_7"], step=0)
    assert [r[0] for r in session.query_signal_history("loss")] == ["img_0042", "img_7"]
    assert [r[:3] for r in session.query_sample_history("img_0042")] == [("loss", 0, 1.0)]


def test_query_sample_history_of_an_unknown_sample_is_an_unknown_sample_error(quiet):
    with pytest.raises(UnknownSampleError, match="sample_id"):
        quiet.query_sample_history("ghost")


def test_an_unknown_signal_has_an_empty_history(quiet):
    assert quiet.query_signal_history("never-logged") == []


def test_history_works_without_a_watched_model_or_hyperparameters(session):
    # save_signals alone is a documented way to record; the hash is then None
    session.save_signals({"loss": [1.0, 2.0]}, [0, 1], step=0)
    assert session.get_current_experiment_hash() is None
    assert session.query_signal_history("loss") == [(0, 0, 1.0, None), (1, 0, 2.0, None)]


# ---------------------------------------------------------------- buffer, flush, file
def test_values_are_visible_before_a_flush_and_identical_after_it(quiet):
    quiet.save_signals({"loss": np.array([1.0, 2.0, 3.0])}, [0, 1, 2], step=1)
    assert not quiet.history.connected  # nothing written to disk yet
    before = (quiet.query_signal_history("loss"), quiet.query_sample_history(1))
    assert len(before[0]) == 3

    quiet.flush()
    assert quiet.history.connected
    assert (quiet.query_signal_history("loss"), quiet.query_sample_history(1)) == before

    quiet.save_signals({"loss": np.array([4.0])}, [1], step=2)  # half on disk, half buffered
    after = quiet.query_sample_history(1)
    assert [(s, v) for _, s, v, _ in after] == [(1, 2.0), (2, 4.0)]


def test_the_duckdb_file_holds_every_row_after_close(make_session, small_dataset, tmp_path):
    s = make_session("persisted", flush_interval=60)
    s.watch_or_edit(small_dataset, flag="data", loader_name="train_loader")
    s.watch_or_edit(nn.Linear(4, 3), flag="model")
    for step in range(5):
        s.save_signals({"loss": np.arange(4.0) + step, "acc": np.ones(4)}, [0, 1, 2, 3],
                       step=step)
    s.save_signals({"quiet": np.ones(2)}, [5, 6], step=5, log=False)
    s.close()

    path = tmp_path / "persisted" / "history.duckdb"
    assert path.is_file()
    assert s.history.path == path
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM sample_history").fetchone()[0] == 5 * 8 + 2
        assert con.execute("SELECT count(*) FROM global_history").fetchone()[0] == 10
        names = {r[0] for r in con.execute("SELECT name FROM signals").fetchall()}
        assert names == {"loss", "acc", "quiet"}
        rows = con.execute(
            "SELECT s.sample_id, h.step, h.value FROM sample_history h "
            "JOIN samples s USING (row) JOIN signals g ON g.id = h.signal "
            "WHERE g.name = 'loss' AND s.sample_id = '2' ORDER BY h.step").fetchall()
        assert rows == [("2", step, 2.0 + step) for step in range(5)]
        hashes = [r[0] for r in con.execute("SELECT hash FROM experiments").fetchall()]
        assert s.get_current_experiment_hash() in hashes


def test_a_session_that_records_nothing_writes_no_files(make_session, small_dataset, tmp_path):
    s = make_session("empty")
    s.watch_or_edit(small_dataset, flag="data", loader_name="train_loader")
    s.close()
    assert not (tmp_path / "empty").exists()


def test_a_tag_alone_is_persisted_under_the_run_directory(make_session, small_dataset, tmp_path):
    s = make_session("tagged")
    s.watch_or_edit(small_dataset, flag="data", loader_name="train_loader")
    s.tag_samples([1], "hard")
    s.close()
    assert (tmp_path / "tagged" / "ledger.parquet").exists()


def test_close_is_safe_to_call_twice(session):
    session.save_signals({"loss": [1.0]}, [0], step=0)
    session.close()
    session.close()
    assert session.history.path.is_file()


# ---------------------------------------------------------------- experiment hash filter
def test_exp_hash_restricts_the_history_to_one_run(quiet):
    hp = quiet.watch_or_edit({"optimizer": {"lr": 0.1}}, flag="hp")
    h1 = quiet.get_current_experiment_hash()
    quiet.save_signals({"loss": [1.0, 2.0]}, [0, 1], step=1)
    quiet.flush()
    hp["optimizer"]["lr"] = 0.01
    h2 = quiet.get_current_experiment_hash()
    assert h2 != h1
    quiet.save_signals({"loss": [3.0]}, [0], step=2)

    assert quiet.query_signal_history("loss", exp_hash=h1) == [(0, 1, 1.0, h1), (1, 1, 2.0, h1)]
    assert quiet.query_signal_history("loss", exp_hash=h2) == [(0, 2, 3.0, h2)]
    assert quiet.query_sample_history(0, exp_hash=h2) == [("loss", 2, 3.0, h2)]
    assert len(quiet.query_signal_history("loss")) == 3
    assert quiet.query_signal_history("loss", exp_hash="0" * 24) == []


# ---------------------------------------------------------------- global curves
def test_log_true_records_mean_min_max_per_step(quiet):
    quiet.save_signals({"loss": torch.tensor([1.0, 2.0, 6.0])}, [0, 1, 2], step=5)
    quiet.save_signals({"loss": torch.tensor([4.0, 2.0])}, [3, 4], step=6)
    series = quiet.global_series("loss")
    assert series["step"].tolist() == [5, 6]
    assert series["mean"].tolist() == pytest.approx([3.0, 3.0])
    assert series["min"].tolist() == [1.0, 2.0]
    assert series["max"].tolist() == [6.0, 4.0]
    assert series["count"].tolist() == [3, 2]
    assert "loss" in quiet.global_signal_names()
    assert quiet.global_series("loss", start=1)["step"].tolist() == [6]


def test_log_defaults_to_true(quiet):
    quiet.save_signals({"loss": [1.0, 3.0]}, [0, 1], step=0)
    assert quiet.global_series("loss")["mean"].tolist() == [2.0]


def test_log_false_keeps_per_sample_history_but_no_curve(quiet):
    quiet.save_signals({"quiet": [1.0, 3.0]}, [0, 1], step=0, log=False)
    assert "quiet" not in quiet.global_signal_names()
    assert len(quiet.global_series("quiet")["step"]) == 0
    assert len(quiet.query_signal_history("quiet")) == 2
    assert quiet.dataframe.loc[(1, 0), "signals//quiet"] == 3.0


def test_the_step_defaults_to_the_training_step(quiet, small_dataset):
    loader = quiet.watch_or_edit(small_dataset, flag="data", loader_name="train_loader",
                                 batch_size=4)
    it = iter(loader)
    next(it)
    next(it)  # two training steps
    quiet.save_signals({"loss": [1.0]}, [0])
    assert quiet.query_sample_history(0) == [("loss", 2, 1.0, quiet.get_current_experiment_hash())]
    assert quiet.global_series("loss")["step"].tolist() == [2]


# ---------------------------------------------------------------- save_signals inputs
def test_a_scalar_is_broadcast_and_extra_dimensions_are_averaged(quiet):
    quiet.save_signals({"w": 0.5, "pix": torch.tensor([[1.0, 3.0], [5.0, 7.0]])}, [0, 1], step=0)
    df = quiet.dataframe
    assert df.loc[[(0, 0), (1, 0)], "signals//w"].tolist() == [0.5, 0.5]
    assert df.loc[[(0, 0), (1, 0)], "signals//pix"].tolist() == [2.0, 6.0]


def test_signal_names_with_or_without_the_signals_prefix_are_the_same_signal(quiet):
    quiet.save_signals({"signals//loss": [1.0]}, [0], step=0)
    quiet.save_signals({"loss": [2.0]}, [0], step=1)
    assert [r[1:3] for r in quiet.query_signal_history("loss")] == [(0, 1.0), (1, 2.0)]
    assert quiet.query_signal_history("signals//loss") == quiet.query_signal_history("loss")
    assert [c for c in quiet.dataframe.columns if "loss" in c] == ["signals//loss"]


def test_predictions_come_from_preds_or_the_argmax_of_preds_raw(quiet):
    logits = torch.tensor([[0.1, 2.0, 0.3], [3.0, 0.0, 0.0]])
    quiet.save_signals({"loss": [1.0, 1.0]}, [0, 1], preds_raw=logits,
                       targets=torch.tensor([1, 2]), step=0)
    df = quiet.dataframe
    assert df.loc[[(0, 0), (1, 0)], "prediction"].tolist() == [1, 0]
    assert df.loc[[(0, 0), (1, 0)], "target"].tolist() == [1, 2]
    quiet.save_signals({"loss": [1.0, 1.0]}, [0, 1], preds_raw=logits,
                       preds=torch.tensor([2, 2]), step=1)
    assert quiet.dataframe.loc[[(0, 0), (1, 0)], "prediction"].tolist() == [2, 2]


def test_ids_never_seen_are_added_as_unassigned_samples(quiet):
    quiet.save_signals({"loss": [1.0, 2.0]}, ["new_a", "new_b"], step=0)
    df = quiet.dataframe
    assert df.loc[("new_a", 0), "origin"] == "unassigned"
    assert df.loc[("new_b", 0), "signals//loss"] == 2.0
    quiet.tag_samples(["new_a"], "seen")
    assert quiet.get_samples_by_tag("seen", origin="unassigned") == ["new_a"]


# ---------------------------------------------------------------- errors change nothing
def _state(s, *signals):
    return s.dataframe, _history_snapshot(s, *signals), s.global_signal_names()


def _assert_unchanged(s, before, *signals):
    df, hist, names = before
    assert s.dataframe.equals(df)
    assert _history_snapshot(s, *signals) == hist
    assert s.global_signal_names() == names


def test_save_signals_with_a_wrong_length_records_nothing(quiet):
    quiet.save_signals({"loss": [1.0, 2.0]}, [0, 1], step=0)
    before = _state(quiet, "loss", "acc")
    with pytest.raises(ValueError) as err:
        quiet.save_signals({"loss": [1.0, 2.0, 3.0], "acc": [1.0, 0.0]}, [0, 1], step=1)
    assert "signals['loss']" in str(err.value) and "3" in str(err.value)
    with pytest.raises(ValueError, match=r"signals\['acc'\]"):
        # the first signal is fine, the second is not: neither is recorded
        quiet.save_signals({"loss": [5.0, 6.0], "acc": [1.0]}, [0, 1], step=1)
    quiet.flush()
    _assert_unchanged(quiet, before, "loss", "acc")
    assert "signals//acc" not in quiet.dataframe.columns


def test_save_signals_with_a_wrong_length_adds_no_new_samples(quiet):
    n = len(quiet.dataframe)
    with pytest.raises(ValueError):
        quiet.save_signals({"loss": [1.0]}, ["brand_new", "other_new"], step=0)
    assert len(quiet.dataframe) == n


@pytest.mark.parametrize("signals", [None, {}, [("loss", [1.0])], {"": [1.0]}, {3: [1.0]},
                                     {"loss": "high"}, {"loss": object()}])
def test_save_signals_with_wrong_types_is_a_type_error_and_records_nothing(quiet, signals):
    before = _state(quiet, "loss")
    with pytest.raises(TypeError, match="signals"):
        quiet.save_signals(signals, [0])
    _assert_unchanged(quiet, before, "loss")


def test_save_signals_with_bad_ids_is_a_type_error_naming_batch_ids(quiet):
    before = _state(quiet, "loss")
    with pytest.raises(TypeError, match="batch_ids"):
        quiet.save_signals({"loss": [1.0, 2.0]}, [0.5, 1.5])
    with pytest.raises(TypeError, match="batch_ids"):
        quiet.save_signals({"loss": [1.0]}, None)
    _assert_unchanged(quiet, before, "loss")


def test_record_batch_with_unknown_ids_records_nothing(quiet):
    quiet.record_batch("loss", [0, 1], [1.0, 2.0], step=0)
    before = _state(quiet, "loss")
    with pytest.raises(UnknownSampleError) as err:
        quiet.record_batch("loss", [0, 404], [5.0, 6.0], step=1)
    assert err.value.missing == [404]
    _assert_unchanged(quiet, before, "loss")


def test_record_batch_with_a_wrong_length_records_nothing(quiet):
    quiet.record_batch("loss", [0, 1], [1.0, 2.0], step=0)
    before = _state(quiet, "loss")
    with pytest.raises(ValueError):
        quiet.record_batch("loss", [0, 1, 2], [5.0, 6.0], step=1)
    _assert_unchanged(quiet, before, "loss")


def test_record_batch_length_error_names_the_values_argument(quiet):
    with pytest.raises(ValueError, match="values"):
        quiet.record_batch("loss", [0, 1, 2], [5.0, 6.0], step=1)


def test_a_per_sample_loss_returning_the_wrong_shape_records_nothing(quiet):
    lossf = quiet.watch_or_edit(lambda out, y: out.sum(1)[:-1], flag="loss", name="bad",
                                per_sample=True)
    with pytest.raises(ValueError, match="bad"):
        lossf(torch.ones(3, 2), torch.zeros(3), batch_ids=torch.tensor([0, 1, 2]))
    assert "signals//bad" not in quiet.dataframe.columns
    assert quiet.query_signal_history("bad") == []
