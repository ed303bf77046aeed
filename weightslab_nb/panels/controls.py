"""TrainingControls: state, step, epoch and speed of the run; pause, resume and stop; evaluate.

Protocol (browser view: ``js/src/controls.ts``)
-----------------------------------------------
browser -> Python (each runs the command of the same name of :mod:`weightslab_nb.commands`,
``source="panel"``)
    ``{"type": "pause" | "resume" | "stop", "req"?}``: the ``pause`` / ``resume`` / ``stop``
    commands; reply ``{"type": "action_result", "req", "ok", "message", "action"}``. ``resume``
    is refused while an evaluation is running or queued (the pass needs the model to itself:
    cancel it, or ask for "resume after").
    ``{"type": "evaluate", "req"?, "loader", "tags"?, "resume"?, "timeout"?}``: the
    ``evaluate`` command: ``loader`` a watched loader's name or origin; ``tags`` a list of known
    boolean tag names and categorical ``"name=value"`` terms (absent or ``[]``: every sample of
    the loader); ``resume`` (bool, default false): resume training after a successful pass;
    ``timeout`` (seconds > 0, optional). Reply
    ``{"type": "action_result", "req", "ok": true, "action": "evaluate", "id", "state",
    "message"}``. An unknown loader or tag, an empty subset or a full queue (at most
    :data:`~weightslab_nb.evaluation.MAX_QUEUED` waiting) is refused: ``ok: false`` and the
    ``error`` trait say why; nothing is queued.
    ``{"type": "cancel_evaluation", "req"?, "id"?}``: the ``cancel_evaluation`` command: cancel
    evaluation ``id`` (an int: a running or queued request), or without ``id`` the running one,
    else the next queued one. Reply
    ``{"type": "action_result", "req", "ok", "action": "cancel_evaluation", "id", "message"}``;
    nothing to cancel is an error.
    ``{"type": "clear_error"}``
Traits
    ``state`` (``idle``/``running``/``paused``/``stopped``/``error``), ``step``, ``epoch``,
    ``steps_per_second``, ``pause_requested``, ``message`` (the training error, or why it
    stopped), ``error`` (the panel's own errors).
    ``loaders``: ``[{"name", "origin", "size", "is_training"}]`` of the watched loaders.
    ``tag_summary``: ``session.tag_summary()`` (refreshed when tags change, at most once a second
    when only their counts do).
    ``evaluation``: the evaluation shown, ``{"id", "state", "loader", "tags", "resume",
    "progress": [done, total] (batches), "step", "result" ({signal: mean}), "summary",
    "marker_hash", "error", "queued", "last"}``: the running request, else the next queued one,
    else the latest finished one (``state`` ``"none"`` and ``id`` None before any). ``state``:
    ``pending``/``running``/``done``/``cancelled``/``timed_out``/``failed``. ``queued`` counts
    the requests waiting (not running). ``last``: ``{"id", "loader", "tags", "step", "result",
    "summary", "marker_hash"}`` of the latest successful evaluation, or None.
"""

from __future__ import annotations

import time

import traitlets

from weightslab_nb import commands
from weightslab_nb.panels._base import Panel, static_asset
from weightslab_nb.panels.wire import json_number

COMMANDS = ("pause", "resume", "stop")
_MESSAGES = {"pause": "pause requested", "resume": "resumed", "stop": "stop requested"}


def _queued(evaluation) -> list:
    """The requests waiting in ``session.evaluation`` (not the running one), oldest first."""
    return evaluation.queued()


def _last_done(evaluation):
    for req in reversed(evaluation.history):
        if req.state == "done":
            return req
    return None


def _describe(req, queued: int, last) -> dict:
    """The ``evaluation`` trait for request ``req`` (None: no evaluation yet)."""
    out = {"id": None, "state": "none", "loader": None, "tags": [], "resume": False,
           "progress": [0, 0], "step": None, "result": {}, "summary": None, "marker_hash": None,
           "error": None, "queued": queued, "last": None}
    if req is not None:
        done, total = (req.progress or (0, 0))
        out.update({"id": req.id, "state": req.state, "loader": req.loader_name,
                    "tags": list(req.tags), "resume": bool(req.resume),
                    "progress": [int(done), int(total)], "step": req.step,
                    "result": {str(k): json_number(v) for k, v in (req.result or {}).items()},
                    "summary": req.summary, "marker_hash": req.marker_hash, "error": req.error})
    if last is not None:
        out["last"] = {"id": last.id, "loader": last.loader_name, "tags": list(last.tags),
                       "step": last.step, "marker_hash": last.marker_hash,
                       "summary": last.summary,
                       "result": {str(k): json_number(v) for k, v in (last.result or {}).items()}}
    return out


