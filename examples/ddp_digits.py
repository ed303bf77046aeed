"""Digits on DistributedDataParallel, recorded by weightslab_nb: the single-process script plus
the usual DDP lines. Run it with

    torchrun --nproc_per_node 2 examples/ddp_digits.py [--root DIR] [--epochs 3]

Each rank trains on its own half of the active samples every epoch; rank 0 owns the session
(history, panels, ``wl.serve()``), the other rank ships what it records to rank 0. Discards and
pauses made on rank 0's session reach both ranks at the same step.
"""

from __future__ import annotations

import argparse

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

import weightslab_nb as wl
from weightslab_nb.demo import digits_dataset, digits_mlp


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=None, help="run directory (default: a new one under "
                        "./weightslab_runs)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32, help="per rank")
    parser.add_argument("--discard-at", type=int, default=None, metavar="STEP",
                        help="after this step, rank 0 discards the 20 highest-loss samples "
                        "(both ranks stop drawing them at the same step, two steps later)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    dist.init_process_group("gloo")
    hp = {"experiment_name": "ddp-digits", "optimizer": {"lr": 1e-2}}
    if args.root is not None:
        hp["root_log_dir"] = args.root
    wl.watch_or_edit(hp, flag="hp")
    model = DistributedDataParallel(wl.watch_or_edit(digits_mlp(seed=0), flag="model"))
    loader = wl.watch_or_edit(digits_dataset(), flag="data", loader_name="train_loader",
                              batch_size=args.batch_size, shuffle=True, seed=0)
    optimizer = wl.watch_or_edit(torch.optim.Adam(model.parameters(), lr=1e-2),
                                 flag="optimizer")
    loss_fn = wl.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss",
                               signal_name="train-loss", per_sample=True, log=True)
    for epoch in range(args.epochs):
        loader.set_epoch(epoch)
        for inputs, targets, ids in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(inputs), targets, batch_ids=ids)
            loss.mean().backward()
            optimizer.step()
            session = wl.current_session()
            if dist.get_rank() == 0 and session.controller.step == args.discard_at:
                worst = session.dataframe.nlargest(20, "signals//train-loss")
                ids = worst.index.get_level_values("sample_id").tolist()
                wl.discard_samples(ids)
                print(f"step {args.discard_at}: discarded {sorted(ids)}", flush=True)
    wl.current_session().close()  # rank 0 waits for the other ranks' last records
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
