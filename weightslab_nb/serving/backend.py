"""The backend: a small HTTP server (127.0.0.1 by default) that runs validated session commands.

Protocol (version 1)
--------------------
* ``POST /v1/command`` with ``Authorization: Bearer <token>``, ``Content-Type:
  application/json`` and a body ``{"command": NAME, "args": {...}}`` of at most
  :data:`MAX_BODY` bytes (see :mod:`weightslab_nb.serving.commands` for the commands).
* ``POST /v1/call``, the same way, with ``{"method": NAME, "args": [...], "kwargs": {...}}``:
  a remote session's call of a public session method (:mod:`weightslab_nb.serving.calls`);
  the reply is ``{"ok": true, "result": ...}``, a refusal's ``kind`` the class name of the
  session's exception.
* The reply is always JSON: ``{"ok": true, "command": NAME, "result": ...}`` (200), or
  ``{"ok": false, "error": MESSAGE, "kind": KIND}`` with status 400 (malformed request: bad
  request line or Content-Length, invalid JSON, JSON nested deeper than
  :data:`MAX_JSON_DEPTH`, a body that is not an object, unknown command, wrong argument types;
  a body shorter than its Content-Length), 401 (missing or wrong token), 403 (a Host other than
  127.0.0.1/localhost), 404 (other paths), 405 (other methods), 408 (the request line, headers
  or body did not arrive within ``request_timeout`` seconds), 411/413 (missing or too large
  body), 414/431 (request line or headers too long), 422 (refused by the session: unknown ids,
  tags, loaders, bad values), 500 (a bug), 501 (``Transfer-Encoding``), 505 (HTTP/2 and later).
  A refused request changes nothing.
* The token (:func:`new_token`: ``secrets.token_urlsafe(32)``, never starting with ``-``) and
  port are written to
  ``<root_log_dir>/serving.json`` (mode 0600): ``{"protocol": 1, "host": "127.0.0.1",
  "port": P, "token": T, "pid": PID, "started_at": ISO-8601}``; the file is removed when the
  server stops. Tokens are compared with :func:`hmac.compare_digest`.

Panel relay (same server, same Host and token checks)
----------------------------------------------------
Notebook panels attached to this process (:mod:`weightslab_nb.serving.attached_panels`) are
hosted here (:mod:`weightslab_nb.serving.panel_host`) and relayed. ``POST /v1/panels/<op>``
requests and their replies carry a *framed* body (:mod:`weightslab_nb.serving.frames`: a 4-byte
big-endian header length, a JSON header listing the buffer lengths, the raw buffers), so
columns and PNG thumbnails travel as bytes. Every reply header has ``"ok"``; refusals are
``{"ok": false, "error", "kind"}`` (400 malformed, 404 ``unknown_panel``, 422 refused, 503
``stopping``; 401/403/413... are JSON as above, before anything is created or changed):

* ``create`` ``{"kind": "grid" | "curves" | "controls" | "hparams" | "tags" | "media" |
  "sample", "options": {...}}`` -> ``{"panel": ID, "seq": S, "state": {trait: value},
  "lease": seconds}``;
* ``message`` ``{"panel", "content": {...}}`` + buffers: a view's message, handled by the
  panel's own validated path; its reply (if any) appears in the events -> ``{"seq"}``;
* ``events`` ``{"panel", "since": S, "wait": seconds <= 25}``: long poll -> ``{"seq",
  "reset", "events": [{"seq", "kind": "delta", "state"} | {"seq", "kind": "msg", "content",
  "nbuf"}]}`` + the messages' buffers in order; ``reset`` true (the client fell behind the
  bounded log) carries the full ``"state"`` instead of events;
* ``flush`` ``{"panel", "timeout"}``: let the panel catch up with the session -> ``{"seq"}``;
* ``close`` ``{"panel"}`` -> ``{"closed": bool}``. A panel not polled for its lease (60 s) is
  closed by the server; stopping the server closes them all and answers waiting polls (503).

Threads: the server loop and each request run in daemon threads; a request calls one session
method that returns at once (pause, tag, discard...), so training never waits on the console.
"""

