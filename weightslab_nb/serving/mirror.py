"""The mirror widget: :class:`AttachedPanel`, a panel whose twin is hosted by another process.

A mirror is an instance of a subclass of the real panel class (same ``_esm``, ``_css`` and
synced traits, so the same browser view draws it) that skips the panel's own ``__init__``: it
has no session and no publisher. Its *twin* is the real panel, hosted by the training process's
backend (:mod:`weightslab_nb.serving.panel_host`). One thread per mirror long-polls the twin's
events and applies them (traits inside ``hold_sync``; custom messages, with their buffers,
forwarded to the views): it is the only writer of the mirror's traits. Another posts the views'
messages to the twin in order. Neither ever runs on the kernel's main thread.

When the connection drops, ``error`` reads ``disconnected from <url>, retrying…``; the mirror
retries with a bounded backoff (re-reading ``serving.json`` when made from a run directory, so a
training script restarted on the same directory is found), then creates a new twin and resyncs
the full state, clearing the error. A view's request made while disconnected is answered at once
with ``ok: false`` and is not sent later: nothing is half-applied. Requests a view makes once to
set up a stream (:data:`REPLAYED`: the curves' ``sync``) are sent again to a new twin.

Mirror classes are made by :func:`weightslab_nb.serving.attached_panels.mirror_class`.
"""

from __future__ import annotations

import html
import itertools
import logging
import queue
import threading

import anywidget

from weightslab_nb.errors import StateError
from weightslab_nb.serving.client import BackendError
from weightslab_nb.serving.panel_host import relayed_traits
from weightslab_nb.serving.panel_link import PanelLink

log = logging.getLogger(__name__)

WAIT = 20.0  # seconds of one long poll
RETRY = (0.25, 5.0)  # first and longest wait between reconnection attempts, seconds

#: Requests a view makes once (when it renders) that set up a stream a new twin must see again
#: after a reconnection or a resync: the curves' snapshot, after which points are streamed.
REPLAYED = {"curves": ("sync",)}

#: Refusal kinds that mean "the server is not there" rather than "the server said no".
_OFFLINE = {"connection", "stopping", "unauthorized", "protocol"}


