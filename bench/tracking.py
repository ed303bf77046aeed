"""Run logging: the cost of ``wl.log`` and of reading a long run back with ``wl.Api``.

* log: ``--rows`` calls of ``wl.log`` with ``--keys`` floats each (wandb's step counting: no
  training loop), each pass a new run of one session (warm: its history file exists, as in
  any training after its first seconds). The dicts are built before the clock starts; the
  clock covers the calls only. Then ``finish`` (the run's files written) is timed on its own.
* baseline, same process, same prebuilt dicts: a plain buffered Parquet logger (one Python list
  per key plus step and timestamp columns, appended per call; one ``pyarrow`` table written
  with ``pyarrow.parquet.write_table`` at the end, timed as its finish).
* Both sides get one warm-up pass (a tenth of the rows) and ``--repeats`` timed passes,
  interleaved, each on a new run / logger; medians and ranges are printed. The ratio is
  the median of the ratios of passes run back to back (wall clock, the verdict); the calling
  thread's CPU time (``time.thread_time``) is printed too, a reading less moved by other
  processes on a busy machine.
* read: ``Api(root).run(path)`` then ``history()`` (sampled to 500 rows), ``history(keys=[one
  key], samples=rows)`` and a full ``scan_history()``, each timed once after one warm-up,
  against reading the baseline's Parquet file back (``pyarrow.parquet.read_table``).

Note: ``wl.log`` hands its rows to the session's ingest thread (curves, summary, files): on a
busy machine that thread competes with the calling one. The "end to end" line counts the calls
plus the finish (everything written) for both sides.

A benchmark, not a test: it asserts nothing.

    python bench/tracking.py [--rows 100000] [--keys 4] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

try:
    import weightslab_nb as wl
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import weightslab_nb as wl


class ParquetLogger:
    """The baseline: columns per key in Python lists, written as one Parquet file at the end."""

    def __init__(self, path: Path):
        self.path = path
        self.steps: list[int] = []
        self.times: list[float] = []
        self.columns: dict[str, list] = {}
        self._step = 0

    def log(self, data: dict) -> None:
        """Append one row (step, timestamp and each value to its key's column)."""
        self.steps.append(self._step)
        self.times.append(time.time())
        self._step += 1
        columns = self.columns
        for key, value in data.items():
            column = columns.get(key)
            if column is None:
                column = columns[key] = []
            column.append(value)

    def finish(self) -> None:
        """Write the buffered rows as one Parquet file."""
        pq.write_table(pa.table({"_step": self.steps, "_timestamp": self.times,
                                 **self.columns}), self.path)


def wl_pass(session, rows: list[dict]) -> tuple[float, float, float, str]:
    """(seconds in the wl.log calls, the calling thread's CPU seconds in them, seconds in
    finish, the run's path) for a new run of ``session`` (the current session)."""
    clock, cpu = time.perf_counter, time.thread_time
    run = wl.init(project="bench", session=session)
    log = wl.log
    t0, c0 = clock(), cpu()
    for values in rows:
        log(values)
    calls, calls_cpu = clock() - t0, cpu() - c0
    t0 = clock()
    run.finish()
    return calls, calls_cpu, clock() - t0, run.path


def baseline_pass(path: Path, rows: list[dict]) -> tuple[float, float, float]:
    """(seconds in the baseline's log calls, CPU seconds in them, seconds in its finish)."""
    clock, cpu = time.perf_counter, time.thread_time
    logger = ParquetLogger(path)
    log = logger.log
    t0, c0 = clock(), cpu()
    for values in rows:
        log(values)
    calls, calls_cpu = clock() - t0, cpu() - c0
    t0 = clock()
    logger.finish()
    return calls, calls_cpu, clock() - t0


def timed(fn) -> float:
    fn()  # warm-up (file cache, imports)
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _median_range(values: list[float]) -> str:
    return f"{statistics.median(values):>12,.0f} ({min(values):,.0f}-{max(values):,.0f})"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000,
                        help="log calls (history rows) per pass (default: %(default)s)")
    parser.add_argument("--keys", type=int, default=4,
                        help="float values per call (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=5,
                        help="timed passes of each side (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.rows < 1 or args.keys < 1 or args.repeats < 1:
        parser.error("--rows, --keys and --repeats must be >= 1")
    keys = [f"metric_{j}" for j in range(args.keys)]
    rows = [{k: i * 0.001 + j for j, k in enumerate(keys)} for i in range(args.rows)]
    warm = rows[:max(1, args.rows // 10)]

    with tempfile.TemporaryDirectory(prefix="wl-bench-tracking-") as tmp, \
            wl.Session(root_log_dir=Path(tmp) / "wl") as session:
        tmp = Path(tmp)
        session.activate()
        wl_pass(session, warm)  # also creates the session's history file
        baseline_pass(tmp / "warm.parquet", warm)
        wl_calls, wl_cpu, wl_finish, base_calls, base_cpu, base_finish = [], [], [], [], [], []
        for r in range(args.repeats):
            calls, cpu, finish, path = wl_pass(session, rows)
            wl_calls.append(calls)
            wl_cpu.append(cpu)
            wl_finish.append(finish)
            calls, cpu, finish = baseline_pass(tmp / f"base{r}.parquet", rows)
            base_calls.append(calls)
            base_cpu.append(cpu)
            base_finish.append(finish)
        api_run = wl.Api(root=tmp / "wl").run(path)
        sampled_s = timed(lambda: api_run.history())
        one_key_s = timed(lambda: api_run.history(keys=[keys[0]], samples=args.rows))
        scan_s = timed(lambda: sum(1 for _ in api_run.scan_history()))
        base_read_s = timed(lambda: pq.read_table(tmp / "base0.parquet").to_pylist())

    n = args.rows
    wl_rate = [n / s for s in wl_calls]
    base_rate = [n / s for s in base_calls]
    wl_e2e = [n / (c + f) for c, f in zip(wl_calls, wl_finish)]
    base_e2e = [n / (c + f) for c, f in zip(base_calls, base_finish)]
    ratio = [w / b for w, b in zip(wl_rate, base_rate)]  # pass r of each side ran back to back
    cpu_ratio = [b / w for w, b in zip(wl_cpu, base_cpu)]
    e2e_ratio = [w / b for w, b in zip(wl_e2e, base_e2e)]
    med = statistics.median
    print(f"{n:,} calls x {args.keys} floats, {args.repeats} timed passes per side "
          "(median (min-max))")
    print(f"wl.log                   calls/s {_median_range(wl_rate)}")
    print(f"baseline Parquet logger  calls/s {_median_range(base_rate)}")
    print(f"ratio wl.log / baseline          {med(ratio):12.2f} "
          f"({min(ratio):.2f}-{max(ratio):.2f})")
    print(f"  on the calling thread's CPU clock (less moved by other processes): "
          f"wl.log {med([n / s for s in wl_cpu]):,.0f}/s, baseline "
          f"{med([n / s for s in base_cpu]):,.0f}/s, ratio {med(cpu_ratio):.2f}")
    print(f"finish  wl {med(wl_finish):.3f} s ({min(wl_finish):.3f}-{max(wl_finish):.3f})   "
          f"baseline write {med(base_finish):.3f} s "
          f"({min(base_finish):.3f}-{max(base_finish):.3f})")
    print(f"end to end (calls + finish) calls/s  wl {med(wl_e2e):,.0f}   baseline "
          f"{med(base_e2e):,.0f}   ratio {med(e2e_ratio):.2f}")
    print(f"Api.history() sampled 500   {sampled_s:8.3f} s")
    print(f"Api.history(keys=[1 key])   {one_key_s:8.3f} s   (all rows)")
    print(f"Api.scan_history() full     {scan_s:8.3f} s   (baseline Parquet read "
          f"{base_read_s:.3f} s, ratio {scan_s / base_read_s:.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
