"""The hub's side of control when the ranks run in other processes: push the hub session's run
state and discard changes to rank 0, which relays them to every rank at its next boundary."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from weightslab_nb.distributed.control import HubControl

log = logging.getLogger(__name__)

INTERVAL = 0.1  # seconds between two looks at the hub session when nothing woke the pusher


class ControlPush:
    """Pushes ``(state, changes)`` to rank 0 whenever the hub's state or discards change.

    Parameters
    ----------
    session : Session
        The hub session (its controller: pause, resume, stop; its discards).
    send : callable
        ``send(message) -> bool`` to rank 0 (False while it is not connected: the message is
        sent again at the next look).
    """

    def __init__(self, session, send: Callable[[object], bool]):
        self._source = HubControl(session)
        self._send = send
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._unsent: list = []
        self._last_state = None
        session.on_controller_change.append(self._wake.set)
        self._thread = threading.Thread(target=self._run, name="wl-hub-push", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(INTERVAL)
            self._wake.clear()
            try:
                self.push_once()
            except Exception:
                log.exception("could not push the hub's control to rank 0")

    def push_once(self) -> None:
        """Look once and push what changed (a change set not delivered is kept for later)."""
        state, changes = self._source.poll()
        if changes is not None:
            self._unsent.append(changes)
        if state == self._last_state and not self._unsent:
            return
        if self._send((state, list(self._unsent) or None)):
            self._last_state = state
            self._unsent.clear()

    def close(self) -> None:
        """Stop pushing (after one last look)."""
        self._stop.set()
        self._wake.set()
        self._thread.join(5.0)
        try:
            self.push_once()
        except Exception:
            log.exception("could not push the hub's last control to rank 0")
