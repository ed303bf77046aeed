"""A ledger snapshot is one file published atomically: a crash leaves the old or the new one;
runs written by earlier versions (two files) still open."""

from __future__ import annotations

import io
import json
import logging

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.children import assert_killed, run_child
from weightslab_nb.errors import InvalidTypeError, InvalidValueError
from weightslab_nb.experiment import clean_leftovers
from weightslab_nb.ledger import persist
from weightslab_nb.ledger.persist import SnapshotInfo
from weightslab_nb.ledger.sample_table import SampleTable


def _table(n=10) -> SampleTable:
    table = SampleTable()
    table.add_samples(list(range(n)), "train")
    return table


def _edited() -> SampleTable:
    table = _table()
    table.ensure_bool_tag("hard")[[1, 2]] = True
    table.ensure_bool_tag("empty")
    quality = table.ensure_categorical("quality", ["clean", "noisy"])
    quality.codes[[4, 5]] = 1
    table.set_discarded(np.array([6, 7]), True)
    table.write_signal(np.arange(10), "train-loss", np.linspace(0, 1, 10))
    return table


def test_a_snapshot_is_one_file_that_restores_the_table_step_and_journal_seq(tmp_path):
    table = _edited()
    persist.save(tmp_path, *persist.snapshot(table), step=42, journal_seq=7)
    assert [p.name for p in tmp_path.iterdir()] == ["ledger.parquet"]
    restored = _table()
    info = persist.restore_snapshot(tmp_path, restored)
    assert info == SnapshotInfo(step=42, journal_seq=7, layout="single-file")
    assert persist.read_info(tmp_path) == info
    pd.testing.assert_frame_equal(restored.dataframe(), table.dataframe())
    assert restored.cat_tags["tag:quality"].values == ["clean", "noisy"]
    assert "tag:empty" in restored.bool_tags
    assert persist.restore(tmp_path, _table()) == 42


def test_a_directory_without_a_snapshot_restores_nothing(tmp_path):
    assert persist.restore_snapshot(tmp_path, _table()) is None
    assert persist.restore(tmp_path, _table()) is None
    assert persist.read_info(tmp_path) is None


def test_save_rejects_a_bad_step_or_journal_seq_and_writes_nothing(tmp_path):
    cols, registry = persist.snapshot(_edited())
    with pytest.raises(InvalidValueError, match="journal_seq"):
        persist.save(tmp_path, cols, registry, step=1, journal_seq=-1)
    with pytest.raises(InvalidTypeError, match="step"):
        persist.save(tmp_path, cols, registry, step=1.5)
    assert list(tmp_path.iterdir()) == []


def _save_two_files(root, table, step, registry_of=None):
    """What earlier versions wrote: the Parquet file without metadata, then ledger.json."""
    cols, _ = persist.snapshot(table)
    _, registry = persist.snapshot(registry_of or table)
    buffer = io.BytesIO()
    pq.write_table(pa.table(cols), buffer)
    (root / "ledger.parquet").write_bytes(buffer.getvalue())
    (root / "ledger.json").write_text(json.dumps({**registry, "step": step}))


def test_a_run_written_by_an_earlier_version_still_opens_and_moves_to_one_file(tmp_path):
    table = _edited()
    _save_two_files(tmp_path, table, step=30)
    restored = _table()
    assert persist.restore_snapshot(tmp_path, restored) == SnapshotInfo(30, 0, "two-file")
    pd.testing.assert_frame_equal(restored.dataframe(), table.dataframe())
    persist.save(tmp_path, *persist.snapshot(restored), step=31, journal_seq=2)
    assert not (tmp_path / "ledger.json").exists()
    assert persist.read_info(tmp_path) == SnapshotInfo(31, 2, "single-file")


def test_an_earlier_versions_half_written_snapshot_never_turns_tags_into_signals(
        tmp_path, caplog):
    old = _table()  # the registry written before the crash knew no tags
    _save_two_files(tmp_path, _edited(), step=30, registry_of=old)
    restored = _table()
    with caplog.at_level(logging.WARNING, logger="weightslab_nb.ledger.persist"):
        persist.restore_snapshot(tmp_path, restored)
    assert not [c for c in restored.signals if "tag:" in c]
    assert restored.bool_tags["tag:hard"][:10].nonzero()[0].tolist() == [1, 2]
    assert "tag:quality" in caplog.text  # its values are unknown: dropped, and said so


def test_an_earlier_versions_parquet_file_without_its_registry_still_restores(tmp_path):
    table = _edited()
    _save_two_files(tmp_path, table, step=30)
    (tmp_path / "ledger.json").unlink()  # they crashed between the two files
    restored = _table()
    assert persist.restore_snapshot(tmp_path, restored) == SnapshotInfo(0, 0, "two-file")
    assert restored.discarded[:10].nonzero()[0].tolist() == [6, 7]
    assert restored.bool_tags["tag:hard"][:10].nonzero()[0].tolist() == [1, 2]


SAVE_TWICE = """
import sys
import numpy as np
from weightslab_nb.ledger import persist
from weightslab_nb.ledger.sample_table import SampleTable
table = SampleTable()
table.add_samples(list(range(1000)), "train")
table.ensure_bool_tag("first")[:10] = True
persist.save(sys.argv[1], *persist.snapshot(table), step=10, journal_seq=3)
table.ensure_bool_tag("second")[:20] = True
table.set_discarded(np.arange(5), True)
persist.save(sys.argv[1], *persist.snapshot(table), step=20, journal_seq=9)
"""


