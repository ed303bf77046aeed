"""The sorted rows of grid pages, kept current as training changes the values sorted by.

:class:`GridSorter` serves :meth:`Session.grid_page` for sorts by a value that changes while
training runs: a signal's latest value (and ``target``/``prediction``), a statistic of each
sample's history (``signals//<name>@<stat>``) and caller-given values (the suspects ranking).
Each sort key has a :class:`~weightslab_nb.ledger.live_order.LiveOrder`; what tells it which
rows changed depends on where the values live:

* history statistics: the rows the running statistics touched since the last page
  (:meth:`SampleStats.changes <weightslab_nb.history.sample_stats.SampleStats.changes>`), so a
  page reads only the changed rows' values;
* table columns and caller-given values: the current values compared with those of the last
  full sort (one vectorised pass, no sort), since writers update them in place.

Filters are applied while the order is walked (:func:`~weightslab_nb.ledger.query.live_rows`);
their mask and counts are cached while the table's rows and discards stand still
(:class:`~weightslab_nb.ledger.query.FilterCache`).
"""

from __future__ import annotations

import numpy as np

from weightslab_nb.ledger.live_order import LiveOrder, LiveOrders
from weightslab_nb.ledger.query import (
    FilterCache,
    Filtered,
    GridQuery,
    column_values,
    live_rows,
)


class GridSorter:
    """Sorted rows of a session's grid pages (see the module doc); thread-safe: works under
    the session lock."""

    def __init__(self, session):
        self.session = session
        self.orders = LiveOrders()
        self.filters = FilterCache()

    @staticmethod
    def handles(query: GridQuery, sort_values) -> bool:
        """True for the sorts this class serves: caller-given values, history statistics, and
        columns other than ``sample_id``."""
        return sort_values is not None or (query.sort_by is not None
                                           and query.sort_by != "sample_id")

    def rows(self, query: GridQuery, sort_values=None,
             whole: bool = False) -> tuple[np.ndarray, Filtered]:
        """``(rows, filtered)``: the rows of the page ``query`` asks for (every matched row
        with ``whole``) in :func:`~weightslab_nb.ledger.query.select_rows` order, and the
        filter's mask and counts. Raises ``InvalidValueError`` for an unknown sort column,
        statistic, origin, tag or signal."""
        s = self.session
        if sort_values is None and "@" in query.sort_by:
            s.history.fold_stats()  # the bulk of the folding, outside the session lock
        with s.lock:  # one lock for the orders and the table: no lock-order to get wrong
            if sort_values is not None:
                order, keys, n = self._given(query, np.asarray(sort_values, dtype=np.float64))
            elif "@" in query.sort_by:
                order, keys, n = self._statistic(query)
            else:
                order, keys, n = self._column(query)
            filtered = self.filters.get(s.table, query)
            n_now = len(filtered.mask)
            if n_now > n:  # rows registered since the values were read: sort them last
                order.mark(np.empty(0, dtype=np.int64), n_now)
                keys = np.concatenate([keys, np.full(len(order.dirty_rows) - len(keys),
                                                     np.nan)])
            return live_rows(s.table, query, order, keys, filtered, whole), filtered

    def _statistic(self, query: GridQuery) -> tuple[LiveOrder, np.ndarray, int]:
        """The order by a history statistic, brought up to date from the rows whose
        statistic changed; the dirty rows' values; the table rows it covers."""
        s = self.session
        column, stat = query.sort_by.rsplit("@", 1)
        name = s.history_signal(column, stat)
        order = self.orders.get(("stat", name, stat), query.descending)
        n = len(s.table)
        full = None
        with s.history.stats_view(name) as (stats, sig):
            rows, token = stats.changes(sig, order.token)
            if rows is not None and order.order is not None:
                order.mark(rows, n)
            if rows is None or order.stale(n):
                full = stats.statistics(sig, n, (stat,))[stat]
            else:
                keys = stats.statistics_at(sig, order.dirty_rows, (stat,))[stat]
        if full is not None:  # sorted outside the statistics' lock (the writer folds there)
            order.rebuild(full)
            keys = np.empty(0)
        order.token = token
        return order, keys, n

    def _column(self, query: GridQuery) -> tuple[LiveOrder, np.ndarray, int]:
        """The order by a table column."""
        table = self.session.table
        values = column_values(table, query.sort_by, "sort_by")
        return self._compared(("column", query.sort_by), query.descending, values)

    def _given(self, query: GridQuery, values: np.ndarray) -> tuple[LiveOrder, np.ndarray, int]:
        """The order by caller-given values (padded with NaN to the table, as
        :func:`~weightslab_nb.ledger.query.select_rows` does)."""
        n = len(self.session.table)
        if len(values) < n:
            values = np.concatenate([values, np.full(n - len(values), np.nan)])
        return self._compared(("given", query.sort_by), query.descending, values[:n])

    def _compared(self, key, descending: bool, values: np.ndarray):
        order = self.orders.get(key, descending)
        if order.base is not None:
            order.compare(values)
        if order.base is None or order.stale(len(values)):
            order.rebuild(values, keep_base=True)
        return order, values[order.dirty_rows], len(values)
