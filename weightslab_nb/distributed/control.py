"""What the control relay carries: the hub's run state and discards, and how a rank applies them.

* :class:`HubControl` reads a hub session: its controller (pause, stop), its discards (a
  change becomes ``{"discards": {origin: (discarded_ids, restored_ids)}}`` against what it
  relayed before), the hyperparameter changes its steering applied (``{"hp": [(key,
  value), ...]}``) and, on the rank that owns the hub, the requests still waiting, taken
  unapplied (``{"hp_requests": [(handle, key, value, source), ...]}``: every rank, the hub's
  too, applies them where the relay delivers them). It is rank 0's :class:`~weightslab_nb.distributed.relay.ControlSource` when
  rank 0 owns the hub (``torchrun``), and what the notebook's hub pushes to rank 0 otherwise.
* :class:`DiscardMirror` is what a rank's watched loaders draw from under DDP, instead of the
  sample table: the hub's discards as of the last relayed boundary, the same on every rank.
* :class:`RankControl` applies relayed changes to a rank's mirror (ids are looked up in the
  rank's own session, so ranks need not register their samples in the same order).

The first poll relays every discard the hub already holds (a reopened run, or discards made
before training started), so every rank starts from the hub's state.
"""

from __future__ import annotations

import numpy as np

from weightslab_nb.distributed.relay import PAUSE, RUN, STOP


class DiscardMirror:
    """Discarded flags by sample-table row, as the relay applied them (all active at first).

    Read by a watched loader's sampler exactly as it reads the table: ``discarded`` (a bool
    array indexed by row) and ``discard_version`` (grows on every change).
    """

    def __init__(self, rows: int = 0):
        self.discarded = np.zeros(rows, dtype=bool)
        self.discard_version = 0

    def set(self, rows: np.ndarray, value: bool) -> None:
        """Mark ``rows`` discarded (``True``) or active, growing to cover them."""
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size:
            self.cover(int(rows.max()) + 1)
            self.discarded[rows] = value
        self.discard_version += 1

    def cover(self, rows: int) -> None:
        """Grow to at least ``rows`` rows (new rows active)."""
        if rows > len(self.discarded):
            grown = np.zeros(rows, dtype=bool)
            grown[: len(self.discarded)] = self.discarded
            self.discarded = grown


class HubControl:
    """Rank 0's source of control when it owns the hub ``session`` (see the module docstring)."""

    def __init__(self, session, take_requests: bool = False):
        self._session = session
        # on the rank that owns the hub (torchrun): requests are taken unapplied and every
        # rank, that one too, applies them where the relay delivers them
        self.take_requests = take_requests
        self._version = -1
        self._sent: dict[str, np.ndarray] = {}  # origin -> discarded flags relayed, by position
        self._hp_seen = 0  # hyperparameter change records relayed

    def poll(self) -> tuple[int, object | None]:
        """``(state, changes)``: stop, pause or run, and the discards changed since the last
        poll (None when none did)."""
        controller = self._session.controller
        state = STOP if controller.stop_requested else \
            PAUSE if controller.pause_requested else RUN
        changes = {}
        table = self._session.table
        if table.discard_version != self._version:
            self._version = table.discard_version
            delta = self._discard_delta()
            if delta:
                changes["discards"] = delta
        steering = self._session.steering
        if steering is not None:
            applied = self._hp_applied(steering)
            if applied:
                changes["hp"] = applied
            if self.take_requests:
                requests = steering.take_requests()
                if requests:
                    changes["hp_requests"] = requests
        return state, (changes or None)

    def _hp_applied(self, steering) -> list[tuple[str, object]]:
        """``(key, new value)`` of the hyperparameter changes the hub applied since the last
        poll (the ranks that are not the hub apply them)."""
        with steering.lock:
            records = steering.changes[self._hp_seen:]
            self._hp_seen += len(records)
        return [(r["key"], r["new"]) for r in records if not r.get("deleted")]

    def _discard_delta(self) -> dict:
        table = self._session.table
        delta = {}
        for origin in list(table.origins):
            rows = table.sample_rows(origin)
            now = table.discarded[rows]
            before = self._sent.get(origin)
            if before is None or len(before) != len(now):
                grown = np.zeros(len(now), dtype=bool)
                if before is not None:
                    grown[: min(len(before), len(now))] = before[: len(now)]
                before = grown
            changed = np.flatnonzero(now != before)
            self._sent[origin] = now
            if changed.size:
                on, off = changed[now[changed]], changed[~now[changed]]
                delta[origin] = (sample_ids(table, rows[on]), sample_ids(table, rows[off]))
        return delta

    def wait(self, timeout: float) -> None:
        """Return after ``timeout`` seconds, or at once on a resume or a stop."""
        self._session.controller.wait_released(timeout)

    def held(self, paused: bool) -> None:
        """Show the hub's run as paused while every rank is held, running after."""
        self._session.controller.hold(paused)


def sample_ids(table, rows: np.ndarray):
    """Sample ids of ``rows`` as they travel between processes: an int64 array when every id
    of the table is an int, else a list."""
    ints = table.sample_id.ints(rows)
    return ints.copy() if ints is not None else table.ids_of(rows)


class RankControl:
    """Applies relayed changes in a rank's own ``session``: its training loaders draw from a
    :class:`DiscardMirror` from :meth:`attach` on; hyperparameter changes are requested on its
    watched hyperparameters (applied at once: the relay runs in the training thread), except
    on the rank that owns the hub (``hub=True``), where they were applied already."""

    def __init__(self, session, hub: bool = False):
        self._session = session
        self._hub = hub
        self.mirror = DiscardMirror(len(session.table))

    def attach(self) -> None:
        """Point every watched training loader of the session at the mirror."""
        self.mirror.cover(len(self._session.table))
        for loader in self._session.registry.loaders():
            if loader.is_training:
                loader.discards = self.mirror

    def apply(self, changes: dict | list[dict]) -> None:
        """Apply a relayed change set (``{"discards": {origin: (on_ids, off_ids)}}``), or a
        list of them in order; ids of an origin this rank does not hold are skipped."""
        session = self._session
        for change in changes if isinstance(changes, list) else [changes]:
            for origin, (on, off) in change.get("discards", {}).items():
                if origin not in session.table.origins:
                    continue
                for ids, value in ((on, True), (off, False)):
                    if len(ids):
                        self.mirror.set(session.rows_of(ids, origin), value)
            if not self._hub:  # the hub applied these itself
                self._request([(None, key, value, "hub") for key, value in
                               change.get("hp", ())])
            self._request(change.get("hp_requests", ()))

    def _request(self, items) -> None:
        """Request ``(handle name or None for every handle, key, value, source)`` items on
        this rank's watched hyperparameters: applied at once (the relay runs in the training
        thread, between two steps)."""
        steering = self._session.steering
        if steering is None or not items:
            return
        handles = dict(steering.handles)
        for name, key, value, source in items:
            for hp in [handles[name]] if name in handles else handles.values():
                hp.request(key, value, source=source, create=True)
