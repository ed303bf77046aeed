"""Panels hosted in the training process for notebooks attached over the backend.

A notebook in another process shows a panel by asking the backend to *host* it: the
:class:`PanelHost` creates the real panel (``SampleGrid(session)``...) here, headless (its comm
is a ``comm.DummyComm``: no front-end is reached from this process), and keeps an event log of
what the panel would have sent to a browser:

* its synced traits: the full state when it is created, then one ``delta`` event per change
  (the panel's publisher sets them, inside ``hold_sync``);
* its custom messages (replies, streamed curve points, selections...), with their buffers.

The notebook's mirror widget (:mod:`weightslab_nb.serving.attached_panels`) long-polls the log
from a sequence number and replays it to its views; the views' messages come back through
:meth:`PanelHost.message` into the panel's own validated message path, so the panel code is the
same in both places and each poll tick costs one request, not one per session call.

Bounds: a log keeps at most ``max_events`` events and ``max_bytes`` bytes of buffers; a client
that asks for events already dropped gets the full state again (``reset``), never an unbounded
backlog. A hosted panel nobody polled or messaged for ``lease`` seconds is closed (its publisher
stops); at most :data:`MAX_PANELS` are hosted at once.
"""

from __future__ import annotations

import importlib
import itertools
import logging
import secrets
import threading
import time
from collections import deque

from weightslab_nb.arguments import check_seconds
from weightslab_nb.errors import ArgumentError, StateError, UnknownNameError

log = logging.getLogger(__name__)

LEASE = 60.0  # seconds a hosted panel lives without a poll or a message
MAX_WAIT = 25.0  # longest long poll, seconds
MAX_PANELS = 64
MAX_EVENTS = 4096
MAX_BYTES = 64 << 20  # buffers kept per panel
MAX_REPLY_BYTES = 16 << 20  # buffers per events reply (at least one event is always sent)

#: kind -> (module under weightslab_nb.panels, class name, options its constructor takes)
KINDS = {
    "controls": ("controls", "TrainingControls", ()),
    "hparams": ("hparams", "HyperParameterEditor", ("name",)),
    "curves": ("curves", "LossCurves", ("max_points", "height")),
    "grid": ("grid", "SampleGrid", ("page_size",)),
    "tags": ("tags", "TagEditor", ()),
    "media": ("media", "RunMedia", ()),
    "sample": ("sample_view", "SampleView", ("sample_id", "origin")),
}


class UnknownPanelError(UnknownNameError):
    """No hosted panel has this id (never created, closed, its lease expired, or the server
    restarted): the client creates a new one."""


class HostStoppedError(StateError):
    """The host is closing (the server stops); nothing more is served."""


def panel_class(kind: str) -> type:
    """The panel class of ``kind`` (a key of :data:`KINDS`).

    Raises
    ------
    ArgumentError
        An unknown kind; the message lists the known ones (a ``ValueError``).
    """
    if not isinstance(kind, str) or kind not in KINDS:
        raise ArgumentError(f"kind: expected one of {sorted(KINDS)}, got {kind!r:.60}")
    module, name, _ = KINDS[kind]
    return getattr(importlib.import_module(f"weightslab_nb.panels.{module}"), name)


def relayed_traits(cls: type) -> list[str]:
    """The public synced traits a panel class adds to ``anywidget.AnyWidget`` (``error`` and
    the panel's own; not ``_esm``/``_css``), sorted: what travels between a hosted panel and
    its mirror."""
    import anywidget

    return sorted(name for name in cls.class_trait_names(sync=True)
                  if not name.startswith("_") and
                  name not in anywidget.AnyWidget.class_trait_names(sync=True))


_hosted_classes: dict[type, type] = {}


def _hosted_class(cls: type) -> type:
    """``cls`` with its messages going to a relay log and a comm that reaches no front-end."""
    found = _hosted_classes.get(cls)
    if found is not None:
        return found

    def __init__(self, session, relay, **kwargs):
        self._relay = relay
        cls.__init__(self, session, **kwargs)

    def open(self):  # never a front-end comm, even when the training process is a kernel
        if self.comm is None:
            from comm import DummyComm

            self.comm = DummyComm(target_name="jupyter.widget")

    def send(self, content, buffers=None):
        self._relay.message(content, buffers)

    found = type(f"Hosted{cls.__name__}", (cls,), {
        "__init__": __init__, "open": open, "send": send, "__module__": __name__})
    _hosted_classes[cls] = found
    return found


