"""The suspects ranking as the sample grid reads it: one cached ``wl.suspects`` per origin, the
score of every sample-table row (the "Suspects" sort preset), the evidence of the rows on a
page (cell tooltips and the suggested-class badge) and whether there is enough history for the
preset to become the grid's default sort.

``wl.suspects(origin)`` (:mod:`weightslab_nb.suspects`) costs a few DuckDB group-bys (~0.15 s
at a thousand samples, more with a long history). The grid must not pay that on every page
request, so :class:`SuspectRanking` (one per session, ``session.feature("suspect_ranking")``)
keeps the last result and computes again only when the history or the sample table changed
(``session.changes``) *and* at least :data:`MIN_INTERVAL` seconds (or :data:`COST_FACTOR`
times the last computation's duration, if longer) passed since the last computation ended:
while training runs, the ranking the grid shows is at most that old.

Enough history
--------------
An origin's ranking is **ready** when at least :data:`READY_SHARE` of its active (not
discarded) samples have :data:`READY_PRESENTATIONS` or more recorded values of the ranked loss
(with a classification loss, as many margins): about two epochs. Before that a sample's score
rests on one presentation, drawn at a random moment of the first epoch, and the order says more
about when a sample was seen than about its label. The grid adopts the preset as its default
sort once the origins it shows have a ready ranking (see ``js/src/lib/suspects.ts``); an
explicit sort the user chose always wins.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from weightslab_nb.errors import WeightslabError
from weightslab_nb.session import register_feature

log = logging.getLogger(__name__)

#: The ``sort_by`` of the grid's "Suspects" preset (most suspect first when descending).
SUSPECTS_SORT = "suspects"
#: Seconds between two computations while the history keeps changing.
MIN_INTERVAL = 3.0
#: ... and at least this many times the last computation's duration (a long history: the
#: grid's reader stays below ~1/6 of one core).
COST_FACTOR = 5.0
#: Recorded values a sample needs for its score to count towards readiness.
READY_PRESENTATIONS = 2
#: Share of an origin's active samples that need them.
READY_SHARE = 0.5
#: The evidence a grid row carries (``row["suspect"]``), from the ``wl.suspects`` frame.
ROW_EVIDENCE = ("score", "flagged", "label", "predicted_class", "suggested_class", "mean_loss",
                "mean_margin", "forgetting", "presentations", "loss_shape")
#: Of those, the columns sent as integers when they hold whole numbers (class indices, counts).
WHOLE = ("label", "predicted_class", "suggested_class", "forgetting", "presentations")


@dataclass(frozen=True)
class OriginRanking:
    """The ranking of one origin: ``rows`` (sample-table rows, most suspect first) and the
    evidence columns of ``wl.suspects`` in the same order (numpy arrays: float64 with NaN for
    missing values, ``flagged`` bool, ``loss_shape`` object)."""

    origin: str
    method: str  # "margin" (class scores were recorded) or "loss"
    rows: np.ndarray
    columns: dict[str, np.ndarray]
    samples: int  # active samples of the origin
    ready_share: float

    @property
    def ready(self) -> bool:
        """Enough history for the preset to be the default sort (see the module doc)."""
        return self.samples > 0 and self.ready_share >= READY_SHARE

    @property
    def scored(self) -> int:
        """Samples with a score (at least one recorded value)."""
        return len(self.rows)

    @property
    def flagged(self) -> int:
        """Samples in the flag set."""
        return int(np.count_nonzero(self.columns["flagged"]))

    def summary(self) -> dict:
        """``{"ready", "scored", "flagged", "samples", "ready_share", "method"}`` (JSON)."""
        return {"ready": self.ready, "scored": self.scored, "flagged": self.flagged,
                "samples": self.samples, "ready_share": round(float(self.ready_share), 4),
                "method": self.method}


@dataclass(frozen=True)
class Ranking:
    """One computation over every origin: ``version`` grows with each new computation."""

    version: int
    origins: dict[str, OriginRanking] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # origin -> why it has no ranking
    #: per table row: its origin's position in ``origins`` (-1: no score) and its index there
    _origin_of: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32), repr=False)
    _index_of: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64), repr=False)

    def summary(self) -> dict:
        """The grid's ``suspects`` trait: ``{"version", "origins": {origin: summary}}``."""
        return {"version": self.version,
                "origins": {o: r.summary() for o, r in self.origins.items()}}

    def sort_values(self) -> np.ndarray:
        """The sort values of the "Suspects" preset, one per sample-table row up to the last
        scored one (float64, NaN where none; ``Session.grid_page`` pads the rows registered
        after it with NaN): sorted descending they give each origin's ``wl.suspects`` order
        (ties of the score broken as it breaks them), origins interleaved by score."""
        out = np.full(len(self._origin_of), np.nan)
        if not self.origins:
            return out
        ranked = list(self.origins.values())
        rows = np.concatenate([r.rows for r in ranked])
        score = np.concatenate([r.columns["score"] for r in ranked])
        rank = np.concatenate([np.arange(len(r.rows)) for r in ranked])
        order = np.lexsort((rank, -score))
        out[rows[order]] = np.arange(len(order), 0, -1, dtype=np.float64)
        return out

    def evidence(self, row: int) -> dict | None:
        """The evidence of one sample-table row (JSON values; NaN -> None), with its ``rank``
        (1 = most suspect) among the ``scored`` samples of its ``origin``; None when the row
        has no score."""
        row = int(row)
        if not 0 <= row < len(self._origin_of) or self._origin_of[row] < 0:
            return None
        r = list(self.origins.values())[self._origin_of[row]]
        i = int(self._index_of[row])
        out = {key: _plain(r.columns[key][i], key in WHOLE) for key in ROW_EVIDENCE}
        out.update(origin=r.origin, rank=i + 1, scored=r.scored, method=r.method)
        return out


