"""The buffer between ``Run.log`` and everything a logged row feeds, and its bulk conversion.

A ``log`` call appends to a :class:`RowBuffer` (deque appends: no lock, no conversion beyond
what must raise in the caller): its step, timestamp and experiment id to one deque, a copy of
its values to another. For plain numbers that copy holds only strings and numbers, so Python's
garbage collector never tracks it: a buffer of a million rows costs no collection time (a
tuple per call would be tracked, and full collections would then walk every buffered row).

Whoever drains the run (the session's ingest thread every flush interval, any reader of the run
or of the session's curves before it reads) takes every row at once and cuts them into
:class:`Chunk` s: consecutive rows with the same keys and experiment (so the same mode), held
as columns (a ``[rows, keys]`` float64 matrix for rows of plain numbers). A chunk then updates
the run's summary and recent values, gives its finite numbers to the curves as one series per
key, and formats its history lines in one pass.

Modes (a ``"_mode"`` key first in the copy, absent for :data:`PLAIN`): plain rows hold numbers
only (float, int, bool, numpy scalars; converted to float64 here); :data:`MIXED` rows hold
converted values of any kind (strings, media descriptors, floats); :data:`CAPTURED` rows are
mixed rows whose numbers the caller already recorded (an evaluation pass captured them), so
they feed no curve; :data:`DEVICE` rows are plain rows some of whose values are
``(host tensor, device index)`` pairs: one-value CUDA tensors copied to pinned host memory
without waiting for the device. The drain waits for those devices once, converts the
tensors in bulk (one ``torch.stack(...).tolist()`` per dtype) and goes on as for plain rows.
"""

from __future__ import annotations

import json
import math
from collections import deque
from itertools import chain, islice

import numpy as np

PLAIN, MIXED, CAPTURED, DEVICE = 0, 1, 2, 3
ARROW_ROWS = 2048  # plain chunks from this many rows get their history lines from Arrow
_END = object()  # marks where a take stops (later appends stay for the next one)


class _NewChunk:
    """The marker a row with other keys (or mode) than the row before it is preceded by."""


NEW_CHUNK = _NewChunk()


class RowBuffer:
    """Log calls waiting for a drain.

    ``meta`` gets ``step, timestamp, exp`` of each call (before its row); ``rows`` a dict of
    its values, preceded by :data:`NEW_CHUNK` when its keys (in order) or mode differ from
    the row before it (``schema`` is what that row had: its keys tuple for plain numbers, a
    ``(mode, keys)`` pair for mixed rows), so a drain never compares keys row by row.
    Appends are safe from any thread (deque appends and pops are atomic); one taker at a
    time.
    """

    def __init__(self):
        self.meta: deque = deque()
        self.rows: deque = deque()
        self.schema = None

    def __len__(self) -> int:
        return len(self.rows)

    def put(self, step: int, timestamp: float, exp: int, values: dict,
            mode: int = PLAIN) -> None:
        """Append one call (``values`` is copied; ``Run.log``'s hot path inlines this)."""
        self.meta.extend((step, timestamp, exp))
        if mode == PLAIN:
            keys = tuple(values)
            if keys != self.schema:
                self.rows.append(NEW_CHUNK)
                self.schema = keys
            self.rows.append(dict(values))
            return
        schema = (mode, tuple(values))
        if schema != self.schema:
            self.rows.append(NEW_CHUNK)
            self.schema = schema
        self.rows.append({"_mode": mode, **values})

    def take(self) -> tuple[np.ndarray, list]:
        """Every call appended before this one: ``(meta [n, 3] float64, rows and markers)``,
        oldest first, removed from the buffer while appends may go on."""
        self.rows.append(_END)  # later appends land after it and stay for the next take
        rows = list(iter(self.rows.popleft, _END))
        n = len(rows) - list(map(type, rows)).count(_NewChunk)
        meta = np.fromiter(islice(iter(self.meta.popleft, None), 3 * n), np.float64, 3 * n)
        return meta.reshape(n, 3), rows

    def take_all(self) -> tuple[np.ndarray, list]:
        """As :meth:`take`, for a buffer no call appends to any more (faster: no pops)."""
        meta = np.fromiter(self.meta, np.float64, len(self.meta))
        return meta.reshape(-1, 3), list(self.rows)


