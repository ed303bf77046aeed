"""Per-step overhead of weightslab_nb under DDP: 2 ranks on gloo, against a bare DDP loop in the
same processes.

Workload: scikit-learn digits, the demo MLP wrapped in ``DistributedDataParallel``, batch 32 per
rank, Adam, per-sample ``CrossEntropyLoss(reduction="none")`` + ``.mean().backward()``, one torch
thread per rank. Two ranks are forked from this process and join a gloo process group.

* bare: ``DataLoader(dataset, batch_size=32, sampler=DistributedSampler(...))``, set_epoch each
  pass, the loss unwrapped.
* instrumented: each rank's session watches the model, a shuffled loader (sharded between the
  ranks by weightslab_nb), the optimizer and the per-sample loss (``log=True``); rank 0 owns
  the hub (history, merged curve points), rank 1 ships its records to it; the control relay runs
  at every batch boundary.

Both loops start from the same initialisation; after a warm-up of each they alternate in rounds
(bare/instrumented, then instrumented/bare, ...), every step timed from fetching the batch to the
end of ``optimizer.step()``. Prints rank 0's median step of each loop and the ratio of the
medians (rank 1's too), and the median over the rounds of the ratio of one round's medians
(steadier on a machine whose speed changes from one second to the next). A benchmark, not a
test: it asserts nothing.

    python bench/ddp_overhead.py [--steps 200] [--rounds 4] [--warmup 30] [--relay gloo]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import socket
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import numpy as np

BATCH = 32  # per rank


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _endless(loader, set_epoch):
    epoch = 0
    while True:
        set_epoch(epoch)
        yield from loader
        epoch += 1


def _timed_steps(batches, model, optimizer, loss_fn, steps, instrumented) -> np.ndarray:
    out = np.empty(steps)
    clock = time.perf_counter
    for i in range(steps):
        t0 = clock()
        batch = next(batches)
        optimizer.zero_grad()
        if instrumented:
            inputs, targets, ids = batch
            loss = loss_fn(model(inputs), targets, batch_ids=ids)
        else:
            inputs, targets = batch
            loss = loss_fn(model(inputs), targets)
        loss.mean().backward()
        optimizer.step()
        out[i] = clock() - t0
    return out


def _rank(rank: int, world: int, port: int, args, root: str, results) -> None:
    import torch
    import torch.distributed as dist
    from torch import nn
    from torch.nn.parallel import DistributedDataParallel
    from torch.utils.data import DataLoader
    from torch.utils.data.distributed import DistributedSampler

    try:
        import weightslab_nb as wl
    except ImportError:  # run from a checkout without installing
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        import weightslab_nb as wl
    from weightslab_nb.demo import digits_dataset, digits_mlp

    if args.relay == "gloo":  # the headers as gloo broadcasts, as between machines
        os.environ["WEIGHTSLAB_NB_RELAY"] = "gloo"
    torch.set_num_threads(1)
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank),
                      LOCAL_WORLD_SIZE=str(world))
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=world, timeout=timedelta(seconds=120))
    dataset = digits_dataset()
    bare_model = DistributedDataParallel(digits_mlp(seed=0))
    sampler = DistributedSampler(dataset, num_replicas=world, rank=rank, shuffle=True, seed=0)
    bare = (_endless(DataLoader(dataset, batch_size=BATCH, sampler=sampler), sampler.set_epoch),
            bare_model, torch.optim.Adam(bare_model.parameters(), lr=1e-3),
            nn.CrossEntropyLoss(reduction="none"))
    session = wl.Session(root_log_dir=Path(root) / f"run-{rank}")
    session.watch_or_edit({"experiment_name": "bench-ddp", "optimizer": {"lr": 1e-3}},
                          flag="hp")
    model = DistributedDataParallel(session.watch_or_edit(digits_mlp(seed=0), flag="model"))
    loader = session.watch_or_edit(dataset, flag="data", loader_name="train_loader",
                                   batch_size=BATCH, shuffle=True, seed=0)
    inst = (_endless(loader, loader.set_epoch), model,
            session.watch_or_edit(torch.optim.Adam(model.parameters(), lr=1e-3),
                                  flag="optimizer"),
            session.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss",
                                  signal_name="train-loss", per_sample=True, log=True))
    _timed_steps(*bare, args.warmup, False)
    _timed_steps(*inst, args.warmup, True)
    times = {"bare": [], "instrumented": []}
    for r in range(args.rounds):
        for name in (("bare", "instrumented") if r % 2 == 0 else ("instrumented", "bare")):
            loop = bare if name == "bare" else inst
            times[name].append(_timed_steps(*loop, args.steps, name == "instrumented"))
            dist.barrier()  # the ranks start each round together
    session.close()
    dist.destroy_process_group()
    results.put((rank, {k: [a.tolist() for a in v] for k, v in times.items()}))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=200, help="steps per loop per round")
    parser.add_argument("--rounds", type=int, default=4, help="rounds (each runs both loops)")
    parser.add_argument("--warmup", type=int, default=30, help="untimed steps of each loop")
    parser.add_argument("--relay", choices=("shared", "gloo"), default="shared",
                        help="the control relay's headers: shared memory (one machine, the "
                             "default there) or gloo broadcasts (as between machines)")
    args = parser.parse_args(argv)
    world = 2
    ctx = mp.get_context("spawn")
    results = ctx.Queue()
    with tempfile.TemporaryDirectory(prefix="wl-ddp-bench-") as root:
        port = _free_port()
        procs = [ctx.Process(target=_rank, args=(r, world, port, args, root, results))
                 for r in range(world)]
        for p in procs:
            p.start()
        got = dict(results.get(timeout=1800) for _ in range(world))
        for p in procs:
            p.join(60)
    print(f"digits MLP on DDP, {world} ranks (gloo, CPU), batch {BATCH} per rank, "
          f"{args.rounds} rounds x {args.steps} steps per loop, relay headers: {args.relay}")
    for rank in range(world):
        rounds = got[rank]
        bare = statistics.median(np.concatenate(rounds["bare"]))
        inst = statistics.median(np.concatenate(rounds["instrumented"]))
        # each round of one loop next to the other loop's round of the same pair: the
        # machine's slow and fast spells hit both sides of a pair alike
        paired = [statistics.median(i) / statistics.median(b)
                  for b, i in zip(rounds["bare"], rounds["instrumented"])]
        print(f"rank {rank}: median step bare {bare * 1e6:8.1f} us   instrumented "
              f"{inst * 1e6:8.1f} us   ratio {inst / bare:.3f}   median of per-round "
              f"ratios {statistics.median(paired):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