class HostedPanel:
    """One hosted panel and its event log. Threads: the panel's publisher and request threads
    append; request threads read (:meth:`read` waits on a condition)."""

    def __init__(self, panel_id: str, kind: str, max_events: int, max_bytes: int):
        self.id = panel_id
        self.kind = kind
        self.traits: list[str] = relayed_traits(panel_class(kind))
        self.panel = None
        self._cond = threading.Condition()
        self._events: deque = deque()  # (seq, "delta" | "msg", payload, buffers, nbytes)
        self._seq = 0
        self._first = 1  # seq of the oldest event kept
        self._bytes = 0
        self._max_events = max_events
        self._max_bytes = max_bytes
        self.closed = False
        self.touched = time.monotonic()
        self.waiting = 0

    # ---------------------------------------------------------------- writers
    def message(self, content, buffers=None) -> None:
        """A custom message the panel sends (what a browser would get)."""
        data = [bytes(memoryview(b).cast("B")) for b in buffers or ()]
        self._append("msg", content, data)

    def trait_changed(self, change) -> None:
        """A relayed trait changed (a traitlets observer): one ``delta`` event."""
        self._append("delta", {change["name"]: change["new"]}, [])

    def _append(self, kind: str, payload, buffers: list) -> None:
        size = sum(len(b) for b in buffers)
        with self._cond:
            self._seq += 1
            self._events.append((self._seq, kind, payload, buffers, size))
            self._bytes += size
            while len(self._events) > 1 and (len(self._events) > self._max_events or
                                             self._bytes > self._max_bytes):
                self._bytes -= self._events.popleft()[4]
                self._first += 1
            self._cond.notify_all()

    # ---------------------------------------------------------------- readers
    @property
    def seq(self) -> int:
        """The number of the last event queued for the mirrors."""
        with self._cond:
            return self._seq

    def state(self) -> dict:
        """The relayed traits as they are now."""
        return {name: getattr(self.panel, name) for name in self.traits}

    def snapshot(self) -> tuple[int, dict]:
        """``(seq, state)``: the events after ``seq`` are the changes since ``state``."""
        with self._cond:
            return self._seq, self.state()

    def read(self, since: int, wait: float, max_bytes: int = MAX_REPLY_BYTES
             ) -> tuple[dict, list]:
        """The events after ``since``, waiting up to ``wait`` seconds for one.

        Returns ``(header, buffers)``: ``{"seq": last seq sent, "events": [{"seq", "kind":
        "delta" | "msg", "state" | "content", "nbuf"}], "reset": bool}``; with ``reset`` true
        (``since`` older than the oldest event kept, or newer than the log) the header also
        holds ``"state"`` (the full state at ``seq``) and no events.

        Raises
        ------
        UnknownPanelError
            The panel was closed before or while waiting.
        """
        deadline = time.monotonic() + wait
        with self._cond:
            self.waiting += 1
            self.touched = time.monotonic()
            try:
                while not self.closed and since == self._seq:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._cond.wait(remaining)
                if self.closed:
                    raise UnknownPanelError(f"panel {self.id!r}: closed")
                if since > self._seq or since < self._first - 1:
                    return {"seq": self._seq, "reset": True, "state": self.state(),
                            "events": []}, []
                events, buffers, size = [], [], 0
                for seq, kind, payload, bufs, nbytes in itertools.islice(
                        self._events, since - self._first + 1, None):
                    if events and size + nbytes > max_bytes:
                        break
                    key = "state" if kind == "delta" else "content"
                    events.append({"seq": seq, "kind": kind, key: payload, "nbuf": len(bufs)})
                    buffers.extend(bufs)
                    size += nbytes
                last = events[-1]["seq"] if events else self._seq
                return {"seq": last, "reset": False, "events": events}, buffers
            finally:
                self.waiting -= 1
                self.touched = time.monotonic()

    def close(self) -> None:
        """Mark the log closed (waiting reads raise :class:`UnknownPanelError`), close the
        panel (its publisher stops)."""
        with self._cond:
            self.closed = True
            self._cond.notify_all()
        if self.panel is not None:
            try:
                self.panel.close()
            except Exception:  # a panel that fails to close must not stop the others
                log.exception("hosted %s panel %s: close failed", self.kind, self.id)


