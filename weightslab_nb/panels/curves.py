"""LossCurves: every global signal as a per-step mean line with its min/max band.

Protocol (browser view: ``js/src/curves.ts``)
---------------------------------------------
browser -> Python
    ``{"type": "sync", "req"?}``: send me everything (on first display, or after a gap).
    ``{"type": "step_click", "req"?, "signal", "step"}`` (a click on the plot: the nearest point
    of the curve nearest to the pointer): ``signal`` must be a curve name
    (``session.global_signal_names()``), ``step`` an integer >= 0 at which some samples recorded
    it (``session.refs_at_step``: the samples of that step's training batch, by origin and
    id). Those samples become the session's step highlight
    (:mod:`weightslab_nb.panels.highlight`), which the sample grid shows. Answered with
    ``{"type": "step_result", "req", "ok", "signal", "step", "count", "version", "message"}``;
    an invalid one changes nothing and sets ``error``.
    ``{"type": "steps_highlight", "req"?, "lo", "hi", "signal"?}``: highlight the samples of
    the training batches of steps ``lo..hi`` (both included; ``lo <= hi``), those that recorded
    ``signal`` there, or when it is absent or recorded nothing there, those of the first curve
    that did (answered with ``{"type": "highlight_result", "req", "ok", "version", "signal",
    "step", "step_end", "count", "label", "source": "steps", "message"}``; the grid then shows
    only those samples). The view offers it while zoomed.
    ``{"type": "clear_highlight", "req"?}``: remove the step highlight (answered with
    ``{"type": "highlight_result", "req", "ok", "message"}``).
    ``{"type": "range", "req", "lo", "hi"}`` (the view was zoomed to steps ``lo..hi``, ints
    with ``0 <= lo <= hi``): answered with ``{"type": "range_result", "req", "ok", "lo", "hi",
    "series": [entry, ...], "total_points"}`` and buffers, entries as in ``snapshot`` but
    holding only the points with ``lo <= step <= hi`` of each curve (``n``: how many), bucketed
    to at most ``max_points`` rows each by :func:`bucket_series`. The view draws them while
    zoomed and keeps appending live points to its full copy; a reset returns to the full copy.
    ``{"type": "runs", "req"}``: answered with ``{"type": "runs_result", "req", "ok",
    "choices": [{"id", "kind", "label", "first", "last"}, ...]}``, the earlier experiments of
    this run and the run directories beside it
    (:func:`weightslab_nb.panels.curve_data.compare_choices`).
    ``{"type": "compare", "req", "run"}`` (``run``: a choice's ``id``): answered with
    ``{"type": "compare_result", "req", "ok", "run", "label", "series": [entry, ...]}`` and
    buffers (every curve of that experiment or run, bucketed as in ``snapshot``); the view
    draws their mean lines dashed, in the colour of the signal of the same name. An unknown
    ``run``, or a run whose history cannot be read now, is answered with ``ok: false``.
    ``{"type": "clear_error"}``
Python -> browser
    ``{"type": "snapshot", "req"?, "series": [{"signal", "start": 0, "n", "downsampled",
    "arrays": [descriptors]}, ...], "total_points", "markers": [marker, ...]}`` with each
    series' buffers in order
    (``step`` int64, ``mean``/``min``/``max`` float64, plus ``weight`` and ``mean_weight``
    float64 when downsampled). A series longer than ``max_points`` is reduced to at most
    ``max_points`` rows by :func:`bucket_series` (buckets of ``width`` steps, a power of two,
    with their true min/max and weighted mean, plus the exact last point); ``width`` is 1 for
    a raw series. The view folds later points into its copy by the same rule (its rows then
    equal ``bucket_series`` of every point received, with the view's ``max_points``).

    ``{"type": "points", "signal", "start", "n", "downsampled": false, "arrays"}`` with buffers
    (``step``, ``mean``, ``min``, ``max``): points ``start .. start+n-1`` of a signal, sent by the
    publisher only after a snapshot, and only the points not sent before. A view whose copy does
    not end at ``start`` asks for a new snapshot. ``n`` always counts raw points, so
    ``start + n`` is where the next message starts.

    ``{"type": "markers", "start", "markers": [marker, ...]}``: evaluation markers
    (``session.history.markers()``) ``start ...`` not sent before, sent by the publisher after
    a snapshot when ``session.changes.history`` moved. A marker is ``{"signal", "step", "mean",
    "min", "max", "count", "experiment_hash"}`` (the evaluation's marker hash ``<hash>_<N>``;
    NaN becomes null). The view draws one glyph per marker at (step, mean) of its signal; a
    view whose list is not ``start`` long asks for a new snapshot. Markers of signals without
    a curve are drawn too.

    ``{"type": "hp_markers", "start", "markers": [hp change, ...]}``: applied hyperparameter
    changes ``start ...`` not sent before (sent by the publisher after a snapshot), each ``{"key", "step", "old", "new", "source",
    "deleted", "experiment_hash"}``
    (:func:`weightslab_nb.panels.curve_data.hp_change_rows`). The view draws a thin vertical
    line at each ``step`` (those with one, not deletions) with a readout such as
    ``lr 0.01 → 0.001 at step 1,200``; a view whose list is not ``start`` long asks for a new
    snapshot.
Traits
    ``highlight``: ``{"version", "signal", "step", "count"}`` of the session's step highlight
    (``{"version"}`` alone when there is none); the view draws a vertical marker at ``step``.
    ``max_points``, ``height``, ``error``.
"""

