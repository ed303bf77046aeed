"""The last-batch hand-off: which samples the calling thread's watched loader yielded last.

A watched loader hands over the ids it yields together with their sample-table rows. A loss
called right after with those very ids (the same object) is recorded without looking the ids up
again, and a loss called without ``batch_ids=`` uses them. The hand-off is per thread, so an
evaluation pass and the training loop never see each other's batches.
"""

from __future__ import annotations

import threading

import numpy as np

_current = threading.local()


def hand_over(table, ids, rows: np.ndarray) -> None:
    """Remember, for the calling thread, that ``ids`` (the object a loader is about to yield)
    are the rows ``rows`` of ``table``."""
    _current.ids, _current.rows, _current.table = ids, rows, table


def last_batch_ids():
    """Ids of the batch the calling thread's watched loader yielded last (or None)."""
    return getattr(_current, "ids", None)


def last_batch_origin(table) -> str | None:
    """Origin of the batch the calling thread's loader handed over last for ``table`` (None
    when it handed over nothing, or an empty batch)."""
    rows = getattr(_current, "rows", None)
    if rows is None or getattr(_current, "table", None) is not table or not len(rows):
        return None
    return table.origins[table.origin_code[rows[0]]]


def last_batch_rows(table, ids) -> np.ndarray | None:
    """Rows of ``ids`` in ``table`` when they are the very object the calling thread's loader
    handed over for that table, else None (the caller looks the ids up then)."""
    if ids is not None and getattr(_current, "ids", None) is ids and _current.table is table:
        return _current.rows
    return None
