"""Per-step overhead of weightslab_nb against a bare PyTorch loop, measured in one process.

Workload: scikit-learn digits (1,797 8x8 images), the demo MLP (``digits_mlp``), batch 64,
Adam, per-sample ``CrossEntropyLoss(reduction="none")`` + ``.mean().backward()``, one torch
thread.

* bare: ``DataLoader(TensorDataset, batch_size=64, shuffle=True)``, the loss unwrapped.
* instrumented: a fresh ``Session(root_log_dir=<tmp>)``; watched hyperparameters, model,
  optimizer, loader (``loader_name="train_loader"``) and per-sample loss (``log=True``: per-sample
  history + one global curve point per step, flushed to DuckDB by the writer thread); ~5% of the
  samples discarded (half before the run, half in the middle of the first round; later rounds
  swap a few discarded samples for active ones mid-round), so the sampler filters.

Both loops start from the same model initialisation. After a warm-up of each, they alternate in
rounds (bare/instrumented, then instrumented/bare, ...) so machine noise hits both; each step is
timed with ``time.perf_counter()`` from fetching the batch to the end of ``optimizer.step()``
(and of the ``wl.log`` call with ``--log``). Each instrumented round ends with an untimed wait
for the recorder's flush, so the package's background work for those steps (converting and
writing what they recorded) runs in that round or right after it, never during the bare loop's
next round (it would slow the bare loop and flatter the ratio); its median duration is printed.
Background work that falls inside an instrumented round, at the recorder's own cadence, is on
that round's clock.

Prints the median step time of each loop, the ratio instrumented/bare of the medians, the median
of the per-round ratios, and the median per-phase breakdown (data, forward+loss, backward,
optimizer, log). ``--log`` adds a tracking run: ``wl.log`` of the mean loss (the tensor the step's
backward ran on, detached, as a training loop logs it) and the learning rate after every
instrumented step (the "log" phase; the bare loop logs nothing).
``--dynamic-signal`` subscribes a batched dynamic signal to the per-sample loss.
A benchmark, not a test: it asserts nothing.

    python bench/overhead.py [--steps 300] [--rounds 5] [--warmup 50] [--json out.json]
                             [--log] [--dynamic-signal]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

try:
    import weightslab_nb as wl
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import weightslab_nb as wl
from weightslab_nb.demo import digits_dataset, digits_mlp  # noqa: E402

PHASES = ("data", "forward+loss", "backward", "optimizer", "log")
BATCH = 64


def endless(loader):
    """Batches across epoch boundaries (a new epoch starts when one is exhausted)."""
    while True:
        yield from loader


class Loop:
    """One training loop whose steps can be run in slices and timed."""

    def __init__(self, name: str, batches, model, optimizer, loss_fn, instrumented: bool):
        self.log_fn = None  # called with the step's mean loss (the one backward ran on)
        self.name = name
        self.batches = batches
        self.model = model
        self.optimizer = optimizer
        self.loss_fn = loss_fn
        self.instrumented = instrumented
        self.times: list[np.ndarray] = []  # per round: [steps, 5] phase durations

    def run(self, steps: int, midway=None) -> np.ndarray:
        """Run ``steps`` steps; ``midway()`` is called once, before step ``steps // 2``."""
        out = np.empty((steps, len(PHASES)))
        clock = time.perf_counter
        for i in range(steps):
            if midway is not None and i == steps // 2:
                midway()
            t0 = clock()
            batch = next(self.batches)
            t1 = clock()
            self.optimizer.zero_grad()
            if self.instrumented:
                inputs, targets, ids = batch
                loss = self.loss_fn(self.model(inputs), targets, batch_ids=ids)
            else:
                inputs, targets = batch
                loss = self.loss_fn(self.model(inputs), targets)
            t2 = clock()
            mean = loss.mean()
            mean.backward()
            t3 = clock()
            self.optimizer.step()
            t4 = clock()
            if self.log_fn is not None:
                self.log_fn(mean)
            t5 = clock()
            out[i] = (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)
        return out


