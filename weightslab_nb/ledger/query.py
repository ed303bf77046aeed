"""Paged, sorted and filtered views of the sample table (what the sample grid asks for)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

import numpy as np

from weightslab_nb.errors import InvalidValueError
from weightslab_nb.ledger.sample_table import SampleTable, tag_column

DISCARDED_FILTERS = ("all", "active", "discarded")
MAX_PAGE = 500
FIXED_SORT_COLUMNS = ("sample_id", "target", "prediction")


@dataclass(frozen=True)
class GridQuery:
    """One page request.

    Attributes
    ----------
    offset, limit : int
        Rows ``[offset, offset + limit)`` of the filtered, sorted view; ``1 <= limit <= 500``.
    sort_by : str or None
        ``"sample_id"``, ``"target"``, ``"prediction"`` or a ``signals//<name>`` column; None keeps
        insertion order. Missing values sort last in both directions.
    descending : bool
    tags : tuple of str
        Every listed tag is required: a boolean tag name, or ``"name=value"`` for a categorical tag.
    discarded : {"all", "active", "discarded"}
    origin : str or None
    signal, signal_min, signal_max : str, float, float
        Keep rows whose ``signal`` column lies in ``[signal_min, signal_max]`` (either bound may be
        None).
    sample_ids : tuple, optional
        Keep only these samples, e.g. the batch of one step: ``(origin, sample_id)`` refs (the
        sample of that origin) and bare ids (the samples of that id in every origin). Unknown
        ones match nothing.
    discarded_last : bool, default True
        With a sort (``sort_by`` or ``sort_values``), discarded samples come after every active
        one (each group in the sort's order): their values are stale, since training skips them.
        Recorded order (``sort_by=None``) is left alone.
    """

    offset: int = 0
    limit: int = 48
    sort_by: str | None = None
    descending: bool = True
    tags: tuple[str, ...] = field(default_factory=tuple)
    discarded: str = "all"
    origin: str | None = None
    signal: str | None = None
    signal_min: float | None = None
    signal_max: float | None = None
    sample_ids: tuple | None = None
    discarded_last: bool = True

    @classmethod
    def from_message(cls, msg: dict) -> "GridQuery":
        """Validate a browser message; raise ``ValueError`` naming the first bad field."""
        if not isinstance(msg, dict):
            raise InvalidValueError("page request: expected an object")
        names = {f.name for f in fields(cls)}
        kw = {k: v for k, v in msg.items() if k in names}
        if isinstance(kw.get("sample_ids"), list):
            kw["sample_ids"] = tuple(tuple(s) if isinstance(s, list) else s
                                     for s in kw["sample_ids"])
        q = cls(**{**kw, "tags": tuple(kw.get("tags") or ())})
        q.validate()
        return q

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first field that is out of range or of a wrong type."""
        for name in ("offset", "limit"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool):
                raise InvalidValueError(f"{name}: expected an integer, got {v!r}")
        if self.offset < 0:
            raise InvalidValueError(f"offset: must be >= 0, got {self.offset}")
        if not 1 <= self.limit <= MAX_PAGE:
            raise InvalidValueError(f"limit: must be in 1..{MAX_PAGE}, got {self.limit}")
        for name in ("descending", "discarded_last"):
            if not isinstance(getattr(self, name), bool):
                raise InvalidValueError(f"{name}: expected true/false, "
                                        f"got {getattr(self, name)!r}")
        if self.discarded not in DISCARDED_FILTERS:
            raise InvalidValueError(f"discarded: expected one of {DISCARDED_FILTERS}, "
                                    f"got {self.discarded!r}")
        for name in ("sort_by", "origin", "signal"):
            v = getattr(self, name)
            if v is not None and not isinstance(v, str):
                raise InvalidValueError(f"{name}: expected a string or null, got {v!r}")
        if not all(isinstance(t, str) and t for t in self.tags):
            raise InvalidValueError(f"tags: expected a list of tag names, got {list(self.tags)!r}")
        if self.sample_ids is not None and not (
                isinstance(self.sample_ids, tuple) and all(_is_sample(s)
                                                           for s in self.sample_ids)):
            raise InvalidValueError("sample_ids: expected a list of sample ids (int or str) "
                                    "and (origin, sample_id) refs")
        for name in ("signal_min", "signal_max"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))
                                  or math.isnan(v)):
                raise InvalidValueError(f"{name}: expected a number or null, got {v!r}")


@dataclass
class GridPage:
    """The answer to a :class:`GridQuery`; see ``docs/internals.md`` for the row layout."""

    total: int
    active: int
    matched: int
    loss_column: str | None
    columns: list[str]
    rows: list[dict]
    changed: int = 0       # positions of the matched rows a re-sort would move (HeldOrder)
    changed_page: int = 0  # cells of this page whose sample a re-sort would change
    fresh: bool = True
    snapshot: int = 0      # the HeldOrder's snapshot the page was served from (0: none)


