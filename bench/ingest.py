"""Per-sample history ingest, end to end, against writing the same columns to Parquet.

* weightslab_nb: ``Session.save_signals`` of batches of ``--batch`` sample ids (values as a
  float32 tensor, like a loss), until ``--rows`` rows were recorded, then ``session.flush()``
  (so the rows are in the DuckDB file) — the clock covers recording, conversion, the sample
  table update and the DuckDB insert.
* baseline: the same rows as numpy columns (signal, row, step, value, exp) written with
  ``pyarrow.parquet.write_table`` in chunks of the same size.

Prints rows/s of each and the ratio. A benchmark, not a test: it asserts nothing.

    python bench/ingest.py [--rows 5000000] [--batch 10000] [--samples 100000]
"""

from __future__ import annotations

import argparse
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


def ingest_weightslab(root: Path, rows: int, batch: int, samples: int) -> float:
    session = Session(root_log_dir=root, flush_interval=0.5)
    ids = np.arange(samples)
    session.save_signals({"loss": np.zeros(samples)}, ids, step=0)  # register the samples
    session.flush()
    rng = np.random.default_rng(0)
    values = [torch.from_numpy(rng.random(batch, dtype=np.float32)) for _ in range(8)]
    starts = rng.integers(0, samples - batch, size=rows // batch + 1)
    t0 = time.perf_counter()
    for i in range(rows // batch):
        s = starts[i]
        session.save_signals({"loss": values[i % 8]}, ids[s : s + batch], step=i + 1)
    session.flush()
    elapsed = time.perf_counter() - t0
    session.close()
    return elapsed


def ingest_parquet(path: Path, rows: int, batch: int, samples: int) -> float:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    values = [rng.random(batch, dtype=np.float32) for _ in range(8)]
    starts = rng.integers(0, samples - batch, size=rows // batch + 1)
    schema = pa.schema([("signal", pa.int32()), ("row", pa.int64()), ("step", pa.int64()),
                        ("value", pa.float64()), ("exp", pa.int32())])
    t0 = time.perf_counter()
    with pq.ParquetWriter(path, schema) as writer:
        for i in range(rows // batch):
            s = starts[i]
            writer.write_table(pa.table({
                "signal": np.zeros(batch, np.int32), "row": np.arange(s, s + batch),
                "step": np.full(batch, i + 1), "value": values[i % 8].astype(np.float64),
                "exp": np.zeros(batch, np.int32)}, schema=schema))
    return time.perf_counter() - t0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=5_000_000,
                        help="per-sample history rows to record (default: %(default)s)")
    parser.add_argument("--batch", type=int, default=10_000,
                        help="rows per recorded batch (default: %(default)s)")
    parser.add_argument("--samples", type=int, default=100_000,
                        help="distinct sample ids (default: %(default)s)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory(prefix="wl-ingest-") as tmp:
        t_pq = ingest_parquet(Path(tmp) / "baseline.parquet", args.rows, args.batch, args.samples)
        t_wl = ingest_weightslab(Path(tmp) / "run", args.rows, args.batch, args.samples)
    n = args.rows // args.batch * args.batch
    print(f"{n:,} per-sample rows, batches of {args.batch:,}, {args.samples:,} samples")
    print(f"parquet baseline : {n / t_pq / 1e6:6.2f} M rows/s ({t_pq:.2f} s)")
    print(f"weightslab_nb    : {n / t_wl / 1e6:6.2f} M rows/s ({t_wl:.2f} s, incl. final flush)")
    print(f"ratio weightslab/parquet: {t_pq / t_wl:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
