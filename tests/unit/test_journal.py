"""The edit journal keeps every edit whose append returned, through kill -9, torn lines,
corrupt lines, compaction and reopening."""

from __future__ import annotations

import logging
import math
import os
import random
import signal
import subprocess
import sys
import threading

import pytest

from tests.children import assert_killed, child_env, run_child
from weightslab_nb.errors import InvalidTypeError, InvalidValueError, StateError
from weightslab_nb.ledger.journal import EditJournal, read_records, segments


def _seqs(directory, after_seq=0):
    return [e.seq for e in read_records(directory, after_seq)]


@pytest.fixture
def jdir(tmp_path):
    return tmp_path / "run" / "journal"


def test_appends_get_increasing_numbers_and_read_back_in_order(jdir):
    with EditJournal(jdir, sync_interval=None) as journal:
        assert not jdir.exists()  # nothing written before the first edit
        seqs = [journal.append({"op": "tag", "ids": [i, "img-7"], "tag": "hard"})
                for i in range(5)]
        assert seqs == [1, 2, 3, 4, 5] and journal.last_seq == 5
        entries = list(journal.records())
        assert [e.seq for e in entries] == seqs
        assert entries[2].record == {"op": "tag", "ids": [2, "img-7"], "tag": "hard"}
        assert [e.seq for e in journal.records(after_seq=3)] == [4, 5]


def test_reopening_continues_the_sequence_after_the_last_record(jdir):
    with EditJournal(jdir) as journal:
        journal.append({"n": 1})
        journal.append({"n": 2})
    with EditJournal(jdir) as journal:
        assert journal.last_seq == 2
        assert journal.append({"n": 3}) == 3
    with EditJournal(jdir, start_after=10) as journal:  # a snapshot that says seq 10
        assert journal.append({"n": 11}) == 11
    assert [e.record["n"] for e in read_records(jdir)] == [1, 2, 3, 11]


def test_a_torn_last_line_is_skipped_silently_and_cut_off_on_reopen(jdir, caplog):
    with EditJournal(jdir) as journal:
        journal.append({"n": 1})
        journal.append({"n": 2})
    segment = segments(jdir)[-1].path
    with open(segment, "ab") as f:
        f.write(b'3 0badc0de {"n":')  # a crash in the middle of appending record 3
    with caplog.at_level(logging.WARNING, logger="weightslab_nb.ledger.journal"):
        assert _seqs(jdir) == [1, 2]
    assert not caplog.records
    with EditJournal(jdir) as journal:
        assert journal.append({"n": 3}) == 3
    assert [e.record for e in read_records(jdir)] == [{"n": 1}, {"n": 2}, {"n": 3}]


def test_a_corrupt_line_in_the_middle_is_skipped_with_a_warning_naming_file_and_line(
        jdir, caplog):
    with EditJournal(jdir) as journal:
        for n in range(1, 5):
            journal.append({"n": n, "tag": "hard"})
    segment = segments(jdir)[-1].path
    lines = segment.read_bytes().splitlines(keepends=True)
    lines[1] = lines[1].replace(b"hard", b"hare")  # same shape, one byte changed on disk
    lines[2] = b"\x00\x00garbage\n"
    segment.write_bytes(b"".join(lines))
    with caplog.at_level(logging.WARNING, logger="weightslab_nb.ledger.journal"):
        assert _seqs(jdir) == [1, 4]
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2
    assert str(segment) in messages[0] and "line 2" in messages[0]
    assert "line 3" in messages[1]


def test_compact_drops_segments_a_snapshot_covers_and_the_sequence_survives_it(jdir):
    with EditJournal(jdir) as journal:
        for n in range(5):
            journal.append({"n": n})
        assert journal.compact(3) == []  # records 4 and 5 are not covered yet
        journal.append({"n": 5})
        journal.append({"n": 6})
        first = segments(jdir)[0].path
        assert journal.compact(5) == [first]
        assert _seqs(jdir) == [6, 7]
        journal.compact(7)
        assert _seqs(jdir) == [] and len(segments(jdir)) == 1
    with EditJournal(jdir) as journal:  # nothing left but the empty segment's name
        assert journal.append({"n": 7}) == 8


def test_compact_and_append_reject_bad_arguments(jdir):
    journal = EditJournal(jdir, sync_interval=None)
    journal.append({"n": 1})
    with pytest.raises(InvalidValueError, match="through_seq.*beyond"):
        journal.compact(2)
    with pytest.raises(InvalidValueError, match="through_seq"):
        journal.compact(-1)
    with pytest.raises(InvalidTypeError, match="through_seq"):
        journal.compact("1")
    with pytest.raises(InvalidTypeError, match="record"):
        journal.append(["not", "a", "dict"])
    with pytest.raises(InvalidValueError, match="record"):
        journal.append({"loss": math.nan})
    with pytest.raises(InvalidValueError, match="record"):
        journal.append({"when": object()})
    with pytest.raises(InvalidValueError, match="sync_interval"):
        EditJournal(jdir, sync_interval=-1)
    assert journal.last_seq == 1  # rejected records took no number
    journal.close()
    with pytest.raises(StateError, match="closed"):
        journal.append({"n": 2})
    assert _seqs(jdir) == [1]


