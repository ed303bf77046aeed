"""An append-only journal of user edits, so that an edit survives ``kill -9`` and power loss.

The journal knows nothing of what an edit means: a record is a dict of JSON values (the owner
decides its schema, e.g. ``{"op": "tag", "ids": [1, 2], "tag": "hard", "mode": "add"}``). Each
record gets a sequence number; a snapshot of the state stores the number of the last record it
includes, so that reopening means "load the snapshot, replay ``records(after_seq=that)``".

Files: ``<directory>/<first seq, 20 digits>.log`` segments, one record per line::

    <seq> <crc32 of "<seq> <json>", 8 hex digits> <json>\\n

A line is written with one ``os.write`` on an ``O_APPEND`` descriptor, so once :meth:`append`
returns the OS has the whole line and a killed process loses nothing. :meth:`sync` makes it
durable against power loss (``fdatasync``); by default a small background thread does it at
most ``sync_interval`` seconds after an append. The checksum guarantees that a torn or garbled
line is never read as a valid record: a last line without its newline (a crash mid-append) is
skipped silently (and cut off when the journal is reopened for writing); any other bad line is
skipped with a warning naming the file and line.

Lifecycle of the owner (the session)::

    info = persist.restore_snapshot(root, table)          # the snapshot's journal_seq
    journal = EditJournal(root / "journal", start_after=info.journal_seq if info else 0)
    for entry in journal.records(after_seq=info.journal_seq if info else 0):
        apply(entry.record)                                 # replay edits since the snapshot
    ...
    journal.append({"op": "discard", "ids": [3]})           # on every user edit
    ...
    seq = journal.last_seq                                   # under the lock that orders edits
    persist.save(root, cols, registry, step, journal_seq=seq)
    journal.compact(seq)                                     # segments the snapshot covers go
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import zlib
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import NamedTuple

from weightslab_nb import crashpoints
from weightslab_nb.errors import InvalidTypeError, InvalidValueError, StateError
from weightslab_nb.experiment import sync_directory

log = logging.getLogger(__name__)

SUFFIX = ".log"
_SEGMENT = re.compile(r"(\d{20})\.log")
_LINE = re.compile(rb"(\d{1,20}) ([0-9a-f]{8}) (.*)", re.DOTALL)


class JournalEntry(NamedTuple):
    """One record read back: its sequence number and the dict that was appended."""

    seq: int
    record: dict


class Segment(NamedTuple):
    """A journal file and the sequence number of its first record (its name)."""

    first_seq: int
    path: Path


def segments(directory: Path) -> list[Segment]:
    """The journal's segment files, oldest first (empty when the directory does not exist)."""
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    found = [Segment(int(m.group(1)), Path(directory) / name)
             for name in names if (m := _SEGMENT.fullmatch(name))]
    return sorted(found)


def read_records(directory: Path, after_seq: int = 0) -> Iterator[JournalEntry]:
    """Iterate the valid records of a journal directory with ``seq > after_seq``, in order.

    Read-only (safe while another process writes). A torn last line of a segment is skipped
    silently; a corrupt line (bad checksum, bad JSON, not a dict, a sequence number out of
    order) is skipped with a warning naming the file and the line number.
    """
    found = segments(directory)
    last = after_seq
    for i, segment in enumerate(found):
        if i + 1 < len(found) and found[i + 1].first_seq - 1 <= after_seq:
            continue  # every record of this segment is <= after_seq
        for lineno, entry in _segment_entries(segment.path, warn=True):
            if entry.seq <= after_seq:
                continue
            if entry.seq <= last:
                log.warning("journal %s, line %d: sequence number %d after %d; skipped",
                            segment.path, lineno, entry.seq, last)
                continue
            last = entry.seq
            yield entry