from __future__ import annotations

import threading

import traitlets

from weightslab_nb.arguments import check_int
from weightslab_nb.panels._base import SENT, Panel, static_asset
from weightslab_nb.panels.buckets import bucket_series, bucket_width  # noqa: F401 (re-exported)
from weightslab_nb.panels.curve_data import (
    compare_choices,
    compare_series,
    hp_change_count,
    hp_change_rows,
    in_range,
    marker_rows,
)
from weightslab_nb.panels.highlight import highlight_bus
from weightslab_nb.panels.messages import MessageError, int_field, name_field
from weightslab_nb.panels.wire import encode_arrays

COLUMNS = ("step", "mean", "min", "max")


def encode_curves(curves: dict, max_points: int) -> tuple[list[dict], list, int]:
    """Snapshot entries and buffers of ``curves`` (signal name -> ``step, mean, min, max``
    arrays): a curve longer than ``max_points`` is bucketed by :func:`bucket_series`.
    Returns ``(entries, buffers, total raw points)``."""
    entries, buffers, total = [], [], 0
    for name, series in curves.items():
        n = len(series["step"])
        downsampled = n > max_points
        width = 1
        if downsampled:
            cols = bucket_series(series, max_points)
            width = cols.pop("width")
        else:
            cols = {c: series[c] for c in COLUMNS}
        metas, bufs = encode_arrays(cols)
        entries.append({"signal": name, "start": 0, "n": n, "downsampled": downsampled,
                        "width": width, "arrays": metas})
        buffers.extend(bufs)
        total += n
    return entries, buffers, total