class TrainingControls(Panel):
    """Watch and steer the training run of a session; evaluate a watched loader."""

    _esm = static_asset("controls.js")
    _css = static_asset("controls.css")
    _poll_interval = 0.1  # <= 10 Hz

    state = traitlets.Unicode("idle").tag(sync=True)
    step = traitlets.Int(0).tag(sync=True)
    epoch = traitlets.Int(0).tag(sync=True)
    steps_per_second = traitlets.Float(0.0).tag(sync=True)
    pause_requested = traitlets.Bool(False).tag(sync=True)
    message = traitlets.Unicode("").tag(sync=True)
    loaders = traitlets.List().tag(sync=True)
    tag_summary = traitlets.Dict().tag(sync=True)
    evaluation = traitlets.Dict().tag(sync=True)

    def __init__(self, session, **kwargs):
        self._seen = -1
        self._last_snapshot = 0.0
        self._seen_tags = (-1, -1)
        self._last_tags = 0.0
        self._sent_loaders = None
        self._sent_evaluation = None
        super().__init__(session, **kwargs)

    def _handlers(self) -> dict:
        return {**{c: self._command for c in COMMANDS}, "evaluate": self._on_evaluate,
                "cancel_evaluation": self._on_cancel_evaluation}

    # ---------------------------------------------------------------- publisher thread
    def _poll(self):
        out = {}
        counter = self.session.changes.controller
        now = time.monotonic()
        # the speed decays without a change: refresh it once a second anyway
        if counter != self._seen or now - self._last_snapshot >= 1.0:
            self._seen, self._last_snapshot = counter, now
            out.update(self._run_state())
        loaders = [{"name": name, "origin": str(getattr(loader, "origin", name)),
                    "size": len(getattr(loader, "sample_ids", ()) or ()),
                    "is_training": bool(getattr(loader, "is_training", True))}
                   for name, loader in self.session.registry.all("data").items()]
        if loaders != self._sent_loaders:
            self._sent_loaders = out["loaders"] = loaders
        tags = (self.session.changes.tags, self.session.changes.table)
        tags_due = tags[0] != self._seen_tags[0] or now - self._last_tags >= 1.0
        if tags != self._seen_tags and tags_due:
            self._seen_tags, self._last_tags = tags, now
            out["tag_summary"] = self.session.tag_summary()
        evaluation = self._evaluation_state()
        if evaluation != self._sent_evaluation:
            self._sent_evaluation = out["evaluation"] = evaluation
        return out or None

    def _run_state(self) -> dict:
        snap = self.session.controller.snapshot()
        if snap.get("error"):
            message = str(snap["error"])
        elif snap.get("state") == "stopped" and snap.get("stop_reason"):
            message = f"stopped: {snap['stop_reason']}"
        else:
            message = ""
        return {"state": str(snap.get("state", "idle")), "step": int(snap.get("step", 0)),
                "epoch": int(snap.get("epoch", 0)),
                "steps_per_second": float(snap.get("steps_per_second") or 0.0),
                "pause_requested": bool(snap.get("pause_requested", False)), "message": message}

    def _evaluation_state(self) -> dict:
        ev = self.session.evaluation
        running = ev.running
        queued = [r for r in _queued(ev) if r is not running]
        history = ev.history
        shown = running or (queued[0] if queued else (history[-1] if history else None))
        return _describe(shown, len(queued), _last_done(ev))

    # ---------------------------------------------------------------- messages
    def _run(self, name: str, args: dict) -> dict:
        result = commands.run(self.session, name, args, source="panel")
        self._publisher.wake()
        return result

    def _command(self, msg: dict):
        kind = msg["type"]
        self._run(kind, {})
        return {"message": _MESSAGES[kind], "action": kind}

    def _on_evaluate(self, msg: dict):
        args = {k: msg[k] for k in ("loader", "tags", "resume", "timeout")
                if msg.get(k) is not None}
        request = self._run("evaluate", args)
        tags = request["tags"]
        subset = f" on {', '.join(tags)}" if tags else ""
        return {"action": "evaluate", "id": request["id"], "state": request["state"],
                "message": f"evaluation {request['id']} of {request['loader_name']!r}{subset} "
                           "queued"}

    def _on_cancel_evaluation(self, msg: dict):
        request = self._run("cancel_evaluation", {"id": msg.get("id")})
        return {"action": "cancel_evaluation", "id": request["id"],
                "message": f"cancelling evaluation {request['id']} of "
                           f"{request['loader_name']!r}"}
