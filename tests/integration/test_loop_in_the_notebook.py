"""A training loop run in the notebook's own thread (no ``start_training``): once it ends, an
evaluation requested from a cell, a panel or the CLI runs, and nothing refuses to resume."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import TensorDataset

from weightslab_nb.demo import digits_mlp
from weightslab_nb.serving.commands import execute

WAIT = 30.0


def _one_epoch_here(session, digits):
    images, labels = digits.tensors
    model = session.watch_or_edit(digits_mlp(hidden=16), flag="model")
    train = session.watch_or_edit(TensorDataset(images[:256], labels[:256]), flag="data",
                                  loader_name="train_loader", batch_size=64)
    session.watch_or_edit(TensorDataset(images[256:384], labels[256:384]), flag="data",
                          loader_name="val_loader", batch_size=64, id_prefix="val/")
    opt = session.watch_or_edit(torch.optim.SGD(model.parameters(), lr=0.1), flag="optimizer")
    loss_fn = session.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss",
                                    signal_name="loss", per_sample=True)
    for x, y, ids in train:  # this very thread trains
        opt.zero_grad()
        loss_fn(model(x), y, batch_ids=ids).mean().backward()
        opt.step()
    return model


def test_an_evaluation_runs_after_a_loop_that_ran_in_the_notebook_thread(session, digits):
    _one_epoch_here(session, digits)
    assert session.controller.state == "idle" and session.controller.step == 4
    request = session.request_evaluation("val_loader")
    assert request.wait(WAIT), request.state  # the background worker ran it
    assert request.state == "done" and request.step == 4
    assert len(session.query_signal_history("loss", exp_hash=request.marker_hash)) == 128
    assert execute(session, {"command": "status"})["state"] in ("paused", "idle")
    session.controller.resume()  # nothing holds training any more
    assert not session.controller.pause_requested


def test_a_second_pass_after_an_evaluation_waits_at_the_pause_the_request_set(session, digits):
    _one_epoch_here(session, digits)
    request = session.request_evaluation("val_loader")
    assert request.wait(WAIT) and request.state == "done"
    assert session.controller.pause_requested  # left paused, as requested (resume=False)
    session.controller.resume()
    loader = session.registry.get("data", "train_loader")
    assert sum(1 for _ in loader) == 4 and session.controller.step == 8
