"""``query_sample_history`` latency on a large per-sample history.

Records ``--rows`` per-sample rows (``--samples`` samples, one value each per step, in batches
of 10,000 ids), flushes them to the DuckDB file, then times ``query_sample_history`` for
``--queries`` random samples (median and 95th percentile), after one warm-up query. Also prints,
for scale, a plain numpy scan of the same rows for the same samples, timed the same way (a
warm-up, then median and 95th percentile): the in-memory lower bound of an unindexed look-up. A benchmark, not a test: it asserts nothing.

    python bench/query.py [--rows 10000000] [--samples 100000] [--queries 50]
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
from weightslab_nb.session import Session  # noqa: E402

BATCH = 10_000


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000,
                        help="history rows to query (default: %(default)s)")
    parser.add_argument("--samples", type=int, default=100_000,
                        help="distinct sample ids (default: %(default)s)")
    parser.add_argument("--queries", type=int, default=50,
                        help="timed queries (default: %(default)s)")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory(prefix="wl-query-") as tmp:
        session = Session(root_log_dir=Path(tmp) / "run")
        ids = np.arange(args.samples)
        t0 = time.perf_counter()
        step = 0
        for start in range(0, args.rows, BATCH):
            lo = start % args.samples
            step += lo == 0
            session.save_signals({"loss": rng.random(BATCH)}, ids[lo : lo + BATCH], step=step)
        session.flush()
        t_fill = time.perf_counter() - t0
        picks = rng.integers(0, args.samples, size=args.queries + 1).tolist()
        session.query_sample_history(picks[0], "loss")
        times, lengths = [], []
        for sid in picks[1:]:
            t = time.perf_counter()
            lengths.append(len(session.query_sample_history(sid, "loss")))
            times.append(time.perf_counter() - t)
        session.close()
    rows = np.tile(np.arange(args.samples), args.rows // args.samples)
    np.flatnonzero(rows == picks[0])  # warm-up, as for the queries
    scans = []
    for sid in picks[1:]:
        t = time.perf_counter()
        np.flatnonzero(rows == sid)
        scans.append(time.perf_counter() - t)
    scans_ms = np.array(scans) * 1e3
    times_ms = np.array(times) * 1e3
    print(f"{args.rows:,} per-sample rows over {args.samples:,} samples "
          f"(filled + flushed in {t_fill:.1f} s); {args.queries} queries of "
          f"~{int(np.mean(lengths))} rows each")
    print(f"query_sample_history: median {np.median(times_ms):.2f} ms, "
          f"p95 {np.percentile(times_ms, 95):.2f} ms")
    print(f"numpy full scan of the row column (reference, the same samples after a warm-up): "
          f"median {np.median(scans_ms):.2f} ms, p95 {np.percentile(scans_ms, 95):.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
