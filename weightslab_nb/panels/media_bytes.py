"""The bytes of a run's media files, kept by the RunMedia panel once it has seen them.

A run's files never change once written, but they can disappear: a notebook that deletes its
run folder in its last cell (or a user cleaning up) would leave the panel with "file is missing"
cards, because the browser asks for the bytes only once it has drawn the card, and its request
may wait behind the running cells. So the panel's publisher reads the files of each key's latest
value as soon as it publishes them (:meth:`FileBytes.keep`), and requests are answered from
memory first. The cache is bounded (least recently used files go first); older steps are read
from disk when asked for.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

from weightslab_nb.panels.messages import MessageError

#: Bytes one panel keeps in memory at most.
MAX_CACHED_BYTES = 64 * 2**20


class FileBytes:
    """A thread-safe, size-bounded cache of file contents, by resolved path.

    Parameters
    ----------
    max_file : int
        The largest file read, in bytes; a larger one raises :class:`MessageError` naming it.
    max_total : int, default :data:`MAX_CACHED_BYTES`
        Bytes kept in memory at most; the least recently used files are dropped first.
    """

    def __init__(self, max_file: int, max_total: int = MAX_CACHED_BYTES):
        self.max_file = int(max_file)
        self.max_total = int(max_total)
        self._lock = threading.Lock()
        self._files: OrderedDict[Path, bytes] = OrderedDict()
        self._size = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._files)

    @property
    def size(self) -> int:
        """Bytes held now."""
        with self._lock:
            return self._size

    def get(self, path: Path) -> bytes:
        """The bytes of ``path``: from memory, else read from disk (and kept).

        Raises
        ------
        MessageError
            The file is neither in memory nor on disk, or it is larger than ``max_file``.
        """
        with self._lock:
            data = self._files.get(path)
            if data is not None:
                self._files.move_to_end(path)
                return data
        data = self._read(path)
        self._put(path, data)
        return data

    def keep(self, path: Path) -> bool:
        """Read ``path`` into memory unless it is there already; False when it cannot be read
        (missing, too large): the request for it will say why."""
        with self._lock:
            if path in self._files:
                self._files.move_to_end(path)
                return True
        try:
            self._put(path, self._read(path))
        except (MessageError, OSError):
            return False
        return True

    def _read(self, path: Path) -> bytes:
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise MessageError(f"path: the run's file {path.name!r} is missing (deleted before "
                               f"the panel kept its bytes)") from None
        if size > self.max_file:
            raise MessageError(f"path: {path.name} is larger than {self.max_file // 2**20} MiB; "
                               f"read it with wl.Api")
        return path.read_bytes()

    def _put(self, path: Path, data: bytes) -> None:
        if len(data) > self.max_total:
            return
        with self._lock:
            old = self._files.pop(path, None)
            if old is not None:
                self._size -= len(old)
            self._files[path] = data
            self._size += len(data)
            while self._size > self.max_total:
                _, dropped = self._files.popitem(last=False)
                self._size -= len(dropped)
