"""Memory of the sample table: 1M samples x 10 per-sample signals, against pandas and numpy.

Three sides, each built in a fresh Python process (so one side's allocations, freed or not,
never count for another), after the same imports (numpy, pandas, pyarrow, duckdb, torch,
weightslab_nb):

* ``session``: a session whose table gets ``--samples`` int-id samples of one origin,
  ``--signals`` float signals, two boolean tags and one categorical tag, then a flush (the
  history and the ledger snapshot are written: DuckDB's and Arrow's native memory counts);
* ``pandas``: a DataFrame with the same columns (int64 index, float64 signals, bool discarded
  and tags, categorical);
* ``numpy``: the same data as plain numpy columns: the table (int64 ids, float64 signals,
  bool tags, int8 codes) and the history the session recorded (``--samples`` x ``--signals``
  rows of int64 row, int64 step, float64 value).

For each it prints the process RSS growth held at the end and the peak RSS growth (``ru_maxrss``
of the process, native allocations included) over the RSS after the imports, and the bytes of
the structure itself (``SampleTable.nbytes``, ``DataFrame.memory_usage(deep=True)``, the
arrays' ``nbytes``). A benchmark, not a test: it asserts nothing.

    python bench/memory.py [--samples 1000000] [--signals 10]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

try:
    import weightslab_nb  # noqa: F401
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MIB = 2**20


def rss() -> int:
    """Resident set size of this process now, in bytes."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss() -> int:
    """Peak resident set size of this process so far, in bytes (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def build_session(n: int, k: int, values: np.ndarray, root: Path):
    from weightslab_nb.session import Session

    ids = np.arange(n)
    s = Session(root_log_dir=root)
    s.register_samples(ids, "train")
    for j in range(k):
        s.save_signals({f"signal_{j}": values}, ids, step=0, log=False)
    s.tag_samples(ids[::7], "hard")
    s.tag_samples(ids[::11], "checked")
    s.set_categorical_tag(ids[::5], "quality", "noisy")
    s.flush()  # the steady state: history rows live in the DuckDB file
    return s, getattr(s.table, "nbytes", 0)  # 0: a version without SampleTable.nbytes


def build_frame(n: int, k: int, values: np.ndarray):
    import pandas as pd

    data = {f"signals//signal_{j}": values.copy() for j in range(k)}
    data.update({"discarded": np.full(n, False), "tag:hard": np.full(n, False),
                 "tag:checked": np.full(n, False),
                 "tag:quality": pd.Categorical.from_codes(np.full(n, -1, np.int8),
                                                          ["clean", "noisy"])})
    frame = pd.DataFrame(data, index=pd.Index(np.arange(n), name="sample_id"))
    return frame, int(frame.memory_usage(deep=True, index=True).sum())


def build_numpy(n: int, k: int, values: np.ndarray):
    cols = {"sample_id": np.arange(n), "discarded": np.full(n, False),
            "tag:hard": np.full(n, False), "tag:checked": np.full(n, False),
            "tag:quality": np.full(n, -1, np.int8)}
    cols.update({f"signals//signal_{j}": values.copy() for j in range(k)})
    cols.update({"history_row": np.tile(np.arange(n), k), "history_step": np.full(n * k, 0),
                 "history_value": np.tile(values, k)})
    return cols, sum(a.nbytes for a in cols.values())


def measure(side: str, n: int, k: int) -> dict:
    """Build one side in this process; RSS figures in bytes."""
    import duckdb  # noqa: F401  the same imports on every side
    import pandas  # noqa: F401
    import pyarrow  # noqa: F401
    import torch  # noqa: F401

    import weightslab_nb.session  # noqa: F401

    values = np.random.default_rng(0).random(n)
    gc.collect()
    before = rss()
    with tempfile.TemporaryDirectory(prefix="wl-memory-") as tmp:
        if side == "session":
            obj, size = build_session(n, k, values, Path(tmp) / "run")
        elif side == "pandas":
            obj, size = build_frame(n, k, values)
        else:
            obj, size = build_numpy(n, k, values)
        gc.collect()
        out = {"held": rss() - before, "peak": peak_rss() - before, "structure": size}
        if side == "session":
            obj.close()
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=1_000_000,
                        help="samples in the table (default: %(default)s)")
    parser.add_argument("--signals", type=int, default=10,
                        help="signal columns (default: %(default)s)")
    parser.add_argument("--side", choices=["session", "pandas", "numpy"],
                        help=argparse.SUPPRESS)  # the child process's job
    args = parser.parse_args(argv)
    n, k = args.samples, args.signals
    if args.side:
        print(json.dumps(measure(args.side, n, k)))
        return 0
    found = {}
    for side in ("numpy", "pandas", "session"):
        done = subprocess.run([sys.executable, __file__, "--side", side, "--samples", str(n),
                               "--signals", str(k)], capture_output=True, text=True, check=True,
                              env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
        found[side] = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"{n:,} samples x {k} signals (+ discarded, 2 boolean tags, 1 categorical tag); "
          "RSS growth over the RSS after imports, each side in a fresh process")
    print(f"{'':18}{'held RSS':>12}{'peak RSS':>12}{'structure':>12}")
    for side, label in (("numpy", "numpy columns*"), ("pandas", "pandas DataFrame"),
                        ("session", "weightslab_nb")):
        f = found[side]
        print(f"{label:18}{f['held'] / MIB:9.1f} MiB{f['peak'] / MIB:8.1f} MiB"
              f"{f['structure'] / MIB:8.1f} MiB")
    print("* the table's columns and the history rows")
    s, p, a = found["session"], found["pandas"], found["numpy"]
    print(f"sample table / pandas frame (structure): {s['structure'] / p['structure']:.2f}")
    print(f"session / numpy columns: held RSS {s['held'] / a['held']:.2f}, "
          f"peak RSS {s['peak'] / a['peak']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