SORT_STATS = ("mean", "last", "max")


def sortable_columns(table: SampleTable) -> list[str]:
    """What the grid can sort by: fixed columns, each signal's latest value, and
    ``<signal column>@<stat>`` for a statistic of each sample's history."""
    return [*FIXED_SORT_COLUMNS, *table.signals,
            *(f"{c}@{s}" for c in table.signals for s in SORT_STATS)]


def select_rows(table: SampleTable, q: GridQuery,
                sort_values: np.ndarray | None = None) -> np.ndarray:
    """Rows (annotation_id 0) passing the filters of ``q``, sorted as asked.

    ``sort_values`` (one per table row) replaces the column named by ``q.sort_by``, for sorts
    by a history statistic. Raises ``ValueError`` for an unknown sort column, origin, tag or
    signal.
    """
    n = len(table)
    rows = np.flatnonzero(filter_mask(table, q))
    if sort_values is not None and len(sort_values) < n:  # rows registered since computed
        sort_values = np.concatenate([sort_values, np.full(n - len(sort_values), np.nan)])
    if sort_values is not None:
        rows = rows[_order_values(sort_values[rows], q.descending)]
    elif q.sort_by is not None:
        rows = rows[_order(table, rows, q.sort_by, q.descending)]
    if q.discarded_last and (sort_values is not None or q.sort_by is not None):
        disc = table.discarded[rows]
        if disc.any():
            rows = np.concatenate([rows[~disc], rows[disc]])
    return rows


def filter_mask(table: SampleTable, q: GridQuery) -> np.ndarray:
    """One bool per table row: the rows (annotation_id 0) passing the filters of ``q``.
    Raises ``ValueError`` for an unknown origin, tag or signal."""
    n = len(table)
    mask = table.annotation_id[:n] == 0
    if q.origin is not None:
        if q.origin not in table.origins:
            raise InvalidValueError(f"origin: unknown origin {q.origin!r}; known: {table.origins}")
        mask &= table.origin_code[:n] == table.origins.index(q.origin)
    if q.discarded != "all":
        disc = table.discarded[:n]
        mask &= disc if q.discarded == "discarded" else ~disc
    for spec in q.tags:
        mask &= tag_filter(table, spec)
    if q.sample_ids is not None:
        mask &= sample_mask(table, q.sample_ids)
    if q.signal is not None:
        values = column_values(table, q.signal, "signal")
        with np.errstate(invalid="ignore"):
            if q.signal_min is not None:
                mask &= values >= q.signal_min
            if q.signal_max is not None:
                mask &= values <= q.signal_max
    return mask


@dataclass
class Filtered:
    """The rows a query's filters keep, and the counts a page reports."""

    mask: np.ndarray  # bool per table row
    matched: int      # rows kept
    matched_active: int  # rows kept that are not discarded
    total: int        # rows of annotation_id 0 (the table's counts)
    active: int


class FilterCache:
    """:func:`filter_mask` and the counts of the last query, reused while the table's rows and
    discards stand still (``len(table)``, ``table.discard_version``): filters by origin and
    discard state only depend on those. Queries with tags, samples or a signal range are
    computed every time. Not thread-safe by itself."""

    def __init__(self):
        self._key = None
        self._value: Filtered | None = None

    def get(self, table: SampleTable, q: GridQuery) -> Filtered:
        """The filter of ``q`` on ``table`` now."""
        key = None
        if not q.tags and q.sample_ids is None and q.signal is None:
            key = (id(table), len(table), table.discard_version, q.origin, q.discarded)
            if key == self._key:
                return self._value
        n = len(table)
        mask = filter_mask(table, q)
        disc = table.discarded[:n]
        total, active = table.counts()
        matched = int(np.count_nonzero(mask))
        out = Filtered(mask, matched, matched - int(np.count_nonzero(mask & disc)),
                       total, active)
        if key is not None:
            self._key, self._value = key, out
        return out


