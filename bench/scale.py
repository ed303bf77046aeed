"""How the sample grid and the per-sample history scale with the number of samples.

For each size (``--sizes``, default 10k, 100k and 1M samples), in a fresh child process: a
session records ``--epochs`` epochs of a per-sample loss (each epoch visits every sample once,
in a shuffled order, in batches of ``--batch`` ids; the first epoch also registers the samples),
then flushes. It then times, after one warm-up each and over ``--repeats`` repeats (median):

* ``ingest``: recording every epoch plus the final flush (seconds, once);
* ``rss``: the child's peak resident memory growth over its start (``ru_maxrss``, native
  allocations such as DuckDB's included), and for scale the bytes of the same history as plain
  numpy columns (row int64, step int64, value float64);
* ``page @mean``: ``grid_page`` sorted by ``signals//loss@mean`` (a statistic of each sample's
  history), 48 rows, no held order (an API reader), one new value recorded before each page
  (as while training, so no earlier order can be reused; the recording is not timed apart);
* ``held @mean``: the same through a fresh ``HeldOrder`` (what the grid panel does on a new
  sort: the full order becomes its snapshot);
* ``page latest``: ``grid_page`` sorted by the latest value (``signals//loss``), as above;
* ``cached @mean``: ``page @mean`` again with nothing recorded in between (scrolling or
  polling a paused or finished run);
* ``history p95``: ``query_sample_history`` of ``--queries`` random samples, 95th percentile,
  after a first query and the flushes that copy the history into its row-ordered copy (one
  run per flush; ``copy`` says how long those flushes took: writer-thread time).

Prints one line per size and a growth table (each figure divided by the one of the size before).
Run it against another checkout (``PYTHONPATH=/path/to/checkout``) for a before/after
comparison on the same machine. A benchmark, not a test: it asserts nothing.

    python bench/scale.py [--sizes 10000 100000 1000000] [--epochs 10] [--batch 1024]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

try:
    import weightslab_nb  # noqa: F401
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FIGURES = ("ingest_s", "rss_mib", "numpy_mib", "page_mean_ms", "held_mean_ms",
           "page_latest_ms", "cached_mean_ms", "history_p95_ms")


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _timed(fn, repeats: int) -> float:
    """Median milliseconds of ``fn()`` after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times) * 1e3)


def measure(samples: int, epochs: int, batch: int, repeats: int, queries: int) -> dict:
    """Every figure of one size (run in a fresh process, so the RSS peak is its own)."""
    import duckdb  # noqa: F401  (libraries loaded before the baseline is read)
    import pandas  # noqa: F401  (DuckDB's from_arrow loads it on the first flush)
    import pyarrow  # noqa: F401

    from weightslab_nb.ledger.query import GridQuery, HeldOrder
    from weightslab_nb.session import Session

    rss0 = _peak_rss_mib()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory(prefix="wl-scale-") as tmp:
        session = Session(root_log_dir=Path(tmp) / "run")
        ids = np.arange(samples)
        t0 = time.perf_counter()
        step = 0
        for _ in range(epochs):
            order = rng.permutation(samples)
            for start in range(0, samples, batch):
                step += 1
                chunk = order[start:start + batch]
                session.save_signals({"loss": rng.random(len(chunk))}, ids[chunk], step=step)
        session.flush()
        ingest = time.perf_counter() - t0
        out = {"samples": samples, "rows": samples * epochs, "ingest_s": ingest,
               "numpy_mib": samples * epochs * 24 / 2**20}

        def page(sort_by: str, hold=None, fresh=True):
            def run():
                if fresh:  # one new value, as while training: no order can be reused
                    nonlocal step
                    step += 1
                    session.save_signals({"loss": rng.random(1)}, ids[:1], step=step)
                q = GridQuery(sort_by=sort_by, descending=True, limit=48)
                session.grid_page(q, hold=None if hold is None else hold())
            return run

        out["page_mean_ms"] = _timed(page("signals//loss@mean"), repeats)
        out["held_mean_ms"] = _timed(page("signals//loss@mean", HeldOrder), repeats)
        out["page_latest_ms"] = _timed(page("signals//loss"), repeats)
        out["cached_mean_ms"] = _timed(page("signals//loss@mean", fresh=False), repeats)
        picks = rng.integers(0, samples, size=queries + 1).tolist()
        session.query_sample_history(picks[0], "loss")  # turns the row-ordered copy on
        t = time.perf_counter()
        for _ in range(samples * epochs // 1_000_000 + 1):  # the writer's next flushes
            session.flush()
        out["copy_s"] = time.perf_counter() - t
        times = []
        for sid in picks[1:]:
            t = time.perf_counter()
            session.query_sample_history(sid, "loss")
            times.append(time.perf_counter() - t)
        out["history_p95_ms"] = float(np.percentile(np.array(times) * 1e3, 95))
        out["history_p50_ms"] = float(np.median(np.array(times) * 1e3))
        session.close()
    out["rss_mib"] = _peak_rss_mib() - rss0
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000],
                        help="sample counts (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=10, help="default: %(default)s")
    parser.add_argument("--batch", type=int, default=1024, help="ids per batch (%(default)s)")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats (%(default)s)")
    parser.add_argument("--queries", type=int, default=50,
                        help="query_sample_history calls (%(default)s)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:  # one size, figures as JSON on stdout
        print(json.dumps(measure(args.sizes[0], args.epochs, args.batch, args.repeats,
                                 args.queries)))
        return 0
    import weightslab_nb

    print(f"weightslab_nb from {Path(weightslab_nb.__file__).parent}; {args.epochs} epochs, "
          f"batch {args.batch}, {args.repeats} repeats, {os.cpu_count()} CPUs")
    results = []
    for n in args.sizes:
        cmd = [sys.executable, __file__, "--child", "--sizes", str(n), "--epochs",
               str(args.epochs), "--batch", str(args.batch), "--repeats", str(args.repeats),
               "--queries", str(args.queries)]
        res = json.loads(subprocess.run(cmd, check=True, capture_output=True,
                                        text=True).stdout.strip().splitlines()[-1])
        results.append(res)
        print(f"{n:>9,} samples x {args.epochs}: ingest {res['ingest_s']:.2f} s, "
              f"RSS +{res['rss_mib']:.0f} MiB (numpy columns {res['numpy_mib']:.0f} MiB), "
              f"page @mean {res['page_mean_ms']:.1f} ms, held @mean "
              f"{res['held_mean_ms']:.1f} ms, page latest {res['page_latest_ms']:.1f} ms, cached "
              f"@mean {res['cached_mean_ms']:.2f} ms, "
              f"query_sample_history p50 {res['history_p50_ms']:.2f} / p95 "
              f"{res['history_p95_ms']:.2f} ms (copy {res.get('copy_s', 0):.2f} s)", flush=True)
    print("\ngrowth per size step (figure / figure of the previous size)")
    print(f"{'samples':>10} " + " ".join(f"{f:>15}" for f in FIGURES))
    for prev, cur in itertools.pairwise(results):
        print(f"{cur['samples']:>10,} " + " ".join(
            f"{cur[f] / prev[f] if prev[f] else float('nan'):>14.2f}x" for f in FIGURES))
    return 0


if __name__ == "__main__":
    sys.exit(main())
