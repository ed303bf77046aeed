"""Watched hyperparameters: nested reads and typed requests, requested vs applied, steering of
optimizers and loaders, the change log, and hyperparameters read from a watched YAML file.

Threads are awaited with events and the watcher's ``wait_for_reload``, never with sleeps.
"""

from __future__ import annotations

import json
import math
import os
import threading

import pytest
import torch
from torch import nn

from weightslab_nb import steering
from weightslab_nb.watch.hyperparameters import HyperParameters

WAIT = 10.0


def _write(path, text: str) -> None:
    """Replace a file atomically, as editors do (a reader never sees half of it)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _two_group_sgd(lr=0.1, bias_lr=0.5):
    net = nn.Linear(3, 2)
    return torch.optim.SGD([{"params": [net.weight]}, {"params": [net.bias], "lr": bias_lr}],
                           lr=lr)


def _lrs(optimizer):
    return [g["lr"] for g in optimizer.param_groups]


# ---------------------------------------------------------------- the handle on its own
def test_nested_reads_give_applied_values_and_live_section_handles():
    hp = HyperParameters({"experiment_name": "e", "optimizer": {"lr": 1e-3, "betas": [0.9, 0.99]}})
    section = hp["optimizer"]
    assert isinstance(section, HyperParameters)
    assert section["lr"] == 1e-3 and hp.get_path("optimizer.lr") == 1e-3
    assert hp.get_path("optimizer.missing", "d") == "d"
    assert hp.get_path("experiment_name.x", "d") == "d"
    assert sorted(hp) == ["experiment_name", "optimizer"] and len(section) == 2
    assert "lr" in section and "momentum" not in section
    with pytest.raises(KeyError):
        section["momentum"]

    hp.set_path("optimizer.lr", 1e-4)
    assert section["lr"] == 1e-4  # the section handle sees the tree, not a copy
    section["lr"] = 2e-4
    assert hp["optimizer"]["lr"] == 2e-4
    hp["optimizer"]["betas"].append(0.5)  # a copy: it does not bypass the request path
    assert hp.get_path("optimizer.betas") == [0.9, 0.99]
    assert hp.to_dict() == {"experiment_name": "e", "optimizer": {"lr": 2e-4, "betas": [0.9, 0.99]}}


def test_a_standalone_handle_applies_at_once_records_each_change_and_never_touches_the_callers_dict():
    data = {"optimizer": {"lr": 1e-3}, "epochs": 3}
    seen = []
    hp = HyperParameters(data, on_change=lambda key, value: seen.append((key, value)))
    assert hp.request("optimizer.lr", 1e-4) is True
    hp["epochs"] = 5
    hp["epochs"] = 5  # the same value again: nothing changes, nothing is recorded
    assert data == {"optimizer": {"lr": 1e-3}, "epochs": 3}
    assert seen == [("optimizer.lr", 1e-4), ("epochs", 5)]
    assert [(r["step"], r["key"], r["old"], r["new"], r["source"]) for r in hp.history()] == [
        (None, "optimizer.lr", 1e-3, 1e-4, "code"), (None, "epochs", 3, 5, "code")]
    assert hp.pending() == [] and hp.wait_applied(0)


@pytest.mark.parametrize("path, value, error", [
    ("batch_size", 64.5, TypeError),          # an int stays an int
    ("batch_size", 64.0, TypeError),
    ("batch_size", True, TypeError),          # a bool is not an int here
    ("batch_size", "64", TypeError),
    ("optimizer.lr", "fast", TypeError),
    ("optimizer.lr", True, TypeError),
    ("shuffle", 1, TypeError),                # a bool takes only a bool
    ("experiment_name", 3, TypeError),        # a str takes only a str
    ("optimizer", 0.1, TypeError),            # a section never becomes a leaf
    ("batch_size", {"train": 32}, TypeError),  # nor a leaf a section
    ("optimizer.lr.value", 1.0, TypeError),   # a path through a leaf
    ("optimizer.betas", [0.9, "x"], TypeError),
    ("optimizer.betas", 0.9, TypeError),
    ("optimizer.lr", -1e-3, ValueError),      # range checks of the steered keys
    ("optimizer.lr", math.nan, ValueError),
    ("batch_size", 0, ValueError),
])
def test_a_request_of_the_wrong_type_raises_naming_the_key_and_changes_nothing(session, path,
                                                                               value, error):
    initial = {"experiment_name": "t", "batch_size": 64, "shuffle": True,
               "optimizer": {"lr": 1e-3, "betas": [0.9, 0.99]}}
    hp = session.watch_or_edit(initial, flag="hp")
    h0 = session.get_current_experiment_hash()
    with pytest.raises(error, match=path.split(".")[0]):
        hp.set_path(path, value)
    assert hp.to_dict() == initial
    assert hp.to_dict(requested=True) == initial
    assert hp.pending() == [] and hp.history() == []
    assert session.get_current_experiment_hash() == h0
    assert session.changes.hyperparameters == 0


def test_an_int_is_accepted_for_a_float_and_list_items_keep_their_types():
    hp = HyperParameters({"lr": 0.1, "betas": (0.9, 0.99), "sizes": [1, 2]})
    hp["lr"] = 1
    assert hp["lr"] == 1.0 and type(hp["lr"]) is float
    hp["betas"] = [1, 0.5]
    assert hp["betas"] == (1.0, 0.5) and type(hp["betas"]) is tuple
    hp["sizes"] = [3, 4, 5]  # longer: new items take the last item's type
    with pytest.raises(TypeError, match=r"sizes\[2\]"):
        hp["sizes"] = [3, 4, 5.5]
    assert hp["sizes"] == [3, 4, 5]


def test_a_dict_merges_into_its_section_and_none_takes_any_type():
    hp = HyperParameters({"optimizer": {"lr": 0.1, "momentum": 0.9}, "scheduler": None})
    hp["optimizer"] = {"lr": 0.01}
    assert hp.to_dict()["optimizer"] == {"lr": 0.01, "momentum": 0.9}
    hp["scheduler"] = {"kind": "cosine"}
    hp["scheduler"]["kind"] = "step"
    assert hp.get_path("scheduler") == {"kind": "step"}


def test_update_requests_all_values_or_none():
    hp = HyperParameters({"epochs": 3, "optimizer": {"lr": 0.1}})
    with pytest.raises(TypeError, match="optimizer.lr"):
        hp.update({"epochs": 10, "optimizer": {"lr": "slow"}})
    assert hp.to_dict() == {"epochs": 3, "optimizer": {"lr": 0.1}}
    hp.update({"epochs": 10}, optimizer={"lr": 0.2})
    assert hp.to_dict() == {"epochs": 10, "optimizer": {"lr": 0.2}}


def test_new_keys_come_from_code_not_from_the_panel_or_the_cli():
    hp = HyperParameters({"optimizer": {"lr": 0.1}})
    hp.set_path("optimizer.momentum", 0.9)
    hp.set_path("augment.flip", True)  # new sections too
    assert hp.to_dict() == {"optimizer": {"lr": 0.1, "momentum": 0.9}, "augment": {"flip": True}}
    for source in ("panel", "cli"):
        with pytest.raises(KeyError, match="optimizer.nesterov"):
            hp.request("optimizer.nesterov", True, source=source)
    hp.request("optimizer.lr", 0.2, source="panel")  # existing keys are fine
    hp.request("optimizer.dampening", 0.0, source="panel", create=True)
    assert hp.history()[-2]["source"] == "panel"
    assert "nesterov" not in hp["optimizer"] and hp["optimizer"]["dampening"] == 0.0


def test_bad_paths_and_sources_are_refused():
    hp = HyperParameters({"a": 1})
    with pytest.raises(ValueError, match="path"):
        hp.set_path("a..b", 1)
    with pytest.raises(TypeError, match="path"):
        hp.set_path(3, 1)
    with pytest.raises(ValueError, match="source"):
        hp.request("a", 2, source="")
    with pytest.raises(KeyError, match="missing"):
        del hp["missing"]
    with pytest.raises(TypeError, match="dict"):
        HyperParameters([("a", 1)])


def test_deleting_a_key_is_a_recorded_change():
    hp = HyperParameters({"optimizer": {"lr": 0.1, "momentum": 0.9}})
    del hp["optimizer"]["momentum"]
    assert hp.to_dict() == {"optimizer": {"lr": 0.1}}
    last = hp.history()[-1]
    assert (last["key"], last["old"], last["new"], last["deleted"]) == \
        ("optimizer.momentum", 0.9, None, True)


# ---------------------------------------------------------------- steering in a session
def test_without_training_a_change_applies_at_once_to_every_param_group_and_the_hash(session):
    hp = session.watch_or_edit({"optimizer": {"lr": 0.1}}, flag="hp")
    first, second = _two_group_sgd(), torch.optim.Adam(nn.Linear(2, 2).parameters(), lr=0.1)
    session.watch_or_edit(first, flag="optimizer")
    session.watch_or_edit(second, "adam", flag="optimizer")
    h0 = session.get_current_experiment_hash()

    assert hp.request("optimizer.lr", 0.01) is True
    assert _lrs(first) == [0.01, 0.01] and _lrs(second) == [0.01]
    h1 = session.get_current_experiment_hash()
    assert h1 != h0
    record = hp.history()[-1]
    assert record["step"] == session.controller.step + 1  # the first step to use it
    assert record["experiment_hash"] == h1
    assert session.changes.hyperparameters == 1

    hp["optimizer"]["lr"] = 0.1  # back to the original settings: the original experiment
    assert session.get_current_experiment_hash() == h0


def test_a_list_gives_one_learning_rate_per_param_group(session):
    hp = session.watch_or_edit({"optimizer": {"lr": [0.1, 0.5]}}, flag="hp")
    opt = session.watch_or_edit(_two_group_sgd(), flag="optimizer")
    hp["optimizer"]["lr"] = [0.01, 0.05]
    assert _lrs(opt) == [0.01, 0.05]
    with pytest.raises(ValueError, match="optimizer.lr.*3 learning rates.*2 param groups"):
        hp["optimizer"]["lr"] = [0.1, 0.2, 0.3]
    assert _lrs(opt) == [0.01, 0.05] and hp["optimizer"]["lr"] == [0.01, 0.05]


@pytest.mark.parametrize("key", ["lr", "learning_rate", "optimizer.learning_rate"])
def test_learning_rate_aliases_steer_the_optimizer(session, key):
    initial = {}
    steering_path = key.split(".")
    node = initial
    for part in steering_path[:-1]:
        node = node.setdefault(part, {})
    node[steering_path[-1]] = 0.1
    hp = session.watch_or_edit(initial, flag="hp")
    opt = session.watch_or_edit(_two_group_sgd(), flag="optimizer")
    hp.set_path(key, 0.02)
    assert _lrs(opt) == [0.02, 0.02]


def test_a_tensor_learning_rate_is_updated_in_place(session):
    hp = session.watch_or_edit({"lr": 0.1}, flag="hp")
    opt = torch.optim.Adam(nn.Linear(2, 2).parameters(), lr=torch.tensor(0.1))
    lr_tensor = opt.param_groups[0]["lr"]
    session.watch_or_edit(opt, flag="optimizer")
    hp["lr"] = 0.03
    assert opt.param_groups[0]["lr"] is lr_tensor and float(lr_tensor) == pytest.approx(0.03)


def _watched_train_loader(session, dataset, batch_size=4):
    """A watched training loader in order (no shuffle): 20 samples, 5 batches of 4 per epoch."""
    return session.watch_or_edit(dataset, flag="data", loader_name="train_loader",
                                 batch_size=batch_size)


def test_batch_size_goes_to_training_loaders_only(session, small_dataset):
    hp = session.watch_or_edit({"data": {"batch_size": 4}}, flag="hp")
    train = _watched_train_loader(session, small_dataset)
    val = session.watch_or_edit(small_dataset, flag="data", loader_name="val_loader",
                                batch_size=4, sample_ids=[f"v{i}" for i in range(20)])
    hp["data"]["batch_size"] = 8
    assert (train.batch_size, train.sampler.batch_size) == (8, 8)
    assert (val.batch_size, val.sampler.batch_size) == (4, 4)
    assert [len(ids) for _, _, ids in train] == [8, 8, 4]
    assert [len(ids) for _, _, ids in val] == [4, 4, 4, 4, 4]


def test_a_batch_size_requested_during_an_epoch_is_drawn_from_the_next_epoch_on(session,
                                                                               small_dataset):
    """The real path: a training loop over the watched loader, the request made from the main
    thread while the training thread is inside step 2 (between two statements of its loop)."""
    hp = session.watch_or_edit({"batch_size": 4}, flag="hp")
    train = _watched_train_loader(session, small_dataset, batch_size=hp["batch_size"])
    inside, requested = threading.Event(), threading.Event()
    drawn = []  # (epoch, step, batch length) as the loop sees them

    def loop():
        for epoch in range(3):
            for _, _, ids in train:
                drawn.append((epoch, session.controller.step, len(ids)))
                if session.controller.step == 2:
                    inside.set()
                    assert requested.wait(WAIT)

    handle = session.start_training(loop)
    try:
        assert inside.wait(WAIT)
        assert hp.request("batch_size", 8) is False  # mid-step: waits for the next boundary
        assert hp["batch_size"] == 4
    finally:
        requested.set()
    assert handle.wait(WAIT) and handle.error is None
    assert [(r["key"], r["old"], r["new"], r["step"]) for r in hp.history()] == [
        ("batch_size", 4, 8, 3)]  # applied at the boundary of step 3 ...
    assert drawn == [(0, 1, 4), (0, 2, 4), (0, 3, 4), (0, 4, 4), (0, 5, 4),  # ... epoch 0 keeps 4
                     (1, 6, 8), (1, 7, 8), (1, 8, 4),                        # the next ones: 8
                     (2, 9, 8), (2, 10, 8), (2, 11, 4)]
    assert (train.batch_size, train.sampler.batch_size) == (8, 8)


def test_a_batch_size_requested_during_the_last_step_of_an_epoch_is_drawn_by_the_next_one(
        session, small_dataset):
    """The next pass starts after the request: it draws with the new size, and the change is
    recorded at its first step (it was applied one epoch late, at the first step of the epoch
    that still drew the old size)."""
    hp = session.watch_or_edit({"batch_size": 4}, flag="hp")
    train = _watched_train_loader(session, small_dataset, batch_size=hp["batch_size"])
    inside, requested = threading.Event(), threading.Event()
    drawn = []

    def loop():
        for epoch in range(2):
            for _, _, ids in train:
                drawn.append((epoch, session.controller.step, len(ids)))
                if session.controller.step == 5:  # the last batch of epoch 0
                    inside.set()
                    assert requested.wait(WAIT)

    handle = session.start_training(loop)
    try:
        assert inside.wait(WAIT)
        assert hp.request("batch_size", 8) is False
    finally:
        requested.set()
    assert handle.wait(WAIT) and handle.error is None
    assert [(r["key"], r["step"]) for r in hp.history()] == [("batch_size", 6)]
    assert drawn == [(0, 1, 4), (0, 2, 4), (0, 3, 4), (0, 4, 4), (0, 5, 4),
                     (1, 6, 8), (1, 7, 8), (1, 8, 4)]


def test_requests_from_another_thread_wait_for_the_training_threads_batch_boundary(
        session, small_dataset):
    """The stock session and loader: the request made while the training thread is inside
    step 6 waits; the boundary before step 7 applies it (no hook called by the test)."""
    hp = session.watch_or_edit({"optimizer": {"lr": 0.1}, "epochs": 3}, flag="hp")
    train = _watched_train_loader(session, small_dataset)
    opt = session.watch_or_edit(_two_group_sgd(), flag="optimizer")
    h0 = session.get_current_experiment_hash()
    inside, requested = threading.Event(), threading.Event()
    seen = []  # (step, lrs, epochs) as each step of the loop sees them

    def loop():
        for _ in range(2):
            for _, _, ids in train:
                step = session.controller.step
                seen.append((step, _lrs(opt), hp["epochs"]))
                if step == 6:
                    inside.set()
                    assert requested.wait(WAIT)

    handle = session.start_training(loop)
    try:
        assert inside.wait(WAIT)
        assert hp.request("optimizer.lr", 0.01) is False  # the run is mid-step: it waits
        assert hp.request("epochs", 5, source="panel") is False
        assert steering.apply_pending(session) == []  # not from this thread while it runs
        # requested, not applied
        assert hp["optimizer"]["lr"] == 0.1 and hp["epochs"] == 3
        assert hp.to_dict(requested=True) == {"optimizer": {"lr": 0.01}, "epochs": 5}
        assert hp.pending() == [{"key": "optimizer.lr", "value": 0.01, "source": "code"},
                                {"key": "epochs", "value": 5, "source": "panel"}]
        rows = {r["key"]: r for r in hp.rows()}
        assert rows["optimizer.lr"] == {"key": "optimizer.lr", "applied": 0.1, "requested": 0.01,
                                        "pending": True, "type": "float"}
        assert rows["epochs"]["pending"] and rows["epochs"]["type"] == "int"
        assert _lrs(opt) == [0.1, 0.5]
        assert session.get_current_experiment_hash() == h0
        assert not hp.wait_applied(timeout=0.05)
    finally:
        requested.set()
    assert handle.wait(WAIT) and handle.error is None

    # steps 1-6 ran with the old values, steps 7-10 with the new ones
    assert seen == [(s, [0.1, 0.5], 3) for s in range(1, 7)] + \
        [(s, [0.01, 0.01], 5) for s in range(7, 11)]
    assert hp["optimizer"]["lr"] == 0.01 and hp["epochs"] == 5 and hp.pending() == []
    assert not any(r["pending"] for r in hp.rows())
    h1 = session.get_current_experiment_hash()
    assert h1 != h0
    assert [(r["key"], r["step"], r["source"], r["experiment_hash"]) for r in hp.history()] == [
        ("optimizer.lr", 7, "code", h1), ("epochs", 7, "panel", h1)]


def test_a_request_from_the_training_thread_itself_applies_at_once(session, small_dataset):
    hp = session.watch_or_edit({"epochs": 3}, flag="hp")
    train = _watched_train_loader(session, small_dataset)
    seen = {}

    def loop():
        for _, _, ids in train:  # the loader's boundary makes this the training thread
            seen["applied_now"] = hp.request("epochs", 4)
            seen["value"] = hp["epochs"]
            return

    handle = session.start_training(loop)
    assert handle.wait(WAIT) and handle.error is None
    assert seen == {"applied_now": True, "value": 4}
    assert [(r["key"], r["step"]) for r in hp.history()] == [("epochs", 2)]  # the next step


def test_a_loop_without_watched_batch_boundaries_gets_requests_at_once(session):
    hp = session.watch_or_edit({"epochs": 3}, flag="hp")
    running, finish = threading.Event(), threading.Event()
    handle = session.start_training(lambda: running.set() or finish.wait(WAIT))
    try:
        assert running.wait(WAIT) and handle.state == "running"
        assert hp.request("epochs", 4) is True  # no boundary would ever come to apply it
        assert hp["epochs"] == 4
    finally:
        finish.set()
        assert handle.wait(WAIT)


def test_watching_new_hyperparameters_under_the_same_name_detaches_the_old_handle(session):
    old = session.watch_or_edit({"lr": 0.1}, flag="hp")
    new = session.watch_or_edit({"lr": 0.2}, flag="hp")
    opt = session.watch_or_edit(_two_group_sgd(), flag="optimizer")
    old["lr"] = 0.3  # a standalone handle now: it no longer steers the run
    assert _lrs(opt) == [0.1, 0.5]
    new["lr"] = 0.4
    assert _lrs(opt) == [0.4, 0.4]
    assert [r["new"] for r in steering.changes(session)] == [0.4]


def test_steered_keys_are_range_checked_when_watched(session, tmp_path):
    with pytest.raises(ValueError, match="optimizer.lr"):
        session.watch_or_edit({"optimizer": {"lr": -0.1}}, flag="hp")
    path = tmp_path / "config.yaml"
    _write(path, "batch_size: 0\n")
    with pytest.raises(ValueError, match="config.yaml.*batch_size"):
        session.watch_or_edit(path, flag="hp", defaults={"batch_size": 32})
    assert session.registry.all("hyperparameters") == {}
    hp = session.watch_or_edit({"lr": None, "batch_size": None}, flag="hp")  # unset: fine
    hp["batch_size"] = 16
    with pytest.raises(ValueError, match="batch_size"):
        hp["batch_size"] = -1


def test_yaml_keywords_are_refused_with_a_dict(session):
    with pytest.raises(TypeError, match="defaults"):
        session.watch_or_edit({"lr": 0.1}, flag="hp", defaults={"lr": 0.2})
    with pytest.raises(TypeError, match="unexpected"):
        session.watch_or_edit({"lr": 0.1}, flag="hp", colour="red")
    with pytest.raises(TypeError, match="dict or a YAML file path"):
        session.watch_or_edit(3.5, flag="hp")


# ---------------------------------------------------------------- YAML
DEFAULTS = {"experiment_name": "yaml", "epochs": 3, "batch_size": 32,
            "optimizer": {"lr": 1e-3, "momentum": 0.9}}


def test_yaml_values_override_the_defaults_key_by_key(session, tmp_path):
    path = tmp_path / "config.yaml"
    _write(path, "optimizer:\n  lr: 1e-2\nepochs: 5\nwarmup: 2\n")
    hp = session.watch_or_edit(str(path), flag="hyperparameters", defaults=DEFAULTS,
                               poll_interval=60)
    assert isinstance(hp, HyperParameters)
    assert hp.to_dict() == {"experiment_name": "yaml", "epochs": 5, "batch_size": 32,
                            "optimizer": {"lr": 1e-2, "momentum": 0.9}, "warmup": 2}
    assert type(hp["optimizer"]["lr"]) is float  # "1e-2" is a float, not a string
    assert hp.error is None and hp.config.path == path and hp.config.watching
    assert session.get_current_experiment_hash() is not None
    assert DEFAULTS["optimizer"]["lr"] == 1e-3  # the defaults are not modified


def test_an_int_in_the_file_is_accepted_for_a_float_default(session, tmp_path):
    path = tmp_path / "c.yaml"
    _write(path, "optimizer:\n  lr: 1\n")
    hp = session.watch_or_edit(path, flag="hp", defaults=DEFAULTS, poll_interval=60)
    assert hp["optimizer"]["lr"] == 1.0 and type(hp["optimizer"]["lr"]) is float


@pytest.mark.parametrize("text, error, match", [
    ("optimizer: [lr: 1\n", ValueError, "invalid YAML"),
    ("batch_size: 32.5\n", TypeError, "batch_size"),
    ("- 1\n- 2\n", TypeError, "mapping"),
])
def test_a_bad_file_at_watch_time_raises(session, tmp_path, text, error, match):
    path = tmp_path / "c.yaml"
    _write(path, text)
    with pytest.raises(error, match=match):
        session.watch_or_edit(path, flag="hp", defaults=DEFAULTS, poll_interval=60)
    assert session.registry.all("hyperparameters") == {}


def test_a_missing_file_needs_defaults_and_is_picked_up_once_created(session, tmp_path):
    path = tmp_path / "later.yaml"
    with pytest.raises(FileNotFoundError, match="later.yaml"):
        session.watch_or_edit(path, flag="hp", poll_interval=60)
    hp = session.watch_or_edit(path, flag="hp", defaults=DEFAULTS, poll_interval=60)
    assert hp.to_dict() == DEFAULTS
    assert "not found" in hp.error
    _write(path, "epochs: 7\n")
    assert hp.config.check_now()
    assert hp["epochs"] == 7 and hp.error is None


@pytest.mark.parametrize("text, match", [
    ("optimizer: {lr: 0.5\n", "invalid YAML"),
    ("optimizer:\n  lr: fast\n", "optimizer.lr"),
    ("batch_size: 0\n", "batch_size"),
    ("optimizer: 0.5\n", "optimizer"),
    ("- epochs\n", "mapping"),
    ("", "empty"),
])
def test_a_bad_edit_keeps_the_last_good_values_and_reports_the_error(session, tmp_path, text,
                                                                     match):
    path = tmp_path / "config.yaml"
    _write(path, "optimizer:\n  lr: 1e-2\n")
    hp = session.watch_or_edit(path, flag="hp", defaults=DEFAULTS, poll_interval=60)
    opt = session.watch_or_edit(_two_group_sgd(lr=1e-2, bias_lr=1e-2), flag="optimizer")
    good = hp.to_dict()
    h0 = session.get_current_experiment_hash()

    _write(path, "epochs: 9\n" + text if text.startswith("optimizer") or
           text.startswith("batch") else text)
    assert hp.config.check_now()
    assert match in hp.error and "keeping the last good values" in hp.error
    assert hp.to_dict() == good and hp.pending() == []  # all or nothing: epochs not taken
    assert _lrs(opt) == [1e-2, 1e-2]
    assert session.get_current_experiment_hash() == h0
    assert not hp.config.check_now()  # the same bad version is not reported twice

    _write(path, "optimizer:\n  lr: 5.0e-3\nepochs: 4\n")  # a good edit clears the error
    assert hp.config.check_now()
    assert hp.error is None
    assert hp["optimizer"]["lr"] == 5e-3 and hp["epochs"] == 4
    assert _lrs(opt) == [5e-3, 5e-3]
    assert {r["key"]: r["source"] for r in hp.history()} == {"optimizer.lr": "yaml",
                                                             "epochs": "yaml"}


def test_a_file_edit_requests_only_the_keys_it_changes(session, tmp_path):
    path = tmp_path / "config.yaml"
    _write(path, "optimizer:\n  lr: 1e-2\nepochs: 5\nextra: on\n")
    hp = session.watch_or_edit(path, flag="hp", defaults=DEFAULTS, poll_interval=60)
    hp.request("optimizer.lr", 2e-2, source="panel")

    _write(path, "optimizer:\n  lr: 1e-2\nepochs: 6\nextra: on\n")
    assert hp.config.check_now()
    assert hp["optimizer"]["lr"] == 2e-2  # the panel's value stands: the file did not touch it
    assert hp["epochs"] == 6

    _write(path, "optimizer:\n  lr: 1e-2\n")  # epochs goes back to its default, extra stays
    assert hp.config.check_now()
    assert hp["epochs"] == 3 and hp["extra"] is True
    assert [(r["key"], r["new"], r["source"]) for r in hp.history()] == [
        ("optimizer.lr", 2e-2, "panel"), ("epochs", 6, "yaml"), ("epochs", 3, "yaml")]


def test_the_watching_thread_picks_up_an_edit_and_stops_with_the_session(make_session, tmp_path):
    session = make_session("watched")
    path = tmp_path / "config.yaml"
    _write(path, "epochs: 5\n")
    hp = session.watch_or_edit(path, flag="hp", defaults=DEFAULTS, poll_interval=0.02)
    config = hp.config
    thread = config._thread
    assert thread.daemon and thread.is_alive()

    before = config.reload_count
    _write(path, "epochs: 8\n")
    assert config.wait_for_reload(before, timeout=WAIT)
    assert hp["epochs"] == 8 and hp.error is None

    before = config.reload_count
    _write(path, "epochs: [\n")
    assert config.wait_for_reload(before, timeout=WAIT)
    assert hp["epochs"] == 8 and "invalid YAML" in hp.error

    session.close()  # the thread ends at its next poll, even without an explicit hook
    thread.join(WAIT)
    assert not thread.is_alive() and not config.watching


def test_closing_the_handle_stops_watching(session, tmp_path):
    path = tmp_path / "config.yaml"
    _write(path, "epochs: 5\n")
    hp = session.watch_or_edit(path, flag="hp", defaults=DEFAULTS, poll_interval=30)
    hp.close()  # does not wait for the poll interval
    assert not hp.config.watching
    hp["epochs"] = 6  # still a live handle
    assert hp["epochs"] == 6


@pytest.mark.parametrize("kwargs, error", [
    ({"poll_interval": 0}, ValueError), ({"poll_interval": -1.0}, ValueError),
    ({"poll_interval": "1"}, TypeError), ({"defaults": [("epochs", 1)]}, TypeError),
    ({"interval": 1.0}, TypeError),
])
def test_bad_watch_arguments_are_refused(session, tmp_path, kwargs, error):
    path = tmp_path / "config.yaml"
    _write(path, "epochs: 5\n")
    with pytest.raises(error, match=next(iter(kwargs))):
        session.watch_or_edit(path, flag="hp", **{"defaults": DEFAULTS, **kwargs})


# ---------------------------------------------------------------- YAML: bounded work per edit
def _alias_bomb(levels: int) -> str:
    """A "billion laughs" document: 9 ** levels strings from a few hundred bytes."""
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def _watched_with_optimizer(session, path):
    _write(path, "optimizer:\n  lr: 1e-2\nepochs: 5\n")
    hp = session.watch_or_edit(path, flag="hp", defaults=DEFAULTS, poll_interval=60)
    opt = session.watch_or_edit(_two_group_sgd(lr=1e-2, bias_lr=1e-2), flag="optimizer")
    return hp, opt


def test_an_alias_bomb_is_refused_naming_the_limit_and_a_fixed_file_is_taken(session, tmp_path):
    from weightslab_nb.watch.yaml_config import MAX_NODES

    path = tmp_path / "config.yaml"
    hp, opt = _watched_with_optimizer(session, path)
    good, h0 = hp.to_dict(), session.get_current_experiment_hash()
    bomb = "epochs: 9\n" + _alias_bomb(7)  # 406 bytes that expand to 4.8 million strings
    assert len(bomb) < 500
    _write(path, bomb)
    assert hp.config.check_now()
    assert hp.error == (f"config.yaml: refused: more than {MAX_NODES:,} values with aliases "
                        "expanded (the limit MAX_NODES) at line 7, column 10; a hyperparameter "
                        "file holds far fewer; keeping the last good values")
    assert hp.to_dict() == good and hp.pending() == [] and hp.history() == []
    assert _lrs(opt) == [1e-2, 1e-2] and session.get_current_experiment_hash() == h0

    _write(path, "optimizer:\n  lr: 5.0e-3\nepochs: 4\n")
    assert hp.config.check_now()
    assert hp.error is None and hp["epochs"] == 4 and _lrs(opt) == [5e-3, 5e-3]


def test_an_alias_bomb_at_watch_time_raises_and_watches_nothing(session, tmp_path):
    path = tmp_path / "config.yaml"
    _write(path, _alias_bomb(9))  # 9 ** 9 = 387 million strings
    with pytest.raises(ValueError, match=r"config.yaml: refused: more than 100,000 values with "
                                         r"aliases expanded \(the limit MAX_NODES\)") as info:
        session.watch_or_edit(path, flag="hp", defaults=DEFAULTS, poll_interval=60)
    from weightslab_nb.errors import InvalidValueError

    assert isinstance(info.value, InvalidValueError)
    assert session.registry.all("hyperparameters") == {}


_TOO_DEEP = "config.yaml: refused: sections and lists nested deeper than 32 levels (the limit "


@pytest.mark.parametrize("text, message", [
    ("deep: " + "[" * 40 + "]" * 40 + "\n", _TOO_DEEP + "MAX_DEPTH) at line 1, column 38"),
    ("".join(f"c{i}: &c{i} [*c{i - 1}]\n" if i else "c0: &c0 [1]\n" for i in range(40)),
     _TOO_DEEP + "MAX_DEPTH) at line 31, column 12"),
    ("loop: &x [1, *x]\n",
     "config.yaml: refused: alias *x is inside its own anchor &x (a value that contains itself)"),
], ids=["nested-40-deep", "alias-chain-40-deep", "alias-in-itself"])
def test_too_deep_or_self_containing_values_are_refused(session, tmp_path, text, message):
    path = tmp_path / "config.yaml"
    hp, _ = _watched_with_optimizer(session, path)
    good = hp.to_dict()
    _write(path, text + "epochs: 9\n")
    assert hp.config.check_now()
    assert hp.error == message + "; keeping the last good values"
    assert hp.to_dict() == good


def test_a_file_over_the_size_limit_is_refused_unread_and_recovers(session, tmp_path):
    from weightslab_nb.watch import yaml_config

    path = tmp_path / "config.yaml"
    hp, _ = _watched_with_optimizer(session, path)
    good = hp.to_dict()
    padding = "# " + "x" * 98 + "\n"
    big = "epochs: 9\n" + padding * (yaml_config.MAX_FILE_BYTES // len(padding) + 1)
    assert len(big) > yaml_config.MAX_FILE_BYTES
    _write(path, big)
    assert hp.config.check_now()
    assert yaml_config.MAX_FILE_BYTES == 1024 * 1024
    assert hp.error == ("config.yaml: refused: the file is larger than 1,048,576 bytes (the "
                        "limit MAX_FILE_BYTES); keep hyperparameters in a small file; "
                        "keeping the last good values")
    assert hp.to_dict() == good
    assert not hp.config.check_now()  # the same big file is not reported twice

    _write(path, "epochs: 9\n" + padding * 100)  # a commented file under the limit is fine
    assert hp.config.check_now()
    assert hp.error is None and hp["epochs"] == 9


def test_a_reload_changing_4096_keys_applies_every_one_once_in_one_batch(tmp_path):
    from weightslab_nb.watch.yaml_config import YamlConfig

    n = 4096
    path = tmp_path / "config.yaml"
    _write(path, "".join(f"k{i}: {i}\n" for i in range(n)))
    config = YamlConfig(path, defaults={"epochs": 3}, poll_interval=60)
    heard = []
    hp = HyperParameters(config.load(), on_changes=heard.append)
    config.start(hp)
    try:
        _write(path, "".join(f"k{i}: {i + 1}\n" for i in range(n)))
        assert config.check_now()
    finally:
        config.close()
    assert hp.error is None and hp.pending() == []
    assert hp.to_dict() == {"epochs": 3, **{f"k{i}": i + 1 for i in range(n)}}
    expected = [(f"k{i}", i, i + 1, "yaml") for i in range(n)]
    assert [(r["key"], r["old"], r["new"], r["source"]) for r in hp.history()] == expected
    assert len(heard) == 1  # the owner hears the reload once, with every change
    assert [(r["key"], r["old"], r["new"], r["source"]) for r in heard[0]] == expected


def test_on_changes_hears_a_batch_of_changes_once():
    heard = []
    hp = HyperParameters({f"k{i}": i for i in range(4096)}, on_changes=heard.append)
    hp.update({f"k{i}": -i - 1 for i in range(4096)})
    assert len(heard) == 1
    assert [(r["key"], r["old"], r["new"]) for r in heard[0]] == [
        (f"k{i}", i, -i - 1) for i in range(4096)]
    hp["k1"] = 7
    assert len(heard) == 2 and [r["new"] for r in heard[1]] == [7]
    with pytest.raises(TypeError, match="on_changes"):
        HyperParameters({}, on_changes="not callable")


def test_the_watching_thread_survives_a_bomb_and_takes_the_fixed_file(make_session, tmp_path):
    session = make_session("watched")
    path = tmp_path / "config.yaml"
    _write(path, "epochs: 5\n")
    hp = session.watch_or_edit(path, flag="hp", defaults=DEFAULTS, poll_interval=0.02)
    config = hp.config

    before = config.reload_count
    _write(path, "epochs: 6\n" + _alias_bomb(9))
    assert config.wait_for_reload(before, timeout=WAIT)
    assert "MAX_NODES" in hp.error and hp["epochs"] == 5 and config.watching

    before = config.reload_count
    _write(path, "epochs: 7\n")
    assert config.wait_for_reload(before, timeout=WAIT)
    assert hp.error is None and hp["epochs"] == 7