class EditJournal:
    """The append-only journal of a run's edits (see the module docstring).

    Parameters
    ----------
    directory : str or Path
        Where the segments live (e.g. ``<root_log_dir>/journal``); created at the first
        append, so a run that never edits writes nothing.
    start_after : int, default 0
        Sequence numbers continue after ``max(start_after, last valid record)``: pass the
        ``journal_seq`` of the snapshot loaded, so numbers never go back even if the journal
        was compacted or lost.
    sync_interval : float or None, default 0.1
        A background thread (started at the first append, a daemon) calls :meth:`sync` at
        most this many seconds after an append, grouping the appends of that window into one
        ``fdatasync``. None: no thread; the owner calls :meth:`sync` itself (at least every
        0.5 s while edits arrive, to keep the durability promise).

    Opening repairs the newest segment: a torn last line (a crash mid-append: that append
    never returned) is cut off, so later appends start on a clean line. Open one
    ``EditJournal`` per directory at a time (the owner); readers use :func:`read_records`.

    Thread-safe: :meth:`append` may be called from any thread.
    """

    def __init__(self, directory: str | Path, *, start_after: int = 0,
                 sync_interval: float | None = 0.1):
        _check_seq(start_after, "start_after")
        if sync_interval is not None and (isinstance(sync_interval, bool) or not isinstance(
                sync_interval, (int, float)) or not sync_interval >= 0):
            raise InvalidValueError(f"sync_interval: expected seconds >= 0 or None, got "
                                    f"{sync_interval!r}")
        self.directory = Path(directory)
        self._interval = sync_interval
        self._lock = threading.Lock()          # orders appends; guards the descriptor
        self._sync_lock = threading.Lock()     # one sync or rotation at a time
        self._synced = threading.Condition()
        self._fd: int | None = None
        self._size = 0                         # bytes of the open segment
        self._dir_dirty = False                # a name was created that needs a directory sync
        self._closed = False
        self._wake = threading.Event()
        self._syncer: threading.Thread | None = None
        last = self._repair_and_scan()
        self._last_seq = max(last, start_after)
        self._synced_seq = self._last_seq

    # ---------------------------------------------------------------- opening
    def _repair_and_scan(self) -> int:
        """Cut a torn tail off the newest segment; return the last used sequence number."""
        found = segments(self.directory)
        if not found:
            return 0
        _cut_torn_tail(found[-1].path)
        last = found[-1].first_seq - 1  # a segment's name is its first (maybe future) seq
        for segment in reversed(found):
            seqs = [e.seq for _, e in _segment_entries(segment.path, warn=False)]
            if seqs:
                return max(last, max(seqs))
        return last

    # ---------------------------------------------------------------- writing
    @property
    def last_seq(self) -> int:
        """Sequence number of the last record appended (or found when opening); 0 if none."""
        return self._last_seq

    @property
    def synced_seq(self) -> int:
        """Every record up to this sequence number has been synced to disk."""
        return self._synced_seq

    def append(self, record: dict) -> int:
        """Append one record; return its sequence number.

        When this returns the line is in the file (a ``kill -9`` keeps it); it is durable
        against power loss after the next :meth:`sync`.

        Raises
        ------
        InvalidTypeError
            ``record`` is not a dict.
        InvalidValueError
            ``record`` is not JSON (NaN, infinities or objects JSON cannot represent).
        StateError
            The journal is closed.
        """
        if not isinstance(record, dict):
            raise InvalidTypeError(f"record: expected a dict of JSON values, got "
                                   f"{type(record).__name__}")
        try:
            payload = json.dumps(record, separators=(",", ":"), ensure_ascii=False,
                                 allow_nan=False).encode()
        except (TypeError, ValueError) as error:
            raise InvalidValueError(f"record: not representable as JSON ({error})") from None
        with self._lock:
            if self._closed:
                raise StateError(f"record: the journal {self.directory} is closed")
            seq = self._last_seq + 1
            head = b"%d" % seq
            line = b"%s %08x %s\n" % (head, zlib.crc32(payload, zlib.crc32(head + b" ")),
                                      payload)
            self._write_line(seq, line)
            self._last_seq = seq
        crashpoints.crash_point("journal.after-append")
        if self._interval is not None:
            self._wake.set()
            if self._syncer is None:
                self._start_syncer()
        return seq

    def _write_line(self, seq: int, line: bytes) -> None:
        """Write a whole line (caller holds ``_lock``); on error, cut it off again."""
        if self._fd is None:
            self._open_segment(seq)
        view = memoryview(line)
        try:
            if crashpoints.ARMED is not None:
                written = os.write(self._fd, view[: len(line) // 2])
                crashpoints.crash_point("journal.mid-append")
                view = view[written:]
            while view:
                view = view[os.write(self._fd, view):]
        except BaseException:
            os.ftruncate(self._fd, self._size)  # never leave half a line before the next one
            raise
        self._size += len(line)

    def _open_segment(self, seq: int) -> None:
        """Open the newest segment for appending, or create one named ``seq``."""
        if not self.directory.is_dir():
            self.directory.mkdir(parents=True, exist_ok=True)
            sync_directory(self.directory.parent)
        found = segments(self.directory)
        if found:
            path, flags = found[-1].path, os.O_WRONLY | os.O_APPEND
        else:
            path, flags = self._segment_path(seq), os.O_WRONLY | os.O_APPEND | os.O_CREAT
            self._dir_dirty = True
        self._fd = os.open(path, flags, 0o644)
        self._size = os.fstat(self._fd).st_size

    def _segment_path(self, first_seq: int) -> Path:
        return self.directory / f"{first_seq:020d}{SUFFIX}"

    # ---------------------------------------------------------------- syncing
    def sync(self) -> bool:
        """Make every record appended so far durable (``fdatasync``, and the directory when a
        segment was created); return False when there was nothing to sync."""
        with self._sync_lock:
            with self._lock:
                fd, target, dir_dirty = self._fd, self._last_seq, self._dir_dirty
                self._dir_dirty = False
            if fd is None or (target <= self._synced_seq and not dir_dirty):
                return False
            _datasync(fd)  # outside _lock: appends go on meanwhile
            if dir_dirty:
                sync_directory(self.directory)
            with self._synced:
                self._synced_seq = max(self._synced_seq, target)
                self._synced.notify_all()
        return True

    def wait_synced(self, seq: int, timeout: float | None = None) -> bool:
        """Block until record ``seq`` is synced (True) or ``timeout`` seconds passed (False)."""
        with self._synced:
            return self._synced.wait_for(lambda: self._synced_seq >= seq, timeout)

    def _start_syncer(self) -> None:
        with self._lock:
            if self._syncer is not None or self._closed:
                return
            self._syncer = threading.Thread(target=self._sync_loop, daemon=True,
                                            name=f"wl-journal-sync {self.directory}")
            self._syncer.start()

    def _sync_loop(self) -> None:
        while True:
            self._wake.wait()
            if self._closed:
                return
            self._closing_wait(self._interval)  # group the appends of this window
            self._wake.clear()  # an append after this line wakes the next round
            if self._closed:  # close() sets it before waking us, and syncs itself
                return
            try:
                self.sync()
            except OSError:
                log.exception("journal %s: sync failed", self.directory)

    def _closing_wait(self, seconds: float) -> None:
        """Wait ``seconds``, or less when :meth:`close` is called."""
        with self._synced:
            self._synced.wait_for(lambda: self._closed, seconds)

    # ---------------------------------------------------------------- compaction
    def compact(self, through_seq: int) -> list[Path]:
        """Drop the segments whose every record is ``<= through_seq`` (the owner published a
        snapshot that includes them); return the files removed.

        Rotates to a new segment first (named after the next sequence number), so the records
        appended so far can all be dropped once a snapshot covers them.

        Raises
        ------
        InvalidValueError
            ``through_seq`` is negative or beyond :attr:`last_seq` (no snapshot can include a
            record not yet appended).
        """
        _check_seq(through_seq, "through_seq")
        if through_seq > self._last_seq:
            raise InvalidValueError(f"through_seq: {through_seq} is beyond the last record "
                                    f"appended ({self._last_seq})")
        with self._sync_lock, self._lock:
            if self._closed:
                raise StateError(f"through_seq: the journal {self.directory} is closed")
            found = segments(self.directory)
            if found and found[-1].first_seq != self._last_seq + 1:
                self._rotate()
                found = segments(self.directory)
        removed = []
        for segment, following in pairwise(found):
            if following.first_seq - 1 > through_seq:
                break
            segment.path.unlink(missing_ok=True)
            removed.append(segment.path)
            crashpoints.crash_point("journal.mid-compact")
        if removed:
            sync_directory(self.directory)
        return removed

    def _rotate(self) -> None:
        """Sync and close the open segment, start one named after the next sequence number
        (caller holds ``_sync_lock`` and ``_lock``)."""
        if self._fd is not None:
            _datasync(self._fd)
            os.close(self._fd)
            self._fd = None
        path = self._segment_path(self._last_seq + 1)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL, 0o644)
        self._size = 0
        sync_directory(self.directory)  # the new name tells the next open where seqs stand
        with self._synced:
            self._synced_seq = self._last_seq
            self._synced.notify_all()

    # ---------------------------------------------------------------- reading and closing
    def records(self, after_seq: int = 0) -> Iterator[JournalEntry]:
        """Iterate the records with ``seq > after_seq`` in order (see :func:`read_records`)."""
        _check_seq(after_seq, "after_seq")
        return read_records(self.directory, after_seq)

    def close(self) -> None:
        """Sync, stop the background syncer and close the file; safe to call twice."""
        if self._closed:
            return
        self.sync()
        with self._synced:
            self._closed = True
            self._synced.notify_all()
        self._wake.set()
        if self._syncer is not None:
            self._syncer.join()
        with self._sync_lock, self._lock:
            if self._fd is not None:
                _datasync(self._fd)
                os.close(self._fd)
                self._fd = None

    def __enter__(self) -> EditJournal:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<EditJournal {str(self.directory)!r} last_seq={self._last_seq}>"


# -------------------------------------------------------------------- file format
def _segment_entries(path: Path, warn: bool) -> Iterator[tuple[int, JournalEntry]]:
    """``(line number, entry)`` of the valid lines of one segment."""
    try:
        with open(path, "rb") as f:
            for lineno, line in enumerate(f, 1):
                if not line.endswith(b"\n"):
                    return  # a torn last line: the append that wrote it never returned
                entry = _parse_line(line[:-1])
                if entry is None:
                    if warn:
                        log.warning("journal %s, line %d: corrupt record (bad checksum or "
                                    "format); skipped", path, lineno)
                    continue
                yield lineno, entry
    except FileNotFoundError:  # compacted while we were reading
        return


def _parse_line(line: bytes) -> JournalEntry | None:
    """The entry a line holds, or None when it is not a valid line."""
    match = _LINE.fullmatch(line)
    if match is None:
        return None
    head, crc, payload = match.groups()
    if zlib.crc32(payload, zlib.crc32(head + b" ")) != int(crc, 16):
        return None
    try:
        record = json.loads(payload)
    except ValueError:
        return None
    return JournalEntry(int(head), record) if isinstance(record, dict) else None


def _cut_torn_tail(path: Path) -> None:
    """Truncate ``path`` after its last newline (a crash mid-append left a partial line)."""
    with open(path, "r+b") as f:
        size = f.seek(0, os.SEEK_END)
        if size == 0:
            return
        f.seek(size - 1)
        if f.read(1) == b"\n":
            return
        end, chunk = size, 1 << 16
        keep = 0
        while end > 0:
            start = max(0, end - chunk)
            f.seek(start)
            cut = f.read(end - start).rfind(b"\n")
            if cut >= 0:
                keep = start + cut + 1
                break
            end = start
        log.info("journal %s: cut a torn last line (%d bytes) left by a crash mid-append",
                 path, size - keep)
        f.truncate(keep)
        f.flush()
        os.fsync(f.fileno())


def _datasync(fd: int) -> None:
    (getattr(os, "fdatasync", None) or os.fsync)(fd)


def _check_seq(value, argument: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTypeError(f"{argument}: expected an int sequence number, got "
                               f"{type(value).__name__}")
    if value < 0:
        raise InvalidValueError(f"{argument}: expected a sequence number >= 0, got {value}")