class Chunk:
    """Consecutive buffered rows with the same keys and experiment, as columns.

    Attributes
    ----------
    keys : tuple of str
        The logged keys.
    steps : ndarray, int64, shape ``[n]``; non-decreasing
    times : ndarray, float64, shape ``[n]``
        The calls' ``time.time()``.
    mode, exp : int
    matrix : ndarray, float64, shape ``[n, len(keys)]``, or None
        The values of a :data:`PLAIN` chunk.
    rows : list of dict, or None
        The rows of a mixed chunk (each with its ``"_mode"``).
    """

    def __init__(self, meta: np.ndarray, rows: list[dict]):
        self.steps = meta[:, 0].astype(np.int64)
        self.times = meta[:, 1].copy()
        self.exp = int(meta[0, 2])
        self.mode = rows[0].get("_mode", PLAIN)
        if self.mode == DEVICE:
            rows, self.mode = host_numbers(rows), PLAIN
        keys = tuple(rows[0])  # every row has these keys, in this order
        if self.mode == PLAIN:  # C loops only: no Python code per row
            self.keys = keys
            values = chain.from_iterable(map(dict.values, rows))
            try:
                self.matrix = np.fromiter(values, np.float64, len(rows) * len(keys))
            except (TypeError, ValueError):  # a number type without __float__ that adds up
                self.matrix = np.array([float(0.0 + row[k]) for row in rows for k in keys])
            self.matrix.shape = (len(rows), len(keys))
            self.rows = None
        else:
            self.keys = keys[1:]  # without "_mode"
            self.matrix = None
            self.rows = rows

    def __len__(self) -> int:
        return len(self.steps)

    def row(self, i: int) -> dict:
        """Row ``i`` (``-1``: the last, what the summary keeps) as a new dict."""
        if self.matrix is not None:
            return dict(zip(self.keys, self.matrix[i].tolist()))
        row = self.rows[i]
        return {key: row[key] for key in self.keys}

    def update_recent(self, recent: dict[str, deque], logged: dict[str, int],
                      keep: int) -> None:
        """Add the chunk to each key's last ``keep`` ``(step, value)`` pairs (one value per
        step: a later value replaces one at the same step) and to its log count."""
        n = len(self.steps)
        last_of_step = np.ones(n, dtype=bool)
        last_of_step[:-1] = self.steps[1:] != self.steps[:-1]
        index = np.flatnonzero(last_of_step)[-keep:]
        steps = self.steps[index].tolist()
        for j, key in enumerate(self.keys):
            if self.matrix is not None:
                values = self.matrix[index, j].tolist()
            else:
                values = [self.rows[i][key] for i in index.tolist()]
            pairs = recent.get(key)
            if pairs is None:
                pairs = recent[key] = deque(maxlen=keep)
            if pairs and pairs[-1][0] == steps[0]:
                pairs.pop()  # the later call wins, as readers merge the rows of one step
            pairs.extend(zip(steps, values))
            logged[key] = logged.get(key, 0) + n

    def curves(self):
        """``(key, steps, values)`` per key with finite numbers, for the session's curves
        (none for a :data:`CAPTURED` chunk)."""
        if self.mode == CAPTURED:
            return
        if self.matrix is not None:
            finite = np.isfinite(self.matrix)
            everywhere = bool(finite.all())
            for j, key in enumerate(self.keys):
                if everywhere:
                    yield key, self.steps, self.matrix[:, j]
                elif finite[:, j].any():
                    yield key, self.steps[finite[:, j]], self.matrix[finite[:, j], j]
            return
        for key in self.keys:
            points = [(s, row[key]) for s, row in zip(self.steps.tolist(), self.rows)
                      if isinstance(row[key], float) and math.isfinite(row[key])]
            if points:
                steps, values = zip(*points)
                yield key, np.asarray(steps, np.int64), np.asarray(values, np.float64)

    def history_bytes(self, started: float, dumps) -> bytes:
        """The chunk's ``history.jsonl`` lines, UTF-8 (``dumps``: strict JSON of one row).

        A long plain chunk is formatted by Arrow kernels (no Python code per row, the GIL
        released, so a logging thread goes on meanwhile), a short one by one format string:
        either way each number in a form that reads back as the same float (``repr``'s, or
        Arrow's shortest), non-finite ones as ``null``."""
        runtimes = np.round(self.times - started, 6)
        if self.matrix is None or len(self.steps) < ARROW_ROWS:
            rows = [self.row(i) for i in range(len(self.steps))]
            return "".join(
                dumps({"_step": s, "_timestamp": t, "_runtime": r, **row}) + "\n"
                for s, t, r, row in zip(self.steps.tolist(), self.times.tolist(),
                                        runtimes.tolist(), rows)).encode("utf-8")
        import pyarrow as pa  # imported on use: pyarrow.compute costs ~60 ms at import
        import pyarrow.compute as pc

        parts = ['{"_step": ', pc.cast(pa.array(self.steps), pa.string()),
                 ', "_timestamp": ', _json_floats(self.times),
                 ', "_runtime": ', _json_floats(runtimes)]
        for j, key in enumerate(self.keys):
            parts += [", " + json.dumps(key) + ": ", _json_floats(self.matrix[:, j])]
        parts.append("}\n")
        lines = pc.binary_join_element_wise(*parts, "")
        offsets = np.frombuffer(lines.buffers()[1], np.int32)
        first, last = offsets[lines.offset], offsets[lines.offset + len(lines)]
        return lines.buffers()[2].to_pybytes()[first:last]


