"""TrainingControls: state, step, epoch and speed of the run; pause, resume and stop.

Protocol (browser view: ``js/src/controls.ts``)
-----------------------------------------------
browser -> Python
    ``{"type": "pause" | "resume" | "stop", "req"?}`` -> ``session.controller.pause()`` ...;
    reply ``{"type": "action_result", "req", "ok", "message"}``.
    ``{"type": "clear_error"}``
Traits
    ``state`` (``idle``/``running``/``paused``/``stopped``/``error``), ``step``, ``epoch``,
    ``steps_per_second``, ``pause_requested``, ``message`` (the training error, or why it
    stopped), ``error`` (the panel's own errors).
"""

from __future__ import annotations

import time

import traitlets

from weightslab_nb.panels._base import Panel, static_asset

COMMANDS = ("pause", "resume", "stop")


class TrainingControls(Panel):
    """Watch and steer the training run of a session."""

    _esm = static_asset("controls.js")
    _css = static_asset("controls.css")
    _poll_interval = 0.1  # <= 10 Hz

    state = traitlets.Unicode("idle").tag(sync=True)
    step = traitlets.Int(0).tag(sync=True)
    epoch = traitlets.Int(0).tag(sync=True)
    steps_per_second = traitlets.Float(0.0).tag(sync=True)
    pause_requested = traitlets.Bool(False).tag(sync=True)
    message = traitlets.Unicode("").tag(sync=True)

    def __init__(self, session=None, **kwargs):
        self._seen = -1
        self._last_snapshot = 0.0
        super().__init__(session, **kwargs)

    def _handlers(self) -> dict:
        return {c: self._command for c in COMMANDS}

    def _poll(self):
        counter = self.session.changes.controller
        now = time.monotonic()
        # the speed decays without a change: refresh it once a second anyway
        if counter == self._seen and now - self._last_snapshot < 1.0:
            return None
        self._seen, self._last_snapshot = counter, now
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

    def _command(self, msg: dict):
        kind = msg["type"]
        getattr(self.session.controller, kind)()
        self._publisher.wake()
        return {"message": {"pause": "pause requested", "resume": "resumed",
                            "stop": "stop requested"}[kind], "action": kind}
