"""Artifacts: logging a directory of many files, and logging it again unchanged, against the
tools a user would otherwise reach for.

* data: ``--files`` files of random bytes totalling ``--size`` (default 10,000 files, 1 GB),
  in a temporary directory removed at the end (also on an error or Ctrl-C).
* first log: ``Artifact.add_dir`` (sha256 of every file) plus ``ArtifactStore.log`` (every
  file copied into the content-addressed store, its digest checked while copying), into a
  fresh store; baseline ``cp -r`` of the directory, and ``cp -r`` plus ``sha256sum`` of every
  file (``find -print0 | xargs -0 sha256sum``): what a careful user scripts by hand.
* re-log unchanged: a new ``Artifact.add_dir`` of the same directory plus ``log`` (every file
  hashed again, nothing copied, no new version); baseline ``sha256sum`` of every file.
* download: ``download()`` of the logged version (hard links) against ``cp -r``.

Every pass runs on warm files (the data was just written, so it is in the page cache): the
numbers compare CPU and filesystem work, not disk reads. ``--repeats`` rounds run the sides
back to back; medians are printed, and each ratio is the median of the per-round ratios.
Hashing uses ``HASH_THREADS`` threads (min(8, CPUs)); ``sha256sum`` uses one.

A benchmark, not a test: it asserts nothing but that the re-log made no new version.

    python bench/artifacts.py [--size 1GB] [--files 10000] [--repeats 2] [--dir /tmp]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

try:
    from weightslab_nb.tracking.artifacts import Artifact, ArtifactStore
    from weightslab_nb.tracking.artifacts.artifact import HASH_THREADS
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from weightslab_nb.tracking.artifacts import Artifact, ArtifactStore
    from weightslab_nb.tracking.artifacts.artifact import HASH_THREADS

UNITS = {"KB": 1e3, "MB": 1e6, "GB": 1e9, "K": 1e3, "M": 1e6, "G": 1e9, "B": 1}


def parse_size(text: str) -> int:
    """``"1GB"``, ``"200MB"``, ``"5e8"`` -> bytes."""
    text = text.strip().upper()
    for unit in sorted(UNITS, key=len, reverse=True):
        if text.endswith(unit):
            return int(float(text[: -len(unit)]) * UNITS[unit])
    return int(float(text))


def make_data(root: Path, size: int, files: int) -> None:
    """``files`` files of random bytes, ``size`` in all, 100 to a folder."""
    each = max(1, size // files)
    for i in range(files):
        folder = root / f"part{i // 100:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"sample{i:05d}.bin").write_bytes(os.urandom(each))


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def sh(command: str) -> None:
    subprocess.run(command, shell=True, check=True, stdout=subprocess.DEVNULL)


def one_round(data: Path, work: Path, index: int) -> dict[str, float]:
    """Every side once; the store and the copies are removed afterwards."""
    copy, store_root, download = work / f"copy{index}", work / f"store{index}", work / f"dl{index}"
    out = {}
    out["cp -r"] = timed(lambda: sh(f"cp -r '{data}' '{copy}'"))
    out["sha256sum"] = timed(lambda: sh(f"find '{data}' -type f -print0 | xargs -0 sha256sum"))
    store = ArtifactStore(store_root)

    def first_log():
        artifact = Artifact("bench", "dataset")
        artifact.add_dir(data)
        out["version"] = store.log(artifact, "bench").version

    out["first log"] = timed(first_log)

    def relog():
        artifact = Artifact("bench", "dataset")
        artifact.add_dir(data)
        out["relog version"] = store.log(artifact, "bench").version

    out["re-log unchanged"] = timed(relog)
    assert out["relog version"] == out["version"] == "v0", "the re-log made a new version"
    logged = store.get("bench", "bench")
    out["download"] = timed(lambda: logged.download(download))
    for folder in (copy, store_root, download):
        shutil.rmtree(folder, ignore_errors=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="1GB", help="total bytes (1GB, 200MB, ...)")
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--dir", default=None, help="where the temporary data goes")
    args = parser.parse_args()
    size = parse_size(args.size)
    with tempfile.TemporaryDirectory(prefix="wl-bench-artifacts-", dir=args.dir) as tmp:
        data = Path(tmp) / "data"
        made = timed(lambda: make_data(data, size, args.files))
        print(f"data: {args.files} files, {size / 1e9:.2f} GB in {tmp} (written in {made:.1f} s); "
              f"{HASH_THREADS} hash threads, {os.cpu_count()} CPUs")
        rounds = [one_round(data, Path(tmp), i) for i in range(args.repeats)]
    keys = ["cp -r", "sha256sum", "first log", "re-log unchanged", "download"]
    for key in keys:
        values = [r[key] for r in rounds]
        median = statistics.median(values)
        print(f"  {key:18s} median {median:7.2f} s  (range {min(values):.2f}-{max(values):.2f}; "
              f"{size / 1e6 / median:7.0f} MB/s)")

    def ratio(num, den) -> float:
        return statistics.median(r[num] / (sum(r[d] for d in den)) for r in rounds)

    print("ratios (median of per-round ratios; lower is better):")
    print(f"  first log / cp -r                {ratio('first log', ['cp -r']):.2f}")
    print(f"  first log / (cp -r + sha256sum)  {ratio('first log', ['cp -r', 'sha256sum']):.2f}")
    print(f"  re-log unchanged / sha256sum     {ratio('re-log unchanged', ['sha256sum']):.2f}")
    print(f"  download (hard links) / cp -r    {ratio('download', ['cp -r']):.2f}")
    print("temporary data removed")


if __name__ == "__main__":
    main()
