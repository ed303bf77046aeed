"""The console client: :class:`Client` (Python) and ``weightslab-nb cli`` (terminal).

``weightslab-nb cli [--dir ROOT_LOG_DIR | --port P --token T] [--json] COMMAND ARGS...`` sends one
command to a backend started with ``wl.serve(serving_cli=True)`` and prints the reply; without a
command it reads commands from stdin, one per line (``help`` lists them, ``quit`` leaves).

Exit status: 0 ok, 1 refused or failed (wrong token, unknown ids, no backend...), 2 usage error.
In interactive mode: 1 if any command failed, else 0.

Values and ids typed on the command line: a sample id that is an integer (``12``) is sent as an
int, anything else (``val/3``) as a string; ids may be separated by spaces or commas. ``--origin
ORIGIN`` (an origin or loader name) says which origin's samples the ids are, for the commands
that take ids (``tag``, ``cat``, ``discard``, ``restore``): train and validation sets that both
index from 0 hold the same ids, and an id two origins hold is refused without it. An ``hp
set`` value is read as JSON, else YAML, else taken as a string (``0.001``, ``true``, ``[1, 2]``,
``'"0.5"'`` for the string ``"0.5"``).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shlex
import sys
from pathlib import Path

from weightslab_nb import argtypes
from weightslab_nb.arguments import check_int, check_name, check_seconds
from weightslab_nb.errors import InvalidTypeError, InvalidValueError, WeightslabError

TOKEN_FILE = "serving.json"  # same as backend.TOKEN_FILE; kept here so the client stays light
COMMAND_PATH = "/v1/command"
DEFAULT_TIMEOUT = 30.0
DEFAULT_WAIT = 300.0  # seconds ``evaluate --wait`` waits for the result by default
TOKEN_ENV = "WEIGHTSLAB_NB_TOKEN"
DIR_ENV = "WEIGHTSLAB_NB_DIR"
PROMPT = "weightslab> "

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class BackendError(WeightslabError):
    """A refused command or an unreachable backend.

    Attributes
    ----------
    status : int or None
        The HTTP status of the refusal (None: no reply, e.g. nothing listens on the port).
    kind : str
        ``"connection"``, ``"unauthorized"``, ``"bad_request"``, or the
        session's exception name (``"UnknownSampleError"``...).
    reply : dict
        The backend's JSON reply (``{"ok": false, "error": ..., "kind": ...}``).
    """

    def __init__(self, message: str, status: int | None = None, kind: str = "connection",
                 reply: dict | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.kind = kind
        self.reply = reply if reply is not None else {"ok": False, "error": message,
                                                      "kind": kind}


def read_token_file(root_log_dir) -> dict:
    """``{"host", "port", "token", ...}`` from ``<root_log_dir>/serving.json``.

    Raises :class:`BackendError` with what to do when the file is missing or unreadable.
    """
    path = Path(root_log_dir) / TOKEN_FILE
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise BackendError(f"no backend found: {path} does not exist. Start one in the "
                           "training process with wl.serve() and pass its run directory (or "
                           "its port and token)") from None
    except (OSError, ValueError) as exc:
        raise BackendError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("port"), int) or \
            not isinstance(data.get("token"), str):
        raise BackendError(f"{path} is not a weightslab-nb serving file (no port/token)")
    return data


class Client:
    """Sends commands to a console backend.

    ``Client.from_dir(root_log_dir).call("tag_add", tag="hard", ids=[1, 2])`` returns the
    command's result or raises :class:`BackendError`.
    """

    def __init__(self, port: int, token: str, host: str = "127.0.0.1",
                 timeout: float = DEFAULT_TIMEOUT):
        self.host = check_name(host, "host", "a host name or address")
        self.port = check_int(port, "port", 1, 65535)
        if not isinstance(token, str):
            raise InvalidTypeError(f"token: expected a string, got {type(token).__name__}")
        self.token = token
        self.timeout = check_seconds(timeout, "timeout")

    @classmethod
    def from_dir(cls, root_log_dir, timeout: float = DEFAULT_TIMEOUT) -> Client:
        """A client of the backend serving ``root_log_dir`` (its port, token and host read
        from the token file ``wl.serve`` wrote there; :class:`BackendError` when there is
        none). ``timeout``: seconds per request."""
        info = read_token_file(root_log_dir)
        return cls(info["port"], info["token"], info.get("host", "127.0.0.1"), timeout)

    def request(self, command: str, args: dict | None = None) -> dict:
        """Send one command; return the backend's reply (``ok`` true or false).

        A request whose args hold ``wait`` seconds (the backend holds its reply that long,
        e.g. ``evaluate``) gets that much longer than ``timeout``. Raises
        :class:`BackendError` only when no JSON reply came back.
        """
        args = args or {}
        wait = args.get("wait")
        return self.post_json(COMMAND_PATH, {"command": command, "args": args},
                              extra_time=wait if isinstance(wait, (int, float)) else 0)

    def post_json(self, path: str, payload: dict, extra_time: float = 0) -> dict:
        """POST ``payload`` as JSON to ``path``; return the JSON reply object (``ok`` true or
        false, with its HTTP status as ``http_status``), waiting at most ``timeout`` plus
        ``extra_time`` seconds.

        Raises
        ------
        BackendError
            No reply (nothing listens, a timeout, a broken connection), or a reply that is not
            a weightslab-nb JSON object.
        """
        status, _, data = self.post(path, payload, extra_time)
        return self.json_reply(status, data)

    def post(self, path: str, payload: dict, extra_time: float = 0) -> tuple[int, str, bytes]:
        """POST ``payload`` as JSON to ``path``; return ``(HTTP status, content type, body)``.
        Raises :class:`BackendError` when no reply came back (see :meth:`post_json`)."""
        return self.send(path, json.dumps(payload).encode("utf-8"), "application/json",
                         extra_time)

    def send(self, path: str, body: bytes, content_type: str,
             extra_time: float = 0) -> tuple[int, str, bytes]:
        """POST ``body`` (of ``content_type``) to ``path`` with the token; return ``(HTTP
        status, content type, body)`` of the reply, waiting at most ``timeout`` plus
        ``extra_time`` seconds. Raises :class:`BackendError` (kind ``"connection"``) when no
        reply came back: nothing listens, a timeout, a broken connection."""
        host, port, token = self.address()
        timeout = self.timeout + extra_time
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
        try:
            conn.request("POST", path, body=body, headers={
                "Authorization": f"Bearer {token}", "Content-Type": content_type})
            response = conn.getresponse()
            return response.status, response.getheader("Content-Type", ""), response.read()
        except ConnectionRefusedError:
            raise BackendError(f"no console backend listens on {host}:{port} (is wl.serve() "
                               "still running in the training process?)") from None
        except TimeoutError:
            raise BackendError(f"the backend on {host}:{port} did not answer within "
                               f"{timeout:g} s") from None
        except (OSError, http.client.HTTPException) as exc:
            raise BackendError(f"cannot talk to {host}:{port}: {exc}") from None
        finally:
            conn.close()

    def address(self) -> tuple[str, int, str]:
        """``(host, port, token)`` a request goes to."""
        return self.host, self.port, self.token

    def json_reply(self, status: int, data: bytes) -> dict:
        """The reply object of a JSON body, with ``http_status``; :class:`BackendError` when
        the body is not one."""
        try:
            reply = json.loads(data.decode("utf-8"))
            if not isinstance(reply, dict) or "ok" not in reply:
                raise InvalidValueError("not a reply object")
        except ValueError:
            raise BackendError(f"{self.host}:{self.port} answered HTTP {status} with something "
                               "that is not a weightslab-nb reply", status, "protocol") from None
        reply.setdefault("http_status", status)
        return reply

    def call(self, command: str, **args):
        """Send one command; return its result or raise :class:`BackendError`."""
        reply = self.request(command, args)
        if not reply.get("ok"):
            raise BackendError(str(reply.get("error")), reply.get("http_status"),
                               str(reply.get("kind", "error")), reply)
        return reply.get("result")


# ---------------------------------------------------------------- parsing typed arguments
_INT = re.compile(r"[+-]?\d+")


def parse_ids(tokens) -> list:
    """Sample ids typed on the command line: integers become ints, the rest stay strings."""
    ids = []
    for token in tokens:
        for part in str(token).split(","):
            part = part.strip()
            if part:
                ids.append(int(part) if _INT.fullmatch(part) else part)
    return ids


def parse_value(text: str):
    """A hyperparameter value: JSON, else YAML, else the text itself."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        import yaml

        value = yaml.safe_load(text)
        json.dumps(value)  # dates and the like: keep the text
        return value
    except Exception:
        return text


