"""``write_history`` of 1M per-sample rows in each format, against pandas writing the same rows.

Records ``--rows`` per-sample rows (``save_signals`` batches of 1,000 ids), then times
``write_history(<file>, format=f, type_of_history="sample")`` for json, csv and parquet, and
as the baseline ``DataFrame.to_json(orient="records")`` / ``to_csv`` / ``to_parquet`` of a
DataFrame already holding the same five columns (so the baseline does no querying at all).
Prints seconds, rows/s and the ratio baseline/weightslab per format. A benchmark, not a test.

    python bench/export.py [--rows 1000000]
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

BATCH = 1_000


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000,
                        help="history rows to export (default: %(default)s)")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory(prefix="wl-export-") as tmp:
        tmp = Path(tmp)
        session = Session(root_log_dir=tmp / "run")
        ids = np.arange(BATCH)
        for step in range(args.rows // BATCH):
            session.save_signals({"loss": rng.random(BATCH)}, ids, step=step)
        session.flush()
        frame = session.history_frame("sample")
        print(f"{len(frame):,} per-sample rows")
        for fmt in ("json", "csv", "parquet"):
            t = time.perf_counter()
            session.write_history(tmp / f"wl.{fmt}", format=fmt, type_of_history="sample",
                                  experiment_hash="all")
            t_wl = time.perf_counter() - t
            t = time.perf_counter()
            if fmt == "json":
                frame.to_json(tmp / "pd.json", orient="records")
            elif fmt == "csv":
                frame.to_csv(tmp / "pd.csv", index=False)
            else:
                frame.to_parquet(tmp / "pd.parquet", index=False)
            t_pd = time.perf_counter() - t
            print(f"{fmt:8s} weightslab_nb {t_wl:6.2f} s ({len(frame) / t_wl / 1e6:5.2f} M rows/s)"
                  f"   pandas {t_pd:6.2f} s   ratio pandas/weightslab {t_pd / t_wl:5.2f}")
        session.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