def build_bare(dataset, seed: int) -> Loop:
    model = digits_mlp(seed=seed)
    gen = torch.Generator().manual_seed(seed)
    loader = DataLoader(dataset, batch_size=BATCH, shuffle=True, generator=gen)
    return Loop("bare", endless(loader), model, torch.optim.Adam(model.parameters(), lr=1e-3),
                nn.CrossEntropyLoss(reduction="none"), instrumented=False)


def build_instrumented(session, dataset, seed: int) -> Loop:
    session.watch_or_edit({"experiment_name": "bench-overhead", "batch_size": BATCH,
                           "optimizer": {"lr": 1e-3}}, flag="hp")
    model = session.watch_or_edit(digits_mlp(seed=seed), flag="model")
    loader = session.watch_or_edit(dataset, flag="data", loader_name="train_loader",
                                   batch_size=BATCH, shuffle=True, seed=seed)
    optimizer = session.watch_or_edit(torch.optim.Adam(model.parameters(), lr=1e-3),
                                      flag="optimizer")
    loss_fn = session.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss",
                                    signal_name="train-loss", per_sample=True, log=True)
    return Loop("instrumented", endless(loader), model, optimizer, loss_fn, instrumented=True)


def subscribe_loss_ema(session) -> None:
    """A batched dynamic signal on the per-sample loss: each sample's loss EMA (alpha 0.3)."""
    state: dict = {}

    @session.signal(name="loss_ema", subscribe_to="train-loss", batched=True)
    def loss_ema(ctx):
        values = ctx.subscribed_values
        previous = np.array([state.get(s, v) for s, v in zip(ctx.sample_ids, values)])
        ema = 0.7 * previous + 0.3 * values
        state.update(zip(ctx.sample_ids, ema.tolist()))
        return ema