def live_rows(table: SampleTable, q: GridQuery, order, dirty_keys: np.ndarray,
              filtered: Filtered, whole: bool = False) -> np.ndarray:
    """The rows of the page ``q`` asks for (every matched row with ``whole``), sorted by a
    :class:`~weightslab_nb.ledger.live_order.LiveOrder` of its sort key, the same rows in the
    same order as :func:`select_rows` (discarded rows last with ``q.discarded_last``).
    ``dirty_keys``: the current sort values of ``order.dirty_rows``."""
    n = len(filtered.mask)
    mask, disc = filtered.mask, table.discarded[:n]
    if not q.discarded_last:
        if whole:
            return order.full(dirty_keys, mask)
        return order.first(q.offset + q.limit, dirty_keys, lambda r: mask[r])[q.offset:]
    if whole:
        return np.concatenate([order.full(dirty_keys, mask & ~disc),
                               order.full(dirty_keys, mask & disc)])
    start, end, split = q.offset, q.offset + q.limit, filtered.matched_active
    parts = []
    if start < split:
        parts.append(order.first(min(end, split), dirty_keys,
                                 lambda r: mask[r] & ~disc[r])[start:])
    if end > split:
        parts.append(order.first(end - split, dirty_keys,
                                 lambda r: mask[r] & disc[r])[max(start - split, 0):])
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


class OrderCache:
    """The last fresh order :func:`select_rows` gave, reused while nothing it depends on moved.

    A grid asks for page after page of one query (scrolling, polling) while the table often
    stands still (training paused or finished): re-filtering and re-sorting a million rows for
    each page would cost tens of milliseconds. The key is the query without its window
    (``offset``/``limit``) plus a version the caller reads *before* draining the recording
    queue (``session.changes.table``: rows, latest values, tags, discards), so a value recorded
    while the order was computed makes the next key differ. Sorts by caller-given
    ``sort_values`` are never cached (the caller's array has no version).

    Not thread-safe by itself: :meth:`Session.grid_page` uses it under the session lock.
    """

    def __init__(self):
        self._key = None
        self._rows: np.ndarray | None = None
        self._counts: tuple[int, int] = (0, 0)

    def get(self, key) -> tuple[np.ndarray, tuple[int, int]] | None:
        """``(rows, (total, active))`` kept for ``key``, or None."""
        if self._rows is None or key != self._key:
            return None
        return self._rows, self._counts

    def put(self, key, rows: np.ndarray, counts: tuple[int, int]) -> None:
        """Keep ``rows`` and the table's ``(total, active)`` counts for ``key``."""
        self._key, self._rows, self._counts = key, rows, counts


class HeldOrder:
    """The order of a grid that holds still while training changes the values it sorts by.

    The first page of a query takes the fresh order (:func:`select_rows`) as a snapshot; later
    pages of the same query (every field but ``offset`` and ``limit``, with the same
    ``sort_values`` source) are served in the snapshot's order, so cells keep their places
    while their values update. Rows that no longer pass the filters drop out; rows that newly
    pass come after the snapshot's rows, in their fresh order. :meth:`serve` also says how many
    positions differ from the fresh order (what a "re-sort" would move). A new query, or
    ``resort=True``, takes the fresh order again.

    Not thread-safe by itself: :meth:`Session.grid_page` calls it under the session lock.
    """

    def __init__(self):
        self.key = None
        self.rows: np.ndarray | None = None
        self.snapshot = 0  # grows each time a fresh order is taken
        self._served = (None, None, 0)  # (fresh order, rows served, changed) of the last page

    def serve(self, key, fresh: np.ndarray, resort: bool = False) -> tuple[np.ndarray, int, bool]:
        """``(rows, changed, taken)``: the rows in the held order, how many positions differ
        from ``fresh``, and whether ``fresh`` was taken as the new snapshot."""
        fresh = np.asarray(fresh, dtype=np.int64)
        if resort or self.rows is None or key != self.key:
            self.key, self.rows = key, fresh.copy()
            self.snapshot += 1
            self._served = (fresh, self.rows, 0)
            return fresh, 0, True
        seen, rows, changed = self._served
        if fresh is seen:  # the same fresh order as last time (OrderCache): same answer
            return rows, changed, False
        kept = self.rows[np.isin(self.rows, fresh, assume_unique=True)]
        new = fresh[~np.isin(fresh, kept, assume_unique=True)]
        rows = np.concatenate([kept, new]) if len(new) else kept
        self.rows = rows
        changed = int(np.count_nonzero(rows != fresh))
        self._served = (fresh, rows, changed)
        return rows, changed, False

    def reset(self) -> None:
        """Forget the snapshot: the next page takes the fresh order."""
        self.key, self.rows = None, None
        self._served = (None, None, 0)


def _is_id(value) -> bool:
    return isinstance(value, (int, str)) and not isinstance(value, bool)


def _is_sample(value) -> bool:
    """A sample id, or an ``(origin, sample_id)`` ref."""
    if isinstance(value, tuple):
        return len(value) == 2 and isinstance(value[0], str) and _is_id(value[1])
    return _is_id(value)