def _ids_type(text: str) -> str:
    if not text.strip(" ,"):
        raise argparse.ArgumentTypeError(f"expected sample ids, got {text!r}")
    return text


# ---------------------------------------------------------------- the argument parser
def _leaf(sub, name: str, help_text: str, request, **kwargs) -> argparse.ArgumentParser:
    parser = sub.add_parser(name, help=help_text, description=help_text, **kwargs)
    parser.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="print the backend's JSON reply")
    parser.set_defaults(_request=request)
    return parser


def _ids_argument(parser) -> None:
    parser.add_argument("ids", nargs="+", metavar="ID", type=_ids_type,
                        help="sample ids (space or comma separated)")
    parser.add_argument("--origin", default=None, metavar="ORIGIN",
                        help="the origin (split) or loader name the ids belong to, e.g. val; "
                             "needed when several origins hold an id (train and val sets both "
                             "indexed from 0)")


def _samples(a) -> dict:
    """The ``ids`` (and ``origin``, when given) of a sample command."""
    out = {"ids": parse_ids(a.ids)}
    if a.origin is not None:
        out["origin"] = a.origin
    return out


def _flagged(a) -> dict:
    """The args of ``tag_flagged`` / ``discard_flagged``."""
    out = {"origin": a.origin, "dry_run": a.dry_run}
    if getattr(a, "tag", None) is not None:
        out["tag"] = a.tag
    return out


