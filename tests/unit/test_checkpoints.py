"""Checkpoints: a real one from ``Session.save_checkpoint`` round-trips model and optimizer
state; a file that needs more than tensors and plain values is refused without running it."""

from __future__ import annotations

import os
import shlex

import pytest
import torch
from torch import nn

from weightslab_nb.errors import (CheckpointError, MissingFileError, UnknownNameError,
                                  WeightslabError)


class _RunsCommand:
    """Pickles as a call of ``os.system(command)``: what a malicious checkpoint holds."""

    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


def _trained(session, steps: int = 3):
    """A watched linear model and Adam, trained a few steps (so Adam has state)."""
    torch.manual_seed(0)
    model = session.watch_or_edit(nn.Linear(4, 3), flag="model")
    optimizer = session.watch_or_edit(torch.optim.Adam(model.parameters(), lr=0.01),
                                      flag="optimizer")
    x, y = torch.randn(8, 4), torch.arange(8) % 3
    for _ in range(steps):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    return model, optimizer


def _same(a, b) -> bool:
    """Equal nested state (tensors compared by value)."""
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def test_a_saved_checkpoint_restores_the_model_and_the_optimizer(session):
    model, optimizer = _trained(session)
    saved_model = {k: v.clone() for k, v in model.state_dict().items()}
    saved_optimizer = {k: v.clone() if isinstance(v, torch.Tensor) else v
                       for k, v in optimizer.state_dict()["state"][0].items()}
    path = session.save_checkpoint()

    x, y = torch.randn(8, 4), torch.arange(8) % 3
    for _ in range(2):  # move the weights and Adam's moments and step away from the file
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    assert not _same(model.state_dict(), saved_model)

    assert session.load_checkpoint(path) == session.controller.step
    assert _same(model.state_dict(), saved_model)
    state = optimizer.state_dict()["state"][0]
    assert _same(state, saved_optimizer) and float(state["step"]) == 3.0
    assert optimizer.param_groups[0]["lr"] == 0.01


def test_a_pickled_command_in_a_checkpoint_is_refused_and_never_runs(session, tmp_path):
    model, _ = _trained(session, steps=1)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    marker = tmp_path / "payload-ran"
    evil = tmp_path / "step_1.pt"
    torch.save({"step": 1, "experiment_hash": None,
                "models": {"model": _RunsCommand(f"touch {shlex.quote(str(marker))}")},
                "optimizers": {}}, evil)

    with pytest.raises(CheckpointError) as info:
        session.load_checkpoint(evil)
    assert not marker.exists()  # the payload did not run
    assert isinstance(info.value, WeightslabError) and isinstance(info.value, ValueError)
    assert str(info.value) == (
        f"path: checkpoint {evil} holds more than tensors and plain values (Trying to load "
        "unsupported GLOBAL posix.system whose module posix is blocked). weightslab_nb reads "
        "checkpoints with torch.load(weights_only=True), so that opening a file cannot run "
        "code. If you trust this file, allow its classes with "
        "torch.serialization.add_safe_globals([...]) and load it again")
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


@pytest.mark.parametrize("content, message", [
    (b"not a checkpoint", "cannot be read as a torch checkpoint"),
    (None, ("is not a weightslab_nb checkpoint (expected a dict with 'step', 'models' and "
            "'optimizers', as save_checkpoint writes)")),
], ids=["garbage", "other-torch-file"])
def test_files_that_are_not_checkpoints_are_refused(session, tmp_path, content, message):
    _trained(session, steps=1)
    path = tmp_path / "x.pt"
    if content is None:
        torch.save({"weights": torch.zeros(2)}, path)
    else:
        path.write_bytes(content)
    with pytest.raises(CheckpointError, match=message.replace("(", r"\(").replace(")", r"\)")):
        session.load_checkpoint(path)


def test_a_missing_file_or_object_loads_nothing(session, tmp_path):
    model, _ = _trained(session, steps=1)
    with pytest.raises(MissingFileError, match="no checkpoint file"):
        session.load_checkpoint(tmp_path / "absent.pt")
    path = session.save_checkpoint()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        model.weight.add_(1.0)
    changed = {k: v.clone() for k, v in model.state_dict().items()}
    session.watch_or_edit(torch.optim.SGD(model.parameters(), lr=0.1), "late", flag="optimizer")
    with pytest.raises(UnknownNameError, match="no optimizer named 'late'"):
        session.load_checkpoint(path)
    assert all(torch.equal(v, changed[k]) for k, v in model.state_dict().items())
    assert not all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