def host_numbers(rows: list[dict]) -> list[dict]:
    """:data:`DEVICE` rows as plain rows (new dicts without ``"_mode"``): every
    ``(host tensor, device index)`` pair replaced by its number, after one synchronisation of
    each CUDA device the copies came from (an index below 0: nothing to wait for)."""
    import torch

    out, copies, devices = [], {}, set()  # copies: dtype -> [(row, key, tensor)]
    for row in rows:
        plain = {}
        for key, value in row.items():
            if type(value) is tuple:
                tensor, device = value
                devices.add(device)
                copies.setdefault(tensor.dtype, []).append((plain, key, tensor))
            plain[key] = value
        del plain["_mode"]
        out.append(plain)
    for device in sorted(devices):
        if device >= 0:
            torch.cuda.synchronize(device)
    for group in copies.values():
        values = torch.stack([t.reshape(()) for _, _, t in group]).tolist()
        for (plain, key, _), value in zip(group, values):
            plain[key] = value
    return out


def _json_floats(values: np.ndarray):
    """float64 values as JSON numbers (an Arrow string array): shortest round-trip text, a
    ``.0`` added where it would read back as an int, ``null`` for NaN and infinities. The
    fix-ups run only where some value needs them (metrics are rarely whole numbers)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pc.cast(pa.array(values, type=pa.float64()), pa.string())
    finite = np.isfinite(values)
    whole = finite & (values == np.trunc(values))
    if whole.any():  # "3" -> "3.0", but "1e+16" stays
        bare = pc.and_(pa.array(whole), pc.invert(pc.match_substring(text, "e")))
        text = pc.if_else(bare, pc.binary_join_element_wise(text, ".0", ""), text)
    if not finite.all():
        text = pc.if_else(pa.array(finite), text, "null")
    return text


def warm_up() -> None:
    """Make Arrow's compute functions ready (once per process): their first call costs about
    0.2 s of CPU, which a run pays in its first flush round after ``init`` instead of in the
    middle of logging or in ``finish``."""
    global _warm
    if not _warm:
        _json_floats(np.zeros(1))
        _warm = True


_warm = False


def chunks_of(meta: np.ndarray, rows: list) -> list[Chunk]:
    """Cut taken calls (see :meth:`RowBuffer.take`) into chunks of consecutive rows with the
    same keys, mode and experiment."""
    types = list(map(type, rows))
    marks, at = [], -1
    for _ in range(types.count(_NewChunk)):
        at = types.index(_NewChunk, at + 1)
        marks.append(at)
    exps = meta[:, 2]
    exp_starts = (np.flatnonzero(exps[1:] != exps[:-1]) + 1).tolist()  # row numbers
    out, first_row = [], 0
    for a, b in zip([-1, *marks], [*marks, len(rows)]):  # the rows between two markers
        n = b - a - 1
        cuts = [c - first_row for c in exp_starts if first_row < c < first_row + n]
        for lo, hi in zip([0, *cuts], [*cuts, n]):
            if hi > lo:
                out.append(Chunk(meta[first_row + lo:first_row + hi], rows[a + 1 + lo:a + 1 + hi]))
        first_row += n
    return out
