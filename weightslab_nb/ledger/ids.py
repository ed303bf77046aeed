"""Normalising sample ids: ints and strings work everywhere.

Ids arrive as torch tensors, numpy arrays, lists, tuples or a single scalar. They leave as a
list of Python ``int`` / ``str`` values, or, on the hot path, as an ``int64`` numpy array.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import numpy as np

from weightslab_nb.errors import InvalidTypeError

SampleId = int | str


def as_int_array(ids) -> np.ndarray | None:
    """Return ``ids`` as an int64 array when they are integers held in an array, else None.

    This is the fast path for the ids a watched loader yields (a LongTensor).
    """
    if isinstance(ids, np.ndarray):
        if ids.dtype.kind not in "iu":
            return None
        return ids if ids.dtype == np.int64 and ids.ndim == 1 else \
            ids.astype(np.int64, copy=False).reshape(-1)
    if hasattr(ids, "detach") and hasattr(ids, "dtype"):  # torch.Tensor, without importing torch
        if ids.dtype.is_floating_point or ids.dtype.is_complex:
            return None
        return ids.detach().cpu().numpy().astype(np.int64, copy=False).reshape(-1)
    return None


def normalize_one(value, argument: str = "sample_ids") -> SampleId:
    """Return one id as ``int`` or ``str``; raise ``TypeError`` for anything else."""
    if isinstance(value, (bool, np.bool_)):
        raise InvalidTypeError(f"{argument}: sample ids are ints or strings, got a bool "
                               f"({value!r})")
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, str):
        return value
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return normalize_one(value.item(), argument)
    raise InvalidTypeError(f"{argument}: sample ids are ints or strings, got "
                           f"{type(value).__name__} ({value!r})")


def normalize_ids(ids, argument: str = "sample_ids") -> list[SampleId]:
    """Return ``ids`` as a list of ``int``/``str``.

    A single int or str is a one-element list. Raises ``TypeError`` naming ``argument`` for
    floats, bools, None or nested sequences.
    """
    if ids is None:
        raise InvalidTypeError(f"{argument}: expected a sample id or a sequence of ids, got None")
    if isinstance(ids, (str, int, np.integer)) and not isinstance(ids, (bool, np.bool_)):
        return [normalize_one(ids, argument)]
    arr = as_int_array(ids)
    if arr is not None:
        return arr.tolist()
    if hasattr(ids, "tolist") and not isinstance(ids, (list, tuple)):
        ids = ids.tolist()
    if not isinstance(ids, Iterable):
        raise InvalidTypeError(f"{argument}: expected a sample id or a sequence of ids, "
                               f"got {type(ids).__name__}")
    return [normalize_one(v, argument) for v in ids]


class IdColumn:
    """The sample id of every table row, stored compactly.

    While every id is an int that fits int64, the ids are one ``int64`` array (8 bytes a row, no
    Python objects); the first string id (or an int beyond int64) turns the column into an
    object array once. Reading keeps the plain-Python face of ids:

    * ``column[i]`` (an int) is a Python ``int`` or ``str``;
    * ``column[rows]`` / ``column[a:b]`` is an object array of Python ``int``/``str`` (so
      ``.tolist()``, iteration and JSON see plain values);
    * :meth:`ints` gives the raw ``int64`` values for vectorised work (None when not all ints).

    Writes go through :meth:`put` (a run of new rows) and the owner grows it with :meth:`grow`.
    """

    def __init__(self):
        self._ints: np.ndarray | None = np.empty(0, dtype=np.int64)
        self._objects: np.ndarray | None = None

    @property
    def nbytes(self) -> int:
        """Bytes of the id array (object layout: the pointers only)."""
        return (self._ints if self._ints is not None else self._objects).nbytes

    def grow(self, capacity: int, n: int) -> None:
        """Make room for ``capacity`` rows, keeping the first ``n`` ids."""
        if self._ints is not None:
            out = np.zeros(capacity, dtype=np.int64)
            out[:n] = self._ints[:n]
            self._ints = out
        else:
            out = np.full(capacity, None, dtype=object)
            out[:n] = self._objects[:n]
            self._objects = out

    def put(self, start: int, ids) -> None:
        """Store ``ids`` (an int64 array, or a list of normalised ``int``/``str`` ids) for rows
        ``start, start + 1, ...`` (the rows must fit the capacity)."""
        stop = start + len(ids)
        if self._ints is not None:
            if isinstance(ids, np.ndarray) and ids.dtype.kind in "iu":
                self._ints[start:stop] = ids
                return
            try:
                self._ints[start:stop] = np.fromiter(_only_ints(ids), np.int64, len(ids))
                return
            except (TypeError, OverflowError):  # a string id, or an int past int64
                self._objects = self._ints.astype(object)
                self._ints = None
        self._objects[start:stop] = list(ids) if isinstance(ids, np.ndarray) else ids

    def ints(self, key) -> np.ndarray | None:
        """``int64`` ids of ``key`` (rows or a slice) without boxing; None when some id is a
        string."""
        return None if self._ints is None else self._ints[key]

    def __getitem__(self, key):
        if isinstance(key, (int, np.integer)):
            if self._ints is not None:
                return int(self._ints[key])
            return self._objects[key]
        if self._ints is not None:
            return self._ints[key].astype(object)
        return self._objects[key]


class DenseIndex:
    """Row of each non-negative int id of one origin (-1: none), for ids dense enough that an
    array indexed by id is cheaper than a dict.

    While the ids registered form one contiguous range whose rows are contiguous too (a data
    set registered as ids 0..n-1 in order: the common case), the index is three numbers; the
    first id that breaks the pattern turns it into an ``int64`` array indexed by id.
    """

    def __init__(self):
        self._rows: np.ndarray | None = None
        self._lo = self._hi = 0  # ids [lo, hi) map to rows row0 + (id - lo)
        self._row0 = 0

    def __len__(self) -> int:
        """One past the highest id it can hold without growing."""
        return len(self._rows) if self._rows is not None else self._hi

    @property
    def nbytes(self) -> int:
        """Bytes of the array (0 while the ids form one range)."""
        return 0 if self._rows is None else self._rows.nbytes

    def get(self, ids: np.ndarray) -> np.ndarray:
        """Rows of ``ids`` (an int64 array of ids >= 0), -1 where an id has none."""
        if self._rows is None:
            inside = (ids >= self._lo) & (ids < self._hi)
            return np.where(inside, ids - self._lo + self._row0, -1)
        out = np.full(len(ids), -1, dtype=np.int64)
        inside = ids < len(self._rows)
        out[inside] = self._rows[ids[inside]]
        return out

    def range_rows(self, ids: np.ndarray) -> np.ndarray | None:
        """Rows of ``ids`` (a non-empty int64 array) as a new array (never the caller's) when
        this index holds every one of them as one contiguous range, else None: a subtraction
        and one bounds check, no look-up (the common case of a data set registered as ids
        0..n-1)."""
        if self._rows is not None or self._hi == self._lo:
            return None
        offsets = ids - self._lo
        # below lo (or negative) wraps to a huge unsigned offset: one max checks both bounds
        if int(offsets.view(_UINT64).max()) >= self._hi - self._lo:
            return None
        if self._row0:
            offsets += self._row0
        return offsets

    def disjoint(self, lo: int, hi: int) -> bool:
        """True when no id in ``[lo, hi]`` can have a row here (cheap bounds check; False
        means "maybe")."""
        if self._rows is None:
            return hi < self._lo or lo >= self._hi
        return lo >= len(self._rows)

    def get_one(self, sample_id: int) -> int:
        """Row of one id >= 0, or -1."""
        if self._rows is None:
            return sample_id - self._lo + self._row0 if self._lo <= sample_id < self._hi else -1
        return int(self._rows[sample_id]) if sample_id < len(self._rows) else -1

    def put(self, ids: np.ndarray, rows: np.ndarray) -> None:
        """Add distinct new ``ids`` (int64, >= 0) with their ``rows``."""
        k = len(ids)
        if not k:
            return
        if self._rows is None and _runs_on(ids) and _runs_on(rows):
            if self._hi == self._lo:  # empty: the range starts here
                self._lo, self._hi, self._row0 = int(ids[0]), int(ids[0]) + k, int(rows[0])
                return
            if ids[0] == self._hi and rows[0] == self._row0 + self._hi - self._lo:
                self._hi += k
                return
        top = int(ids.max())
        if self._rows is None:  # materialise the range
            self._rows = np.full(max(top + 1, self._hi), -1, dtype=np.int64)
            self._rows[self._lo : self._hi] = np.arange(self._row0,
                                                        self._row0 + self._hi - self._lo)
        elif top >= len(self._rows):
            grown = np.full(max(top + 1, 2 * len(self._rows)), -1, dtype=np.int64)
            grown[: len(self._rows)] = self._rows
            self._rows = grown
        self._rows[ids] = rows


_UINT64 = np.dtype(np.uint64)


def _runs_on(values: np.ndarray) -> bool:
    """True when ``values`` are consecutive integers, ascending by one."""
    return len(values) < 2 or (int(values[-1]) - int(values[0]) == len(values) - 1 and
                               bool(np.all(np.diff(values) == 1)))


def _only_ints(ids):
    for sid in ids:
        if type(sid) is not int:
            raise TypeError("not an int")
        yield sid


class SampleRef(NamedTuple):
    """The identity of a sample: its origin (split) and its id within that origin.

    Train and validation sets may both index from 0, so an id alone can name two samples; a
    ref never does. A ref is a plain tuple ``(origin, sample_id)``: it compares equal to one,
    and JSON writes it as the list ``[origin, sample_id]`` (what the panels send and receive).
    """

    origin: str
    sample_id: SampleId


def is_ref(value) -> bool:
    """True for something shaped like a ref: a tuple or list of two items (an id never is)."""
    return isinstance(value, (tuple, list)) and len(value) == 2


def normalize_ref(value, argument: str = "sample_ids") -> SampleRef:
    """``(origin, sample_id)`` (a tuple, a list or a :class:`SampleRef`) as a
    :class:`SampleRef`; the origin is not looked up here. Raises ``InvalidTypeError`` naming
    ``argument`` for anything else."""
    if not isinstance(value, (tuple, list)) or len(value) != 2 or \
            not isinstance(value[0], str) or not value[0]:
        raise InvalidTypeError(f"{argument}: expected a sample id or an [origin, sample_id] "
                               f"ref, got {_shown(value)}")
    return SampleRef(value[0], normalize_one(value[1], argument))


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