def add_console_commands(sub) -> None:
    """Add the console commands (status, pause, ..., export-history) to a subparsers object."""
    _leaf(sub, "status", "training state, step, epoch, samples and experiment hash",
          lambda a: ("status", {}))
    _leaf(sub, "pause", "pause training at the next batch boundary", lambda a: ("pause", {}))
    _leaf(sub, "resume", "resume a paused run", lambda a: ("resume", {}))
    _leaf(sub, "stop", "stop training at the next batch boundary", lambda a: ("stop", {}))
    p = _leaf(sub, "evaluate", "evaluate a watched loader (training pauses for it)",
              lambda a: ("evaluate", {"loader": a.loader, "tags": a.tags, "resume": a.resume,
                                      "wait": a.wait}))
    p.add_argument("loader", help="a watched loader's name or origin (val_loader, val)")
    p.add_argument("--tags", nargs="+", action="extend", metavar="TAG", default=None,
                   help="only samples having every tag ('name' or 'name=value')")
    p.add_argument("--resume", action="store_true", help="resume training afterwards")
    p.add_argument("--wait", nargs="?", type=argtypes.positive_seconds, const=DEFAULT_WAIT,
                   default=None, metavar="SECONDS",
                   help="wait for the result and print its summary line (at most SECONDS, "
                        f"default {DEFAULT_WAIT:g}); exit 1 unless it finished")

    hp = sub.add_parser("hp", help="read or set hyperparameters",
                        description="read or set hyperparameters by dotted path")
    hp_sub = hp.add_subparsers(dest="hp_action", metavar="ACTION")
    hp_sub.required = True
    p = _leaf(hp_sub, "get", "print a hyperparameter (all of them without PATH)",
              lambda a: ("hp_get", {"path": a.path, "name": a.name}))
    p.add_argument("path", nargs="?", default=None, help="dotted path, e.g. optimizer.lr")
    p.add_argument("--name", default=None, help="which watched dict (when there are several)")
    p = _leaf(hp_sub, "set", "set a hyperparameter",
              lambda a: ("hp_set", {"path": a.path, "value": parse_value(a.value),
                                    "name": a.name}))
    p.add_argument("path", help="dotted path, e.g. optimizer.lr")
    p.add_argument("value", help="JSON or YAML value (0.001, true, [1, 2], '\"text\"')")
    p.add_argument("--name", default=None, help="which watched dict (when there are several)")

    tag = sub.add_parser("tag", help="add or remove a boolean tag",
                         description="add or remove a boolean tag on samples")
    tag_sub = tag.add_subparsers(dest="tag_action", metavar="ACTION")
    tag_sub.required = True
    for action, verb in (("add", "add a tag to samples"), ("remove", "remove a tag from samples")):
        p = _leaf(tag_sub, action, verb,
                  lambda a, c=f"tag_{action}": (c, {"tag": a.tag, **_samples(a)}))
        p.add_argument("tag", help="tag name")
        _ids_argument(p)

    cat = sub.add_parser("cat", help="set or clear a categorical tag",
                         description="set or clear a categorical (multi-value) tag on samples")
    cat_sub = cat.add_subparsers(dest="cat_action", metavar="ACTION")
    cat_sub.required = True
    p = _leaf(cat_sub, "set", "set a categorical tag's value on samples",
              lambda a: ("cat_set", {"tag": a.tag, "value": a.value, **_samples(a)}))
    p.add_argument("tag", help="categorical tag name, e.g. weather")
    p.add_argument("value", help="the value, e.g. rainy ('' clears)")
    _ids_argument(p)
    p = _leaf(cat_sub, "clear", "clear a categorical tag on samples",
              lambda a: ("cat_set", {"tag": a.tag, "value": None, **_samples(a)}))
    p.add_argument("tag", help="categorical tag name")
    _ids_argument(p)

    p = _leaf(sub, "discard", "discard samples (skipped from the next batch on)",
              lambda a: ("discard", _samples(a)))
    _ids_argument(p)
    p = _leaf(sub, "restore", "restore discarded samples",
              lambda a: ("restore", _samples(a)))
    _ids_argument(p)
    for name, verb in (("tag", "tag"), ("discard", "discard")):
        p = _leaf(sub, f"{name}-flagged",
                  f"{verb} the flagged samples of an origin (the flag set of wl.suspects); the "
                  "reply's undo (--json) reverts exactly that change",
                  lambda a, c=f"{name}_flagged": (c, _flagged(a)))
        p.add_argument("--origin", required=True, metavar="ORIGIN",
                       help="the origin (split) or loader name whose flag set to use, e.g. train")
        if name == "tag":
            p.add_argument("--tag", default="suspect",
                           help="the boolean tag to add (default: suspect; created when new)")
        p.add_argument("--dry-run", action="store_true",
                       help="say how many samples it would change, change nothing")
    _leaf(sub, "tags", "list tags and their counts", lambda a: ("tags", {}))
    p = _leaf(sub, "export-history", "write the signal history to a file",
              lambda a: ("export_history", {
                  "path": None if a.path is None else os.path.abspath(a.path),
                  "format": a.format, "type_of_history": a.type,
                  "graph_name": a.signal}))
    p.add_argument("path", nargs="?", default=None,
                   help="file or directory (default: the run directory)")
    p.add_argument("--format", choices=("json", "csv", "parquet"), default="json",
                   help="file format (default: json)")
    p.add_argument("--type", choices=("all", "global", "sample", "instance"), default=None,
                   help="which history layer (default: all)")
    p.add_argument("--signal", default=None, help="only this signal")


