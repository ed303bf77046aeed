"""How soon an evaluation requested during training starts, and what it costs to resume.

Trains the digits MLP in a background thread (batch 64), requests an evaluation of a held-out
split every ``--every`` steps, ``--requests`` times, and reports per request: the steps the
training thread still ran after the request (the contract: at most one batch), the wall time
from the request to the evaluation pass starting and to its end, and that training resumed at
the same step count with the optimizer's state untouched. A benchmark, not a test.

    python bench/evaluation_latency.py [--requests 10] [--every 40]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import TensorDataset

try:
    import weightslab_nb as wl
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import weightslab_nb as wl
from weightslab_nb.demo import digits_dataset, digits_mlp, train_digits  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=10,
                        help="evaluations to request (default: %(default)s)")
    parser.add_argument("--every", type=int, default=40,
                        help="training steps between two requests (default: %(default)s)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    images, labels = digits_dataset().tensors
    with tempfile.TemporaryDirectory(prefix="wl-eval-") as tmp, \
            wl.Session(root_log_dir=Path(tmp) / "run") as s:
        model = s.watch_or_edit(digits_mlp(), flag="model")
        train = s.watch_or_edit(TensorDataset(images[:1400], labels[:1400]), flag="data",
                                loader_name="train_loader", batch_size=64, shuffle=True)
        s.watch_or_edit(TensorDataset(images[1400:], labels[1400:]), flag="data",
                        loader_name="val_loader", batch_size=64, id_prefix="val/")
        optimizer = s.watch_or_edit(torch.optim.Adam(model.parameters(), lr=1e-2),
                                    flag="optimizer")
        loss = s.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss",
                               signal_name="loss", per_sample=True)
        handle = s.start_training(train_digits, train, model, optimizer, loss, epochs=10_000)
        extra_steps, to_start, to_end, same = [], [], [], []
        for _ in range(args.requests):
            handle.wait_for_step(handle.step + args.every, timeout=60)
            at = handle.step
            t0 = time.perf_counter()
            request = s.request_evaluation("val_loader", resume=False)
            while request.state == "pending":  # observe the start (polling the request state)
                time.sleep(0.0005)
            t_start = time.perf_counter() - t0
            request.wait(60)
            t_end = time.perf_counter() - t0
            opt_state = [v["step"].item() for v in optimizer.state.values()]
            step_after = handle.step
            extra_steps.append(request.step - at)
            to_start.append(t_start * 1e3)
            to_end.append(t_end * 1e3)
            same.append(step_after == request.step and
                        [v["step"].item() for v in optimizer.state.values()] == opt_state)
            handle.resume()
        handle.stop()
    print(f"{args.requests} evaluations of 397 val samples during digits training (batch 64)")
    print(f"steps run after the request: max {max(extra_steps)}, all {extra_steps}")
    print(f"request -> pass started: median {statistics.median(to_start):.1f} ms, "
          f"max {max(to_start):.1f} ms")
    print(f"request -> pass finished: median {statistics.median(to_end):.1f} ms")
    print(f"step count and optimizer state unchanged while paused: {all(same)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
