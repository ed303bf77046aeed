"""watch_or_edit: every documented flag and alias, type inference, and what watched loaders yield."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

import weightslab_nb as wl
from weightslab_nb.errors import AmbiguousSampleError, WeightslabError
from weightslab_nb.experiment import data_state_digest, experiment_hash
from weightslab_nb.watch.data import WatchedLoader
from weightslab_nb.watch.hyperparameters import HyperParameters
from weightslab_nb.watch.metric import WatchedSignal

DOCUMENTED_FLAGS = ("model", "data", "dataset", "dataloader", "optimizer", "logger", "loss",
                    "metric", "signal", "hyperparameters", "hp", "params", "parameters")


class NamedDataset(Dataset):
    """A map-style dataset that names its samples through a ``sample_ids`` attribute."""

    def __init__(self, n: int):
        self.x = torch.arange(n, dtype=torch.float32).unsqueeze(1)
        self.y = torch.arange(n) % 2
        self.sample_ids = [f"img_{i:03d}" for i in range(n)]

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i], self.y[i]


class PrintLogger:
    def __init__(self):
        self.lines = []

    def log(self, text):
        self.lines.append(text)


def _all_ids(loader) -> list:
    out = []
    for _, _, ids in loader:
        out.extend(ids.tolist() if isinstance(ids, torch.Tensor) else ids)
    return out


# ---------------------------------------------------------------- flags and aliases
def test_unknown_flag_is_rejected_with_every_accepted_flag_listed(session, small_dataset):
    with pytest.raises(ValueError) as err:
        session.watch_or_edit(small_dataset, flag="datset")
    message = str(err.value)
    assert "datset" in message
    for flag in DOCUMENTED_FLAGS:
        assert re.search(rf"\b{flag}\b", message), f"accepted flag {flag!r} not listed"
    assert session.registry.loaders() == []
    assert len(session.dataframe) == 0


def test_flags_are_matched_exactly_not_by_substring_or_case(session):
    with pytest.raises(ValueError, match="flag"):
        session.watch_or_edit(nn.Linear(2, 2), flag="Model")
    with pytest.raises(ValueError, match="flag"):
        session.watch_or_edit(nn.CrossEntropyLoss(), flag="losses")


def test_model_flag_moves_to_device_registers_and_defines_the_experiment_hash(session):
    assert session.get_current_experiment_hash() is None
    net = nn.Linear(3, 2)
    out = session.watch_or_edit(net, flag="model", device="cpu")
    assert out is net
    assert next(out.parameters()).device.type == "cpu"
    assert session.registry.get("model", "model") is net
    h = wl.get_current_experiment_hash()
    assert isinstance(h, str) and re.fullmatch(r"[0-9a-f]{24}", h)


def test_model_architecture_changes_the_experiment_hash(make_session):
    a = make_session("a")
    a.watch_or_edit(nn.Linear(3, 2), flag="model")
    b = make_session("b")
    b.watch_or_edit(nn.Linear(3, 2), flag="model")
    c = make_session("c")
    c.watch_or_edit(nn.Linear(3, 5), flag="model")
    assert a.get_current_experiment_hash() == b.get_current_experiment_hash()
    assert a.get_current_experiment_hash() != c.get_current_experiment_hash()


def test_model_flag_rejects_a_non_module_and_unknown_keywords(session):
    with pytest.raises(TypeError, match="torch.nn.Module"):
        session.watch_or_edit(object(), flag="model")
    with pytest.raises(TypeError, match="devise"):
        session.watch_or_edit(nn.Linear(2, 2), flag="model", devise="cpu")
    assert session.registry.all("model") == {}


@pytest.mark.parametrize("flag", ["data", "dataset", "dataloader"])
def test_every_data_alias_watches_a_dataset_as_a_loader(session, small_dataset, flag):
    loader = session.watch_or_edit(small_dataset, flag=flag, loader_name="train_loader",
                                   batch_size=8)
    assert isinstance(loader, WatchedLoader)
    assert session.registry.get("data", "train_loader") is loader
    assert [len(ids) for _, _, ids in loader] == [8, 8, 4]
    assert session.counts() == (20, 20)


@pytest.mark.parametrize("flag", ["data", "dataset", "dataloader"])
def test_every_data_alias_watches_a_dataloader_keeping_batch_size_and_order(session, small_dataset,
                                                                            flag):
    source = DataLoader(small_dataset, batch_size=6, shuffle=False)
    loader = session.watch_or_edit(source, flag=flag, loader_name="train_loader")
    assert loader.batch_size == 6
    batches = [ids.tolist() for _, _, ids in loader]
    assert batches == [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11], [12, 13, 14, 15, 16, 17], [18, 19]]


def test_a_shuffling_dataloader_stays_shuffled_when_watched(session):
    ds = TensorDataset(torch.randn(200, 2), torch.zeros(200, dtype=torch.long))
    loader = session.watch_or_edit(DataLoader(ds, batch_size=10, shuffle=True), flag="dataloader",
                                   loader_name="train_loader")
    assert loader.batch_size == 10
    order = _all_ids(loader)
    assert sorted(order) == list(range(200))
    assert order != list(range(200))  # 1 / 200! chance of a false failure


def test_a_dataloaders_drop_last_is_carried_over(session, small_dataset):
    loader = session.watch_or_edit(DataLoader(small_dataset, batch_size=6, drop_last=True),
                                   flag="data", loader_name="train_loader")
    assert len(loader) == 3
    assert [len(ids) for _, _, ids in loader] == [6, 6, 6]


def test_an_explicit_batch_size_overrides_the_dataloaders(session, small_dataset):
    loader = session.watch_or_edit(DataLoader(small_dataset, batch_size=6), flag="data",
                                   loader_name="train_loader", batch_size=10)
    assert [len(ids) for _, _, ids in loader] == [10, 10]


def test_data_that_is_not_a_map_style_dataset_is_a_type_error(session):
    with pytest.raises(TypeError, match="map-style"):
        session.watch_or_edit(42, flag="data")
    assert session.registry.loaders() == []


def test_optimizer_flag_returns_the_optimizer_itself(session):
    net = nn.Linear(2, 2)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    assert session.watch_or_edit(opt, flag="optimizer") is opt
    assert session.registry.get("optimizer", "optimizer") is opt
    with pytest.raises(TypeError, match="Optimizer"):
        session.watch_or_edit(net, flag="optimizer")


def test_logger_flag_returns_the_logger_and_log_dir_chooses_the_run_directory(session, tmp_path):
    logger = PrintLogger()
    log_dir = tmp_path / "my-logs"
    assert session.watch_or_edit(logger, flag="logger", log_dir=log_dir) is logger
    assert session.registry.get("logger", "logger") is logger
    assert session.root_log_dir == log_dir
    session.save_signals({"loss": [0.5, 0.25]}, ["a", "b"])
    session.flush()
    assert (log_dir / "history.duckdb").is_file()


@pytest.mark.parametrize("flag", ["loss", "metric", "signal"])
@pytest.mark.parametrize("keyword", ["signal_name", "name"])
def test_loss_metric_and_signal_aliases_register_a_named_signal(session, small_dataset, flag,
                                                                 keyword):
    loader = session.watch_or_edit(small_dataset, flag="data", loader_name="train_loader",
                                   batch_size=4)
    fn = session.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag=flag,
                               per_sample=True, **{keyword: "my-signal"})
    assert isinstance(fn, WatchedSignal)
    assert fn.name == "my-signal"
    assert session.registry.get("signal", "my-signal") is fn
    x, y, ids = next(iter(loader))
    out = fn(torch.randn(4, 3), y, batch_ids=ids)
    assert out.shape == (4,)
    df = session.dataframe
    assert "signals//my-signal" in df.columns
    recorded = df["signals//my-signal"].xs(0, level="annotation_id").loc[ids.tolist()]
    np.testing.assert_allclose(recorded.to_numpy(), out.detach().numpy())


def test_bce_with_logits_watched_as_loss_is_a_loss_not_a_logger(session):
    fn = session.watch_or_edit(nn.BCEWithLogitsLoss(), flag="loss", signal_name="bce")
    assert isinstance(fn, WatchedSignal)
    assert session.registry.all("logger") == {}
    assert "bce" in session.registry.all("signal")
    value = fn(torch.zeros(3), torch.ones(3))
    assert value.item() == pytest.approx(np.log(2.0))
    series = session.global_series("bce")
    assert series["mean"].tolist() == pytest.approx([np.log(2.0)])


def test_a_scalar_loss_returns_its_value_and_logs_one_curve_point_per_call(session):
    fn = session.watch_or_edit(nn.MSELoss(), flag="loss", name="mse")
    for target in (1.0, 2.0):
        out = fn(torch.zeros(4), torch.full((4,), target))
        assert out.item() == pytest.approx(target ** 2)
    assert session.global_series("mse")["mean"].tolist() == pytest.approx([1.0, 4.0])


def test_a_signal_with_log_false_records_no_curve(session):
    fn = session.watch_or_edit(nn.MSELoss(), flag="metric", name="quiet", log=False)
    fn(torch.zeros(2), torch.ones(2))
    assert "quiet" not in session.global_signal_names()
    assert len(session.global_series("quiet")["step"]) == 0


def test_a_per_sample_loss_without_batch_ids_outside_a_loader_says_so(session):
    fn = session.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss",
                               name="l", per_sample=True)
    errors = []

    def call():  # a fresh thread has drawn no batch from any watched loader
        try:
            fn(torch.randn(2, 3), torch.tensor([0, 1]))
        except Exception as exc:
            errors.append(exc)

    import threading

    t = threading.Thread(target=call)
    t.start()
    t.join(10)
    assert len(errors) == 1 and isinstance(errors[0], ValueError)
    assert "batch_ids" in str(errors[0])


def test_watched_loss_keeps_the_wrapped_losses_attributes(session):
    fn = session.watch_or_edit(nn.CrossEntropyLoss(reduction="none", label_smoothing=0.1),
                               flag="loss", name="ce")
    assert fn.reduction == "none"
    assert fn.label_smoothing == pytest.approx(0.1)


@pytest.mark.parametrize("flag", ["hyperparameters", "hp", "params", "parameters"])
def test_hyperparameter_aliases_return_a_live_nested_handle_that_drives_the_hash(session, flag):
    hp = session.watch_or_edit({"experiment_name": "t", "optimizer": {"lr": 1e-3}}, flag=flag)
    assert isinstance(hp, HyperParameters)
    assert hp["optimizer"]["lr"] == 1e-3
    assert hp.get_path("optimizer.lr") == 1e-3
    h0 = wl.get_current_experiment_hash()
    assert h0 is not None

    hp["optimizer"]["lr"] = 1e-4
    assert hp["optimizer"]["lr"] == 1e-4
    h1 = wl.get_current_experiment_hash()
    assert h1 != h0

    hp.set_path("optimizer.momentum", 0.9)
    assert hp.get_path("optimizer.momentum") == 0.9
    assert hp.to_dict() == {"experiment_name": "t", "optimizer": {"lr": 1e-4, "momentum": 0.9}}
    h2 = wl.get_current_experiment_hash()
    assert h2 != h0 and h2 != h1
    assert h2 == experiment_hash(hp.to_dict(), [], data_state_digest(session.table))

    del hp["optimizer"]["momentum"]
    hp["optimizer"]["lr"] = 1e-3
    assert wl.get_current_experiment_hash() == h0  # same settings, same experiment


def test_hyperparameter_root_log_dir_chooses_where_history_is_written(session, tmp_path):
    target = tmp_path / "from-hp"
    session.watch_or_edit({"root_log_dir": str(target)}, flag="hp")
    assert session.root_log_dir == target


def test_hyperparameters_must_be_a_dict(session):
    with pytest.raises(TypeError, match="dict"):
        session.watch_or_edit([("lr", 1)], flag="hp")
    assert session.get_current_experiment_hash() is None


# ---------------------------------------------------------------- flag=None
def test_flag_none_infers_the_kind_from_the_type(session, small_dataset):
    net = nn.Linear(4, 3)
    assert session.watch_or_edit(net) is net
    assert "model" in session.registry.all("model")
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    assert session.watch_or_edit(opt) is opt
    assert isinstance(session.watch_or_edit(small_dataset, loader_name="train_loader"),
                      WatchedLoader)
    assert isinstance(session.watch_or_edit(DataLoader(small_dataset), loader_name="other_loader",
                                            sample_ids=[f"o{i}" for i in range(20)]),
                      WatchedLoader)
    assert isinstance(session.watch_or_edit({"lr": 0.1}), HyperParameters)
    assert isinstance(session.watch_or_edit(nn.BCEWithLogitsLoss(), name="bce"), WatchedSignal)
    assert session.registry.all("logger") == {}


def test_flag_none_on_an_unrecognisable_object_asks_for_a_flag(session):
    with pytest.raises(ValueError, match="flag"):
        session.watch_or_edit(PrintLogger())


# ---------------------------------------------------------------- what a watched loader yields
def test_a_watched_loader_yields_inputs_targets_and_dataset_indices(session, small_dataset):
    loader = session.watch_or_edit(small_dataset, flag="data", loader_name="train_loader",
                                   batch_size=7, shuffle=True, seed=3)
    seen = []
    for inputs, targets, ids in loader:
        assert isinstance(ids, torch.Tensor) and ids.dtype == torch.long
        assert torch.equal(inputs, small_dataset.tensors[0][ids])
        assert torch.equal(targets, small_dataset.tensors[1][ids])
        seen.extend(ids.tolist())
    assert sorted(seen) == list(range(20))


def test_sample_ids_argument_gives_string_ids(session, small_dataset):
    names = [f"img_{i}" for i in range(20)]
    loader = session.watch_or_edit(small_dataset, flag="data", loader_name="train_loader",
                                   batch_size=5, sample_ids=names)
    _, targets, ids = next(iter(loader))
    assert ids == names[:5]
    assert torch.equal(targets, small_dataset.tensors[1][:5])
    assert list(session.dataframe.index.get_level_values("sample_id")) == names


def test_id_prefix_gives_prefixed_string_ids(session, small_dataset):
    loader = session.watch_or_edit(small_dataset, flag="data", loader_name="val_loader",
                                   batch_size=4, id_prefix="val/")
    assert _all_ids(loader) == [f"val/{i}" for i in range(20)]


def test_a_datasets_sample_ids_attribute_names_its_samples(session):
    ds = NamedDataset(6)
    loader = session.watch_or_edit(ds, flag="data", loader_name="train_loader", batch_size=3)
    assert _all_ids(loader) == ds.sample_ids


def test_sample_ids_of_the_wrong_length_or_duplicated_are_rejected(session, small_dataset):
    with pytest.raises(ValueError, match="sample_ids"):
        session.watch_or_edit(small_dataset, flag="data", sample_ids=list(range(19)))
    with pytest.raises(ValueError, match="unique"):
        session.watch_or_edit(small_dataset, flag="data", sample_ids=[0] * 20)
    assert len(session.dataframe) == 0
    assert session.registry.loaders() == []


def test_origin_is_the_loader_name_without_loader_suffix(session, small_dataset):
    train = session.watch_or_edit(small_dataset, flag="data", loader_name="train_loader")
    holdout = session.watch_or_edit(small_dataset, flag="data", loader_name="holdout",
                                    id_prefix="h")
    custom = session.watch_or_edit(small_dataset, flag="data", loader_name="x_loader",
                                   origin="test", id_prefix="t")
    assert (train.origin, holdout.origin, custom.origin) == ("train", "holdout", "test")
    origins = session.dataframe["origin"]
    assert origins.loc[(0, 0)] == "train"
    assert origins.loc[("h0", 0)] == "holdout"
    assert origins.loc[("t0", 0)] == "test"


def test_samples_of_train_loader_are_found_with_origin_train_or_the_loader_name(session,
                                                                              small_dataset):
    session.watch_or_edit(small_dataset, flag="data", loader_name="train_loader")
    session.watch_or_edit(small_dataset, flag="data", loader_name="val_loader", id_prefix="v")
    wl.tag_samples([1, 2, "v3"], "hard")
    assert wl.get_samples_by_tag("hard", origin="train") == [1, 2]
    assert wl.get_samples_by_tag("hard", origin="train_loader") == [1, 2]
    assert wl.get_samples_by_tag("hard") == [1, 2]  # default origin is "train"
    assert wl.get_samples_by_tag("hard", origin="val_loader") == ["v3"]
    assert wl.get_samples_by_tag("hard", origin=None) == [1, 2, "v3"]


def test_two_origins_may_hold_the_same_ids_and_an_ambiguous_id_names_them(session,
                                                                         small_dataset):
    session.watch_or_edit(small_dataset, flag="data", loader_name="train_loader")
    session.watch_or_edit(small_dataset, flag="data", loader_name="val_loader")
    frame = session.dataframe
    assert len(frame) == 40
    assert (frame["origin"] == "train").sum() == 20 and (frame["origin"] == "val").sum() == 20
    with pytest.raises(AmbiguousSampleError, match=r"\['train', 'val'\].*origin=") as info:
        session.tag_samples([0], "hard")
    assert isinstance(info.value, WeightslabError) and info.value.origins == ["train", "val"]
    assert session.tag_summary()["boolean"] == {}  # nothing was tagged
    session.tag_samples([0], "hard", origin="val_loader")  # a loader name works too
    assert session.get_samples_by_tag("hard", origin="val") == [0]
    assert session.get_samples_by_tag("hard", origin="train") == []


def test_watching_the_same_dataset_again_under_the_same_origin_adds_no_rows(session,
                                                                           small_dataset):
    session.watch_or_edit(small_dataset, flag="data", loader_name="train_loader")
    session.tag_samples([4], "keep")
    session.watch_or_edit(small_dataset, flag="data", loader_name="train_loader", batch_size=3)
    assert len(session.dataframe) == 20
    assert session.get_samples_by_tag("keep") == [4]


def test_only_training_loaders_count_steps_and_epochs(session, small_dataset):
    train = session.watch_or_edit(small_dataset, flag="data", loader_name="train_loader",
                                  batch_size=5)
    val = session.watch_or_edit(small_dataset, flag="data", loader_name="val_loader",
                                batch_size=5, id_prefix="v")
    assert train.is_training and not val.is_training
    list(val)
    assert (session.controller.step, session.controller.epoch) == (0, 0)
    list(train)
    assert (session.controller.step, session.controller.epoch) == (4, 1)
    list(val)
    assert session.controller.step == 4