def sample_mask(table: SampleTable, samples) -> np.ndarray:
    """Rows of ``samples``: refs ``(origin, sample_id)`` select that origin's sample, bare ids
    the sample of that id in every origin; unknown ones select nothing."""
    n = len(table)
    chosen = np.zeros(n, dtype=bool)
    by_origin: dict[str | None, list] = {}
    for s in samples:
        origin, sid = (s[0], s[1]) if isinstance(s, tuple) else (None, s)
        by_origin.setdefault(origin, []).append(sid)
    for origin, ids in by_origin.items():
        for o in (table.origins if origin is None else [origin]):
            if o not in table.origins:
                continue
            known = [s for s in ids if table.has(s, origin=o)]
            if known:
                chosen[table.rows_for(known, origin=o)] = True
    return chosen


def tag_filter(table: SampleTable, spec: str, argument: str = "tags") -> np.ndarray:
    """Rows having the tag ``spec`` (``"name"``, or ``"name=value"`` for one value of a
    categorical tag); ``InvalidValueError`` naming ``argument`` for an unknown tag or value."""
    name, sep, value = spec.partition("=")
    if not sep:
        try:
            return table.tag_mask(name)
        except KeyError:
            raise InvalidValueError(f"{argument}: no tag named {name!r}; known tags: "
                                    f"{table.tag_names()}") from None
    cat = table.cat_tags.get(tag_column(name))
    if cat is None:
        raise InvalidValueError(f"{argument}: {name!r} is not a categorical tag")
    if value not in cat.values:
        raise InvalidValueError(f"{argument}: {value!r} is not a value of {name!r}; values: "
                                f"{cat.values}")
    return cat.codes[: len(table)] == cat.values.index(value)


def column_values(table: SampleTable, column: str, argument: str) -> np.ndarray:
    """The values of ``target``, ``prediction`` or a ``signals//`` column, one per table row
    (a view); ``InvalidValueError`` naming ``argument`` for another column."""
    if column in ("target", "prediction"):
        return getattr(table, column)[: len(table)]
    if column not in table.signals:
        raise InvalidValueError(f"{argument}: unknown column {column!r}; "
                                f"sortable: {sortable_columns(table)}")
    return table.signals[column][: len(table)]


def _order(table: SampleTable, rows: np.ndarray, column: str, descending: bool) -> np.ndarray:
    if column == "sample_id":
        ids = table.sample_id[rows].tolist()
        # ints before strings; each group in its natural order
        order = sorted(range(len(ids)), key=lambda i: (isinstance(ids[i], str), ids[i]),
                       reverse=descending)
        return np.asarray(order, dtype=np.int64)
    return _order_values(column_values(table, column, "sort_by")[rows], descending)


def _order_values(values: np.ndarray, descending: bool) -> np.ndarray:
    """Positions of ``values`` in sort order, NaN last, equal values in their given order."""
    nan = np.isnan(values)
    key = np.where(nan, np.inf, -values if descending else values)
    return stable_argsort(key)


def stable_argsort(key: np.ndarray) -> np.ndarray:
    """``np.argsort(key, kind="stable")`` of a float64 array without NaN, several times faster
    on large arrays: an unstable (SIMD) argsort, then the runs of equal keys put back in
    position order by one int64 sort of ``(run, position)``."""
    n = len(key)
    if n < 4096:
        return np.argsort(key, kind="stable")
    order = np.argsort(key)
    ranked = key[order]
    tie = ranked[1:] == ranked[:-1]
    if not tie.any():
        return order
    run = np.empty(n, dtype=np.int64)
    run[0] = 0
    np.cumsum(~tie, out=run[1:])
    return np.sort(run * n + order) % n


def page_rows(table: SampleTable, rows: np.ndarray, loss_column: str | None) -> list[dict]:
    """Row dicts for the grid (NaN becomes None)."""
    out = []
    tag_cols = list(table.bool_tags.items())
    cat_cols = list(table.cat_tags.items())
    for r in rows.tolist():
        signals = {c: _num(a[r]) for c, a in table.signals.items()}
        origin = table.origins[table.origin_code[r]]
        out.append({
            "sample_id": table.sample_id[r],
            "origin": origin,
            "ref": [origin, table.sample_id[r]],
            "target": _num(table.target[r]),
            "prediction": _num(table.prediction[r]),
            "loss": signals.get(loss_column) if loss_column else None,
            "discarded": bool(table.discarded[r]),
            "tags": [c[4:] for c, a in tag_cols if a[r]],
            "categorical": {c[4:]: cat.values[cat.codes[r]] for c, cat in cat_cols
                            if cat.codes[r] >= 0},
            "signals": signals,
        })
    return out


def _num(v: float):
    v = float(v)
    if math.isnan(v):
        return None
    return int(v) if v.is_integer() and abs(v) < 2**53 else v