def add_cli_arguments(parser: argparse.ArgumentParser) -> None:
    """The options and commands of ``weightslab-nb cli`` (used by :mod:`weightslab_nb.cli`)."""
    conn = parser.add_argument_group("connection")
    conn.add_argument("--dir", type=Path, default=None, metavar="ROOT_LOG_DIR",
                      help=f"the run directory holding {TOKEN_FILE} (default: ${DIR_ENV}, "
                           "else the current directory)")
    conn.add_argument("--port", type=argtypes.port, default=None, help="the backend's port")
    conn.add_argument("--token", default=None,
                      help=f"the backend's token (default: ${TOKEN_ENV}); prefer --dir, "
                           "which reads it from the 0600 file")
    conn.add_argument("--timeout", type=argtypes.positive_seconds, default=DEFAULT_TIMEOUT,
                      help="seconds to wait for a reply (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print the backend's JSON replies")
    sub = parser.add_subparsers(dest="console_command", metavar="COMMAND")
    add_console_commands(sub)


def check_cli_arguments(parser: argparse.ArgumentParser, args) -> None:
    """Usage checks that argparse cannot express; calls ``parser.error`` (exit 2)."""
    token = args.token if args.token is not None else os.environ.get(TOKEN_ENV)
    if args.dir is not None and (args.port is not None or args.token is not None):
        parser.error("pass either --dir or --port and --token, not both")
    if args.port is not None and not token:
        parser.error(f"--port needs --token (or ${TOKEN_ENV})")
    if args.token is not None and args.port is None:
        parser.error("--token needs --port")