def test_appends_from_many_threads_get_distinct_numbers_in_file_order(jdir):
    journal = EditJournal(jdir)
    start = threading.Barrier(4)

    def append_many(worker):
        start.wait(timeout=10)
        return [journal.append({"worker": worker, "i": i}) for i in range(300)]

    results = {}
    threads = [threading.Thread(target=lambda w=w: results.update({w: append_many(w)}))
               for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    journal.close()
    entries = list(read_records(jdir))
    assert [e.seq for e in entries] == list(range(1, 1201))
    for worker, seqs in results.items():
        mine = [e for e in entries if e.record["worker"] == worker]
        assert [e.seq for e in mine] == seqs
        assert [e.record["i"] for e in mine] == list(range(300))


def _syncers(directory) -> list[threading.Thread]:
    """The syncer threads of the journal in ``directory`` (other tests' journals have theirs)."""
    return [t for t in threading.enumerate() if t.name == f"wl-journal-sync {directory}"]


def test_sync_runs_only_when_something_was_written(jdir):
    journal = EditJournal(jdir, sync_interval=None)
    assert journal.sync() is False
    seq = journal.append({"n": 1})
    assert journal.synced_seq == 0
    assert journal.sync() is True and journal.synced_seq == seq
    assert journal.sync() is False
    assert not _syncers(jdir)
    journal.close()


def test_the_background_syncer_syncs_each_append_and_stops_on_close(jdir):
    journal = EditJournal(jdir, sync_interval=0.01)
    for n in range(3):
        seq = journal.append({"n": n})
        assert journal.wait_synced(seq, timeout=10)
    syncer = _syncers(jdir)
    assert len(syncer) == 1
    journal.close()
    syncer[0].join(timeout=10)
    assert not syncer[0].is_alive()


# ------------------------------------------------------------------ real crashes
APPEND_FOREVER = """
import sys
from weightslab_nb.ledger.journal import EditJournal
journal = EditJournal(sys.argv[1], sync_interval=float(sys.argv[2]))
i = 0
while True:
    i += 1
    seq = journal.append({"i": i, "pad": "x" * (i * 37 % 700)})
    print(seq, i, flush=True)
"""


@pytest.mark.parametrize("trial", range(6))
def test_every_append_a_killed_writer_reported_is_read_back(tmp_path, trial):
    rng = random.Random(trial)
    jdir = tmp_path / "journal"
    kill_after = rng.choice([1, 7, 60, 400, 1500, 3000])
    child = subprocess.Popen([sys.executable, "-c", APPEND_FOREVER, str(jdir),
                              rng.choice(["0.002", "0.05"])],
                             stdout=subprocess.PIPE, env=child_env(), text=True)
    reported = []
    for line in child.stdout:
        reported.append(tuple(map(int, line.split())))
        if len(reported) == kill_after:
            os.kill(child.pid, signal.SIGKILL)
            break
    child.wait(timeout=30)
    # what it printed before it died; a last line without its newline was cut by the kill
    reported += [tuple(map(int, line.split())) for line in child.stdout if line.endswith("\n")]
    assert child.returncode == -signal.SIGKILL
    entries = {e.seq: e.record["i"] for e in read_records(jdir)}
    assert all(entries.get(seq) == i for seq, i in reported)
    last = max(entries)
    assert sorted(entries) == list(range(1, last + 1))
    assert last - reported[-1][0] <= 1  # at most the append it was killed after
    with EditJournal(jdir) as journal:
        assert journal.append({"after": "reopen"}) == last + 1


CRASH_CHILD = """
import sys
from weightslab_nb.ledger.journal import EditJournal
journal = EditJournal(sys.argv[1], sync_interval=None)
for i in range(1, 6):
    journal.append({"i": i})
journal.compact(0)  # rotate: records 6... go to a second segment
for i in range(6, 11):
    journal.append({"i": i})
journal.compact(10)
journal.append({"i": 11})
"""


def test_a_crash_mid_append_leaves_a_torn_line_that_is_skipped(tmp_path, caplog):
    jdir = tmp_path / "journal"
    assert_killed(run_child(CRASH_CHILD, jdir, crash_at="journal.mid-append@3"))
    assert not segments(jdir)[-1].path.read_bytes().endswith(b"\n")  # half a line is there
    with caplog.at_level(logging.WARNING, logger="weightslab_nb.ledger.journal"):
        assert _seqs(jdir) == [1, 2]
    assert not caplog.records
    with EditJournal(jdir) as journal:
        assert journal.append({"i": 3}) == 3
    assert [e.record["i"] for e in read_records(jdir)] == [1, 2, 3]


def test_a_crash_right_after_an_append_keeps_it(tmp_path):
    jdir = tmp_path / "journal"
    assert_killed(run_child(CRASH_CHILD, jdir, crash_at="journal.after-append@4"))
    assert _seqs(jdir) == [1, 2, 3, 4]  # never synced, but the OS had it


def test_a_crash_mid_compaction_never_sends_the_sequence_back(tmp_path):
    jdir = tmp_path / "journal"
    assert_killed(run_child(CRASH_CHILD, jdir, crash_at="journal.mid-compact"))
    assert _seqs(jdir, after_seq=10) == []   # what a snapshot at seq 10 replays
    assert _seqs(jdir) == [6, 7, 8, 9, 10]   # the second segment was not removed yet
    with EditJournal(jdir) as journal:
        assert journal.append({"i": 11}) == 11
        journal.compact(11)
    assert _seqs(jdir) == []
