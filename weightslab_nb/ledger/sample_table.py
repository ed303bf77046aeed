"""The sample table: one row per ``(sample_id, annotation_id)``, stored column by column.

Columns are numpy arrays grown by doubling, so the training thread writes a batch with a handful
of positional assignments (no pandas on the hot path). :meth:`SampleTable.dataframe` builds the
pandas view on demand.

The table is not thread-safe by itself: :class:`weightslab_nb.session.Session` serialises every
mutation under its lock.
"""

from __future__ import annotations

import numpy as np

from weightslab_nb.errors import (
    AmbiguousSampleError,
    InvalidValueError,
    UnknownNameError,
    UnknownSampleError,
)
from weightslab_nb.ledger.ids import (
    DenseIndex,
    IdColumn,
    SampleId,
    as_int_array,
    normalize_ids,
)

SIGNAL_PREFIX = "signals//"
TAG_PREFIX = "tag:"
# Dense int ids get an array lookup table as long as it stays this many times the row count
# (or the floor: ids below 4 x 2**18 always fit one, at most 8 MiB; ids first seen in a shuffled
# order, a batch at a time, are sparse at first and dense in the end).
_LUT_SLACK = 4
_LUT_FLOOR = 1 << 18
# Columns that cost no memory until a row gets a value other than this fill (read-only
# broadcast views until then; see SampleTable.writable)
_LAZY = {"annotation_id": 0, "target": np.nan, "prediction": np.nan}


def signal_column(name: str) -> str:
    """Column name of a per-sample signal: ``"train-loss"`` -> ``"signals//train-loss"``."""
    return name if name.startswith("signals") else SIGNAL_PREFIX + name


def bare_signal_name(column: str) -> str:
    """Signal name of a column (the name the history uses): ``"signals//train-loss"`` ->
    ``"train-loss"``; a name without the prefix is returned as it is."""
    return column[len(SIGNAL_PREFIX):] if column.startswith(SIGNAL_PREFIX) else column