from __future__ import annotations

import atexit
import hmac
import json
import logging
import math
import os
import re
import secrets
import threading
import time
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

from weightslab_nb.arguments import check_seconds
from weightslab_nb.errors import InvalidTypeError, InvalidValueError, StateError
from weightslab_nb.serving import panel_routes
from weightslab_nb.serving.calls import ARROW_STREAM, CALL_PATH
from weightslab_nb.serving.commands import CommandError, call, execute
from weightslab_nb.serving.frames import CONTENT_TYPE as FRAMES_TYPE
from weightslab_nb.serving.frames import FrameError, decode_frames, encode_frames
from weightslab_nb.serving.panel_host import LEASE, PanelHost

log = logging.getLogger(__name__)

PROTOCOL = 1
HOST = "127.0.0.1"
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
COMMAND_PATH = "/v1/command"
TOKEN_FILE = "serving.json"
MAX_BODY = 1 << 20  # bytes
MAX_JSON_DEPTH = 64  # nesting of arrays and objects in a request body
REQUEST_TIMEOUT = 10.0  # seconds a client may take to send its request
MAX_LINE = 65536  # bytes of the request line (as http.server)

_KINDS = {400: "bad_request", 405: "method_not_allowed", 408: "timeout", 414: "too_large",
          431: "too_large", 500: "internal", 501: "not_implemented",
          505: "http_version_not_supported"}
_DIGITS = re.compile(r"[0-9]{1,18}")
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")

