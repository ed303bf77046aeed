"""SampleGrid: pages of samples with thumbnails, sorted and filtered by the session.

Protocol (browser view: ``js/src/grid.ts``)
-------------------------------------------
browser -> Python
    ``{"type": "page", "req", offset, limit, sort_by, descending, tags, discarded, origin,
    signal, signal_min, signal_max, discarded_last?, highlight?, spark_points?, resort?}`` (the
    :class:`~weightslab_nb.ledger.query.GridQuery` fields; absent ones take their defaults;
    ``discarded_last`` defaults to true: sorted pages put discarded samples last).
    **The order holds still**: the grid keeps the row order of its current query
    (:class:`~weightslab_nb.ledger.query.HeldOrder`, one per grid, shared by its views) and
    serves pages from it while values change; ``resort`` (bool, default false) takes the fresh
    order. A different query (sort, direction, filters, origin, highlight restriction; not
    ``offset``/``limit``) takes the fresh order by itself.
    ``sort_by`` may be a history statistic ``"<signals column>@<stat>"`` (``mean``, ``last``,
    ``max``, ``min``, ``count``; the ``@mean``/``@last``/``@max`` ones are listed in
    ``columns``). ``highlight`` (bool, default false): restrict the page to the samples of the
    session's step highlight (:mod:`weightslab_nb.panels.highlight`; set by a click on a curve)
    when there is one. ``spark_points`` (int 0..256, default 32): the most loss-history points
    per row for the sparklines, 0 for none.
    ``{"type": "select", "sample_ids": [...], "req"?}``: the browser's selection becomes
    ``session.selection`` (the tag editor applies to it). ``sample_ids`` holds refs
    ``[origin, sample_id]`` (what the view sends: the identity of each sample, so that train and
    val samples of the same id stay apart) and/or bare ids (resolved as ``session.selection.set``
    does: an id several origins hold is refused).
    ``{"type": "action", "req", "action", "sample_ids", "origin"?, "tag"?, "value"?,
    "create"?}`` (``create: true``: ``add_tag`` creates the boolean tag when new) with
    ``action`` one of ``add_tag``/``remove_tag`` (a known boolean ``tag``), ``set_categorical``
    (a known categorical ``tag`` and one of its ``value``s), ``clear_categorical`` (``tag``),
    ``discard``, ``restore``: the command of :mod:`weightslab_nb.commands` it maps to
    (:data:`~weightslab_nb.panels.messages.ACTION_COMMANDS`) runs on ``sample_ids`` (refs and/or
    ids; ``origin`` for the bare ones).
    ``{"type": "get_selection", "req"}``: answered with ``{"type": "selection", "req", "ok": true,
    "sample_ids", "version"}`` (refs; a view asks once when it appears). ``version`` is
    ``session.selection.version`` for those refs (it only grows); the replies to ``select`` (with
    a req) and ``action`` carry it too, so a view can drop a push or a reply that predates its
    own last change.
    ``{"type": "clear_highlight", "req"?}``: remove the step highlight (every panel of the
    session); answered with ``{"type": "highlight_result", "req", "ok", "message"}``.
    ``{"type": "flagged", "req", "action", "origin", "tag"?, "dry_run"?, "expect"?}``: ``action``
    ``"tag"`` or ``"discard"`` runs the command ``tag_flagged`` / ``discard_flagged`` of
    :mod:`weightslab_nb.commands` on the flag set of ``wl.suspects(origin)``
    (:func:`~weightslab_nb.panels.messages.flagged_command`). The view previews with
    ``dry_run: true`` (the confirmation names the count and the origin), then runs it with
    ``expect``: the preview's ``digest`` (refused if the flag set changed meanwhile).
    ``{"type": "undo", "req", "token"}``: run the undo of an earlier ``flagged`` reply (exactly
    the samples it changed: ``tag_remove`` / ``restore`` on its refs); each token works once.
    ``{"type": "export", "req", "sample_ids"?}``: the CSV of
    :meth:`SampleGrid.selection_frame` for ``sample_ids`` (refs and/or ids, as ``select``; the
    view sends its selection) or, without them, for ``session.selection``; nothing changes.
    ``{"type": "detail", "req", "ref"}``: everything about the sample ``ref`` ``[origin,
    sample_id]`` for the detail view (Enter or a double-click on a cell): answered with
    ``{"type": "detail", "req", "ok": true, ...}`` carrying the payload of
    :func:`~weightslab_nb.panels.sample_detail.detail_payload` and its buffers (nothing
    changes; edits in the detail view are ``action`` messages on ``[ref]``).
    ``{"type": "clear_error"}``
Python -> browser
    ``{"type": "page", "req", "ok": true, total, active, matched, offset, limit, loss_column,
    columns, rows, highlight, spark, order, class_names}``; ``class_names``: ``{origin:
    {"<class>": name}}`` of the origins on the page that have class names (the tooltips show
    them); ``order``: ``{"changed", "changed_page",
    "fresh", "snapshot"}``: how many positions of the matched rows a re-sort would move, how
    many cells of this page would show another sample, whether this page took the fresh order,
    and the number of the snapshot it was served from (grows with every fresh order) with one PNG buffer per row (``rows[i]`` has the GridPage
    row keys, ``ref`` ``[origin, sample_id]`` among them, plus ``thumbnail_error``: None or why
    the placeholder image was sent, and ``highlighted``: whether the sample is in the step
    highlight). A thumbnail and a sparkline are those of the row's own origin's sample.
    ``highlight``: ``{"version", "signal", "step", "count", "only"}`` of the step highlight the
    page was built with (``only``: the rows were restricted to it), or None when there is none.
    ``spark``: None (no loss column, or ``spark_points`` 0), or ``{"signal", "column",
    "max_points", "buffer_start", "arrays"}``: the recent history of the loss column of every row
    (one ``session.sample_series`` call), as :mod:`~weightslab_nb.panels.wire` arrays in the
    buffers ``buffer_start ...`` (after the PNGs): ``offsets`` (int32, ``len(rows) + 1``),
    ``steps`` (int64) and ``values`` (float32); row ``i`` owns ``offsets[i]:offsets[i+1]``.
    ``spark_error``: None, or why the sparklines could not be read (the page is sent without).
    ``rows[i]["suspect"]``: None, or the row's evidence from the session's suspects ranking
    (:mod:`weightslab_nb.panels.suspect_ranking`): ``score``, ``flagged``, ``label``,
    ``predicted_class``, ``suggested_class``, ``mean_loss``, ``mean_margin``, ``forgetting``,
    ``presentations``, ``loss_shape``, ``origin``, ``rank`` (1 = most suspect of its origin),
    ``scored``, ``method``. ``columns`` starts with ``"suspects"`` (the preset: sort by the
    score) when some origin has a ranking.
    ``{"type": "flagged_result", "req", "ok", "action", "message", "origin", "flagged",
    "count", "already", "digest", "dry_run", "tag", "undo"}``: ``count`` samples changed (or
    would be, with ``dry_run``), ``already`` flagged ones needed no change, ``undo``: a token for
    the ``undo`` message, or None. ``{"type": "undo_result", "req", "ok", "message", "count"}``.
    ``{"type": "action_result", "req", "ok", "message", "count", "sample_ids"}`` (``sample_ids``:
    the selection after the action, refs; a discard drops the discarded samples from it) (``select`` with a req:
    ``select_result``). A failed request: ``{"type": <its reply type>, "req", "ok": false,
    "message"}``.
    ``{"type": "selection", "sample_ids", "version"}`` (refs ``[origin, sample_id]``) when
    ``session.selection`` was changed elsewhere.
    ``{"type": "export_result", "req", "ok", "csv", "rows", "total", "truncated", "origins",
    "message"}``: ``csv`` is ``frame.to_csv()`` of the first :data:`EXPORT_MAX_ROWS` rows
    (header ``sample_id,annotation_id,origin,target,...``); ``rows`` of ``total`` samples are
    in it, ``truncated`` says when some were left out (``selection_frame()`` in Python has them
    all); ``origins``: the origins of the exported rows, in order of first appearance.
Traits
    ``version`` grows when ``session.changes.table`` moved (the view re-requests its page, at
    most once a second); ``highlight``: ``{"version", "signal", "step", "count"}`` of the
    step highlight (``{"version"}`` alone when none; the view re-requests at once when it
    changes); ``suspects``: ``{"version", "origins": {origin: {"ready", "scored", "flagged",
    "samples", "ready_share", "method"}}}`` of the suspects ranking (recomputed at most every
    few seconds while the session changes; ``version`` also moves then, so that the view
    re-requests its page; ``ready``: enough history for the preset to be the default sort);
    ``loss_column``: the per-sample loss the grid sorts by by default ("" until one is
    recorded; see ``js/src/lib/default_sort.ts``);
    ``total``/``active`` counters, ``tags`` (boolean tag names),
    ``categorical`` (name -> values), ``origins``, ``page_size``, ``error``.
"""