def last_occurrences(rows: np.ndarray, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Each distinct row of ``rows`` once, with the position of its last occurrence.

    ``rows``: int64 rows in ``[0, n_rows)``, in arrival order (a drain of several batches,
    rows repeated when a sample came back). Returns ``(distinct_rows, positions)``: writing
    ``column[distinct_rows] = values[positions]`` leaves every row's last value, in one
    assignment without duplicate indices (numpy does not promise which of several writes to
    one element of a fancy assignment wins).

    Many rows: positions are scattered into an ``n_rows`` scratch array (int32) with
    ``np.maximum.at`` (unbuffered, so exact with repeated rows), then read back for the rows
    touched (ascending); no sort. Few rows against many: a sort of ``rows`` instead
    (ascending too).
    """
    rows = np.asarray(rows, dtype=np.int64)
    n = len(rows)
    if n < 2:
        return rows, np.arange(n)
    if n * 8 < n_rows or n >= 2**31:
        distinct, first_of_reversed = np.unique(rows[::-1], return_index=True)
        return distinct, n - 1 - first_of_reversed
    scratch = np.full(n_rows, -1, dtype=np.int32)
    np.maximum.at(scratch, rows, np.arange(n, dtype=np.int32))
    distinct = np.flatnonzero(scratch >= 0)
    return distinct, scratch[distinct]


def tag_column(name: str) -> str:
    """Column name of a tag: ``"hard"`` -> ``"tag:hard"``."""
    return name if name.startswith(TAG_PREFIX) else TAG_PREFIX + name


def annotation_ids(positions: np.ndarray) -> np.ndarray:
    """1-based annotation ids: the order in which each position appears in ``positions``.

    ``[0, 1, 0, 0, 2, 1] -> [1, 1, 2, 3, 1, 2]``
    """
    n = len(positions)
    order = np.argsort(positions, kind="stable")
    sorted_pos = positions[order]
    starts = np.flatnonzero(np.r_[True, sorted_pos[1:] != sorted_pos[:-1]]) if n else order
    run_start = np.repeat(starts, np.diff(np.r_[starts, n]))
    out = np.empty(n, dtype=np.int64)
    out[order] = np.arange(n) - run_start + 1
    return out


class CategoricalColumn:
    """One categorical tag: int16 codes per row (-1 = no value) and its allowed values."""

    def __init__(self, capacity: int, values: list[str]):
        self.codes = np.full(capacity, -1, dtype=np.int16)
        self.values: list[str] = list(values)

    def code_of(self, value: str) -> int:
        """Return the code of ``value``, registering it when new."""
        try:
            return self.values.index(value)
        except ValueError:
            self.values.append(value)
            return len(self.values) - 1


class SampleTable:
    """Per-sample state of a run: origin, target, prediction, discarded, signals and tags."""

    def __init__(self, capacity: int = 1024):
        self._n = 0
        self._cap = 0
        self.sample_id = IdColumn()  # int64 while all ids are ints
        self.annotation_id = _lazy(0, np.int32)  # materialised by the first instance row
        self.origin_code = np.empty(0, dtype=np.int16)
        self.origins: list[str] = []
        self.target = _lazy(np.nan, np.float64)  # materialised by the first known value
        self.prediction = _lazy(np.nan, np.float64)
        self.discarded = np.empty(0, dtype=bool)
        self.last_step = np.empty(0, dtype=np.int64)
        self.signals: dict[str, np.ndarray] = {}
        self.bool_tags: dict[str, np.ndarray] = {}
        self.cat_tags: dict[str, CategoricalColumn] = {}
        # identity (origin code, sample id, annotation id) -> row; dense int ids of annotation 0
        # live in one look-up table per origin instead (id -> row, -1 = none)
        self._row_of: dict[tuple[int, SampleId, int], int] = {}
        self._luts: dict[int, DenseIndex] = {}
        self._sparse_ints: set[int] = set()  # origins with int ids (annotation 0) in the dict
        self.discard_version = 0  # grows on every discard/restore; loaders re-filter on change
        self._changed = np.empty(0, dtype=bool)  # rows written since take_changed
        self._grow(capacity)

    # ---------------------------------------------------------------- size and growth
    def __len__(self) -> int:
        return self._n

    def _grow(self, need: int) -> None:
        if need <= self._cap:
            return
        cap = max(need, 2 * self._cap, 1024)

        def grown(arr: np.ndarray, fill) -> np.ndarray:
            if _is_lazy(arr):
                return np.broadcast_to(np.asarray(fill, dtype=arr.dtype), (cap,))
            out = np.full(cap, fill, dtype=arr.dtype)
            out[: self._n] = arr[: self._n]
            return out

        self.sample_id.grow(cap, self._n)
        self.annotation_id = grown(self.annotation_id, 0)
        self.origin_code = grown(self.origin_code, -1)
        self.target = grown(self.target, np.nan)
        self.prediction = grown(self.prediction, np.nan)
        self.discarded = grown(self.discarded, False)
        self.last_step = grown(self.last_step, -1)
        self._changed = grown(self._changed, False)
        self.signals = {k: grown(v, np.nan) for k, v in self.signals.items()}
        self.bool_tags = {k: grown(v, False) for k, v in self.bool_tags.items()}
        for col in self.cat_tags.values():
            col.codes = grown(col.codes, -1)
        self._cap = cap

    # ---------------------------------------------------------------- rows
    def origin_index(self, origin: str) -> int:
        """Code of ``origin`` (registered when new)."""
        if origin not in self.origins:
            self.origins.append(origin)
        return self.origins.index(origin)

    def add_samples(self, sample_ids, origin: str, annotation_id: int = 0) -> np.ndarray:
        """Add rows for the ids ``origin`` does not hold yet; return the rows of all given ids,
        in order. Identity is ``(origin, sample_id, annotation_id)``: two origins may hold the
        same id (train and validation sets that both index from 0).

        Dense non-negative int ids (an int array or tensor, or a list of ints) take a
        vectorised path: no Python object per id."""
        code = self.origin_index(origin)
        if annotation_id == 0:
            rows = self._add_dense_ints(code, sample_ids)
            if rows is not None:
                return rows
        ids = normalize_ids(sample_ids)
        rows = np.empty(len(ids), dtype=np.int64)
        new: list[tuple[int, SampleId]] = []
        first_seen: dict[SampleId, int] = {}  # a new id given more than once gets one row
        repeated: list[tuple[int, SampleId]] = []
        lookup = self._lookup
        for i, sid in enumerate(ids):
            row = lookup(code, sid, annotation_id)
            if row is not None:
                rows[i] = row
            elif sid in first_seen:
                repeated.append((i, sid))
            else:
                first_seen[sid] = len(new)
                new.append((i, sid))
        if new:
            start = self._n
            self._grow(start + len(new))
            new_rows = np.arange(start, start + len(new))
            self.sample_id.put(start, [sid for _, sid in new])
            if annotation_id:
                self.writable("annotation_id")[new_rows] = annotation_id
            self.origin_code[new_rows] = code
            rows[[i for i, _ in new]] = new_rows
            self._n = start + len(new)
            in_lut = self._index_ints(code, [sid for _, sid in new], new_rows) \
                if annotation_id == 0 else np.zeros(len(new), dtype=bool)
            for (_, sid), row, dense in zip(new, new_rows.tolist(), in_lut.tolist()):
                if not dense:  # ids the look-up table does not hold go to the dict
                    self._row_of[(code, sid, annotation_id)] = row
                    if annotation_id == 0 and type(sid) is int:
                        self._sparse_ints.add(code)
            for i, sid in repeated:
                rows[i] = new_rows[first_seen[sid]]
        return rows

    def _add_dense_ints(self, code: int, sample_ids) -> np.ndarray | None:
        """:meth:`add_samples` of annotation-0 int ids that origin ``code``'s look-up table can
        hold, vectorised; None when the ids are not such (the caller takes the general path)."""
        arr = as_int_array(sample_ids)
        if arr is None and isinstance(sample_ids, list) and sample_ids and \
                type(sample_ids[0]) is int:
            try:
                arr = np.fromiter(sample_ids, dtype=np.int64, count=len(sample_ids))
            except (TypeError, ValueError, OverflowError):
                return None
            if any(type(s) is not int for s in sample_ids):  # bools, numpy scalars: general path
                return None
        if arr is None or code in self._sparse_ints or not arr.size or arr.min() < 0:
            return None
        lut = self._luts.get(code)
        if lut is None:
            lut = DenseIndex()
        found = lut.get(arr)
        fresh = arr[found < 0]
        if fresh.size:
            _, first = np.unique(fresh, return_index=True)
            fresh = fresh[np.sort(first)]  # each new id once, in order of first appearance
            start = self._n
            if int(fresh.max()) >= _LUT_SLACK * max(start + len(fresh), _LUT_FLOOR):
                return None  # sparse ids: the dict serves them
            self._grow(start + len(fresh))
            new_rows = np.arange(start, start + len(fresh))
            self.sample_id.put(start, fresh)
            self.origin_code[new_rows] = code
            self._n = start + len(fresh)
            lut.put(fresh, new_rows)
            self._luts[code] = lut
            found = lut.get(arr)
        return found

    def _lookup(self, code: int, sample_id: SampleId, annotation_id: int) -> int | None:
        """Row of one id of origin ``code`` (its look-up table for dense int ids, else the
        dict), or None."""
        if annotation_id == 0 and type(sample_id) is int:
            lut = self._luts.get(code)
            if lut is not None and sample_id >= 0:
                row = lut.get_one(sample_id)
                if row >= 0:
                    return row
        return self._row_of.get((code, sample_id, annotation_id))

    def _index_ints(self, code: int, ids: list[SampleId], rows: np.ndarray) -> np.ndarray:
        """Put dense non-negative int ids of origin ``code`` into its look-up table; return
        which ones went in."""
        is_int = np.fromiter((type(s) is int and 0 <= s < 2**63 for s in ids), dtype=bool,
                             count=len(ids))
        if not is_int.any():
            return is_int
        s_arr = np.fromiter((s if ok else 0 for s, ok in zip(ids, is_int)), dtype=np.int64,
                            count=len(ids))
        top = int(s_arr[is_int].max())
        if top >= _LUT_SLACK * max(self._n, _LUT_FLOOR):
            return np.zeros(len(ids), dtype=bool)  # sparse ids: the dict serves them
        lut = self._luts.get(code)
        if lut is None:
            lut = self._luts[code] = DenseIndex()
        lut.put(s_arr[is_int], rows[is_int])
        return is_int

    def origin_code_of(self, origin: str, argument: str = "origin") -> int:
        """The code of a known origin; ``InvalidValueError`` listing the known ones otherwise."""
        try:
            return self.origins.index(origin)
        except ValueError:
            raise InvalidValueError(f"{argument}: unknown origin {origin!r}; known: "
                                    f"{self.origins or 'none'}") from None

    def rows_for(self, sample_ids, annotation_id: int = 0, argument: str = "sample_ids",
                 origin: str | None = None) -> np.ndarray:
        """Rows of known ids, in the given order.

        ``origin`` (a known origin) says which origin's samples are meant. Without it, an id
        resolves to the one origin that holds it.

        Raises
        ------
        UnknownSampleError
            If any id is not in the table (the error lists the first ones); nothing is
            returned then.
        AmbiguousSampleError
            If ``origin`` is None and an id exists in several origins (the error names them).
        InvalidTypeError
            If an id is not an int or a str.
        InvalidValueError
            An unknown ``origin``.
        """
        codes = [self.origin_code_of(origin)] if origin is not None else \
            list(range(len(self.origins)))
        if annotation_id == 0:
            rows = self._rows_from_luts(codes, sample_ids, argument)
            if rows is not None:
                return rows
        ids = normalize_ids(sample_ids, argument)
        found = np.full(len(ids), -1, dtype=np.int64)
        lookup = self._lookup
        for code in codes:
            mine = np.fromiter(((r if (r := lookup(code, s, annotation_id)) is not None else -1)
                                for s in ids), dtype=np.int64, count=len(ids))
            self._merge(found, mine, ids, argument)
        if found.size and found.min() < 0:
            missing = [s for s, r in zip(ids, found) if r < 0]
            raise UnknownSampleError(missing, argument)
        return found

    def _rows_from_luts(self, codes: list[int], sample_ids, argument: str) -> np.ndarray | None:
        """The fast path for int ids in an array that the origins' look-up tables hold all of;
        None when it does not apply (the caller takes the general path)."""
        arr = as_int_array(sample_ids)
        if arr is None or (self._sparse_ints and not self._sparse_ints.isdisjoint(codes)):
            return None
        if arr.size == 0:
            return np.empty(0, dtype=np.int64)
        if len(codes) == 1 and codes[0] in self._luts:  # one origin: nothing can be ambiguous
            fast = self._luts[codes[0]].range_rows(arr)
            if fast is not None:
                return fast
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0:
            return None
        fast = self._rows_in_one_range(codes, arr, lo, hi)
        if fast is not None:
            return fast
        found = np.full(len(arr), -1, dtype=np.int64)
        for code in codes:
            lut = self._luts.get(code)
            if lut is None:
                continue
            self._merge(found, lut.get(arr), arr, argument)
        if found.min() < 0:
            return None  # unknown ids: the general path names them
        return found

    def _rows_in_one_range(self, codes: list[int], arr: np.ndarray, lo: int,
                           hi: int) -> np.ndarray | None:
        """Rows of ``arr`` (ids in ``[lo, hi]``) when one origin's contiguous id range holds
        every id and no other origin can hold any (so nothing is ambiguous); else None."""
        rows = None
        for code in codes:
            lut = self._luts.get(code)
            if lut is None or lut.disjoint(lo, hi):
                continue
            if rows is not None:
                return None  # a second origin may hold some: the general path decides
            rows = lut.range_rows(arr)
            if rows is None:
                return None
        return rows

    def _merge(self, found: np.ndarray, mine: np.ndarray, ids, argument: str) -> None:
        """Take the rows one more origin holds; two origins holding one id is ambiguous."""
        both = (found >= 0) & (mine >= 0)
        if both.any():
            i = int(np.flatnonzero(both)[0])
            sid = ids[i] if not isinstance(ids, np.ndarray) else int(ids[i])
            holders = [o for c, o in enumerate(self.origins)
                       if self._lookup(c, sid, int(self.annotation_id[found[i]])) is not None]
            raise AmbiguousSampleError(sid, holders, argument)
        np.copyto(found, mine, where=mine >= 0)

    def has(self, sample_id: SampleId, annotation_id: int = 0, origin: str | None = None) -> bool:
        """True when ``(sample_id, annotation_id)`` has a row (in ``origin``, or in any origin)."""
        if origin is not None:
            return origin in self.origins and \
                self._lookup(self.origins.index(origin), sample_id, annotation_id) is not None
        return any(self._lookup(c, sample_id, annotation_id) is not None
                   for c in range(len(self.origins)))

    def origins_of(self, sample_id: SampleId, annotation_id: int = 0) -> list[str]:
        """The origins that hold ``sample_id``."""
        return [o for c, o in enumerate(self.origins)
                if self._lookup(c, sample_id, annotation_id) is not None]

    def sample_rows(self, origin: str | None = None) -> np.ndarray:
        """Rows with annotation_id 0, optionally of one origin."""
        mask = self.annotation_id[: self._n] == 0
        if origin is not None:
            if origin not in self.origins:
                return np.empty(0, dtype=np.int64)
            mask &= self.origin_code[: self._n] == self.origins.index(origin)
        return np.flatnonzero(mask)

    def ids_of(self, rows: np.ndarray) -> list[SampleId]:
        """Sample ids of ``rows`` (int64 row positions), as a list of int/str."""
        return self.sample_id[rows].tolist()

    # ---------------------------------------------------------------- hot-path writes
    def last_occurrences(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:func:`last_occurrences` of rows of this table."""
        return last_occurrences(rows, self._n)

    def write_signal(self, rows: np.ndarray, name: str, values: np.ndarray) -> None:
        """Set the latest value of a per-sample signal for ``rows`` (creates the
        ``signals//<name>`` column, NaN elsewhere); the rows count as changed."""
        self.signal_array(name)[rows] = values
        self._changed[rows] = True

    def take_changed(self, since: int) -> np.ndarray:
        """Rows written by :meth:`write_signal` or :meth:`write_column` since the last call,
        plus every row from ``since`` on (rows added since then), ascending; the marks are cleared. Writes elsewhere (tags, discards,
        :meth:`signal_array`) are not tracked: what an incremental snapshot needs."""
        n = self._n
        changed = self._changed[:n]
        changed[since:] = True
        rows = np.flatnonzero(changed)
        changed[rows] = False
        return rows

    def signal_array(self, name: str) -> np.ndarray:
        """The whole float64 column of per-sample signal ``name`` (created, NaN, when new);
        writes into it change the table."""
        col = signal_column(name)
        arr = self.signals.get(col)
        if arr is None:
            arr = self.signals[col] = np.full(self._cap, np.nan)
        return arr

    def write_column(self, column: str, rows: np.ndarray, values: np.ndarray) -> None:
        """Write fixed column ``column`` (``target``, ``prediction``, ``last_step``,
        ``discarded``) for ``rows`` (an index array or a slice; they count as changed). Writing only NaN to a column that holds no value yet keeps it free."""
        arr = getattr(self, column)
        if _is_lazy(arr):
            values = np.asarray(values)
            if values.dtype.kind == "f" and np.isnan(values).all():
                return
            arr = self.writable(column)
        arr[rows] = values
        self._changed[rows] = True

    def writable(self, column: str) -> np.ndarray:
        """The whole array of fixed column ``column`` (``annotation_id``, ``origin_code``,
        ``target``, ``prediction``, ``discarded``, ``last_step``), allocated now if it held no
        value yet; writes into it change the table."""
        arr = getattr(self, column)
        if _is_lazy(arr):
            arr = arr.copy()
            setattr(self, column, arr)
        return arr

    # ---------------------------------------------------------------- tags and discards
    def set_discarded(self, rows: np.ndarray, value: bool) -> None:
        """Mark ``rows`` discarded (``value=True``) or active, and bump ``discard_version``."""
        self.discarded[rows] = value
        self.discard_version += 1

    def ensure_bool_tag(self, name: str) -> np.ndarray:
        """The bool column of tag ``name`` (created empty); ``ValueError`` if the name is a
        categorical tag."""
        col = tag_column(name)
        if col in self.cat_tags:
            raise InvalidValueError(f"tag: {name!r} is a categorical tag; use set_categorical_tag")
        if col not in self.bool_tags:
            self.bool_tags[col] = np.zeros(self._cap, dtype=bool)
        return self.bool_tags[col]

    def ensure_categorical(self, name: str, values: list[str]) -> CategoricalColumn:
        """The :class:`CategoricalColumn` of ``name``, created or extended with ``values``;
        ``ValueError`` if the name is a boolean tag."""
        col = tag_column(name)
        if col in self.bool_tags:
            raise InvalidValueError(f"name: {name!r} is already a boolean tag; pick another name")
        cat = self.cat_tags.get(col)
        if cat is None:
            cat = self.cat_tags[col] = CategoricalColumn(self._cap, values)
        else:
            for v in values:
                cat.code_of(v)
        return cat

    def tag_mask(self, name: str) -> np.ndarray:
        """Boolean membership over all rows: a boolean tag, or "has any value" for a categorical
        one.

        Raises ``KeyError`` naming the tag when it does not exist.
        """
        col = tag_column(name)
        if col in self.bool_tags:
            return self.bool_tags[col][: self._n]
        if col in self.cat_tags:
            return self.cat_tags[col].codes[: self._n] >= 0
        raise UnknownNameError(f"tag: no tag named {name!r}; known tags: {self.tag_names()}")

    def registry_key(self) -> tuple:
        """Changes when a tag is created or a categorical value registered (not on membership)."""
        return (tuple(self.bool_tags),
                tuple((c, len(cat.values)) for c, cat in self.cat_tags.items()))

    def tag_names(self) -> list[str]:
        """Names of every tag (boolean first, then categorical), without the ``tag:`` prefix."""
        return [c[len(TAG_PREFIX):] for c in [*self.bool_tags, *self.cat_tags]]

    @property
    def nbytes(self) -> int:
        """Bytes held by the table: its column arrays (at capacity), the id column, the
        look-up tables and the id dict (its slots, not the id objects)."""
        import sys

        arrays = [self.annotation_id, self.origin_code, self.target, self.prediction,
                  self.discarded, self.last_step, self._changed, *self.signals.values(),
                  *self.bool_tags.values(), *(c.codes for c in self.cat_tags.values())]
        return sum(a.nbytes for a in arrays if not _is_lazy(a)) + self.sample_id.nbytes + \
            sum(lut.nbytes for lut in self._luts.values()) + sys.getsizeof(self._row_of)

    # ---------------------------------------------------------------- views
    def counts(self) -> tuple[int, int]:
        """(total, active) over rows with annotation_id 0."""
        mask = self.annotation_id[: self._n] == 0
        total = int(mask.sum())
        return total, total - int((self.discarded[: self._n] & mask).sum())

    def dataframe(self, rows: np.ndarray | None = None):
        """A pandas copy with a ``(sample_id, annotation_id)`` MultiIndex.

        Columns: ``origin`` (categorical), ``target``, ``prediction`` (nullable ints when all
        known values are whole numbers), ``discarded``, one ``signals//<name>`` column per
        per-sample signal (float64, NaN = never recorded) and one ``tag:<name>`` column per tag
        (bool, or a pandas Categorical with the registered values). Discards and boolean tags
        belong to samples: on instance rows (``annotation_id >= 1``) they are missing (NA).

        ``rows`` (table row positions, e.g. from :meth:`rows_for`) keeps those rows only, in
        that order; the columns and their dtypes are those of the whole table (an empty
        ``rows`` gives an empty frame with every column).
        """
        import pandas as pd

        pick = np.arange(self._n) if rows is None else np.asarray(rows, dtype=np.int64)
        n = len(pick)
        instance = self.annotation_id[pick] > 0
        index = pd.MultiIndex.from_arrays(
            [pd.Index(self.sample_id[pick], dtype=object), self.annotation_id[pick]],
            names=["sample_id", "annotation_id"])
        data: dict[str, object] = {
            "origin": pd.Categorical.from_codes(self.origin_code[pick], categories=self.origins)
            if self.origins else pd.Categorical([None] * n),
            "target": _maybe_int(self.target[: self._n], pick),
            "prediction": _maybe_int(self.prediction[: self._n], pick),
            "discarded": _sample_level(self.discarded[pick], instance),
        }
        for col, arr in self.signals.items():
            data[col] = arr[pick]
        for col, arr in self.bool_tags.items():
            data[col] = _sample_level(arr[pick], instance)
        for col, cat in self.cat_tags.items():
            data[col] = pd.Categorical.from_codes(cat.codes[pick], categories=list(cat.values))
        return pd.DataFrame(data, index=index)


def _lazy(fill, dtype) -> np.ndarray:
    """A column of ``fill`` that takes no memory: a read-only view (capacity 0 here; grown by
    ``SampleTable._grow``)."""
    return np.broadcast_to(np.asarray(fill, dtype=dtype), (0,))


def _is_lazy(arr: np.ndarray) -> bool:
    """True for a column made by :func:`_lazy` (no memory of its own yet)."""
    return arr.ndim == 1 and arr.strides == (0,) and not arr.flags.writeable


def _maybe_int(values: np.ndarray, pick: np.ndarray):
    """``values[pick]``: nullable integers when every known value of the whole column is whole
    (class labels), else floats (so a subset has the dtype of the whole table)."""
    import pandas as pd

    known = values[~np.isnan(values)]
    if known.size and np.all(known == np.round(known)):
        return pd.Series(values[pick]).astype("Int64").array
    return values[pick]


def _sample_level(values: np.ndarray, instance: np.ndarray):
    """A bool column, as nullable booleans with NA on instance rows when there are any."""
    if not instance.any():
        return values.copy()
    import pandas as pd

    out = pd.array(values, dtype="boolean")
    out[instance] = pd.NA
    return out