def build_console_parser() -> argparse.ArgumentParser:
    """The parser of one interactive line."""
    parser = argparse.ArgumentParser(prog="", add_help=False,
                                     usage="COMMAND ARGS... (help, quit)")
    sub = parser.add_subparsers(dest="console_command", metavar="COMMAND")
    sub.required = True
    add_console_commands(sub)
    return parser


# ---------------------------------------------------------------- running it
def connect(args) -> Client:
    """A :class:`Client` from ``--dir`` or ``--port``/``--token`` (see the module docstring)."""
    if args.port is not None:
        token = args.token if args.token is not None else os.environ.get(TOKEN_ENV, "")
        return Client(args.port, token, timeout=args.timeout)
    root = args.dir if args.dir is not None else Path(os.environ.get(DIR_ENV, "."))
    return Client.from_dir(root, timeout=args.timeout)


def run_console(args, stdin=None, stdout=None, stderr=None) -> int:
    """Run ``weightslab-nb cli`` with parsed ``args``; return the exit status."""
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    try:
        client = connect(args)
    except BackendError as exc:
        return _report_failure(exc, args.json, stdout, stderr)
    if args.console_command is None:
        return interactive(client, args.json, stdin, stdout, stderr)
    command, cargs = args._request(args)
    return _run_one(client, command, cargs, args.json, stdout, stderr)


def _run_one(client: Client, command: str, cargs: dict, as_json: bool, stdout, stderr) -> int:
    try:
        reply = client.request(command, cargs)
    except BackendError as exc:
        return _report_failure(exc, as_json, stdout, stderr)
    if as_json:
        print(json.dumps(reply), file=stdout, flush=True)
        return EXIT_OK if reply.get("ok") else EXIT_FAILED
    if not reply.get("ok"):
        message = reply.get("error")
        if reply.get("kind") == "unauthorized":
            message = f"refused: {message}"
        print(f"weightslab-nb cli: error: {message}", file=stderr, flush=True)
        return EXIT_FAILED
    result = reply.get("result")
    print(render(command, result), file=stdout, flush=True)
    if command == "evaluate" and cargs.get("wait") is not None and result["state"] != "done":
        return EXIT_FAILED  # waited for a result that did not come
    return EXIT_OK


def _report_failure(exc: BackendError, as_json: bool, stdout, stderr) -> int:
    if as_json:
        print(json.dumps(exc.reply), file=stdout, flush=True)
    else:
        print(f"weightslab-nb cli: error: {exc.message}", file=stderr, flush=True)
    return EXIT_FAILED


HELP = """\
commands:
  status                               training state, step, epoch, samples
  pause | resume | stop                pause at the next batch boundary / continue / end
  evaluate LOADER [--tags T...] [--resume] [--wait [SECONDS]]
                                       evaluate a watched loader (training pauses for it)
  hp get [PATH]                        a hyperparameter (all without PATH)
  hp set PATH VALUE                    set one (VALUE as JSON/YAML: 0.001, true, [1, 2])
  tag add|remove TAG ID...             boolean tags
  cat set NAME VALUE ID... | cat clear NAME ID...
                                       categorical tags
  discard ID... | restore ID...        discard or restore samples
  tag-flagged --origin O [--tag T] | discard-flagged --origin O  [--dry-run]
                                       tag / discard the flag set of wl.suspects(O)
                                       (add --origin ORIGIN to these when train and val
                                       share ids, e.g. tag add hard 0 --origin val)
  tags                                 tags and their counts
  export-history [PATH] [--format csv|json|parquet]
                                       write the signal history to a file
  help, quit                           this text; leave (also Ctrl-D)
Add --help to a command for its options, --json for the raw reply."""


