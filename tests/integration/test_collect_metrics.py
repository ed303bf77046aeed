"""3LC-style per-sample metric collection on the real digits data, with a real session."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, IterableDataset, TensorDataset

from weightslab_nb.demo import digits_mlp, train_digits
from weightslab_nb import collect_metrics  # the facade: the loader's or the current session
from weightslab_nb.metrics import MetricsCollectorError, MetricsResult, reset_dataloader_cache

N_TRAIN = 1400  # digits 0..1399 train, 1400..1796 (397 samples) are the validation split
TRAIN_STEPS = 15


def accuracy(batch, output):
    """Per-sample accuracy: 1.0 where the prediction is the label."""
    return {"accuracy": (output.argmax(1) == batch[1]).float()}


def loss(batch, output):
    """Per-sample cross-entropy."""
    return {"loss": nn.functional.cross_entropy(output, batch[1], reduction="none")}


@pytest.fixture
def run(session, digits):
    """A model trained for a few steps on the train split, and a watched validation loader with
    string ids ``val/0 ... val/396``."""
    images, labels = digits.tensors
    model = session.watch_or_edit(digits_mlp(hidden=32), flag="model")
    train = session.watch_or_edit(TensorDataset(images[:N_TRAIN], labels[:N_TRAIN]),
                                  flag="data", loader_name="train_loader", batch_size=64,
                                  shuffle=True, seed=0)
    val_ds = TensorDataset(images[N_TRAIN:], labels[N_TRAIN:])
    val = session.watch_or_edit(val_ds, flag="data", loader_name="val_loader",
                                id_prefix="val/")
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    train_loss = session.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss",
                                       signal_name="train-loss", per_sample=True)
    train_digits(train, model, optimizer, train_loss, max_steps=TRAIN_STEPS)
    return SimpleNamespace(session=session, model=model, val=val, val_ds=val_ds,
                           images=images[N_TRAIN:], labels=labels[N_TRAIN:])


def _by_hand(run):
    """Per-sample accuracy and loss of the model on the validation split, computed directly."""
    with torch.no_grad():
        out = run.model(run.images)
    acc = (out.argmax(1) == run.labels).double().numpy()
    ce = nn.functional.cross_entropy(out, run.labels, reduction="none").double().numpy()
    return acc, ce


def _val_frame(session):
    frame = session.dataframe
    return frame[frame["origin"] == "val"].droplevel("annotation_id")


def test_per_sample_metrics_land_in_the_sample_table_for_every_sample_and_match_by_hand(run):
    session = run.session
    result = collect_metrics(run.val, [accuracy, loss], split="val", progress=False)
    acc, ce = _by_hand(run)
    ids = [f"val/{i}" for i in range(len(run.labels))]

    assert isinstance(result, MetricsResult)
    assert result.rows == len(ids) == 397
    assert result.columns == ["signals//accuracy", "signals//loss"]
    assert result.step == session.controller.step == TRAIN_STEPS
    assert result.frame.index.tolist() == ids and result.frame.index.name == "sample_id"
    np.testing.assert_array_equal(result.frame["accuracy"].to_numpy(), acc)
    np.testing.assert_allclose(result.frame["loss"].to_numpy(), ce, rtol=1e-5)

    table = _val_frame(session).loc[ids]
    np.testing.assert_array_equal(table["signals//accuracy"].to_numpy(), acc)
    np.testing.assert_allclose(table["signals//loss"].to_numpy(), ce, rtol=1e-5)
    # the training samples were not touched
    train_rows = session.dataframe.xs(0, level="sample_id", drop_level=False)
    assert train_rows["signals//accuracy"].isna().all()


def test_aggregates_are_returned_and_recorded_once_in_the_global_history(run):
    session = run.session
    result = collect_metrics(run.val, [accuracy, loss], split="val", progress=False)
    acc, ce = _by_hand(run)

    assert set(result.aggregates) == {"val_accuracy_avg", "val_loss_avg"}
    assert result.aggregates["val_accuracy_avg"] == pytest.approx(acc.mean())
    assert result.aggregates["val_loss_avg"] == pytest.approx(ce.mean(), rel=1e-5)
    series = session.global_series("val_accuracy_avg")
    assert series["step"].tolist() == [TRAIN_STEPS]
    assert series["mean"][0] == pytest.approx(acc.mean())
    assert (series["min"][0], series["max"][0], series["count"][0]) == (0.0, 1.0, 397)
    # log=False: no per-batch curve points under the metric names themselves
    assert "accuracy" not in session.global_signal_names()

    collect_metrics(run.val, accuracy, collect_aggregates=False, progress=False)
    assert "accuracy_avg" not in session.global_signal_names()
    result = collect_metrics(run.val, accuracy, progress=False)  # split "": no prefix
    assert list(result.aggregates) == ["accuracy_avg"]
    assert session.global_series("accuracy_avg")["mean"][0] == pytest.approx(acc.mean())


def test_nan_values_store_nothing_for_their_sample_and_are_left_out_of_aggregates(run):
    session = run.session

    def every_other(batch, output):
        values = batch[1].double()
        values[::2] = float("nan")
        return {"odd_label": values}

    result = collect_metrics(run.val, every_other, dataloader_args={"batch_size": 64},
                             split="val", progress=False)
    labels = run.labels.double().numpy()
    kept = labels[np.arange(len(labels)) % 64 % 2 == 1]
    assert result.aggregates["val_odd_label_avg"] == pytest.approx(kept.mean())
    assert session.global_series("val_odd_label_avg")["count"][0] == len(kept)
    assert result.frame["odd_label"].isna().sum() == len(labels) - len(kept)
    assert session.query_sample_history("val/0", "odd_label") == []
    assert len(session.query_sample_history("val/1", "odd_label")) == 1


def test_each_sample_gets_one_history_entry_at_the_current_step(run):
    session = run.session
    result = collect_metrics(run.val, accuracy, progress=False)
    value = result.frame.loc["val/7", "accuracy"]
    history = session.query_sample_history("val/7", "accuracy")
    assert history == [("accuracy", TRAIN_STEPS, value, session.get_current_experiment_hash())]
    frame = session.history_frame("sample", signals="accuracy")
    assert len(frame) == 397 and set(frame["step"]) == {TRAIN_STEPS}
    assert sorted(frame["sample_id"]) == sorted(result.frame.index)


def test_a_plain_dataset_joins_to_the_watched_loader_named_by_foreign_table_url(run):
    session = run.session
    # a separate dataset object with the same rows: row i is sample val/i of "val_loader"
    plain = TensorDataset(run.images.clone(), run.labels.clone())

    def label_seen(batch, output):
        return {"label_seen": batch[1]}

    for url in ("val_loader", "val"):  # loader name or origin
        result = collect_metrics(plain, label_seen, foreign_table_url=url,
                                 dataloader_args={"batch_size": 50}, progress=False)
        assert result.frame.index.tolist() == run.val.sample_ids
    table = _val_frame(session)
    np.testing.assert_array_equal(table["signals//label_seen"].to_numpy(),
                                  table["target"].to_numpy())


def test_dict_batches_give_the_predictor_their_image_entry(run):
    session = run.session

    class Records(Dataset):
        def __len__(self):
            return len(run.labels)

        def __getitem__(self, i):
            return {"image": run.images[i], "label": run.labels[i]}

    def dict_accuracy(batch, output):
        return {"dict_accuracy": (output.argmax(1) == batch["label"]).float()}

    result = collect_metrics(Records(), dict_accuracy, foreign_table_url="val_loader",
                             split="val", progress=False)
    acc, _ = _by_hand(run)
    np.testing.assert_array_equal(result.frame["dict_accuracy"].to_numpy(), acc)
    assert session.global_series("val_dict_accuracy_avg")["mean"][0] == pytest.approx(acc.mean())


def test_exclude_zero_weights_skips_the_discarded_samples(run):
    session = run.session
    discarded = ["val/0", "val/5", "val/100", "val/396"]
    session.discard_samples(discarded)

    result = collect_metrics(run.val, accuracy, exclude_zero_weights=True, split="val",
                             progress=False)
    assert result.rows == 397 - len(discarded)
    assert not set(discarded) & set(result.frame.index)
    table = _val_frame(session)
    assert table.loc[discarded, "signals//accuracy"].isna().all()
    assert table.drop(index=discarded)["signals//accuracy"].notna().all()
    assert session.global_series("val_accuracy_avg")["count"][0] == 397 - len(discarded)
    assert session.query_sample_history("val/5", "accuracy") == []

    everything = collect_metrics(run.val, loss, progress=False)  # default: every sample
    assert everything.rows == 397 and set(discarded) <= set(everything.frame.index)


def test_aggregates_go_to_the_summary_of_the_running_tracking_run(run):
    import weightslab_nb as wl

    tracked = wl.init(project="digits")
    result = collect_metrics(run.val, [accuracy, loss], split="val", progress=False)
    assert tracked.summary["val_accuracy_avg"] == pytest.approx(result.aggregates[
        "val_accuracy_avg"])
    again = collect_metrics(run.val, accuracy, split="again", run_url=tracked.path,
                            progress=False)
    assert tracked.summary["again_accuracy_avg"] == pytest.approx(again.aggregates[
        "again_accuracy_avg"])


def test_constants_become_per_sample_columns(run):
    session = run.session
    result = collect_metrics(run.val, accuracy, constants={"epoch": 3, "is_final": True},
                             constants_schemas={"epoch": "int"}, progress=False)
    assert result.columns == ["signals//accuracy", "signals//epoch", "signals//is_final"]
    assert list(result.frame.columns) == ["accuracy", "epoch", "is_final"]
    table = _val_frame(session)
    assert (table["signals//epoch"] == 3.0).all() and (table["signals//is_final"] == 1.0).all()
    assert session.query_sample_history("val/3", "epoch") == [
        ("epoch", TRAIN_STEPS, 3.0, session.get_current_experiment_hash())]
    assert set(result.aggregates) == {"accuracy_avg"}  # constants are not aggregated


def test_the_predictor_defaults_to_the_watched_model_run_in_eval_mode(run):
    model = run.model
    model.train()
    seen = []

    def spy(batch, output):
        seen.append((model.training, torch.is_grad_enabled(), output is None))
        return {"spy": torch.zeros(len(batch[1]))}

    collect_metrics(run.val, spy, progress=False)
    assert seen and all(s == (False, False, False) for s in seen)
    assert model.training  # restored

    model.eval()
    collect_metrics(run.val, spy, progress=False)
    assert not model.training  # eval stays eval

    # an explicit callable predictor replaces the model
    outputs = []
    collect_metrics(run.val, lambda b, out: outputs.append(out) or {"spy": torch.zeros(len(out))},
                    predictor=lambda x: x.flatten(1).sum(1, keepdim=True), progress=False)
    torch.testing.assert_close(torch.cat(outputs).squeeze(1), run.images.flatten(1).sum(1))


def test_without_a_watched_model_collectors_get_none(make_session, small_dataset):
    session = make_session("bare")
    loader = session.watch_or_edit(small_dataset, flag="data", loader_name="val_loader")
    outputs = []

    def label(batch, output):
        outputs.append(output)
        return {"label": batch[1]}

    result = collect_metrics(loader, label, dataloader_args={"batch_size": 8}, progress=False)
    assert outputs == [None, None, None]
    assert result.frame.index.tolist() == list(range(20))
    np.testing.assert_array_equal(result.frame["label"].to_numpy(), np.arange(20) % 3)


def test_the_model_is_back_in_training_mode_after_a_failing_collector(run):
    run.model.train()

    def broken(batch, output):
        raise ZeroDivisionError("oops")

    with pytest.raises(MetricsCollectorError, match="'broken'.*ZeroDivisionError: oops") as err:
        collect_metrics(run.val, [accuracy, broken], progress=False)
    assert err.value.collector == "broken" and isinstance(err.value.__cause__, ZeroDivisionError)
    assert run.model.training


def _wrong_length(batch, output):
    return {"short": torch.zeros(len(batch[1]) - 1)}


def _per_batch_scalar(batch, output):
    return {"mean_only": torch.tensor(0.5)}


def _also_accuracy(batch, output):
    return {"accuracy": torch.ones(len(batch[1]))}


def _fails_late(batch, output):
    if len(batch[1]) < 32:  # the last (short) batch
        raise RuntimeError("late failure")
    return {"late": torch.ones(len(batch[1]))}


BAD_CALLS = {
    "a DataLoader": (ValueError, "pass its dataset",
                     lambda r: collect_metrics(DataLoader(r.val_ds), accuracy)),
    "a plain dataset without foreign_table_url": (
        ValueError, "foreign_table_url=", lambda r: collect_metrics(r.val_ds, accuracy)),
    "foreign_table_url with a watched loader": (
        ValueError, "must not be given",
        lambda r: collect_metrics(r.val, accuracy, foreign_table_url="val_loader")),
    "an unknown foreign_table_url": (
        ValueError, "no watched loader named or with origin 'test'",
        lambda r: collect_metrics(r.val_ds, accuracy, foreign_table_url="test")),
    "a length mismatch with the loader": (
        ValueError, "397 samples", lambda r: collect_metrics(
            TensorDataset(r.images[:10], r.labels[:10]), accuracy,
            foreign_table_url="val_loader")),
    "shuffle=True": (ValueError, "shuffle=True", lambda r: collect_metrics(
        r.val, accuracy, dataloader_args={"shuffle": True})),
    "a sampler": (ValueError, "sampler", lambda r: collect_metrics(
        r.val, accuracy, dataloader_args={"sampler": range(397)})),
    "a wrong-length collector output": (
        ValueError, "collector '_wrong_length', metric 'short'",
        lambda r: collect_metrics(r.val, [accuracy, _wrong_length])),
    "a scalar per batch": (
        ValueError, "collector '_per_batch_scalar', metric 'mean_only'",
        lambda r: collect_metrics(r.val, [accuracy, _per_batch_scalar])),
    "a metric name used by two collectors": (
        ValueError, "'accuracy' is returned by both 'accuracy' and '_also_accuracy'",
        lambda r: collect_metrics(r.val, [accuracy, _also_accuracy])),
    "an empty metric name": (ValueError, "non-empty", lambda r: collect_metrics(
        r.val, lambda b, o: {"": torch.ones(len(b[1]))})),
    "a constant named like a metric": (ValueError, "clash", lambda r: collect_metrics(
        r.val, accuracy, constants={"accuracy": 1})),
    "a non-numeric constant": (TypeError, r"constants\['model'\]", lambda r: collect_metrics(
        r.val, accuracy, constants={"model": "mlp"})),
    "a collector failing on the last batch": (
        MetricsCollectorError, "'_fails_late' raised on batch 12",
        lambda r: collect_metrics(r.val, [accuracy, _fails_late])),
    "a collector returning a list": (TypeError, "returned a list", lambda r: collect_metrics(
        r.val, lambda b, o: [1.0] * len(b[1]))),
    "a run_url that is not the running run": (
        ValueError, "run_url: 'digits/nope' is not the running run",
        lambda r: collect_metrics(r.val, accuracy, run_url="digits/nope")),
    "an iterable dataset": (TypeError, "map-style", lambda r: collect_metrics(
        _Stream(), accuracy, foreign_table_url="val_loader")),
    "a non-callable collector": (TypeError, r"metrics_collectors\[1\]",
                                 lambda r: collect_metrics(r.val, [accuracy, "loss"])),
}


class _Stream(IterableDataset):
    def __iter__(self):
        return iter(())


@pytest.mark.parametrize("case", list(BAD_CALLS))
def test_bad_calls_raise_and_record_nothing(run, case):
    session = run.session
    error, message, call = BAD_CALLS[case]
    table_before = session.dataframe
    samples_before = len(session.history_frame("sample"))
    curves_before = session.global_signal_names()

    with pytest.raises(error, match=message):
        call(run)

    pd.testing.assert_frame_equal(session.dataframe, table_before)
    assert len(session.history_frame("sample")) == samples_before
    assert session.global_signal_names() == curves_before


def test_reset_dataloader_cache_is_a_harmless_no_op(run):
    assert reset_dataloader_cache() is None
    assert collect_metrics(run.val, accuracy, progress=False).rows == 397
