"""A training process to crash: trains the digits MLP and edits samples, reporting each edit.

Run once::

    python tests/integration/crash_child.py ROOT [--seed N] [--seconds S] [--edit-every K]
        [--checkpoint-every C]

It opens ``Session(root_log_dir=ROOT)``, watches the digits data, trains in a loop and, every
``K`` steps, tags / untags / discards / restores / sets a categorical tag on random samples.
Stdout, one line each, each written at once (``t`` is ``time.monotonic()``, comparable across processes on
Linux)::

    pid <pid>
    ready <t>
    begin <json edit>          before an edit call
    edit <t> <json edit>       after the call returned
    step <t> <step>            after each step's loss was recorded (its history step)
    done <t>                   after ``S`` seconds of training and a clean close

An edit is ``{"op": "tag"|"untag"|"discard"|"restore"|"categorical", "ids": [...],
"value": ...}`` (``value``: the categorical value, or None to clear it). A crash point is armed
with ``WEIGHTSLAB_NB_CRASH_AT`` (see :mod:`weightslab_nb.crashpoints`).

Serve (what the crash tests use: torch and the package are imported once, then every run is
a fork, so a trial costs its run and not five seconds of imports)::

    python tests/integration/crash_child.py --serve

prints ``serving``, then for each JSON line on stdin (``{"root", "seed", "seconds",
"edit_every", "checkpoint_every", "crash_at"}``) forks a run whose lines go to stdout, and once
that run has ended (itself or killed) prints ``exit <pid> <signal or -exit code> <t>``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time

TAG = "flagged"
CATEGORICAL = "quality"
VALUES = ("clean", "noisy", "blurry")
POOL = 200  # edits touch samples 0..POOL-1, so later edits often override earlier ones


def say(*parts) -> None:
    """One line on stdout, written by one ``os.write`` (a pipe takes up to 4 KiB at once), so
    a kill never leaves half a line."""
    os.write(sys.stdout.fileno(), (" ".join(map(str, parts)) + "\n").encode())


def random_edit(rng: random.Random) -> dict:
    """A random edit of 1 to 3 samples of the pool."""
    op = rng.choice(["tag", "untag", "discard", "restore", "categorical"])
    edit = {"op": op, "ids": rng.sample(range(POOL), rng.randint(1, 3))}
    if op == "categorical":
        edit["value"] = rng.choice([*VALUES, None])
    return edit


def apply_edit(session, edit: dict) -> None:
    """Make the edit through the session's public methods."""
    op, ids = edit["op"], edit["ids"]
    if op in ("tag", "untag"):
        session.tag_samples(ids, TAG, mode="add" if op == "tag" else "remove")
    elif op in ("discard", "restore"):
        session.discard_samples(ids, discarded=op == "discard")
    else:
        session.set_categorical_tag(ids, CATEGORICAL, edit["value"])


def run(root: str, seed: int = 0, seconds: float = 30.0, edit_every: int = 3,
        checkpoint_every: int = 25) -> None:
    """Train and edit until ``seconds`` passed (or the process is killed)."""
    import torch
    from torch import nn

    import weightslab_nb as wl
    from weightslab_nb.demo import digits_dataset, digits_mlp

    say("pid", os.getpid())
    torch.set_num_threads(1)
    rng = random.Random(seed)
    session = wl.Session(root_log_dir=root, checkpoint_every=checkpoint_every)
    session.watch_or_edit({"experiment_name": "crash", "optimizer": {"lr": 0.05}}, flag="hp")
    model = session.watch_or_edit(digits_mlp(hidden=32), flag="model")
    loader = session.watch_or_edit(_digits(digits_dataset), flag="data",
                                   loader_name="train_loader", batch_size=32, shuffle=True,
                                   seed=seed)
    optimizer = session.watch_or_edit(torch.optim.SGD(model.parameters(), lr=0.05),
                                      flag="optimizer")
    loss_fn = session.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss",
                                    signal_name="train-loss", per_sample=True)
    session.register_tag(TAG)
    session.register_categorical_tag(CATEGORICAL, list(VALUES))
    say("ready", time.monotonic())
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for inputs, targets, ids in loader:
            optimizer.zero_grad()
            loss_fn(model(inputs), targets, batch_ids=ids).mean().backward()
            optimizer.step()
            step = session.controller.step
            say("step", time.monotonic(), step)
            if step % edit_every == 0:
                edit = random_edit(rng)
                say("begin", json.dumps(edit))
                apply_edit(session, edit)
                say("edit", time.monotonic(), json.dumps(edit))
            if time.monotonic() >= end:
                break
    session.close()
    say("done", time.monotonic())


_DIGITS = None


def _digits(load):
    """The digits data set, loaded once per process (the fork server loads it before forking)."""
    global _DIGITS
    if _DIGITS is None:
        _DIGITS = load()
    return _DIGITS


def serve() -> None:
    """Import once, then fork one run per JSON line of stdin (see the module docstring)."""
    import torch

    import weightslab_nb  # noqa: F401  (imported before forking: the point of serving)
    from weightslab_nb import crashpoints
    from weightslab_nb.demo import digits_dataset

    torch.set_num_threads(1)  # before any torch op: no thread pool exists when we fork
    _warm_up(digits_dataset)
    say("serving")
    for line in sys.stdin:
        args = json.loads(line)
        crash_at = args.pop("crash_at", None)
        pid = os.fork()
        if pid == 0:
            _run_forked(args, crash_at, crashpoints)
        _, status = os.waitpid(pid, 0)
        code = os.WTERMSIG(status) if os.WIFSIGNALED(status) else -os.WEXITSTATUS(status)
        say("exit", pid, code, time.monotonic())


def _warm_up(digits_dataset) -> None:
    """Load what every run would load first (the data, the lazy imports of the session and of
    torch.optim, which pulls in torch._dynamo), starting no thread."""
    import duckdb  # noqa: F401
    import pandas  # noqa: F401
    import pyarrow.parquet  # noqa: F401
    import torch

    import weightslab_nb.evaluation
    import weightslab_nb.signals
    import weightslab_nb.watch
    import weightslab_nb.watch.yaml_config  # noqa: F401
    from weightslab_nb.demo import digits_mlp

    _digits(digits_dataset)
    torch.optim.SGD(digits_mlp().parameters(), lr=0.1)


def _run_forked(args: dict, crash_at: str | None, crashpoints) -> None:
    """The forked child: arm the crash point, run, and leave without the server's cleanup."""
    code = 0
    try:
        if crash_at:
            os.environ[crashpoints.ENV] = crash_at
        crashpoints.rearm_from_environ()
        run(**args)
    except BaseException:  # noqa: BLE001  (reported, then the child exits)
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        sys.stderr.flush()
        os._exit(code)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?")
    parser.add_argument("--serve", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--edit-every", type=int, default=3)
    parser.add_argument("--checkpoint-every", type=int, default=25)
    args = parser.parse_args()
    if args.serve:
        serve()
    elif args.root is None:
        parser.error("root: the run directory is required (or --serve)")
    else:
        run(args.root, args.seed, args.seconds, args.edit_every, args.checkpoint_every)


if __name__ == "__main__":
    main()