class PanelHost:
    """The panels a backend hosts for attached notebooks (see the module docstring).

    Parameters
    ----------
    session : Session
        The session the hosted panels show.
    lease : float, default :data:`LEASE` (60 s)
        A hosted panel neither polled nor messaged for this long is closed.
    max_events, max_bytes : int
        Bounds of each panel's event log (events; bytes of buffers).
    """

    def __init__(self, session, lease: float = LEASE, max_events: int = MAX_EVENTS,
                 max_bytes: int = MAX_BYTES):
        self.session = session
        self.lease = check_seconds(lease, "panel_lease")
        self.max_events = int(max_events)
        self.max_bytes = int(max_bytes)
        self._panels: dict[str, HostedPanel] = {}
        self._cond = threading.Condition()
        self._stopped = threading.Event()
        self._reaper: threading.Thread | None = None

    @property
    def stopped(self) -> bool:
        """True once :meth:`close` ran."""
        return self._stopped.is_set()

    @property
    def count(self) -> int:
        """How many panels are hosted now."""
        with self._cond:
            return len(self._panels)

    def wait_for(self, predicate, timeout: float) -> bool:
        """Wait until ``predicate(host)`` holds (checked at each create/close); for tests."""
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self), timeout)

    def create(self, kind: str, options: dict | None = None) -> dict:
        """Host a new panel of ``kind`` with constructor ``options``; return ``{"panel": id,
        "kind", "seq", "state", "lease"}``.

        Raises
        ------
        ArgumentError
            An unknown kind, or options it does not take.
        InvalidValueError, InvalidTypeError
            Values its constructor refuses.
        UnknownSampleError, ...
            What the panel's constructor raises (e.g. a ``sample`` panel of an unknown id).
        StateError
            :data:`MAX_PANELS` are hosted already, or the host is stopping.
        """
        cls = panel_class(kind)
        options = {} if options is None else options
        if not isinstance(options, dict):
            raise ArgumentError(f"options: expected an object, got {type(options).__name__}")
        allowed = KINDS[kind][2]
        unknown = sorted(set(options) - set(allowed))
        if unknown:
            raise ArgumentError(f"options: {kind!r} panels take {list(allowed)}, got "
                                    f"{unknown}")
        with self._cond:
            if self._stopped.is_set():
                raise HostStoppedError("the server is stopping")
            if len(self._panels) >= MAX_PANELS:
                raise StateError(f"{MAX_PANELS} panels are hosted already; close some (their "
                                 f"leases end {self.lease:g} s after their last poll)")
        hosted = HostedPanel(secrets.token_hex(8), kind, self.max_events, self.max_bytes)
        panel = _hosted_class(cls)(self.session, hosted, **options)
        hosted.panel = panel
        panel.observe(hosted.trait_changed, names=hosted.traits)
        seq, state = hosted.snapshot()
        with self._cond:
            stopped = self._stopped.is_set()
            if not stopped:
                self._panels[hosted.id] = hosted
                self._cond.notify_all()
                self._start_reaper()
        if stopped:
            hosted.close()
            raise HostStoppedError("the server is stopping")
        return {"panel": hosted.id, "kind": kind, "seq": seq, "state": state,
                "lease": self.lease}

    def get(self, panel_id) -> HostedPanel:
        """The hosted panel ``panel_id``; it counts as used (its lease restarts).

        Raises
        ------
        UnknownPanelError
            No such panel (closed, expired, or from another server).
        """
        with self._cond:
            if self._stopped.is_set():
                raise HostStoppedError("the server is stopping")
            hosted = self._panels.get(panel_id) if isinstance(panel_id, str) else None
        if hosted is None:
            raise UnknownPanelError(f"panel: no hosted panel {panel_id!r:.40} (closed, its "
                                    f"lease of {self.lease:g} s expired, or the server "
                                    "restarted)")
        hosted.touched = time.monotonic()
        return hosted

    def message(self, panel_id, content, buffers) -> int:
        """Deliver a view's message to the hosted panel (its replies go to the log); return the
        log's seq after handling it."""
        hosted = self.get(panel_id)
        hosted.panel._on_custom_msg(hosted.panel, content, list(buffers))
        return hosted.seq

    def events(self, panel_id, since: int, wait: float) -> tuple[dict, list]:
        """See :meth:`HostedPanel.read`; ``wait`` is capped at :data:`MAX_WAIT`."""
        try:
            return self.get(panel_id).read(since, min(float(wait), MAX_WAIT))
        except UnknownPanelError:
            if self._stopped.is_set():
                raise HostStoppedError("the server is stopping") from None
            raise

    def flush(self, panel_id, timeout: float) -> int:
        """Let the panel's publisher catch up with the session (as ``Panel.flush``); return the
        log's seq afterwards."""
        hosted = self.get(panel_id)
        hosted.panel.flush(min(float(timeout), MAX_WAIT))
        return hosted.seq

    def close_panel(self, panel_id) -> bool:
        """Close one hosted panel; False when there was none."""
        with self._cond:
            hosted = self._panels.pop(panel_id, None) if isinstance(panel_id, str) else None
            self._cond.notify_all()
        if hosted is None:
            return False
        hosted.close()
        return True

    def expire(self) -> list[str]:
        """Close the panels whose lease ended; return their ids (the reaper calls this)."""
        now = time.monotonic()
        with self._cond:
            stale = [p for p in self._panels.values()
                     if p.waiting == 0 and now - p.touched > self.lease]
            for p in stale:
                del self._panels[p.id]
            self._cond.notify_all()
        for p in stale:
            log.info("hosted %s panel %s: lease of %g s expired", p.kind, p.id, self.lease)
            p.close()
        return [p.id for p in stale]

    def close(self) -> None:
        """Close every hosted panel and wake every waiting poll (the server stops)."""
        with self._cond:
            self._stopped.set()
            panels, self._panels = list(self._panels.values()), {}
            self._cond.notify_all()
        for p in panels:
            p.close()

    def _start_reaper(self) -> None:
        if self._reaper is None:
            self._reaper = threading.Thread(target=self._reap, name="wl-panel-leases",
                                            daemon=True)
            self._reaper.start()

    def _reap(self) -> None:
        interval = max(0.05, min(self.lease / 4, 5.0))
        while not self._stopped.wait(interval):
            try:
                self.expire()
            except Exception:  # keep reaping
                log.exception("hosted panels: expiring leases failed")
