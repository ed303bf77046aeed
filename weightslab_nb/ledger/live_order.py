"""Sorted orders of the sample table that follow changing values without a full sort per page.

While training runs, the values the grid sorts by (a signal's latest value, a statistic of each
sample's history, a ranking) change a few rows at a time, and each page request sees some
changed. Re-sorting a million rows for every page costs ~0.1 s. A :class:`LiveOrder` keeps
instead the last full order of one sort key (every table row, filters not applied) and the set
of rows whose key may have changed since ("dirty" rows). A page is the full order with the
dirty rows taken out, merged with the dirty rows sorted by their current keys; filters are
applied to the rows walked, so the first pages cost ``O(offset + limit + d log d)`` for ``d``
dirty rows. Once more than ``1 / REBUILD_FRACTION`` of the rows are dirty the next page sorts
everything again, so the full sorts amortise over many changes.

The order is that of :func:`~weightslab_nb.ledger.query.select_rows`: by the sort key (the
value, negated when descending; NaN last in both directions), equal keys by table row.

Not thread-safe by itself: :meth:`Session.grid_page` serialises its calls.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

import numpy as np

#: A full sort is redone once more than ``n / REBUILD_FRACTION`` rows are dirty.
REBUILD_FRACTION = 8
#: ... but never for fewer dirty rows than this (small tables).
MIN_DIRTY = 1024


def sort_key(values: np.ndarray, descending: bool) -> np.ndarray:
    """float64 keys ascending in the wanted order: ``-values`` when descending, NaN as +inf."""
    values = np.asarray(values, dtype=np.float64)
    return np.where(np.isnan(values), np.inf, -values if descending else values)


def _lex_order(keys: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Positions sorting ``(keys, rows)`` pairs: by key, then by row."""
    return np.lexsort((rows, keys))