@pytest.mark.parametrize("point", ["snapshot.mid-write@2", "snapshot.before-publish@2"])
def test_a_crash_while_publishing_a_snapshot_leaves_the_previous_one_whole(tmp_path, point):
    assert_killed(run_child(SAVE_TWICE, tmp_path, crash_at=point))
    table = SampleTable()
    table.add_samples(list(range(1000)), "train")
    assert persist.restore_snapshot(tmp_path, table) == SnapshotInfo(10, 3, "single-file")
    assert list(table.bool_tags) == ["tag:first"] and not table.discarded.any()
    removed = clean_leftovers(tmp_path)
    assert [p.name.startswith(".ledger.parquet.") for p in removed] == [True]
    assert [p.name for p in tmp_path.iterdir()] == ["ledger.parquet"]


def test_a_snapshot_published_before_a_crash_is_the_new_one(tmp_path):
    assert run_child(SAVE_TWICE, tmp_path).returncode == 0
    table = SampleTable()
    table.add_samples(list(range(1000)), "train")
    assert persist.restore_snapshot(tmp_path, table) == SnapshotInfo(20, 9, "single-file")
    assert sorted(table.bool_tags) == ["tag:first", "tag:second"]
    assert table.discarded[:1000].sum() == 5


def test_a_delta_brings_the_changed_rows_of_its_base_up_to_date(tmp_path):
    table = _edited()
    base = persist.save(tmp_path, *persist.snapshot(table), step=5, journal_seq=1)
    table.take_changed(len(table))
    table.add_samples([10, 11], "train")
    table.write_signal(np.array([3, 10]), "train-loss", np.array([7.0, 8.0]))
    table.write_column("target", np.array([11]), np.array([2.0]))
    persist.save_delta(tmp_path, persist.changed_rows(table, table.take_changed(10)), base, 1,
                       step=9, journal_seq=4)
    restored = _table(12)
    info = persist.restore_snapshot(tmp_path, restored)
    assert (info.step, info.journal_seq, info.deltas, info.delta_rows) == (9, 4, 1, 3)
    pd.testing.assert_frame_equal(restored.dataframe(), table.dataframe())


def test_deltas_of_another_base_or_after_a_gap_are_ignored_and_a_full_snapshot_drops_them(
        tmp_path):
    table = _table()
    base = persist.save(tmp_path, *persist.snapshot(table), step=1)
    table.write_signal(np.array([0]), "loss", np.array([1.0]))
    one = persist.changed_rows(table, np.array([0]))
    persist.save_delta(tmp_path, one, "another-base", 1, step=2)
    persist.save_delta(tmp_path, one, base, 2, step=3)  # delta 1 of this base is missing
    restored = _table()
    info = persist.restore_snapshot(tmp_path, restored)
    assert (info.step, info.deltas) == (1, 0)
    assert "signals//loss" not in restored.signals
    persist.save(tmp_path, *persist.snapshot(table), step=4)
    assert list((tmp_path / persist.DELTAS).iterdir()) == []


def test_a_session_snapshots_recordings_as_deltas_that_a_reopen_applies(tmp_path):
    import shutil

    from weightslab_nb.session import Session

    root = tmp_path / "run"
    s = Session(root_log_dir=root)
    ids = np.arange(1000)
    s.save_signals({"loss": np.zeros(1000)}, ids, step=0)
    s.flush()  # the first snapshot: full
    assert (root / "ledger.parquet").exists()
    for step in (1, 2):
        s.save_signals({"loss": np.full(10, float(step))}, ids[10 * step : 10 * step + 10],
                       step=step)
        s.files._next_snapshot = 0.0  # due now
        s.flush()
    deltas = sorted(p.name for p in (root / "ledger-deltas").iterdir())
    assert deltas == ["000001.parquet", "000002.parquet"]
    shutil.copytree(root, tmp_path / "copy")  # the run as a kill -9 would leave it
    s.close()  # closing compacts: one full snapshot, no deltas
    assert list((root / "ledger-deltas").iterdir()) == []
    for where in (tmp_path / "copy", root):
        again = Session(root_log_dir=where)
        loss = again.dataframe["signals//loss"].to_numpy()
        assert loss[10:20].tolist() == [1.0] * 10 and loss[20:30].tolist() == [2.0] * 10
        assert loss[30:].tolist() == [0.0] * 970
        again.close()


SAVE_DELTAS = """
import sys
import numpy as np
from weightslab_nb.ledger import persist
from weightslab_nb.ledger.sample_table import SampleTable
table = SampleTable()
table.add_samples(list(range(1000)), "train")
base = persist.save(sys.argv[1], *persist.snapshot(table), step=1, journal_seq=1)
table.take_changed(1000)
for index in (1, 2):
    table.write_signal(np.arange(10 * index), "loss", np.full(10 * index, float(index)))
    persist.save_delta(sys.argv[1], persist.changed_rows(table, table.take_changed(1000)),
                       base, index, step=1 + index, journal_seq=1 + index)
"""


@pytest.mark.parametrize("point", ["snapshot.mid-write@3", "snapshot.before-publish@3"])
def test_a_crash_while_publishing_a_delta_leaves_the_chain_before_it(tmp_path, point):
    assert_killed(run_child(SAVE_DELTAS, tmp_path, crash_at=point))
    table = _table(1000)
    info = persist.restore_snapshot(tmp_path, table)
    assert (info.step, info.journal_seq, info.deltas) == (2, 2, 1)
    loss = table.dataframe()["signals//loss"].to_numpy()
    assert loss[:10].tolist() == [1.0] * 10 and np.isnan(loss[10:]).all()
    removed = clean_leftovers(tmp_path)
    assert [p.name.startswith(".000002.parquet.") for p in removed] == [True]
