"""The notebook's connection to a backend for attached panels: :class:`PanelLink`.

A :class:`PanelLink` is a :class:`~weightslab_nb.serving.client.Client` (it still sends console
commands with ``call``) that also speaks the panel relay (``POST /v1/panels/<op>``, framed
bodies; see :mod:`weightslab_nb.serving.backend`). Made from a run directory
(:meth:`PanelLink.from_dir`), it re-reads ``<root_log_dir>/serving.json`` on :meth:`refresh`, so
panels follow a training script restarted on the same directory (new port, new token).
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from weightslab_nb.errors import InvalidTypeError
from weightslab_nb.serving.client import DEFAULT_TIMEOUT, BackendError, Client, read_token_file
from weightslab_nb.serving.frames import CONTENT_TYPE, FrameError, decode_frames, encode_frames

PANEL_PREFIX = "/v1/panels/"


class PanelLink(Client):
    """A backend connection for attached panels (and console commands).

    Parameters
    ----------
    port, token, host, timeout
        As :class:`~weightslab_nb.serving.client.Client`.
    root_log_dir : str or Path, optional
        The run directory whose ``serving.json`` :meth:`refresh` re-reads (set by
        :meth:`from_dir`); None: the port and token never change.

    Every relay call raises :class:`~weightslab_nb.serving.client.BackendError` when it fails:
    ``kind`` ``"connection"`` (nothing answered), ``"unauthorized"`` (401), ``"unknown_panel"``
    (404: the hosted panel is gone), ``"stopping"`` (503), or the server's refusal kind.
    """

    def __init__(self, port: int, token: str, host: str = "127.0.0.1",
                 timeout: float = DEFAULT_TIMEOUT, root_log_dir=None):
        super().__init__(port, token, host, timeout)
        self.root_log_dir = None if root_log_dir is None else Path(root_log_dir)
        self._lock = threading.Lock()

    @classmethod
    def from_dir(cls, root_log_dir, timeout: float = DEFAULT_TIMEOUT) -> PanelLink:
        """A link to the backend whose ``serving.json`` is in ``root_log_dir``.

        Raises
        ------
        BackendError
            No (readable) ``serving.json`` there.
        """
        info = read_token_file(root_log_dir)
        return cls(info["port"], info["token"], info.get("host", "127.0.0.1"), timeout,
                   root_log_dir=root_log_dir)

    @classmethod
    def of(cls, target) -> PanelLink:
        """``target`` as a link: a :class:`PanelLink` itself, a
        :class:`~weightslab_nb.serving.client.Client` (same port and token), or a run
        directory (``str`` / ``PathLike``, see :meth:`from_dir`).

        Raises
        ------
        TypeError
            Anything else.
        BackendError
            A directory without ``serving.json``.
        """
        if isinstance(target, PanelLink):
            return target
        if isinstance(target, Client):
            return cls(target.port, target.token, target.host, target.timeout)
        if isinstance(target, (str, os.PathLike)):
            return cls.from_dir(target)
        raise InvalidTypeError(f"connection: expected a PanelLink, a Client or a run directory, "
                               f"got {type(target).__name__}")

    @property
    def url(self) -> str:
        """``http://<host>:<port>`` (what the panels show when disconnected)."""
        return f"http://{self.host}:{self.port}"

    def refresh(self) -> bool:
        """Re-read ``serving.json`` (when made from a run directory); True when the port or the
        token changed. A missing or unreadable file changes nothing."""
        if self.root_log_dir is None:
            return False
        try:
            info = read_token_file(self.root_log_dir)
        except BackendError:
            return False
        with self._lock:
            new = (info.get("host", "127.0.0.1"), info["port"], info["token"])
            changed = new != (self.host, self.port, self.token)
            self.host, self.port, self.token = new
        return changed

    def address(self) -> tuple[str, int, str]:
        """``(host, port, token)`` now (:meth:`refresh` may change them from another thread)."""
        with self._lock:
            return self.host, self.port, self.token

    # ---------------------------------------------------------------- the relay
    def relay(self, op: str, header: dict, buffers=(), wait: float = 0.0
              ) -> tuple[dict, list[memoryview]]:
        """Send ``POST /v1/panels/<op>`` with a framed body; return the reply's ``(header,
        buffers)`` (``header["ok"]`` is true). ``wait``: seconds the server may hold the reply
        (added to ``timeout``)."""
        status, kind, data = self.send(PANEL_PREFIX + op, encode_frames(header, buffers),
                                       CONTENT_TYPE, wait)
        host, port, _ = self.address()
        try:
            if kind.startswith("application/json"):
                reply, out = json.loads(data.decode("utf-8")), []
            else:
                reply, out = decode_frames(data)
            if not isinstance(reply, dict) or "ok" not in reply:
                raise FrameError("not a reply object")
        except (ValueError, UnicodeDecodeError):
            raise BackendError(f"{host}:{port} answered HTTP {status} with something that is "
                               "not a weightslab-nb reply", status, "protocol") from None
        if not reply.get("ok"):
            raise BackendError(str(reply.get("error")), status, str(reply.get("kind", "error")),
                               reply)
        return reply, out

    def create_panel(self, kind: str, options: dict | None = None) -> dict:
        """Host a panel of ``kind`` (``"grid"``, ``"curves"``...); ``{"panel", "seq", "state",
        "lease"}``."""
        return self.relay("create", {"kind": kind, "options": options or {}})[0]

    def post_message(self, panel: str, content: dict, buffers=()) -> int:
        """Deliver a view's message to hosted ``panel``; the log's seq after it."""
        return self.relay("message", {"panel": panel, "content": content}, buffers)[0]["seq"]

    def panel_events(self, panel: str, since: int, wait: float = 20.0
                     ) -> tuple[dict, list[memoryview]]:
        """Long poll: the events of ``panel`` after ``since`` (see the backend's protocol)."""
        return self.relay("events", {"panel": panel, "since": since, "wait": wait}, wait=wait)

    def flush_panel(self, panel: str, timeout: float = 5.0) -> int:
        """Let hosted ``panel`` catch up with the session; the log's seq afterwards."""
        return self.relay("flush", {"panel": panel, "timeout": timeout}, wait=timeout)[0]["seq"]

    def close_panel(self, panel: str) -> bool:
        """Close hosted ``panel``; False when the server had none."""
        return bool(self.relay("close", {"panel": panel})[0]["closed"])

    def __repr__(self) -> str:
        where = f" ({self.root_log_dir})" if self.root_log_dir is not None else ""
        return f"<PanelLink {self.url}{where}>"
