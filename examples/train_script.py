"""Digits trained by a plain script that serves its session, so a notebook can attach to it:

    python examples/train_script.py --root runs/digits [--epochs 200]

and, in a notebook, ``s = wl.connect("runs/digits")``, then ``wl.dashboard(s)``,
``wl.discard_samples(...)``, ``s.pause()``, ``s.stop()``... (notebooks/07_attach.ipynb).

The script is the usual training loop plus ``wl.serve()``; it prints one line per epoch with
the number of active samples (discards made from the notebook show there from the next
epoch), and ends after ``--epochs`` epochs or when the notebook stops it.
"""

from __future__ import annotations

import argparse

import torch
from torch import nn

import weightslab_nb as wl
from weightslab_nb.demo import digits_dataset, digits_mlp


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=None, help="run directory (default: a new one under "
                        "./weightslab_runs); a notebook attaches with wl.connect(ROOT)")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    hp = {"experiment_name": "digits-script", "optimizer": {"lr": 1e-2}}
    if args.root is not None:
        hp["root_log_dir"] = args.root
    wl.watch_or_edit(hp, flag="hp")
    model = wl.watch_or_edit(digits_mlp(seed=0), flag="model")
    loader = wl.watch_or_edit(digits_dataset(), flag="data", loader_name="train_loader",
                              batch_size=args.batch_size, shuffle=True, seed=0)
    optimizer = wl.watch_or_edit(torch.optim.Adam(model.parameters(), lr=1e-2),
                                 flag="optimizer")
    loss_fn = wl.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss",
                               signal_name="train-loss", per_sample=True, log=True)
    server = wl.serve()  # the token file lands in root_log_dir: wl.connect(root_log_dir)
    session = wl.current_session()
    print(f"serving {session.root_log_dir} on port {server.port}", flush=True)
    try:
        for epoch in range(args.epochs):
            for inputs, targets, ids in loader:
                optimizer.zero_grad()
                loss_fn(model(inputs), targets, batch_ids=ids).mean().backward()
                optimizer.step()
            print(f"epoch {epoch}: step {session.controller.step}, "
                  f"{loader.active_count()} active samples", flush=True)
    except wl.TrainingStopped:
        print(f"stopped from the notebook at step {session.controller.step}", flush=True)
    session.close()


if __name__ == "__main__":
    main()
