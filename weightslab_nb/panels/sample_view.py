"""SampleView: one sample's detail view in a panel of its own (``wl.show_sample(sample_id)``).

The same view as the grid's detail overlay (payload: :mod:`weightslab_nb.panels.sample_detail`;
browser: ``js/src/sample.ts`` with ``js/src/lib/detail_view.ts``). Previous / next walk the
sample's origin in the grid's default order: by the per-sample loss, highest first, discarded
samples last, once a loss is recorded; else the recorded order. That order holds still while
training changes the values (a :class:`~weightslab_nb.ledger.query.HeldOrder`).

Protocol
--------
browser -> Python
    ``{"type": "detail", "req", "move"?}``: the payload of the sample shown (``move`` 0, the
    default), or of the previous (-1) / next (+1) one, which then becomes the sample shown
    (``ref`` trait). Answered with ``{"type": "detail", "req", "ok": true, <payload>,
    "position", "count"}`` (the sample's 0-based place in the order and the order's length)
    and the payload's buffers.
    ``{"type": "action", "req", "action", "tag"?, "value"?, "create"?}``: an action of the
    grid (:data:`~weightslab_nb.panels.messages.ACTIONS`) on the sample shown; answered with
    ``{"type": "action_result", "req", "ok", "message", "count"}``.
    ``{"type": "clear_error"}``
Traits
    ``ref``: ``[origin, sample_id]`` of the sample shown; ``version``: grows when the session's
    sample table changed (the view asks again, at most once a second); ``error``.
"""

from __future__ import annotations

import numpy as np
import traitlets

from weightslab_nb import commands
from weightslab_nb.ledger.ids import SampleRef
from weightslab_nb.ledger.query import GridQuery, HeldOrder, select_rows
from weightslab_nb.panels._base import Panel, static_asset
from weightslab_nb.panels.messages import (SAMPLE_FIELDS, MessageError, action_command,
                                           action_message, int_field)
from weightslab_nb.panels.sample_detail import detail_payload


class SampleView(Panel):
    """The detail view of one sample: its input large (with masks and boxes), label and
    prediction with class names, the latest top-k probabilities, every per-sample signal's
    history with evaluation markers, its tags (editable), previous / next.

    Parameters
    ----------
    session : Session
    sample_id : int or str
        The sample; ``origin`` says which origin's when several hold the id.
    origin : str, optional
        An origin or loader name.
    thumbnail : callable, optional
        ``thumbnail(sample_input) -> PNG bytes | PIL image | array`` (as the grid's); default:
        the input drawn large.

    Raises
    ------
    UnknownSampleError
        No sample ``sample_id`` (in ``origin``).
    AmbiguousSampleError
        Several origins hold ``sample_id`` and ``origin`` is None (the error names them).
    InvalidValueError
        An unknown origin.
    """

    _esm = static_asset("sample.js")
    _css = static_asset("sample.css")
    _poll_interval = 1.0
    _reply_types = {"detail": "detail", "action": "action_result"}

    ref = traitlets.List().tag(sync=True)
    version = traitlets.Int(0).tag(sync=True)

    def __init__(self, session, sample_id, origin: str | None = None, *, thumbnail=None,
                 **kwargs):
        shown = session.sample_ref(sample_id, origin=origin)  # refused before any widget exists
        self._thumbnail = thumbnail
        self._order = HeldOrder()
        self._seen_table = session.changes.table
        super().__init__(session, ref=[shown.origin, _plain(shown.sample_id)], **kwargs)

    @property
    def sample(self) -> SampleRef:
        """The sample shown."""
        return SampleRef(self.ref[0], self.ref[1])

    def _handlers(self) -> dict:
        return {"detail": self._on_detail, "action": self._on_action}

    def _poll(self):
        table = self.session.changes.table
        if table == self._seen_table:
            return None
        self._seen_table = table
        return {"version": self.version + 1}

    def _order_rows(self) -> np.ndarray:
        """The rows of the sample's origin in the default order (held still)."""
        s, origin = self.session, self.sample.origin
        s.drain(wait_signals=False)
        query = GridQuery(origin=origin, sort_by=s.loss_column, descending=True, limit=1)
        with s.lock:
            return self._order.serve(query, select_rows(s.table, query))[0]

    def _on_detail(self, msg: dict):
        move = int_field(msg, "move", lo=-1, hi=1, default=0)
        s = self.session
        rows = self._order_rows()
        row = int(s.rows_of([self.sample.sample_id], self.sample.origin)[0])
        hits = np.flatnonzero(rows == row)
        position = int(hits[0]) if len(hits) else 0
        if move and len(rows):
            position = min(max(position + move, 0), len(rows) - 1)
            with s.lock:
                sid = s.table.sample_id[int(rows[position])]
            self.ref = [self.sample.origin, _plain(sid)]
        payload, buffers = detail_payload(s, self.sample, self._thumbnail)
        return {**payload, "position": position, "count": int(len(rows))}, buffers

    def _on_action(self, msg: dict):
        if msg.get("sample_ids") is not None:
            raise MessageError("sample_ids: the sample view acts on the sample it "
                               "shows; send no sample_ids")
        action, name, args = action_command(msg)
        args["ids"] = [list(self.sample)]
        result = commands.run(self.session, name, args, source="panel", fields=SAMPLE_FIELDS)
        self._publisher.wake()
        return {"message": action_message(action, result), "count": result["count"]}


def _plain(v):
    return v.item() if isinstance(v, np.generic) else v