class LiveOrder:
    """The order of the table rows by one sort key, kept current from the rows that changed.

    Parameters
    ----------
    descending : bool
        The direction of the sort (NaN last either way).

    Feed it with :meth:`rebuild` (every row's value), :meth:`mark` (rows whose value may have
    changed) or :meth:`compare` (every row's current value, diffed against the last full
    sort); read it with :meth:`first` and :meth:`full`, passing the current keys of the dirty
    rows (:attr:`dirty_rows`).
    """

    def __init__(self, descending: bool):
        self.descending = descending
        self.order: np.ndarray | None = None  # rows [0, n0) by (key, row); int32 if it fits
        self.keys: np.ndarray | None = None   # key of each row of ``order`` (or from base)
        self.base: np.ndarray | None = None   # key by row at the last sort (for compare)
        self.dirty = np.zeros(0, dtype=bool)  # by row: its key may differ from ``keys``
        self.dirty_rows = np.empty(0, dtype=np.int64)  # the rows marked, ascending
        self.n_seen = 0    # table rows known (marked dirty past the last full sort)
        self.token = None  # the caller's position in its change journal at the last update
        self.sorts = 0     # full sorts done (tests and benchmarks read it)

    @property
    def n0(self) -> int:
        """Rows the last full sort covered."""
        return 0 if self.order is None else len(self.order)

    def stale(self, n: int) -> bool:
        """True if the next page should sort everything (no order yet, or too many dirty
        rows among ``n``)."""
        return self.order is None or len(self.dirty_rows) > max(MIN_DIRTY, n // REBUILD_FRACTION)

    def rebuild(self, values: np.ndarray, keep_base: bool = False) -> None:
        """Sort every row by ``values`` (one per table row); ``keep_base`` keeps a copy of the
        values for :meth:`compare` (the keys in order are then derived from it, not kept)."""
        from weightslab_nb.ledger.query import stable_argsort

        values = np.asarray(values, dtype=np.float64)
        key = sort_key(values, self.descending)
        order = stable_argsort(key)
        self.keys = None if keep_base else key[order]
        del key
        self.order = order.astype(np.int32) if len(order) < 2**31 else order
        self.base = values.copy() if keep_base else None
        self.dirty = np.zeros(len(values), dtype=bool)
        self.dirty_rows = np.empty(0, dtype=np.int64)
        self.n_seen = len(values)
        self.sorts += 1

    def _keys_of(self, rows: np.ndarray, positions) -> np.ndarray:
        """The last full sort's keys of ``rows`` (at ``positions`` of the order)."""
        if self.keys is not None:
            return self.keys[positions]
        return sort_key(self.base[rows], self.descending)

    def mark(self, rows: np.ndarray, n: int) -> None:
        """Rows whose key may have changed (any order, repeats allowed), and every row of
        ``[n0, n)`` (rows added since the last full sort)."""
        self._grow(n)
        rows = np.asarray(rows, dtype=np.int64)
        rows = rows[rows < n]
        if len(rows):
            new = np.unique(rows[~self.dirty[rows]])
            if len(new):
                self.dirty[new] = True
                self.dirty_rows = np.union1d(self.dirty_rows, new)

    def compare(self, values: np.ndarray) -> None:
        """Mark as dirty exactly the rows whose value in ``values`` (float64, one per table
        row) differs from the last full sort's (made with ``keep_base=True``; compared bit for
        bit, so NaN equals NaN), and the rows added since."""
        n0, n = self.n0, len(values)
        changed = np.flatnonzero(values[:n0].view(np.int64) != self.base.view(np.int64))
        self.dirty[self.dirty_rows] = False
        self.dirty_rows = changed
        self.dirty[changed] = True
        self.n_seen = n0
        self._grow(n)

    def _grow(self, n: int) -> None:
        if len(self.dirty) < n:
            grown = np.zeros(max(n, 2 * len(self.dirty)), dtype=bool)
            grown[:len(self.dirty)] = self.dirty
            self.dirty = grown
        if n > self.n_seen:  # rows added since: dirty until the next full sort
            added = np.arange(self.n_seen, n, dtype=np.int64)
            added = added[~self.dirty[added]]
            self.dirty[added] = True
            self.dirty_rows = np.union1d(self.dirty_rows, added)
            self.n_seen = n

    def first(self, k: int, dirty_keys: np.ndarray,
              accept: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """The first ``k`` rows (fewer if fewer pass) of the current order among the rows
        ``accept`` keeps (a function of an int64 row array giving a bool array).
        ``dirty_keys``: the current value of each row of :attr:`dirty_rows`."""
        rows, keys = self._clean_prefix(k, accept)
        d_rows, d_keys = self._dirty_sorted(dirty_keys, accept)
        if len(d_rows):
            rows = np.concatenate([rows, d_rows[:k]])
            keys = np.concatenate([keys, d_keys[:k]])
            rows = rows[_lex_order(keys, rows)]
        return rows[:k]

    def full(self, dirty_keys: np.ndarray, accept: np.ndarray) -> np.ndarray:
        """Every row of the current order that the bool array ``accept`` (one per table row)
        keeps; ``dirty_keys`` as for :meth:`first`."""
        order = self.order
        keep = ~self.dirty[order] & accept[order]
        rows = order[keep].astype(np.int64)
        d_rows, d_keys = self._dirty_sorted(dirty_keys, lambda r: accept[r])
        if not len(d_rows):
            return rows
        keys = self._keys_of(rows, keep)
        at = np.searchsorted(keys + 1j * rows, d_keys + 1j * d_rows)  # by (key, row)
        return np.insert(rows, at, d_rows)

    def _clean_prefix(self, k: int, accept) -> tuple[np.ndarray, np.ndarray]:
        """The first ``k`` accepted rows of the last full order that are not dirty, with their
        keys; walks the order in growing chunks."""
        parts_r, parts_k, got, pos, step = [], [], 0, 0, max(4 * k, 1024)
        order = self.order
        while got < k and pos < len(order):
            r = order[pos:pos + step].astype(np.int64)
            ok = ~self.dirty[r] & accept(r)
            parts_r.append(r[ok])
            parts_k.append(self._keys_of(r[ok], np.flatnonzero(ok) + pos))
            got += len(parts_r[-1])
            pos += step
            step *= 2
        if not parts_r:
            return np.empty(0, dtype=np.int64), np.empty(0)
        return np.concatenate(parts_r)[:k], np.concatenate(parts_k)[:k]

    def _dirty_sorted(self, dirty_keys, accept) -> tuple[np.ndarray, np.ndarray]:
        rows = self.dirty_rows
        if not len(rows):
            return rows, np.empty(0)
        keys = sort_key(dirty_keys, self.descending)
        ok = accept(rows)
        rows, keys = rows[ok], keys[ok]
        at = _lex_order(keys, rows)
        return rows[at], keys[at]


class LiveOrders:
    """A few :class:`LiveOrder` s by sort source (least recently used dropped beyond
    ``keep``), one per ``(source, descending)`` key."""

    def __init__(self, keep: int = 4):
        self.keep = keep
        self._orders: OrderedDict = OrderedDict()

    def get(self, key, descending: bool) -> LiveOrder:
        """The order kept for ``(key, descending)``, new if none."""
        k = (key, descending)
        order = self._orders.pop(k, None)
        if order is None:
            order = LiveOrder(descending)
        self._orders[k] = order
        while len(self._orders) > self.keep:
            self._orders.popitem(last=False)
        return order

    def clear(self) -> None:
        """Forget every order."""
        self._orders.clear()
