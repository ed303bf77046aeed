"""Loss-shape tagging of a whole session: time of one classification of every sample.

Records ``--samples`` samples x ``--epochs`` per-sample loss values (each epoch a shuffled pass
in batches of 10,000 ids; synthetic curves: most fall, ``--noise`` of them stay high as
mislabels do), flushes them to the DuckDB file, then times :func:`tag_loss_shapes_now` (the
on-demand path of the auto-tagger): the history read, the vectorised classification and the
tag writes, best of ``--repeats`` (the first call tags every sample, later calls only the
changes, so the first call is timed separately). A benchmark, not a test: it asserts nothing.

    python bench/loss_shapes.py [--samples 50000] [--epochs 30] [--repeats 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

try:
    import weightslab_nb  # noqa: F401
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from weightslab_nb.loss_shapes import session_shape_codes, shape_codes, tag_loss_shapes_now  # noqa: E402
from weightslab_nb.session import Session  # noqa: E402

BATCH = 10_000


def curves(samples: int, epochs: int, noise: float, rng) -> np.ndarray:
    """``[samples, epochs]`` losses: exponential falls at random rates with jitter; a ``noise``
    share rises above the starting level and stays there (mislabels)."""
    t = np.arange(epochs)
    rate = rng.uniform(0.05, 1.0, size=(samples, 1))
    loss = 2.3 * np.exp(-rate * t) + rng.gamma(2.0, 0.02, size=(samples, epochs))
    bad = rng.random(samples) < noise
    loss[bad] = 2.3 + 2.0 * (1 - np.exp(-t / 3)) + rng.normal(0, 0.3, size=(bad.sum(), epochs))
    return np.abs(loss)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=50_000)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--noise", type=float, default=0.1, help="share of mislabel-like curves")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    losses = curves(args.samples, args.epochs, args.noise, rng)
    with tempfile.TemporaryDirectory(prefix="wl-shapes-") as tmp:
        session = Session(root_log_dir=Path(tmp) / "run")
        t0 = time.perf_counter()
        step = 0
        for epoch in range(args.epochs):
            order = rng.permutation(args.samples)
            for lo in range(0, args.samples, BATCH):
                ids = order[lo:lo + BATCH]
                step += 1
                session.save_signals({"loss": losses[ids, epoch]}, ids, step=step,
                                     origin="train")
        session.flush()
        t_fill = time.perf_counter() - t0

        t = time.perf_counter()
        counts = tag_loss_shapes_now(session, "loss")
        t_first = time.perf_counter() - t
        again, read, classify = [], [], []
        for _ in range(args.repeats):
            t = time.perf_counter()
            tag_loss_shapes_now(session, "loss")
            again.append(time.perf_counter() - t)
            t = time.perf_counter()
            cols = session.history.signal_trajectories("loss")
            read.append(time.perf_counter() - t)
            t = time.perf_counter()
            shape_codes(cols["value"], np.bincount(cols["row"]))
            classify.append(time.perf_counter() - t)
        t = time.perf_counter()
        session_shape_codes(session, "loss")
        t_codes = time.perf_counter() - t
        session.close()
    rows = args.samples * args.epochs
    print(f"{args.samples:,} samples x {args.epochs} values = {rows:,} history rows "
          f"(recorded + flushed in {t_fill:.1f} s)")
    print(f"tag_loss_shapes_now, first call (tags every sample): {t_first:.3f} s")
    print(f"tag_loss_shapes_now, again (tags the changes only): best {min(again):.3f} s")
    print(f"  history read (signal_trajectories): best {min(read):.3f} s")
    print(f"  classification (shape_codes):       best {min(classify):.3f} s")
    print(f"  read + table look-ups + classification (session_shape_codes): {t_codes:.3f} s")
    print("labels:", counts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