def interactive(client: Client, as_json: bool = False, stdin=None, stdout=None,
                stderr=None) -> int:
    """Read commands from ``stdin`` until ``quit`` or end of input; 1 if any failed."""
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    tty = _isatty(stdin)
    try:
        client.call("status")  # check the address and token once, up front
    except BackendError as exc:
        return _report_failure(exc, as_json, stdout, stderr)
    if tty:
        print(f"Connected to the weightslab-nb backend on {client.host}:{client.port}. "
              "Type 'help' for the commands, 'quit' to leave.", file=stdout, flush=True)
    parser = build_console_parser()
    status = EXIT_OK
    while True:
        try:
            if tty and stdin is sys.stdin and stdout is sys.stdout:
                try:
                    line = input(PROMPT) + "\n"  # line editing where readline is available
                except EOFError:
                    line = ""
            else:
                if tty:
                    print(PROMPT, end="", file=stdout, flush=True)
                line = stdin.readline()
        except KeyboardInterrupt:
            print(file=stdout)
            break
        if not line:
            break
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line in ("quit", "exit", "q"):
            break
        if line in ("help", "?"):
            print(HELP, file=stdout, flush=True)
            continue
        try:
            tokens = shlex.split(line)
        except ValueError as exc:
            print(f"error: {exc}", file=stderr, flush=True)
            status = EXIT_FAILED
            continue
        try:
            ns = _parse_line(parser, tokens, stdout, stderr)
        except SystemExit as exc:
            if exc.code not in (0, None):
                status = EXIT_FAILED
            continue
        command, cargs = ns._request(ns)
        if _run_one(client, command, cargs, as_json or getattr(ns, "json", False), stdout,
                    stderr) != EXIT_OK:
            status = EXIT_FAILED
    return status


def _parse_line(parser, tokens, stdout, stderr):
    """``parser.parse_args`` with its help/usage output sent to our streams."""
    old = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = stdout, stderr
    try:
        return parser.parse_args(tokens)
    finally:
        sys.stdout, sys.stderr = old


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


# ---------------------------------------------------------------- human-readable output
def render(command: str, result) -> str:
    """One reply's result as text for a terminal."""
    fn = _RENDER.get(command)
    return fn(result) if fn is not None else json.dumps(result, indent=2)


def _fmt(value) -> str:
    return json.dumps(value) if not isinstance(value, str) else value


def _render_status(r: dict) -> str:
    lines = [f"state:          {r['state']}" + (" (pause requested)" if r.get("pause_requested")
                                                  and r["state"] != "paused" else ""),
             (f"step:           {r['step']} (epoch {r['epoch']}, "
              f"{r.get('steps_per_second', 0.0):.1f} steps/s)"),
             f"samples:        {r['samples']} ({r['active']} active)",
             f"experiment:     {r.get('experiment_hash') or '-'}",
             f"loaders:        {', '.join(r.get('loaders') or []) or '-'}",
             f"origins:        {', '.join(r.get('origins') or []) or '-'}",
             f"root_log_dir:   {r.get('root_log_dir')}"]
    if r.get("error"):
        lines.append(f"error:          {r['error']}")
    elif r.get("stop_reason") and r["state"] == "stopped":
        lines.append(f"stop reason:    {r['stop_reason']}")
    ev = r.get("evaluation") or {}
    if ev.get("running"):
        run = ev["running"]
        done, total = (run.get("progress") or (0, 0))
        lines.append(f"evaluation:     {run.get('loader_name')} running ({done}/{total} batches)")
    elif ev.get("last"):
        last = ev["last"]
        lines.append(f"evaluation:     last {last.get('loader_name')} {last.get('state')}"
                     + (f": {last['summary']}" if last.get("summary") else "")
                     + (f": {last['error']}" if last.get("error") else ""))
    return "\n".join(lines)


def _render_control(r: dict) -> str:
    # the reply leaves before the training thread reacts: name the transition under way
    state, step, pausing = r["state"], r["step"], r["pause_requested"]
    if state == "paused":
        return f"paused at step {step}" if pausing else f"resuming from step {step}"
    if state == "running":
        return (f"pausing at the next batch boundary (step {step})" if pausing
                else f"running (step {step})")
    return f"{state} at step {step}" + (" (pause requested: the next run starts paused)"
                                        if pausing else "")


def _render_stop(r: dict) -> str:
    if r["state"] in ("running", "paused"):
        return f"stopping at the next batch boundary (step {r['step']})"
    return f"{r['state']} at step {r['step']}: no run in progress"