class AttachedPanel:
    """Mixin of the mirror classes (see the module docstring); made by :func:`attached_panel`.

    Parameters
    ----------
    connection : PanelLink, Client, str or PathLike
        See :meth:`PanelLink.of <weightslab_nb.serving.panel_link.PanelLink.of>`.
    options : dict, optional
        The hosted panel's constructor options (``page_size`` for a grid, ``max_points`` and
        ``height`` for curves, ``name`` for hparams, ``sample_id`` and ``origin`` for a sample).
    wait : float, default :data:`WAIT`
        Seconds of one long poll (the server caps it at 25).
    retry : (float, float), default :data:`RETRY`
        First and longest wait between reconnection attempts, seconds (doubling).
    **widget_kwargs
        Widget traits (``layout=...``).

    Attributes
    ----------
    link : PanelLink
    kind : str
    connected : bool
        A twin is attached and the last request to it succeeded.
    """

    _wl_kind = ""

    def __init__(self, connection, *, options: dict | None = None, wait: float = WAIT,
                 retry: tuple = RETRY, **widget_kwargs):
        link = PanelLink.of(connection)  # a bad connection is refused before any comm opens
        anywidget.AnyWidget.__init__(self, **widget_kwargs)
        self.link = link
        self.kind = self._wl_kind
        self.options = dict(options or {})
        self._wait = float(wait)
        self._retry = (float(retry[0]), float(retry[1]))
        self._relayed = set(relayed_traits(type(self)))
        self._cond = threading.Condition()
        self._link_state = "connecting"  # -> "connected" <-> "disconnected"
        self._panel_id: str | None = None
        self._seq = 0
        self._twin_error = ""
        self._link_error = ""
        self._replay: dict[str, dict] = {}
        self._relay_req = itertools.count(1)
        self._views_seen = 0
        self._last_requests: dict[str, dict] = {}
        self._closing = threading.Event()
        self._outbox: queue.Queue = queue.Queue()
        self.attachments = 0  # twins created (1 + reconnections that needed a new one)
        self.on_msg(self._on_view_msg)
        name = f"wl-attached-{self.kind}"
        self._poller = threading.Thread(target=self._poll_loop, name=f"{name}-poll",
                                        daemon=True)
        self._sender = threading.Thread(target=self._send_loop, name=f"{name}-send",
                                        daemon=True)
        self._poller.start()
        self._sender.start()

    # ---------------------------------------------------------------- public
    @property
    def connected(self) -> bool:
        """Whether the link to the training process is up now."""
        with self._cond:
            return self._link_state == "connected"

    def wait_connected(self, timeout: float = 5.0) -> bool:
        """Wait until a twin is attached (True) or ``timeout`` seconds passed (False)."""
        with self._cond:
            return self._cond.wait_for(lambda: self._link_state == "connected", timeout)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until this mirror shows the session as of now: the twin catches up with the
        session, then this mirror with the twin. False on timeout or while disconnected."""
        if not self.wait_connected(timeout):
            return False
        with self._cond:
            panel = self._panel_id
        try:
            seq = self.link.flush_panel(panel, timeout)
        except BackendError:
            return False
        with self._cond:
            return self._cond.wait_for(
                lambda: self._panel_id != panel or self._seq >= seq, timeout) and \
                self._panel_id == panel

    def close(self, timeout: float = 5.0) -> None:
        """Stop relaying, close the hosted twin (in the background) and the widget."""
        self._closing.set()
        self._outbox.put(None)
        with self._cond:
            panel, self._panel_id = self._panel_id, None
            self._cond.notify_all()
        if panel is not None:  # also ends the poll waiting on it
            threading.Thread(target=self._close_twin, args=(panel,), daemon=True,
                             name=f"wl-attached-{self.kind}-close").start()
        anywidget.AnyWidget.close(self)

    def has_live_view(self) -> bool:
        """Whether a front-end drew this mirror (a view announced itself or sent a request)."""
        return self._views_seen > 0

    def last_request(self, kind: str) -> dict | None:
        """A copy of the last message of type ``kind`` a view sent (None before any)."""
        found = self._last_requests.get(kind)
        return None if found is None else dict(found)

    def answer(self, msg: dict):
        """Not available on a mirror (its twin answers, asynchronously)."""
        raise StateError(f"{type(self).__name__}: an attached panel answers its views through "
                         "the server; send the request as a view does")

    # ---------------------------------------------------------------- display
    def static_bundle(self) -> dict:
        """``{"text/html", "text/plain"}``: where this panel is attached (shown when no
        front-end draws the widget)."""
        text = f"weightslab_nb {self.kind} panel attached to {self.link.url}"
        return {"text/plain": text,
                "text/html": f'<div class="wl-attached-fallback">{html.escape(text)}</div>'}

    def widget_bundle(self) -> tuple[dict, dict]:
        """The widget's mimebundle (live view) plus :meth:`static_bundle`."""
        found = anywidget.AnyWidget._repr_mimebundle_(self)
        data, metadata = found if isinstance(found, tuple) else (found or {}, {})
        return {**data, **self.static_bundle()}, metadata

    def _repr_mimebundle_(self, **kwargs):
        if getattr(self, "comm", None) is None:
            return self.static_bundle(), {}
        return self.widget_bundle()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        data, metadata = self._repr_mimebundle_()
        display(data, raw=True, metadata=metadata)

    # ---------------------------------------------------------------- views -> twin
    def _on_view_msg(self, _widget, content, buffers) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        self._views_seen += 1
        if isinstance(kind, str):
            self._last_requests[kind] = content
            if kind in REPLAYED.get(self.kind, ()):
                self._replay[kind] = {k: v for k, v in content.items() if k != "req"}
        with self._cond:
            offline = self._link_state == "disconnected"
        if offline:
            self._refuse(content, self._link_error)
            return
        self._outbox.put((content, [bytes(memoryview(b).cast("B")) for b in buffers or ()]))

    def _send_loop(self) -> None:
        while True:
            item = self._outbox.get()
            if item is None:
                return
            content, buffers = item
            with self._cond:
                self._cond.wait_for(lambda: self._link_state != "connecting" or self._closing.is_set(),
                                    self.link.timeout)
                state, panel = self._link_state, self._panel_id
            if self._closing.is_set():
                return
            if state != "connected" or panel is None:
                self._refuse(content, self._link_error or
                             f"not attached to {self.link.url} yet; try again")
                continue
            try:
                self.link.post_message(panel, content, buffers)
            except BackendError as exc:  # the poll thread notices a lost server by itself
                self._refuse(content, f"not delivered to {self.link.url}: {exc.message}")

    def _refuse(self, content, text: str) -> None:
        """Answer a view's request locally with ``ok: false`` (only requests get replies)."""
        if not isinstance(content, dict) or "req" not in content:
            return
        kind = content.get("type")
        reply_type = self._reply_types.get(kind, "action_result") if isinstance(kind, str) \
            else "error"
        self.send({"type": reply_type, "req": content["req"], "ok": False, "message": text})

    # ---------------------------------------------------------------- twin -> views
    def _poll_loop(self) -> None:
        delay = self._retry[0]
        while not self._closing.is_set():
            try:
                with self._cond:
                    panel, since = self._panel_id, self._seq
                if panel is None:
                    self._attach()
                    delay = self._retry[0]
                    continue
                header, buffers = self.link.panel_events(panel, since, self._wait)
                if self._closing.is_set():
                    return
                self._apply(panel, header, buffers)
                self._online()
                delay = self._retry[0]
            except BackendError as exc:
                if self._closing.is_set():
                    return
                if exc.kind == "unknown_panel":  # the server lost it (lease, restart): anew
                    with self._cond:
                        self._panel_id = None
                    continue
                self._offline(exc)
                if self._closing.wait(delay):
                    return
                delay = min(delay * 2, self._retry[1])
                self.link.refresh()
            except Exception as exc:  # a bug: show it, keep trying
                log.exception("attached %s panel: relay failed", self.kind)
                self._offline(exc)
                if self._closing.wait(delay):
                    return
                delay = min(delay * 2, self._retry[1])

    def _attach(self) -> None:
        """Create a twin and take its full state (then replay the view's stream requests)."""
        reply = self.link.create_panel(self.kind, self.options)
        with self._cond:
            stale = self._closing.is_set()
            if not stale:
                self._panel_id, self._seq = reply["panel"], int(reply["seq"])
        if stale:
            self._close_twin(reply["panel"])
            return
        self.attachments += 1
        self._apply_state(reply["state"])
        self._online()
        self._replay_streams(reply["panel"])

    def _replay_streams(self, panel: str) -> None:
        for content in list(self._replay.values()):
            try:
                self.link.post_message(panel, {**content, "req": f"wl-relay:{next(self._relay_req)}"})
            except BackendError:
                log.debug("attached %s panel: replay failed", self.kind, exc_info=True)

    def _apply(self, panel: str, header: dict, buffers: list) -> None:
        if header.get("reset"):  # fell behind the server's bounded log: full state again
            self._apply_state(header.get("state") or {})
            self._advance(panel, int(header["seq"]))
            self._replay_streams(panel)
            return
        changes: dict = {}
        at = 0
        for event in header.get("events", ()):
            if event.get("kind") == "delta":
                changes.update(event.get("state") or {})
                continue
            if changes:
                self._apply_state(changes)
                changes = {}
            n = int(event.get("nbuf", 0))
            self.send(event.get("content"), [bytes(b) for b in buffers[at:at + n]])
            at += n
        if changes:
            self._apply_state(changes)
        self._advance(panel, int(header["seq"]))

    def _advance(self, panel: str, seq: int) -> None:
        with self._cond:
            if self._panel_id == panel:
                self._seq = seq
            self._cond.notify_all()

    def _apply_state(self, state: dict) -> None:
        if "error" in state:
            self._twin_error = str(state["error"] or "")
        values = {k: v for k, v in state.items() if k in self._relayed and k != "error"}
        if getattr(self, "comm", None) is None:
            return
        with self.hold_sync():
            for name, value in values.items():
                try:
                    setattr(self, name, value)
                except Exception:  # a value this version cannot take: skip it, keep the rest
                    log.warning("attached %s panel: cannot set %s", self.kind, name,
                                exc_info=True)
            self._show_error()

    # ---------------------------------------------------------------- connection state
    def _online(self) -> None:
        with self._cond:
            changed = self._link_state != "connected"
            self._link_state = "connected"
            self._link_error = ""
            self._cond.notify_all()
        if changed:
            self._show_error()

    def _offline(self, exc: BaseException) -> None:
        message = getattr(exc, "message", None) or str(exc)
        if isinstance(exc, BackendError) and exc.kind in _OFFLINE:
            text = f"disconnected from {self.link.url}, retrying… ({message})"
        else:
            text = f"cannot attach to {self.link.url}, retrying… ({message})"
        with self._cond:
            self._link_state = "disconnected"
            self._link_error = text
            self._cond.notify_all()
        self._show_error()

    def _show_error(self) -> None:
        if getattr(self, "comm", None) is None:
            return
        self.error = "\n".join(t for t in (self._link_error, self._twin_error) if t)

    def _close_twin(self, panel: str) -> None:
        try:
            self.link.close_panel(panel)
        except BackendError:
            pass  # gone already, or the server is: its lease ends it
