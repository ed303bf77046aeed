"""A torchrun script for tests/integration/test_ddp_torchrun.py: rank 0 requests an evaluation
of a validation loader at step 30 (``resume=True``) while both ranks train digits on DDP.

    torchrun --standalone --nproc_per_node 2 tests/integration/ddp_eval_child.py ROOT

Prints ``evaluation <state> <step>`` on rank 0 once the loop ended.
"""

from __future__ import annotations

import sys

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import TensorDataset

import weightslab_nb as wl
from weightslab_nb.demo import digits_dataset, digits_mlp


def main(root: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo")
    wl.watch_or_edit({"experiment_name": "ddp-eval", "root_log_dir": root,
                      "optimizer": {"lr": 1e-2}}, flag="hp")
    model = DistributedDataParallel(wl.watch_or_edit(digits_mlp(seed=0), flag="model"))
    digits = digits_dataset()
    loader = wl.watch_or_edit(digits, flag="data", loader_name="train_loader", batch_size=32,
                              shuffle=True, seed=0)
    x, y = digits.tensors
    wl.watch_or_edit(TensorDataset(x[:200], y[:200]), flag="data", loader_name="val_loader",
                     batch_size=50)
    opt = wl.watch_or_edit(torch.optim.Adam(model.parameters(), lr=1e-2), flag="optimizer")
    loss_fn = wl.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss",
                               signal_name="train-loss", per_sample=True, log=True)
    session, request = wl.current_session(), None
    for epoch in range(3):
        loader.set_epoch(epoch)
        for inputs, targets, ids in loader:
            opt.zero_grad()
            loss_fn(model(inputs), targets, batch_ids=ids).mean().backward()
            opt.step()
            if dist.get_rank() == 0 and session.controller.step == 30:
                request = wl.request_evaluation("val_loader", resume=True)
    if request is not None:
        request.wait(60)
        print(f"evaluation {request.state} {session.controller.step}", flush=True)
    session.close()
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1])