class Discards:
    """Keeps ~5% of the samples discarded, changing some of them while a round runs."""

    def __init__(self, session, n_samples: int, seed: int, fraction: float = 0.05):
        self.session = session
        self.rng = np.random.default_rng(seed)
        self.target = max(2, int(round(fraction * n_samples)))
        self.n = n_samples
        self.discarded: set[int] = set()

    def _discard(self, k: int) -> None:
        taken = np.fromiter(self.discarded, int, len(self.discarded))
        pool = np.setdiff1d(np.arange(self.n), taken)
        ids = self.rng.choice(pool, size=k, replace=False).tolist()
        self.session.discard_samples(ids)
        self.discarded.update(ids)

    def before(self) -> None:
        self._discard(self.target // 2)

    def midway(self) -> None:
        missing = self.target - len(self.discarded)
        if missing > 0:  # first round: reach the target while training runs
            self._discard(missing)
            return
        k = max(1, self.target // 10)  # later rounds: swap k discarded for k active samples
        back = self.rng.choice(sorted(self.discarded), size=k, replace=False).tolist()
        self.session.discard_samples(back, discarded=False)
        self.discarded.difference_update(back)
        self._discard(k)


def fmt_us(seconds: float) -> str:
    return f"{seconds * 1e6:8.1f} us"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--steps", type=int, default=300, help="steps per loop per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds (each runs both loops)")
    parser.add_argument("--warmup", type=int, default=50, help="untimed steps of each loop first")
    parser.add_argument("--seed", type=int, default=0, help="torch seed (default: %(default)s)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--log", action="store_true",
                        help="also start a tracking run (wl.init) and wl.log the step's mean "
                             "loss (a tensor) and the learning rate at every step")
    parser.add_argument("--dynamic-signal", action="store_true",
                        help="also subscribe a batched dynamic signal to the per-sample loss "
                             "(an exponential moving average of each sample's loss)")
    args = parser.parse_args(argv)
    if args.steps < 2 or args.rounds < 1 or args.warmup < 0:
        parser.error("--steps must be >= 2, --rounds >= 1, --warmup >= 0")

    torch.set_num_threads(1)
    dataset = digits_dataset()
    with tempfile.TemporaryDirectory(prefix="wl-bench-") as tmp:
        session = wl.Session(root_log_dir=Path(tmp) / "run")
        with session:
            bare = build_bare(dataset, args.seed)
            inst = build_instrumented(session, dataset, args.seed)
            if args.dynamic_signal:
                subscribe_loss_ema(session)
            if args.log:
                run = wl.init(project="bench", session=session)
                lr = inst.optimizer.param_groups[0]["lr"]
                inst.log_fn = lambda mean: run.log({"train/loss": mean.detach(), "lr": lr})
            discards = Discards(session, len(dataset), args.seed)
            discards.before()
            bare.run(args.warmup)
            inst.run(args.warmup)
            session.recorder.wait_for_flush(timeout=60)

            rounds = []
            background: list[float] = []  # untimed round-end flushes (instrumented rounds)
            for r in range(args.rounds):
                order = (bare, inst) if r % 2 == 0 else (inst, bare)
                for loop in order:
                    times = loop.run(args.steps, discards.midway if loop is inst else None)
                    loop.times.append(times)
                    if loop is inst:  # the package's background work for these steps ends
                        t_bg = time.perf_counter()  # here, not in the bare loop's next round
                        session.recorder.wait_for_flush(timeout=60)
                        background.append(time.perf_counter() - t_bg)
                b = np.median(bare.times[-1].sum(1))
                i = np.median(inst.times[-1].sum(1))
                rounds.append({"round": r + 1, "bare_median_s": float(b),
                               "instrumented_median_s": float(i), "ratio": float(i / b)})
                print(f"round {r + 1}: bare {fmt_us(b)}  instrumented {fmt_us(i)}  "
                      f"ratio {i / b:.3f}", flush=True)
            total, active = session.counts()
            recorded = session.global_series("train-loss")["step"].size
            ema_points = session.global_series("loss_ema")["step"].size
            t_close = time.perf_counter()
        close_s = time.perf_counter() - t_close  # stop + final history flush + close

    all_bare = np.concatenate(bare.times)
    all_inst = np.concatenate(inst.times)
    med_b = float(np.median(all_bare.sum(1)))
    med_i = float(np.median(all_inst.sum(1)))
    ratios = [r["ratio"] for r in rounds]
    result = {
        "steps_per_round": args.steps, "rounds": args.rounds, "warmup": args.warmup,
        "torch": torch.__version__, "threads": torch.get_num_threads(),
        "bare_median_step_s": med_b, "instrumented_median_step_s": med_i,
        "ratio_of_medians": med_i / med_b,
        "median_of_round_ratios": statistics.median(ratios),
        "bare_mean_step_s": float(all_bare.sum(1).mean()),
        "instrumented_mean_step_s": float(all_inst.sum(1).mean()),
        "phases_median_s": {
            "bare": dict(zip(PHASES, np.median(all_bare, 0).tolist(), strict=True)),
            "instrumented": dict(zip(PHASES, np.median(all_inst, 0).tolist(), strict=True)),
        },
        "samples": total, "active": active, "curve_points": int(recorded),
        "close_s": close_s, "rounds_detail": rounds,
        "round_end_flush_median_s": statistics.median(background),
    }

    print()
    print(f"digits MLP, batch {BATCH}, {args.rounds} rounds x {args.steps} steps per loop, "
          f"torch {torch.__version__}, {torch.get_num_threads()} thread")
    print(f"samples {total}, active {active} ({total - active} discarded), "
          f"{recorded} curve points recorded")
    if args.dynamic_signal:
        print(f"batched dynamic signal loss_ema fired for {ema_points} batches")
    print(f"median step   bare {fmt_us(med_b)}   instrumented {fmt_us(med_i)}")
    print(f"mean step     bare {fmt_us(result['bare_mean_step_s'])}   instrumented "
          f"{fmt_us(result['instrumented_mean_step_s'])}")
    print(f"ratio instrumented/bare: {result['ratio_of_medians']:.3f} (of medians), "
          f"{result['median_of_round_ratios']:.3f} (median of per-round ratios)")
    print("median per phase:")
    print(f"  {'phase':<14}{'bare':>12}{'instrumented':>16}{'extra':>12}")
    for p in PHASES:
        b = result["phases_median_s"]["bare"][p]
        i = result["phases_median_s"]["instrumented"][p]
        print(f"  {p:<14}{fmt_us(b):>12}{fmt_us(i):>16}{fmt_us(i - b):>12}")
    print(f"round-end flush after each instrumented round (untimed): "
          f"{result['round_end_flush_median_s'] * 1e3:.1f} ms median")
    print(f"session close (stop, final flush): {close_s * 1e3:.1f} ms")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