class SuspectRanking:
    """The cached suspects ranking of one session (``session.feature("suspect_ranking")``).

    Parameters
    ----------
    session : Session
    min_interval : float, default :data:`MIN_INTERVAL`
        Seconds between two computations while the session keeps changing.
    cost_factor : float, default :data:`COST_FACTOR`
        ... and at least this many times the last computation's duration.
    clock : callable, default ``time.monotonic``
    """

    def __init__(self, session, min_interval: float = MIN_INTERVAL,
                 cost_factor: float = COST_FACTOR, clock=time.monotonic):
        self.session = session
        self.min_interval = float(min_interval)
        self.cost_factor = float(cost_factor)
        self._clock = clock
        self._lock = threading.Lock()
        self._ranking: Ranking | None = None
        self._key = None
        self._at = -np.inf  # when the last computation ended
        self._cost = 0.0  # how long it took
        #: Why the last computation failed (a bug, not a missing history: origins without
        #: one are simply left out), or None. The previous ranking is kept then.
        self.error: str | None = None

    def _changes(self) -> tuple[int, int]:
        c = self.session.changes
        return c.history, c.table

    def due(self) -> bool:
        """The session changed since the last computation and ``min_interval`` (or
        ``cost_factor`` times its duration) has passed since it ended (or nothing was computed
        yet)."""
        wait = max(self.min_interval, self.cost_factor * self._cost)
        return self._key != self._changes() and self._clock() - self._at >= wait

    def get(self, refresh: bool = True) -> Ranking:
        """The ranking: the cached one, or a new computation when :meth:`due` (and
        ``refresh``). Never raises: a failed computation keeps the previous ranking (an empty
        one at first), sets :attr:`error` and is tried again when due."""
        with self._lock:
            if self._ranking is None or (refresh and self.due()):
                key = self._changes()  # read before: a change during the computation stays due
                started = self._clock()
                version = 1 if self._ranking is None else self._ranking.version + 1
                try:
                    self._ranking = _compute(self.session, version)
                    self.error = None
                except Exception as exc:  # the grid must keep working without its ranking
                    log.debug("suspects ranking failed", exc_info=True)
                    self.error = f"suspects ranking failed: {type(exc).__name__}: {exc}"
                    if self._ranking is None:
                        self._ranking = Ranking(0)
                self._key = key
                self._at = self._clock()
                self._cost = self._at - started
            return self._ranking

    def page_evidence(self, ranking: Ranking, rows: list[dict]) -> list[dict | None]:
        """The evidence of grid rows (dicts with ``origin`` and ``sample_id``), in order: one
        ``session.rows_of`` call per origin on the page."""
        by_origin: dict[str, list[int]] = {}
        for i, r in enumerate(rows):
            by_origin.setdefault(r["origin"], []).append(i)
        out: list[dict | None] = [None] * len(rows)
        for origin, index in by_origin.items():
            if origin not in ranking.origins:
                continue
            table_rows = self.session.rows_of([rows[i]["sample_id"] for i in index], origin)
            for i, row in zip(index, table_rows.tolist()):
                out[i] = ranking.evidence(row)
        return out


def _compute(session, version: int) -> Ranking:
    origins, errors = {}, {}
    for origin in session.origins():
        try:
            frame = session.suspects(origin=origin)
        except WeightslabError as exc:  # nothing recorded for it yet: no ranking, no error
            errors[origin] = str(exc)
            continue
        ids = frame["sample_id"].tolist()
        if not ids:
            errors[origin] = f"no recorded values of the ranked loss for origin {origin!r} yet"
            continue
        rows = session.rows_of(ids, origin)
        columns = {key: frame[key].to_numpy(dtype=np.float64, na_value=np.nan)
                   for key in ROW_EVIDENCE if key not in ("flagged", "loss_shape")}
        columns["flagged"] = frame["flagged"].to_numpy(dtype=bool)
        columns["loss_shape"] = frame["loss_shape"].to_numpy(dtype=object)
        active = ~frame["discarded"].to_numpy(dtype=bool)
        presentations = frame["presentations"].to_numpy(dtype=np.int64)
        _, samples = session.counts(origin)
        ready = int(np.count_nonzero(active & (presentations >= READY_PRESENTATIONS)))
        method = "margin" if frame["mean_margin"].notna().any() else "loss"
        origins[origin] = OriginRanking(origin, method, np.asarray(rows, dtype=np.int64),
                                        columns, samples, ready / samples if samples else 0.0)
    n = max((int(r.rows.max()) + 1 for r in origins.values()), default=0)
    origin_of, index_of = np.full(n, -1, np.int32), np.zeros(n, np.int64)
    for k, r in enumerate(origins.values()):
        origin_of[r.rows] = k
        index_of[r.rows] = np.arange(len(r.rows))
    return Ranking(version, origins, errors, origin_of, index_of)


def _plain(v, whole: bool = False):
    """A JSON value: numpy scalars as Python ones (whole numbers as ints when ``whole``), NaN
    and missing values as None."""
    if v is None:
        return None
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, float, np.integer, np.floating)):
        v = float(v)
        if np.isnan(v):
            return None
        return int(v) if whole and v.is_integer() else v
    return v if isinstance(v, str) else str(v)


register_feature("suspect_ranking", SuspectRanking)
