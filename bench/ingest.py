"""Per-sample history ingest, end to end, against writing the same columns to Parquet.

* weightslab_nb: ``Session.save_signals`` of batches of ``--batch`` sample ids (values as a
  float32 tensor, like a loss), until ``--rows`` rows were recorded, then ``session.flush()``
  (so the rows are in the DuckDB file) — the clock covers recording, conversion, the sample
  table update, the DuckDB insert and the ledger snapshots the ingest thread takes meanwhile.
* baseline: a buffered numpy→Parquet logger: the same rows (signal, row, step, value, exp)
  appended batch by batch as numpy arrays, written with a ``pyarrow.parquet.ParquetWriter``
  one row group per ``--group`` rows, closed at the end (the clock covers all of it).

Both sides run the same way: one warm-up run (a tenth of the rows), then ``--repeats`` timed
runs, each in a fresh directory (a fresh session for weightslab_nb); the median is reported with
the range. A benchmark, not a test: it asserts nothing.

    python bench/ingest.py [--rows 5000000] [--batch 256] [--samples 100000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

try:
    import weightslab_nb  # noqa: F401
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from weightslab_nb.session import Session  # noqa: E402


def _plan(rows: int, batch: int, samples: int):
    """The recorded batches: 8 value arrays cycled, and one start id per batch."""
    rng = np.random.default_rng(0)
    values = [rng.random(batch, dtype=np.float32) for _ in range(8)]
    starts = rng.integers(0, samples - batch, size=rows // batch + 1)
    return values, starts


def ingest_weightslab(root: Path, rows: int, batch: int, samples: int) -> float:
    """Seconds to record ``rows`` per-sample values in batches and flush them."""
    session = Session(root_log_dir=root, flush_interval=0.5)
    ids = np.arange(samples)
    session.save_signals({"loss": np.zeros(samples)}, ids, step=0)  # register the samples
    session.flush()
    arrays, starts = _plan(rows, batch, samples)
    values = [torch.from_numpy(a) for a in arrays]
    t0 = time.perf_counter()
    for i in range(rows // batch):
        s = starts[i]
        session.save_signals({"loss": values[i % 8]}, ids[s : s + batch], step=i + 1)
    session.flush()
    elapsed = time.perf_counter() - t0
    session.close()
    return elapsed


def ingest_parquet(path: Path, rows: int, batch: int, samples: int, group: int) -> float:
    """Seconds to buffer the same rows as numpy columns and write them to one Parquet file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    values, starts = _plan(rows, batch, samples)
    schema = pa.schema([("signal", pa.int32()), ("row", pa.int64()), ("step", pa.int64()),
                        ("value", pa.float64()), ("exp", pa.int32())])
    t0 = time.perf_counter()
    with pq.ParquetWriter(path, schema) as writer:
        row_parts, step_parts, value_parts, held = [], [], [], 0

        def write() -> None:
            n = sum(len(p) for p in row_parts)
            writer.write_table(pa.table({
                "signal": np.zeros(n, np.int32), "row": np.concatenate(row_parts),
                "step": np.concatenate(step_parts),
                "value": np.concatenate(value_parts).astype(np.float64),
                "exp": np.zeros(n, np.int32)}, schema=schema))
            row_parts.clear(), step_parts.clear(), value_parts.clear()

        for i in range(rows // batch):
            s = starts[i]
            row_parts.append(np.arange(s, s + batch))
            step_parts.append(np.full(batch, i + 1))
            value_parts.append(values[i % 8])
            held += batch
            if held >= group:
                write()
                held = 0
        if row_parts:
            write()
    return time.perf_counter() - t0


def _timed(run, repeats: int) -> list[float]:
    run(warm=True)
    return [run(warm=False) for _ in range(repeats)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=5_000_000,
                        help="per-sample history rows to record (default: %(default)s)")
    parser.add_argument("--batch", type=int, default=256,
                        help="rows per recorded batch (default: %(default)s)")
    parser.add_argument("--samples", type=int, default=100_000,
                        help="distinct sample ids (default: %(default)s)")
    parser.add_argument("--group", type=int, default=1_000_000,
                        help="rows per Parquet row group of the baseline (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="timed runs of each side after one warm-up (default: %(default)s)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    n = args.rows // args.batch * args.batch
    with tempfile.TemporaryDirectory(prefix="wl-ingest-") as tmp:
        runs = iter(range(10**6))

        def baseline(warm: bool) -> float:
            rows = max(args.batch, n // 10) if warm else n
            return ingest_parquet(Path(tmp) / f"baseline-{next(runs)}.parquet", rows,
                                  args.batch, args.samples, args.group)

        def ours(warm: bool) -> float:
            rows = max(args.batch, n // 10) if warm else n
            return ingest_weightslab(Path(tmp) / f"run-{next(runs)}", rows, args.batch,
                                     args.samples)

        t_pq = _timed(baseline, args.repeats)
        t_wl = _timed(ours, args.repeats)
    print(f"{n:,} per-sample rows, batches of {args.batch:,}, {args.samples:,} samples; "
          f"median of {args.repeats} runs after a warm-up [range]")

    def line(label: str, times: list[float], note: str = "") -> float:
        med = statistics.median(times)
        print(f"{label}: {n / med / 1e6:6.2f} M rows/s [{n / max(times) / 1e6:.2f}–"
              f"{n / min(times) / 1e6:.2f}] ({med:.2f} s{note})")
        return med

    m_pq = line("numpy→Parquet baseline", t_pq, f", row groups of {args.group:,}")
    m_wl = line("weightslab_nb         ", t_wl, ", incl. final flush")
    print(f"ratio weightslab/parquet (throughput): {m_pq / m_wl:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
