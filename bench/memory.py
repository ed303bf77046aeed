"""Memory of the sample table: 1M samples x 10 per-sample signals, against pandas.

Measures with ``tracemalloc`` (numpy reports its buffers to it) the bytes held by a session whose
table has ``--samples`` int-id samples of one origin, ``--signals`` float signals, two boolean
tags and one categorical tag; and, as the baseline, a pandas DataFrame with the same columns
(int64 index, float64 signals, bool discarded and tags, categorical). Prints both and the ratio.
The history is flushed first: its rows then live in the DuckDB file, whose page cache DuckDB
manages outside Python's allocator (not counted; bounded by DuckDB's ``memory_limit``).
A benchmark, not a test: it asserts nothing.

    python bench/memory.py [--samples 1000000] [--signals 10]
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import tracemalloc
from pathlib import Path

import numpy as np

try:
    import weightslab_nb  # noqa: F401
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from weightslab_nb.session import Session  # noqa: E402


def held(build):
    gc.collect()
    tracemalloc.start()
    obj = build()
    gc.collect()
    size = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return obj, size


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=1_000_000,
                        help="samples in the table (default: %(default)s)")
    parser.add_argument("--signals", type=int, default=10,
                        help="signal columns (default: %(default)s)")
    args = parser.parse_args(argv)
    n, k = args.samples, args.signals
    rng = np.random.default_rng(0)
    values = rng.random(n)
    ids = np.arange(n)

    def build_session():
        s = Session(root_log_dir=Path(tempfile.mkdtemp()) / "run")
        s._register_samples(list(range(n)), "train", None)
        for j in range(k):
            s.save_signals({f"signal_{j}": values}, ids, step=0, log=False)
        s.tag_samples(ids[::7], "hard")
        s.tag_samples(ids[::11], "checked")
        s.set_categorical_tag(ids[::5], "quality", "noisy")
        s.flush()  # the steady state: history rows live in the DuckDB file
        return s

    def build_frame():
        import pandas as pd

        data = {f"signals//signal_{j}": values.copy() for j in range(k)}
        data.update({"discarded": np.zeros(n, bool), "tag:hard": np.zeros(n, bool),
                     "tag:checked": np.zeros(n, bool),
                     "tag:quality": pd.Categorical.from_codes(np.full(n, -1, np.int8),
                                                              ["clean", "noisy"])})
        return pd.DataFrame(data, index=pd.Index(ids.copy(), name="sample_id"))

    session, s_bytes = held(build_session)
    session.close()
    _, f_bytes = held(build_frame)
    print(f"{n:,} samples x {k} signals (+ discarded, 2 boolean tags, 1 categorical tag)")
    print(f"pandas DataFrame baseline : {f_bytes / 2**20:8.1f} MiB")
    print(f"weightslab_nb session     : {s_bytes / 2**20:8.1f} MiB (table, id index, history buffers)")
    print(f"ratio session/pandas: {s_bytes / f_bytes:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