class LossCurves(Panel):
    """Live curves of every global signal (``session.global_signal_names()``).

    Parameters
    ----------
    session : Session
        The session shown (``wl.<panel>()`` in the facade passes the current one).
    max_points : int, default 4000
        Longest series sent as is in a snapshot; longer ones are bucketed
        (:func:`bucket_series`). The browser's live copy keeps at most this many rows by the
        same rule.
    height : int, default 260
        Plot height in pixels.
    """

    _esm = static_asset("curves.js")
    _css = static_asset("curves.css")
    _poll_interval = 0.1  # <= 10 Hz
    _reply_types = {"sync": "snapshot", "step_click": "step_result",
                    "clear_highlight": "highlight_result", "range": "range_result",
                    "steps_highlight": "highlight_result",
                    "runs": "runs_result", "compare": "compare_result"}

    max_points = traitlets.Int(4000).tag(sync=True)
    height = traitlets.Int(260).tag(sync=True)
    highlight = traitlets.Dict().tag(sync=True)

    def __init__(self, session, *, max_points: int = 4000, height: int = 260, **kwargs):
        max_points = check_int(max_points, "max_points", minimum=16)
        height = check_int(height, "height", minimum=1)
        self._send_lock = threading.Lock()
        self._cursors: dict[str, int] = {}
        self._synced = False
        self._seen_history = -1
        self._markers_sent = 0
        self._hp_sent = 0
        self.points_sent = 0
        self.markers_sent = 0
        self._bus = highlight_bus(session)
        self._seen_highlight = self._bus.version
        super().__init__(session, max_points=max_points, height=height,
                         highlight=self._bus.info(), **kwargs)
        self._bus.add_listener(self._publisher)

    def _handlers(self) -> dict:
        return {"sync": self._on_sync, "step_click": self._on_step_click,
                "clear_highlight": self._on_clear_highlight, "range": self._on_range,
                "steps_highlight": self._on_steps_highlight,
                "runs": self._on_runs, "compare": self._on_compare}

    # ---------------------------------------------------------------- publisher thread
    def _poll(self):
        out = None
        if self._bus.version != self._seen_highlight:
            self._seen_highlight = self._bus.version
            out = {"highlight": self._bus.info()}
        if not self._synced:
            return out  # no view has asked yet: the first snapshot will carry everything
        if hp_change_count(self.session) > self._hp_sent:
            with self._send_lock:
                changes = hp_change_rows(self.session, self._hp_sent)
                if changes:
                    self.send({"type": "hp_markers", "start": self._hp_sent, "markers": changes})
                    self._hp_sent += len(changes)
        counter = self.session.changes.history
        if counter == self._seen_history:
            return out
        self._seen_history = counter
        with self._send_lock:
            for name in self.session.global_signal_names():
                start = self._cursors.get(name, 0)
                series = self.session.global_series(name, start)
                n = len(series["step"])
                if n == 0:
                    continue
                metas, buffers = encode_arrays({c: series[c] for c in COLUMNS})
                self.send({"type": "points", "signal": name, "start": start, "n": n,
                           "downsampled": False, "arrays": metas}, buffers)
                self._cursors[name] = start + n
                self.points_sent += n
            markers = marker_rows(self.session, self._markers_sent)
            if markers:
                self.send({"type": "markers", "start": self._markers_sent, "markers": markers})
                self._markers_sent += len(markers)
                self.markers_sent += len(markers)
        return out

    # ---------------------------------------------------------------- messages
    def _on_sync(self, msg: dict):
        req = msg.get("req")
        with self._send_lock:
            self._seen_history = self.session.changes.history
            curves = {name: self.session.global_series(name, 0)
                      for name in self.session.global_signal_names()}
            entries, buffers, total = encode_curves(curves, self.max_points)
            self._cursors = {name: len(series["step"]) for name, series in curves.items()}
            markers = marker_rows(self.session)
            self._markers_sent = len(markers)
            changes = hp_change_rows(self.session)
            self._hp_sent = len(changes)
            self._synced = True
            self.send({"type": "snapshot", "req": req, "ok": True, "series": entries,
                       "total_points": total, "markers": markers, "hp_markers": changes},
                      buffers)
        return SENT

    def _on_range(self, msg: dict):
        lo = int_field(msg, "lo", required=True)
        hi = int_field(msg, "hi", required=True)
        if lo > hi:
            raise MessageError(f"lo: must be <= hi, got lo={lo} > hi={hi}")
        curves = {name: in_range(self.session.global_series(name, 0), lo, hi)
                  for name in self.session.global_signal_names()}
        entries, buffers, total = encode_curves(curves, self.max_points)
        return {"lo": lo, "hi": hi, "series": entries, "total_points": total}, buffers

    def _on_runs(self, _msg: dict):
        return {"choices": compare_choices(self.session)}

    def _on_compare(self, msg: dict):
        run = name_field(msg, "run")
        curves = compare_series(self.session, run)
        entries, buffers, total = encode_curves(curves, self.max_points)
        label = next((c["label"] for c in compare_choices(self.session) if c["id"] == run), run)
        return {"run": run, "label": label, "series": entries, "total_points": total}, buffers

    def _on_step_click(self, msg: dict):
        signal = name_field(msg, "signal")
        step = int_field(msg, "step", required=True)
        known = self.session.global_signal_names()
        if signal not in known:
            raise MessageError(f"signal: no curve named {signal!r}; known: {known}")
        refs = self.session.refs_at_step(signal, step)  # (origin, sample_id) of its batch
        if not refs:
            raise MessageError(f"step: no sample recorded {signal!r} at step {step} "
                               "(a curve without per-sample values, or a step without a point)")
        highlight = self._bus.set(signal, step, refs)
        noun = "sample" if highlight.count == 1 else "samples"
        return {**highlight.info(),
                "message": f"step {step}: {highlight.count} {noun} highlighted in the grid"}

    def _on_steps_highlight(self, msg: dict):
        lo = int_field(msg, "lo", required=True)
        hi = int_field(msg, "hi", required=True)
        if lo > hi:
            raise MessageError(f"lo: must be <= hi, got {lo} > {hi}")
        known = self.session.global_signal_names()
        wanted = msg.get("signal")
        if wanted is not None:
            wanted = name_field(msg, "signal")
            if wanted not in known:
                raise MessageError(f"signal: no curve named {wanted!r}; known: {known}")
        # the named curve first, then any other whose samples recorded per-sample values
        for signal in ([wanted] if wanted else []) + [n for n in known if n != wanted]:
            refs = self.session.refs_in_steps(signal, lo, hi)
            if refs:
                break
        else:
            raise MessageError(f"lo: no sample recorded a per-sample value in steps {lo}..{hi}")
        highlight = self._bus.set_refs(refs, label=f"steps {lo:,}–{hi:,}", source="steps",
                                       signal=signal, step=lo, step_end=hi)
        noun = "sample" if highlight.count == 1 else "samples"
        return {**highlight.info(),
                "message": f"steps {lo:,}–{hi:,}: {highlight.count:,} {noun} highlighted in the grid"}

    def _on_clear_highlight(self, _msg: dict):
        cleared = self._bus.clear()
        return {"message": "highlight cleared" if cleared else "no highlight"}

    def close(self, timeout: float = 5.0) -> None:
        bus = getattr(self, "_bus", None)
        if bus is not None and getattr(self, "_publisher", None) is not None:
            bus.remove_listener(self._publisher)
        super().close(timeout)
