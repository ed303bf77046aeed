"""Run logging: the cost of ``wl.log`` and of reading a long run back with ``wl.Api``.

* log: ``--rows`` calls of ``run.log`` with ``--keys`` floats each (wandb's step counting: no
  training loop), timed per call; then the session closes (flushing the history file).
* read: ``Api(root).run(path)`` then ``history()`` (sampled to 500 rows), ``history(keys=[one
  key], samples=rows)`` and a full ``scan_history()``, each timed once after one warm-up.

Baseline in the same run: appending the same rows to a list and writing them as JSON lines
with the standard library (what the tracking files are), and reading them back with
``json.loads`` per line.

Prints the timings and the ratios. A benchmark, not a test: it asserts nothing.

    python bench/tracking.py [--rows 100000] [--keys 5]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

try:
    import weightslab_nb as wl
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import weightslab_nb as wl


def log_rows(root: Path, rows: int, keys: list[str]) -> tuple[float, str]:
    """Seconds spent in ``run.log`` for ``rows`` rows; the run's path."""
    with wl.Session(root_log_dir=root) as session:
        run = wl.init(project="bench", session=session)
        clock = time.perf_counter
        spent = 0.0
        for i in range(rows):
            values = {k: i * 0.001 + j for j, k in enumerate(keys)}
            t0 = clock()
            run.log(values)
            spent += clock() - t0
        path = run.path
    return spent, path


def baseline(path: Path, rows: int, keys: list[str]) -> tuple[float, float]:
    """(seconds to build and write the rows as JSON lines, seconds to read them back)."""
    t0 = time.perf_counter()
    buffered = []
    for i in range(rows):
        buffered.append({"_step": i, "_timestamp": time.time(),
                         **{k: i * 0.001 + j for j, k in enumerate(keys)}})
    with open(path, "w", encoding="utf-8") as f:
        f.write("".join(json.dumps(r) + "\n" for r in buffered))
    write_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    with open(path, encoding="utf-8") as f:
        back = [json.loads(line) for line in f]
    read_s = time.perf_counter() - t0
    assert len(back) == rows
    return write_s, read_s


def timed(fn) -> float:
    fn()  # warm-up (file cache, imports)
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000,
                        help="log calls (history rows) (default: %(default)s)")
    parser.add_argument("--keys", type=int, default=5,
                        help="float values per call (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.rows < 1 or args.keys < 1:
        parser.error("--rows and --keys must be >= 1")
    keys = [f"metric_{j}" for j in range(args.keys)]

    with tempfile.TemporaryDirectory(prefix="wl-bench-tracking-") as tmp:
        tmp = Path(tmp)
        log_s, path = log_rows(tmp / "run", args.rows, keys)
        base_write_s, base_read_s = baseline(tmp / "baseline.jsonl", args.rows, keys)
        api_run = wl.Api(root=tmp).run(path)
        sampled_s = timed(lambda: api_run.history())
        one_key_s = timed(lambda: api_run.history(keys=[keys[0]], samples=args.rows))
        scan_s = timed(lambda: sum(1 for _ in api_run.scan_history()))

    per_call = log_s / args.rows
    print(f"{args.rows:,} rows x {args.keys} floats")
    print(f"wl.log                      {per_call * 1e6:8.1f} us per call   "
          f"(baseline build+write {base_write_s / args.rows * 1e6:.1f} us per row, "
          f"ratio {log_s / base_write_s:.2f})")
    print(f"Api.history() sampled 500   {sampled_s:8.3f} s")
    print(f"Api.history(keys=[1 key])   {one_key_s:8.3f} s   (all rows)")
    print(f"Api.scan_history() full     {scan_s:8.3f} s   (baseline json read "
          f"{base_read_s:.3f} s, ratio {scan_s / base_read_s:.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