from __future__ import annotations

import logging
from collections import OrderedDict

import numpy as np
import traitlets

from weightslab_nb import commands
from weightslab_nb.errors import InvalidValueError, StateError
from weightslab_nb.ledger.ids import SampleRef
from weightslab_nb.ledger.query import HeldOrder
from weightslab_nb.ledger.sample_table import bare_signal_name
from weightslab_nb.panels._base import Panel, static_asset
from weightslab_nb.panels.highlight import highlight_bus, highlight_page
from weightslab_nb.panels.messages import (SAMPLE_FIELDS, action_command, action_message,
                                           bool_field, flagged_command, flagged_message,
                                           ids_field, int_field, ref_field,
                                           subset_tags_field, undo_message, undo_token_field)
from weightslab_nb.panels.sample_detail import detail_payload
from weightslab_nb.panels.suspect_ranking import SUSPECTS_SORT
from weightslab_nb.panels.thumbnails import ThumbnailCache, placeholder_png
from weightslab_nb.panels.wire import encode_arrays

log = logging.getLogger(__name__)

QUERY_FIELDS = ("offset", "limit", "sort_by", "descending", "tags", "discarded", "origin",
                "signal", "signal_min", "signal_max", "discarded_last")
SPARK_POINTS = 32
MAX_SPARK_POINTS = 256
MAX_UNDO = 16  # undo tokens a grid keeps (the oldest is forgotten first)
#: The most rows an ``export`` reply's CSV holds (the reply says when it was cut).
EXPORT_MAX_ROWS = 50_000