GRPC_UNAVAILABLE = (
    "serving_grpc=True: the gRPC backend (for the WeightsLab studio) is not available in "
    "weightslab_nb. Use wl.serve() (or serving_cli=True) for the backend that a notebook "
    "(wl.connect(<root_log_dir>)) and the console ('weightslab-nb cli --dir <root_log_dir>') "
    "attach to, or the notebook panels (wl.dashboard()).")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stop() must not wait for a slow client
    allow_reuse_address = True
    request_queue_size = 64  # socketserver's 5 makes a burst of clients wait for SYN retries

    def __init__(self, address, handler, backend: CommandServer):
        self.backend = backend
        super().__init__(address, handler)

    def handle_error(self, request, client_address) -> None:
        # never print from a thread (socketserver's default writes a traceback to stderr)
        log.debug("console backend: error while serving %s", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    server_version = "weightslab-nb"
    sys_version = ""
    protocol_version = "HTTP/1.0"  # one request per connection
    default_request_version = "HTTP/1.0"  # so that even a garbled request gets status + headers
    timeout = REQUEST_TIMEOUT

    # ---------------------------------------------------------------- plumbing
    def setup(self) -> None:
        self.timeout = self.server.backend.request_timeout  # the socket's, for every read
        self.replied = False
        super().setup()

    def log_message(self, format, *args) -> None:
        log.debug("console backend: %s - %s", self.address_string(), format % args)

    def handle_one_request(self) -> None:
        """Read and answer one request, as ``BaseHTTPRequestHandler`` does, except that every
        failure is answered in JSON: a request line, headers or body that do not arrive within
        ``request_timeout`` seconds (408), and a bug (500)."""
        self.command = self.requestline = ""
        self.request_version = self.default_request_version
        try:
            self.raw_requestline = self.rfile.readline(MAX_LINE + 1)
            if len(self.raw_requestline) > MAX_LINE:
                return self._refuse(414, f"request line: longer than {MAX_LINE} bytes",
                                    "too_large")
            if not self.raw_requestline:
                return  # the client connected and went away
            if not self.parse_request():
                return  # send_error answered
            getattr(self, "do_" + self.command, self._not_allowed)()
            self.wfile.flush()
        except TimeoutError:
            self._timed_out("the request")
        except Exception as exc:  # a bug: answer it, keep serving
            log.exception("console backend: request failed")
            if not self.replied:
                self._refuse(500, f"internal error: {type(exc).__name__}: {exc}", "internal")
        finally:
            self.close_connection = True

    def _timed_out(self, what: str) -> None:
        if not self.replied:
            self._refuse(408, f"{what} did not arrive within {self.timeout:g} s "
                              "(request_timeout)", "timeout")

    def send_error(self, code: int, message: str | None = None, explain: str | None = None):
        """``http.server``'s error replies (bad request line, headers too long, HTTP/2...), in
        JSON like every other reply."""
        short, detail = self.responses.get(code, ("error", "error"))
        text = f"{message or short}: {explain}" if explain else (message or detail)
        self._refuse(code, text, _KINDS.get(code, "bad_request"), {"Connection": "close"})

    def _reply(self, status: int, payload: dict, headers: dict | None = None) -> None:
        try:
            body = json.dumps(payload, default=_json_default).encode("utf-8")
        except (TypeError, ValueError) as exc:  # e.g. a result that contains itself
            log.exception("console backend: reply not serialisable")
            status, body = 500, json.dumps({
                "ok": False, "kind": "internal",
                "error": f"internal error: reply not serialisable ({exc})"}).encode("utf-8")
        self._send_body(status, body, "application/json; charset=utf-8", headers)

    def _reply_frames(self, status: int, header: dict, buffers) -> None:
        try:
            body = encode_frames(header, buffers, default=_json_default)
        except (TypeError, ValueError) as exc:
            log.exception("console backend: panel reply not serialisable")
            status, body = 500, encode_frames({
                "ok": False, "kind": "internal",
                "error": f"internal error: reply not serialisable ({exc})"})
        self._send_body(status, body, FRAMES_TYPE)

    def _send_body(self, status: int, body: bytes, content_type: str,
                   headers: dict | None = None) -> None:
        if self.replied:
            return
        self.replied = True
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        try:
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client went away, or does not read
            pass

    def _refuse(self, status: int, message: str, kind: str, headers: dict | None = None) -> None:
        self._reply(status, {"ok": False, "error": message, "kind": kind}, headers)

    def _not_allowed(self) -> None:
        self._refuse(405, f"method {self.command} not allowed; send POST {COMMAND_PATH}",
                     "method_not_allowed", {"Allow": "POST"})

    do_GET = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _not_allowed

    # ---------------------------------------------------------------- endpoints
    def do_POST(self) -> None:
        backend: CommandServer = self.server.backend
        if self.path in (COMMAND_PATH, CALL_PATH):
            endpoint = self._command
        elif self.path in panel_routes.ROUTES:
            endpoint = self._panel
        else:
            return self._refuse(404, f"unknown path {self.path!r}; send POST {COMMAND_PATH} "
                                     f"(or {panel_routes.PREFIX}<op> for panels)", "not_found")
        host = (self.headers.get("Host") or "").strip().lower()
        if backend.allowed_hosts is not None and host not in backend.allowed_hosts:
            return self._refuse(403, f"Host {host!r} refused; connect to "
                                     f"{HOST}:{backend.port}", "forbidden")
        if not backend.check_token(self.headers.get("Authorization")):
            return self._refuse(401, "missing or wrong token (read it from "
                                     f"{backend.token_file})", "unauthorized",
                                {"WWW-Authenticate": "Bearer"})
        endpoint(backend)

    def _command(self, backend: CommandServer) -> None:
        try:
            payload = decode_request(self._read_body(backend.max_body))
            if self.path == CALL_PATH:
                result = call(backend.session, payload)
                if isinstance(result, bytes):  # a frame, as an Arrow IPC stream
                    return self._send_body(200, result, ARROW_STREAM)
                return self._reply(200, {"ok": True, "result": result})
            result = execute(backend.session, payload)
        except CommandError as exc:
            return self._refuse(exc.status, exc.message, exc.kind)
        except Exception as exc:  # a bug: report it, keep serving
            log.exception("console backend: command failed")
            return self._refuse(500, f"internal error: {type(exc).__name__}: {exc}", "internal")
        self._reply(200, {"ok": True, "command": payload["command"], "result": result})

    def _panel(self, backend: CommandServer) -> None:
        """A panel relay request (framed body in, framed reply out)."""
        try:
            header, buffers = decode_frames(self._read_body(backend.max_body), _check_depth)
        except CommandError as exc:
            return self._refuse(exc.status, exc.message, exc.kind)
        except FrameError as exc:
            return self._reply_frames(400, {"ok": False, "error": str(exc),
                                            "kind": "bad_request"}, [])
        try:
            status, reply, out = panel_routes.handle(backend.panels, self.path, header, buffers)
        except Exception as exc:  # a bug: report it, keep serving
            log.exception("console backend: panel request failed")
            status, reply, out = 500, {"ok": False, "kind": "internal",
                                       "error": f"internal error: {type(exc).__name__}: {exc}"}, []
        self._reply_frames(status, reply, out)

    def _read_body(self, max_body: int) -> bytes:
        """The request body, exactly as long as its one Content-Length header says.

        Raises
        ------
        CommandError
            411 without Content-Length; 400 for several different ones, one that is not a plain
            number, or a body that ended early; 413 over ``max_body``; 501 with
            Transfer-Encoding; 408 when the body did not arrive within ``request_timeout``.
        """
        if self.headers.get("Transfer-Encoding") is not None:
            raise CommandError("Transfer-Encoding: not supported; send the JSON body with a "
                               "Content-Length", 501, "not_implemented")
        values = {v.strip() for v in self.headers.get_all("Content-Length") or ()}
        if not values:
            raise CommandError("Content-Length: required (a JSON body)", 411, "length_required")
        if len(values) > 1:
            raise CommandError(f"Content-Length: several different values {sorted(values)}")
        (text,) = values
        if not _DIGITS.fullmatch(text):
            raise CommandError("Content-Length: expected a number of bytes (up to 18 digits), got "
                               f"{text[:40]!r}")
        size = int(text)
        if size > max_body:
            raise CommandError(f"request body of {size} bytes is larger than the {max_body} "
                               "allowed", 413, "too_large")
        try:
            body = self.rfile.read(size)
        except TimeoutError:
            raise CommandError(f"the request body ({size} bytes, its Content-Length) did not "
                               f"arrive within {self.timeout:g} s (request_timeout)", 408,
                               "timeout") from None
        if len(body) != size:
            raise CommandError(f"request body: {len(body)} bytes, shorter than its "
                               f"Content-Length ({size})")
        return body


def decode_request(body: bytes):
    """The JSON value in a request body.

    Raises
    ------
    CommandError
        400: nested deeper than :data:`MAX_JSON_DEPTH` (checked before parsing, so a deep body
        costs one scan), not UTF-8, or not valid JSON.
    """
    if json_depth(body) > MAX_JSON_DEPTH:
        raise CommandError(f"request: JSON nested deeper than {MAX_JSON_DEPTH} levels (the limit "
                           "MAX_JSON_DEPTH)")
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise CommandError(f"request: not valid JSON ({exc})") from None


def _check_depth(header: bytes) -> None:
    if json_depth(header) > MAX_JSON_DEPTH:
        raise FrameError(f"frames: header nested deeper than {MAX_JSON_DEPTH} levels (the "
                         "limit MAX_JSON_DEPTH)")


def json_depth(body: bytes) -> int:
    """How deep arrays and objects nest in the JSON text ``body`` (0 for a scalar), counted
    without parsing it: brackets inside strings do not count, unbalanced ones are left for the
    parser to report. One vectorised pass (a few ms for 1 MiB)."""
    brackets = _JSON_STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    if not brackets:
        return 0
    codes = np.frombuffer(brackets, dtype=np.uint8)
    steps = np.where((codes == ord("[")) | (codes == ord("{")), 1, -1)
    return int(np.cumsum(steps).max())


def _json_default(value):
    """JSON for the numpy scalars/arrays, paths and other objects a result may hold."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return repr(value)


# ---------------------------------------------------------------- the server object
class CommandServer:
    """A running console backend for one session; what :func:`serve` returns.

    Attributes
    ----------
    host, port : str, int
        Where it listens (``127.0.0.1`` unless :func:`serve` was given another ``host``).
    allowed_hosts : frozenset[str] or None
        ``Host`` headers accepted on the loopback interface (a browser page of another site
        cannot reach the backend through DNS rebinding); None, any, on another interface.
    url : str
        ``http://127.0.0.1:<port>/v1/command``.
    token_file : Path
        ``<root_log_dir>/serving.json`` (mode 0600) holding the port and the token.
    session : Session
        The session its commands act on.
    panels : PanelHost
        The panels hosted for attached notebooks (:mod:`weightslab_nb.serving.panel_host`);
        a hosted panel not polled for ``panel_lease`` seconds (default 60) is closed.
    running : bool
        False once :meth:`stop` ran.
    """

    def __init__(self, session, port: int = 0, max_body: int = MAX_BODY,
                 request_timeout: float = REQUEST_TIMEOUT, host: str = HOST,
                 panel_lease: float = LEASE):
        self.session = session
        self.panel_lease = panel_lease
        self.panels = PanelHost(session, lease=panel_lease)
        self.host = host
        self.max_body = int(max_body)
        self.request_timeout = float(request_timeout)
        self._requested_port = int(port)
        self._token = new_token()
        self._token_bytes = self._token.encode("ascii")
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stop_lock = threading.Lock()
        self.token_file = Path(session.root_log_dir).absolute() / TOKEN_FILE
        self.port = 0
        self.allowed_hosts: frozenset[str] | None = frozenset()

    @property
    def token(self) -> str:
        """The access token (also in :attr:`token_file`)."""
        return self._token

    @property
    def url(self) -> str:
        """The command endpoint's URL."""
        return f"http://{self.host}:{self.port}{COMMAND_PATH}"

    @property
    def running(self) -> bool:
        """Whether the server is listening."""
        return self._server is not None

    def check_token(self, authorization: str | None) -> bool:
        """True when the ``Authorization`` header carries this server's token."""
        if not authorization:
            return False
        scheme, _, given = authorization.strip().partition(" ")
        if scheme.lower() != "bearer":
            return False
        return hmac.compare_digest(given.strip().encode("latin-1", "replace"), self._token_bytes)

    def start(self) -> CommandServer:
        """Bind 127.0.0.1, write the token file, serve in a daemon thread; return self."""
        if self.panels.stopped:  # started again after stop(): a fresh host
            self.panels = PanelHost(self.session, lease=self.panel_lease)
        try:
            server = _Server((self.host, self._requested_port), _Handler, self)
        except OSError as exc:
            raise OSError(exc.errno, f"serve: cannot listen on {self.host}:"
                                     f"{self._requested_port}: {exc.strerror or exc}") from None
        self.port = server.server_address[1]
        self.allowed_hosts = frozenset({f"{self.host}:{self.port}", f"localhost:{self.port}",
                                        f"127.0.0.1:{self.port}", f"[::1]:{self.port}"}) \
            if self.host in LOOPBACK else None
        try:
            _write_private_json(self.token_file, {
                "protocol": PROTOCOL, "host": self.host, "port": self.port,
                "token": self._token, "pid": os.getpid(),
                "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
        except BaseException:
            server.server_close()
            raise
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"wl-console-backend-{self.port}", daemon=True)
        self._thread.start()
        log.info("console backend on %s:%d; connect with: weightslab-nb cli --dir %s",
                 self.host, self.port, self.token_file.parent)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving, free the port and remove the token file. Safe to call twice."""
        with self._stop_lock:
            server, self._server = self._server, None
            if server is None:
                return
            self.panels.close()  # answers the waiting long polls (503) at once
            server.shutdown()  # returns once the serve_forever loop has ended
            server.server_close()
            if self._thread is not None:
                self._thread.join(timeout)
            _remove_if_ours(self.token_file, self._token)
        _notify()

    def __enter__(self) -> CommandServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return (f"<CommandServer {state} on {self.host}:{self.port}; connect with: "
                f"weightslab-nb cli --dir {str(self.token_file.parent)!r}>")


def new_token() -> str:
    """A fresh access token: ``secrets.token_urlsafe(32)`` (43 characters, 256 random bits),
    drawn again when it starts with ``-`` (1 time in 64), which a command line such as
    ``weightslab-nb cli --token T`` would read as an option."""
    while True:
        token = secrets.token_urlsafe(32)
        if not token.startswith("-"):
            return token


def _write_private_json(path: Path, data: dict) -> None:
    """Write ``data`` to ``path`` atomically, readable by the owner only (mode 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            os.fchmod(f.fileno(), 0o600)  # exact mode whatever the umask
            json.dump(data, f)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _remove_if_ours(path: Path, token: str) -> None:
    """Remove the token file unless another server has replaced it since."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        if isinstance(data, dict) and data.get("token") == token:
            os.unlink(path)
    except (OSError, ValueError):
        pass


# ---------------------------------------------------------------- serve / keep_serving
_servers: list[CommandServer] = []
_cond = threading.Condition()
_atexit_registered = False


def _notify() -> None:
    with _cond:
        _servers[:] = [s for s in _servers if s.running]
        _cond.notify_all()


def _running(session=None) -> list[CommandServer]:
    return [s for s in _servers if s.running and (session is None or s.session is session)]


def serve(serving_cli: bool = False, serving_grpc: bool = False, *, session, port: int = 0,
          host: str = HOST, **kwargs) -> CommandServer:
    """Start the backend of ``session``, so a notebook or a console can attach to it; returns
    at once (``wl.serve`` is this for the current session).

    The backend is one HTTP server, on 127.0.0.1 unless ``host`` says otherwise. Its port and
    a random token are written to ``<root_log_dir>/serving.json`` (mode 0600); every request
    must carry the token. It serves the console commands (``weightslab-nb cli --dir
    <root_log_dir>``: status, pause, resume, evaluate, hp get/set, tags, discards...) and the
    calls of a remote session (``wl.connect(<root_log_dir>)`` in a notebook: module functions
    and panels on this session).

    Parameters
    ----------
    serving_cli : bool, default False
        Kept for scripts written for WeightsLab: the console commands are always served, so
        ``serve()`` and ``serve(serving_cli=True)`` start the same backend.
    serving_grpc : bool, default False
        The WeightsLab studio's gRPC backend: not available in weightslab_nb; raises
        ``NotImplementedError``.
    session : Session
        The session to serve. Call ``serve`` after watching the hyperparameters when they
        choose ``root_log_dir``, so the token file lands there.
    port : int, default 0
        Port to listen on (0: a free one, see the returned server's ``port``).
    host : str, default "127.0.0.1"
        Interface to listen on. Anything but the loopback interface exposes the run to the
        network (the token still guards every request, over plain HTTP): a warning is issued.
        Prefer an SSH tunnel (README, "Attach to a running script").
    **kwargs
        ``max_body``: the largest request body in bytes (default 1 MiB). ``request_timeout``:
        seconds a client may take to send its request line, headers or body (default 10); a
        request still incomplete then is answered 408.

    Returns
    -------
    CommandServer
        ``.port``, ``.token_file``, ``.url``, ``.stop()``. Calling ``serve`` again for the same
        session returns the server already running.

    Raises
    ------
    NotImplementedError
        ``serving_grpc=True``.
    StateError
        ``session`` was opened read-only (``wl.open``).
    ValueError
        A bad ``port``/``host``/``max_body``/``request_timeout``.
    TypeError
        Unknown keyword arguments, or non-bool flags.
    OSError
        The port cannot be bound.
    """
    for name, flag in (("serving_cli", serving_cli), ("serving_grpc", serving_grpc)):
        if not isinstance(flag, bool):
            raise InvalidTypeError(f"{name}: expected True or False, got {flag!r}")
    if serving_grpc:
        raise NotImplementedError(GRPC_UNAVAILABLE)
    unknown = sorted(set(kwargs) - {"max_body", "request_timeout"})
    if unknown:
        raise InvalidTypeError(f"serve: unexpected keyword argument(s) {unknown}; accepted: "
                               "serving_cli, serving_grpc, session, port, host, max_body, "
                               "request_timeout")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise InvalidValueError(f"port: expected an int in 0-65535 (0: a free port), got {port!r}")
    host = _check_host(host)
    access = getattr(session, "access", None)
    if access is not None and not access.writes_files:
        raise StateError("serve: this run was opened read-only with wl.open(...), and serving "
                         "writes its token file into the run directory; open it with "
                         "writable=True to serve it")
    max_body = kwargs.get("max_body", MAX_BODY)
    if isinstance(max_body, bool) or not isinstance(max_body, int) or max_body < 1024:
        raise InvalidValueError(f"max_body: expected an int >= 1024 (bytes), got {max_body!r}")
    request_timeout = check_seconds(kwargs.get("request_timeout", REQUEST_TIMEOUT),
                                    "request_timeout")
    global _atexit_registered
    with _cond:
        existing = _running(session)
        if existing:
            server = existing[0]
            if port in (0, server.port) and host == server.host:
                return server
            raise StateError(f"serve: this session's backend already listens on "
                             f"{server.host}:{server.port}; stop it first (server.stop())")
        server = CommandServer(session, port=port, max_body=max_body,
                               request_timeout=request_timeout, host=host).start()
        _servers.append(server)
        if not _atexit_registered:
            atexit.register(stop_serving)  # remove token files when the process ends
            _atexit_registered = True
        _cond.notify_all()
    return server


def _check_host(host) -> str:
    """``host`` checked; a warning when it is not the loopback interface."""
    if not isinstance(host, str) or not host.strip() or any(c.isspace() for c in host):
        raise InvalidValueError(f"host: expected an interface name or address such as "
                                f"'127.0.0.1', got {host!r}")
    if host not in LOOPBACK:
        warnings.warn(f"serve: listening on {host!r} exposes this run beyond this machine over "
                      "plain HTTP (the token guards every request, but travels unencrypted); "
                      "prefer the default 127.0.0.1 and an SSH tunnel", stacklevel=3)
    return host


def stop_serving(session=None) -> int:
    """Stop the backends of ``session`` (None: all of them); return how many were stopped."""
    with _cond:
        servers = _running(session)
    for server in servers:
        server.stop()
    _notify()
    return len(servers)


def _wait(cond: threading.Condition, timeout: float) -> None:
    cond.wait(timeout)


def keep_serving(timeout: float | None = None, session=None) -> str:
    """Block so that background services (and a background training run) keep going.

    Returns when ``timeout`` seconds have passed, on Ctrl-C / a kernel interrupt
    (``KeyboardInterrupt`` is not re-raised), or when every backend it was keeping alive was
    stopped elsewhere (``stop_serving()``, ``server.stop()``). Then it stops the backends of
    ``session`` (None: all) cleanly: ports are freed and token files removed. With no backend
    running it still blocks until the timeout or an interrupt.

    Returns
    -------
    str
        Why it returned: ``"timeout"``, ``"interrupted"`` or ``"stopped"``.

    Raises
    ------
    ValueError
        ``timeout`` is negative or not a number.
    """
    if timeout is not None and (isinstance(timeout, bool) or
                                not isinstance(timeout, (int, float)) or
                                not math.isfinite(timeout) or timeout < 0):
        raise InvalidValueError(f"timeout: expected a number of seconds >= 0 or None, "
                                f"got {timeout!r}")
    deadline = None if timeout is None else time.monotonic() + timeout
    reason = "timeout"
    try:
        with _cond:
            kept = bool(_running(session))
            while True:
                if kept and not _running(session):
                    reason = "stopped"
                    break
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    break
                # short waits keep Ctrl-C responsive everywhere
                _wait(_cond, 1.0 if remaining is None else min(remaining, 1.0))
    except KeyboardInterrupt:
        reason = "interrupted"
    finally:
        stop_serving(session)
    return reason

