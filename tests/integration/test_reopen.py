"""A run directory can be reopened tomorrow: samples, tags, discards, signals, history, steps."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import torch
from torch import nn

from weightslab_nb.demo import digits_mlp, train_digits
from weightslab_nb.session import Session


def _watch(session, digits):
    hp = session.watch_or_edit({"experiment_name": "reopen", "optimizer": {"lr": 0.05}}, flag="hp")
    model = session.watch_or_edit(digits_mlp(), flag="model")
    loader = session.watch_or_edit(digits, flag="data", loader_name="train_loader",
                                   batch_size=64, shuffle=True, seed=0)
    optimizer = session.watch_or_edit(torch.optim.SGD(model.parameters(), lr=0.05),
                                      flag="optimizer")
    loss = session.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss",
                                 signal_name="train-loss", per_sample=True)
    return hp, model, loader, optimizer, loss


def _first_run(root, digits, fail_at=None):
    s = Session(root_log_dir=root, checkpoint_every=10)
    _, model, loader, optimizer, loss = _watch(s, digits)

    def train():
        steps = train_digits(loader, model, optimizer, loss, epochs=2, max_steps=30)
        if fail_at is not None:
            raise RuntimeError("the training thread died")
        return steps

    s.tag_samples([1, 2, 3], "hard")
    s.register_categorical_tag("quality", ["clean", "noisy"])
    s.set_categorical_tag([4, 5], "quality", "noisy")
    s.discard_samples([6, 7])
    handle = s.start_training(train)
    assert handle.wait(60)
    frame = s.dataframe
    history = s.query_sample_history(10)
    steps = s.controller.step
    curve = s.global_series("train-loss")["mean"]
    s.close()
    return frame, history, steps, curve


@pytest.mark.parametrize("fail_at", [None, 30], ids=["closed", "training-thread-died"])
def test_reopening_a_run_restores_the_ledger_history_and_step(tmp_path, digits, fail_at):
    root = tmp_path / "run"
    frame, history, steps, curve = _first_run(root, digits, fail_at)

    with Session(root_log_dir=root) as s:
        assert s.controller.step == steps == 30
        pd.testing.assert_frame_equal(s.dataframe, frame)
        assert s.get_samples_by_tag("hard") == [1, 2, 3]
        assert s.get_samples_by_tag("quality=noisy") == [4, 5]
        assert s.get_discarded_samples() == [6, 7]
        assert s.tag_summary()["categorical"]["quality"]["values"] == ["clean", "noisy"]
        assert s.query_sample_history(10) == history
        assert s.global_series("train-loss")["mean"].tolist() == curve.tolist()

        # watching the same data again continues training from the step reached
        _, model, loader, optimizer, loss = _watch(s, digits)
        assert len(s.dataframe) == 1797
        s.start_training(train_digits, loader, model, optimizer, loss, max_steps=5).wait(60)
        assert s.controller.step == 35
        steps_of_10 = [step for _, step, _, _ in s.query_sample_history(10)]
        assert steps_of_10 == sorted(steps_of_10)
        yielded = {sid for sid, step, _, _ in s.query_signal_history("train-loss") if step > 30}
        assert yielded and not yielded & {6, 7}


def test_the_manifest_lists_each_experiment_hash_the_run_went_through(tmp_path, digits):
    with Session(root_log_dir=tmp_path / "run") as s:
        hp, *_ = _watch(s, digits)
        s.save_signals({"x": [1.0]}, [0])
        first = s.get_current_experiment_hash()
        s.discard_samples([3])
        second = s.get_current_experiment_hash()
        s.save_signals({"x": [2.0]}, [0])
        hp["optimizer"]["lr"] = 0.01
        third = s.get_current_experiment_hash()
        s.save_signals({"x": [3.0]}, [0])
        s.discard_samples([9])             # nothing is recorded under this hash:
        s.discard_samples([9], discarded=False)  # the manifest skips it
        assert s.get_current_experiment_hash() == third
        s.tag_samples([5], "odd")          # a new tag changes the data state ...
        fourth = s.get_current_experiment_hash()
        s.tag_samples([6], "odd")          # ... its members do not
        assert s.get_current_experiment_hash() == fourth
        s.save_signals({"x": [4.0]}, [0])
    assert len({first, second, third, fourth}) == 4
    entries = json.loads((tmp_path / "run" / "manifest.json").read_text())["experiments"]
    assert [e["experiment_hash"] for e in entries] == [first, second, third, fourth]
    assert entries[1]["discarded"] == 1 and entries[2]["hyperparameters"]["optimizer"]["lr"] == 0.01


def test_checkpoints_are_written_every_n_steps_and_load_back(tmp_path, digits):
    with Session(root_log_dir=tmp_path / "run", checkpoint_every=10) as s:
        _, model, loader, optimizer, loss = _watch(s, digits)
        s.start_training(train_digits, loader, model, optimizer, loss, max_steps=25).wait(60)
        folder = tmp_path / "run" / "checkpoints" / s.get_current_experiment_hash()
        assert sorted(p.name for p in folder.glob("*.pt")) == ["step_10.pt", "step_20.pt"]
        trained = {k: v.clone() for k, v in model.state_dict().items()}
        on_demand = s.save_checkpoint()
        assert on_demand.name == "step_25.pt"
        with torch.no_grad():
            for p in model.parameters():
                p.zero_()
        assert s.load_checkpoint(on_demand) == 25
        for k, v in model.state_dict().items():
            assert torch.equal(v, trained[k])