def _wire(refs) -> list:
    """Refs as the lists ``[origin, sample_id]`` the views read."""
    return [[origin, _plain(sid)] for origin, sid in refs]


def _plain(v):
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return v


class SampleGrid(Panel):
    """A page of samples: thumbnail, target, prediction, loss, tags; discarded ones greyed.

    Parameters
    ----------
    session : Session
        The session shown (``wl.<panel>()`` in the facade passes the current one).
    thumbnail : callable, optional
        ``thumbnail(sample_input) -> PNG bytes | PIL image | array``; default: min-max
        normalised grey or RGB image of the input (see :mod:`weightslab_nb.panels.thumbnails`).
    page_size : int, default 48
    """

    _esm = static_asset("grid.js")
    _css = static_asset("grid.css")
    _poll_interval = 0.5  # counters at 2 Hz; the view re-requests pages at most at 1 Hz
    _reply_types = {"page": "page", "action": "action_result", "select": "select_result",
                    "get_selection": "selection", "clear_highlight": "highlight_result",
                    "flagged": "flagged_result", "undo": "undo_result",
                    "export": "export_result", "detail": "detail"}

    version = traitlets.Int(0).tag(sync=True)
    total = traitlets.Int(0).tag(sync=True)
    active = traitlets.Int(0).tag(sync=True)
    tags = traitlets.List(traitlets.Unicode()).tag(sync=True)
    categorical = traitlets.Dict().tag(sync=True)
    origins = traitlets.List(traitlets.Unicode()).tag(sync=True)
    page_size = traitlets.Int(48).tag(sync=True)
    highlight = traitlets.Dict().tag(sync=True)
    suspects = traitlets.Dict().tag(sync=True)
    loss_column = traitlets.Unicode("").tag(sync=True)

    def __init__(self, session, *, thumbnail=None, page_size: int = 48, **kwargs):
        if isinstance(page_size, bool) or not isinstance(page_size, int) or \
                not 1 <= page_size <= 500:
            raise InvalidValueError(f"page_size: expected an int in 1..500, got {page_size!r}")
        self.thumbnails = ThumbnailCache(thumbnail)
        self._seen_table = -1
        self._seen_tags = -1
        self._own_selection = -1
        self._version = 0
        self._seen_selection = session.selection.version  # views ask on render
        self._bus = highlight_bus(session)
        self._seen_highlight = self._bus.version
        self._ranking = session.feature("suspect_ranking")
        self._seen_ranking = -1
        self._ranking_error: str | None = None
        self._undo: OrderedDict[str, dict] = OrderedDict()
        self._undo_count = 0
        self.order = HeldOrder()  # the page order that holds still while values change
        super().__init__(session, page_size=page_size, highlight=self._bus.info(),
                         loss_column=session.loss_column or "", **kwargs)
        self._bus.add_listener(self._publisher)

    def _handlers(self) -> dict:
        return {"page": self._on_page, "select": self._on_select, "action": self._on_action,
                "get_selection": self._on_get_selection,
                "clear_highlight": self._on_clear_highlight, "flagged": self._on_flagged,
                "undo": self._on_undo, "export": self._on_export, "detail": self._on_detail}

    def selection_frame(self):
        """The selected samples as a pandas DataFrame: the rows of ``session.dataframe`` for
        ``session.selection`` (what this grid, another grid or the dashboard selected), in
        selection order.

        Indexed by ``(sample_id, annotation_id)``, with the columns of ``session.dataframe``
        (``origin``, ``target``, ``prediction``, ``discarded``, ``signals//<name>``,
        ``tag:<name>``); one row per selected sample; an empty selection gives an empty frame
        with the same columns. See :meth:`Session.selection_frame`. The grid's **export** button
        downloads the same rows as CSV (at most :data:`EXPORT_MAX_ROWS`).
        """
        return self.session.selection_frame()

    def close(self, timeout: float = 5.0) -> None:
        """Close the panel: it stops hearing of step highlights, then closes as every panel
        does (``timeout`` seconds for its publisher thread to end)."""
        bus = getattr(self, "_bus", None)
        if bus is not None and getattr(self, "_publisher", None) is not None:
            bus.remove_listener(self._publisher)
        super().close(timeout)

    # ---------------------------------------------------------------- publisher thread
    def _poll(self):
        s = self.session
        out: dict = {}
        table, tags = s.changes.table, s.changes.tags
        if table != self._seen_table:
            self._seen_table = table
            self._version += 1
            total, active = s.counts()
            out.update(version=self._version, total=total, active=active, origins=s.origins(),
                       loss_column=s.loss_column or "")
        ranking = self._ranking.get()  # computes only when due (the session changed, and
        if ranking.version != self._seen_ranking:  # MIN_INTERVAL seconds passed)
            self._seen_ranking = ranking.version
            self._version += 1  # the page's order and evidence moved: the view asks again
            out.update(version=self._version, suspects=ranking.summary())
        if self._ranking.error != self._ranking_error:
            self._ranking_error = self._ranking.error
            self._publisher.set_error("suspects", self._ranking_error or "")
        if tags != self._seen_tags:
            self._seen_tags = tags
            summary = s.tag_summary()
            categorical = {k: list(v["values"]) for k, v in summary["categorical"].items()}
            out.update(tags=list(summary["boolean"]), categorical=categorical)
        if self._bus.version != self._seen_highlight:
            self._seen_highlight = self._bus.version
            out["highlight"] = self._bus.info()
        refs, version = s.selection.snapshot()
        if version != self._seen_selection:
            self._seen_selection = version
            if version != self._own_selection:
                self.send({"type": "selection", "sample_ids": _wire(refs), "version": version})
        return out

    # ---------------------------------------------------------------- messages
    def _on_page(self, msg: dict):
        from weightslab_nb.ledger.query import GridQuery

        fields = {k: msg[k] for k in QUERY_FIELDS if k in msg}
        if "tags" in fields:  # known tags, by the tag-name rule; the message names "tags"
            fields["tags"] = list(subset_tags_field(msg, self.session.tag_summary()))
        if fields.get("limit") is None:
            fields["limit"] = self.page_size
        only = bool_field(msg, "highlight")
        resort = bool_field(msg, "resort")
        spark_points = int_field(msg, "spark_points", lo=0, hi=MAX_SPARK_POINTS,
                                 default=SPARK_POINTS)
        query = GridQuery.from_message(fields)
        ranking = self._ranking.get(refresh=False)  # the publisher refreshes it
        sort_values = None
        if query.sort_by == SUSPECTS_SORT:
            sort_values = ranking.sort_values()  # rows past its end sort last
        highlight = self._bus.get()
        if only and highlight is not None:
            page = highlight_page(self.session, query, highlight.refs, sort_values,
                                  hold=self.order, resort=resort)
        else:
            page = self.session.grid_page(query, sort_values, hold=self.order, resort=resort)
        rows, buffers = [], []
        for row in page.rows:
            row = {k: _plain(v) for k, v in row.items()}
            ref = SampleRef(row["origin"], _plain(row["sample_id"]))
            row["ref"] = list(ref)
            row["highlighted"] = highlight is not None and ref in highlight
            try:
                png = self.thumbnails.get(ref, lambda ref=ref: self.session.sample_input(
                    ref.sample_id, origin=ref.origin))
                row["thumbnail_error"] = None
            except Exception as exc:  # a sample without a drawable input still gets a cell
                log.debug("thumbnail of %r failed", ref, exc_info=True)
                png = placeholder_png()
                row["thumbnail_error"] = f"{type(exc).__name__}: {exc}"
            rows.append(row)
            buffers.append(png)
        for row, evidence in zip(rows, self._ranking.page_evidence(ranking, rows)):
            row["suspect"] = evidence
        spark = spark_error = None
        if spark_points and page.loss_column and rows:
            try:
                spark, spark_buffers = self._sparklines(page.loss_column, rows, spark_points)
            except Exception as exc:  # the page is still worth showing without its sparklines
                log.debug("sparklines of %r failed", page.loss_column, exc_info=True)
                spark_error = f"{type(exc).__name__}: {exc}"
            else:
                spark["buffer_start"] = len(buffers)
                buffers.extend(spark_buffers)
        reply = {"total": page.total, "active": page.active, "matched": page.matched,
                 "offset": query.offset, "limit": query.limit, "loss_column": page.loss_column,
                 "columns": [SUSPECTS_SORT] * bool(ranking.origins) + list(page.columns),
                 "rows": rows,
                 "highlight": None if highlight is None else
                 {**highlight.info(), "only": only},
                 "spark": spark, "spark_error": spark_error,
                 "order": {"changed": page.changed, "changed_page": page.changed_page,
                           "fresh": page.fresh, "snapshot": page.snapshot},
                 "class_names": self._class_names({r["origin"] for r in rows})}
        return reply, buffers

    def _class_names(self, origins) -> dict:
        """``{origin: {"<class>": name}}`` of the given origins that have class names."""
        out = {}
        for origin in sorted(origins):
            names = self.session.class_names(origin)
            if names:
                out[origin] = {str(k): v for k, v in names.items()}
        return out

    def _on_detail(self, msg: dict):
        origin, sample_id = ref_field(msg)
        ref = self.session.sample_ref(sample_id, origin=origin)
        return detail_payload(self.session, ref, self.thumbnails.converter)

    def _sparklines(self, column: str, rows: list[dict], max_points: int):
        """The loss history of the page's rows: one ``sample_series`` call per origin on the
        page, three arrays."""
        signal = bare_signal_name(column)
        by_origin: dict[str, list] = {}
        for r in rows:
            by_origin.setdefault(r["origin"], []).append(r["sample_id"])
        series = {}
        for origin, ids in by_origin.items():
            got = self.session.sample_series(ids, signal, max_points=max_points, origin=origin)
            series.update({(origin, sid): v for sid, v in got.items()})
        empty = (np.empty(0, np.int64), np.empty(0, np.float64))
        parts = [series.get((r["origin"], r["sample_id"]), empty) for r in rows]
        offsets = np.zeros(len(rows) + 1, dtype=np.int32)
        offsets[1:] = np.cumsum([len(steps) for steps, _ in parts])
        steps = np.concatenate([np.asarray(p[0], dtype=np.int64) for p in parts])
        values = np.concatenate([np.asarray(p[1], dtype=np.float32) for p in parts])
        metas, bufs = encode_arrays({"offsets": offsets, "steps": steps, "values": values})
        return {"signal": signal, "column": column, "max_points": max_points,
                "arrays": metas}, bufs

    def _on_select(self, msg: dict):
        samples = ids_field(msg, allow_empty=True)
        selection = self.session.selection
        selection.set(samples)  # unknown or ambiguous samples are refused; nothing changes
        refs, self._own_selection = selection.snapshot()
        return {"count": len(refs), "version": self._own_selection}

    def _on_get_selection(self, _msg: dict):
        refs, version = self.session.selection.snapshot()
        return {"sample_ids": _wire(refs), "version": version}

    def _on_action(self, msg: dict):
        action, name, args = action_command(msg)
        args["ids"] = msg.get("sample_ids")
        result = commands.run(self.session, name, args, source="panel", fields=SAMPLE_FIELDS)
        self._publisher.wake()
        refs, version = self.session.selection.snapshot()
        return {"message": action_message(action, result), "action": action,
                "count": result["count"], "sample_ids": _wire(refs), "version": version}

    def _on_flagged(self, msg: dict):
        action, name, args = flagged_command(msg)
        result = commands.run(self.session, name, args, source="panel")
        token = None
        if result["undo"] is not None:
            self._undo_count += 1
            token = f"u{self._undo_count}"
            self._undo[token] = result["undo"]
            while len(self._undo) > MAX_UNDO:
                self._undo.popitem(last=False)
        if not result["dry_run"]:
            self._publisher.wake()
        return {"action": action, "message": flagged_message(action, result),
                "undo": token, "tag": result.get("tag"),
                **{k: result[k] for k in ("origin", "flagged", "count", "already", "digest",
                                          "dry_run")}}

    def _on_undo(self, msg: dict):
        token = undo_token_field(msg)
        undo = self._undo.get(token)
        if undo is None:
            raise StateError(f"token: nothing to undo for {token!r} (undone already, or one of "
                             f"more than {MAX_UNDO} older actions)")
        result = commands.run(self.session, undo["command"], undo["args"], source="panel")
        self._undo.pop(token, None)  # once it ran: a refused undo can be tried again
        self._publisher.wake()
        return {"message": undo_message(undo["command"], result), "count": result["count"]}

    def _on_export(self, msg: dict):
        samples = ids_field(msg, allow_empty=True) if msg.get("sample_ids") is not None else None
        frame = self.session.selection_frame(samples, wait_signals=False)
        total = len(frame)
        shown = frame.iloc[:EXPORT_MAX_ROWS]
        origins = [str(o) for o in dict.fromkeys(shown["origin"].astype(object))]
        truncated = total > len(shown)
        noun = "sample" if total == 1 else "samples"
        message = (f"exported the first {len(shown):,} of {total:,} selected samples (the CSV "
                   f"holds at most {EXPORT_MAX_ROWS:,} rows; grid.selection_frame() has all)"
                   if truncated else f"exported {total:,} {noun}")
        return {"csv": shown.to_csv(), "rows": len(shown), "total": total,
                "truncated": truncated, "origins": origins, "message": message}

    def _on_clear_highlight(self, _msg: dict):
        cleared = self._bus.clear()
        return {"message": "highlight cleared" if cleared else "no highlight"}