def _render_evaluate(r: dict) -> str:
    if r["state"] == "done":
        return r["summary"]
    tags = f" (tags: {', '.join(r['tags'])})" if r["tags"] else ""
    what = f"evaluation #{r['id']} of {r['loader_name']!r}{tags}"
    if r["state"] in ("pending", "running"):
        done, total = r["progress"]
        progress = f", {done}/{total} batches" if r["state"] == "running" else ""
        return f"{what} requested (state: {r['state']}{progress}); training pauses for it"
    return f"{what} {r['state'].replace('_', ' ')}: {r['error']}"


def _render_hp_get(r: dict) -> str:
    pending = "".join(f"\n  requested: {p.get('key')} = {_fmt(p.get('value'))} (applies at the "
                      "next batch boundary)" for p in r.get("pending") or [])
    if r.get("path") is None:
        try:
            import yaml

            text = yaml.safe_dump(r["value"], sort_keys=False,
                                  default_flow_style=False).rstrip()
        except Exception:  # a value YAML cannot write: JSON does
            text = json.dumps(r["value"], indent=2)
        return text + pending
    return f"{r['path']} = {_fmt(r['value'])}" + pending


def _render_hp_set(r: dict) -> str:
    if r.get("applied", True):
        return f"{r['path']} = {_fmt(r['value'])} (was {_fmt(r.get('previous'))})"
    return (f"{r['path']} = {_fmt(r.get('requested'))} requested; it applies at the training "
            f"thread's next batch boundary (now {_fmt(r['value'])})")


def _render_tag(r: dict) -> str:
    verb = {"add": "added to", "remove": "removed from", "set": "set on"}.get(r["mode"], r["mode"])
    return (f"tag {r['tag']!r} {verb} {r['count']} sample(s); {r['tagged']} sample(s) "
            "have it now")


def _render_cat(r: dict) -> str:
    what = f"set to {r['value']!r}" if r.get("value") else "cleared"
    counts = ", ".join(f"{k}={v}" for k, v in (r.get("counts") or {}).items()) or "none"
    return f"{r['tag']!r} {what} on {r['count']} sample(s) (now: {counts})"


def _render_discard(r: dict) -> str:
    verb = "discarded" if r["discarded"] else "restored"
    return f"{verb} {r['count']} sample(s); {r['active']} of {r['samples']} active"


def _render_flagged(r: dict) -> str:
    tagging = "tag" in r
    if r["dry_run"]:
        verb = f"would tag {r['tag']!r} on" if tagging else "would discard"
    else:
        verb = f"tagged {r['tag']!r} on" if tagging else "discarded"
    text = (f"{verb} {r['count']} of {r['flagged']} flagged sample(s) of {r['origin']}"
            + (f" ({r['already']} needed no change)" if r["already"] else ""))
    if r.get("undo"):
        text += f"; undo: {r['undo']['command']} on the {len(r['refs'])} refs (--json)"
    return text


def _render_tags(r: dict) -> str:
    lines = []
    boolean = r.get("boolean") or {}
    categorical = r.get("categorical") or {}
    if not boolean and not categorical:
        return "no tags"
    if boolean:
        lines.append("boolean tags:")
        width = max(len(k) for k in boolean)
        lines += [f"  {name:<{width}}  {count}" for name, count in boolean.items()]
    if categorical:
        lines.append("categorical tags:")
        for name, info in categorical.items():
            counts = ", ".join(f"{v}={info['counts'].get(v, 0)}" for v in info["values"])
            lines.append(f"  {name}: {counts or 'no values'}")
    return "\n".join(lines)


def _render_commands(r: dict) -> str:
    return "\n".join(f"{name}({', '.join(info['args'])}): {info['help']}"
                     for name, info in r.items())


_RENDER = {
    "status": _render_status,
    "pause": _render_control,
    "resume": _render_control,
    "stop": _render_stop,
    "evaluate": _render_evaluate,
    "hp_get": _render_hp_get,
    "hp_set": _render_hp_set,
    "tag_add": _render_tag,
    "tag_remove": _render_tag,
    "cat_set": _render_cat,
    "discard": _render_discard,
    "restore": _render_discard,
    "tag_flagged": _render_flagged,
    "discard_flagged": _render_flagged,
    "tags": _render_tags,
    "export_history": lambda r: f"wrote {r['path']}",
    "commands": _render_commands,
}
