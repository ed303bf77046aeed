"""The command table of the console backend: names, argument checks and the session calls.

A request is ``{"command": NAME, "args": {...}}``. :func:`execute` checks the name against
:data:`COMMANDS` and every argument against its declared kind *before* calling the session, then
calls one :class:`~weightslab_nb.session.Session` method that returns at once. The session
validates what only it can know (known sample ids, tag names, loaders, hyperparameter values) and
raises without changing anything; those errors come back as :class:`CommandError` with the
session's own message.

=================  =====================================================================
command            args (``?`` optional)
=================  =====================================================================
``status``         —
``pause``          —
``resume``         —
``evaluate``       ``loader`` str, ``tags?`` list of tags (``name`` or ``name=value``),
                   ``resume?`` bool, ``wait?`` seconds
                   (answer when the evaluation finished, at most that long)
``hp_get``         ``path?`` str (dotted; None: all), ``name?`` str (which watched dict)
``hp_set``         ``path`` str, ``value`` any JSON value, ``name?`` str
``tag_add``        ``tag`` tag name, ``ids`` list of int/str
``tag_remove``     ``tag`` tag name, ``ids`` list of int/str
``cat_set``        ``tag`` tag name, ``value`` categorical value or None (``""``/None
                   clears), ``ids``
``discard``        ``ids``
``restore``        ``ids``
``tags``           —
``export_history`` ``path?`` absolute path (None: ``root_log_dir``), ``format?`` str,
                   ``type_of_history?`` str, ``graph_name?`` str
``commands``       —
=================  =====================================================================

Tag names and categorical values follow the one rule of :mod:`weightslab_nb.ledger.names`
(checked here, before the session is called, with the same message).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass

from weightslab_nb.errors import InvalidTypeError, InvalidValueError, WeightslabError
from weightslab_nb.ledger.names import check_tag_name, check_tag_term, check_tag_value

MAX_IDS = 1_000_000
MAX_TAGS = 64  # tags of one evaluation subset
MAX_WAIT = 3600.0  # seconds an ``evaluate`` request may hold its reply

_MISSING = object()


class CommandError(WeightslabError):
    """A refused request; nothing was changed.

    Attributes
    ----------
    status : int
        The HTTP status the backend answers with: 400 malformed request (unknown command, bad
        argument types), 422 refused by the session.
    kind : str
        ``"bad_request"``, or the session's exception class name
        (``"ValueError"``, ``"UnknownSampleError"``, ...).
    """

    def __init__(self, message: str, status: int = 400, kind: str = "bad_request"):
        super().__init__(message)
        self.message = message
        self.status = status
        self.kind = kind


# ---------------------------------------------------------------- argument kinds
def _is_id(value) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def _check(kind: str, name: str, value):
    """Return ``value`` if it is of ``kind``; raise :class:`CommandError` (400) otherwise."""
    def bad(expected: str):
        return CommandError(f"{name}: expected {expected}, got {type(value).__name__} "
                            f"({_short(value)})")

    if kind == "str":
        if not isinstance(value, str):
            raise bad("a string")
    elif kind == "opt_str":
        if value is not None and not isinstance(value, str):
            raise bad("a string or null")
    elif kind == "bool":
        if not isinstance(value, bool):
            raise bad("true or false")
    elif kind == "ids":
        if not isinstance(value, list) or not value:
            raise bad("a non-empty list of sample ids (ints or strings)")
        if len(value) > MAX_IDS:
            raise CommandError(f"{name}: at most {MAX_IDS} ids per request, got {len(value)}")
        wrong = next((v for v in value if not _is_id(v)), _MISSING)
        if wrong is not _MISSING:
            raise CommandError(f"{name}: sample ids are ints or strings, got "
                               f"{type(wrong).__name__} ({_short(wrong)})")
    elif kind == "tag":
        return _by_rule(check_tag_name, value, name)
    elif kind == "opt_tag_value":
        if value is None or value == "":  # clears the tag
            return value
        return _by_rule(check_tag_value, value, name)
    elif kind == "opt_tag_terms":
        if value is None:
            return value
        if not isinstance(value, list):
            raise bad("a list of tags ('name' or 'name=value') or null")
        if len(value) > MAX_TAGS:
            raise CommandError(f"{name}: at most {MAX_TAGS} tags, got {len(value)}")
        for i, term in enumerate(value):
            _by_rule(check_tag_term, term, f"{name}[{i}]")
    elif kind == "opt_seconds":
        if value is None:
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                not math.isfinite(value) or not 0 < value <= MAX_WAIT:
            raise bad(f"a number of seconds in (0, {MAX_WAIT}] or null")
    elif kind == "json":
        if isinstance(value, float) and not math.isfinite(value):
            raise bad("a finite number")
    else:  # pragma: no cover - a typo in the table
        raise AssertionError(kind)
    return value


def _by_rule(check, value, name: str):
    """``check(value, name)`` of :mod:`weightslab_nb.ledger.names`, refused as a
    :class:`CommandError` (400) with its message."""
    try:
        check(value, name)
    except (InvalidTypeError, InvalidValueError) as exc:
        raise CommandError(str(exc)) from exc
    return value


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


@dataclass(frozen=True)
class Param:
    name: str
    kind: str
    required: bool = True
    default: object = None


@dataclass(frozen=True)
class Command:
    name: str
    params: tuple[Param, ...]
    run: Callable
    help: str

    def validate(self, args) -> dict:
        """The checked arguments with defaults filled in; raises :class:`CommandError` (400)."""
        if not isinstance(args, dict):
            raise CommandError(f"args: expected an object, got {type(args).__name__}")
        known = {p.name for p in self.params}
        unexpected = sorted(set(args) - known)
        if unexpected:
            accepted = ", ".join(sorted(known)) or "none"
            raise CommandError(f"{self.name}: unexpected argument(s) {unexpected}; "
                               f"accepted: {accepted}")
        out = {}
        for p in self.params:
            if p.name in args:
                out[p.name] = _check(p.kind, p.name, args[p.name])
            elif p.required:
                raise CommandError(f"{self.name}: missing argument {p.name!r}")
            else:
                out[p.name] = p.default
        return out


# ---------------------------------------------------------------- handlers
def _status(session, a) -> dict:
    snap = session.controller.snapshot()
    total, active = session.counts()
    out = dict(snap)
    out.update(samples=total, active=active,
               experiment_hash=session.get_current_experiment_hash(),
               root_log_dir=str(session.root_log_dir),
               loaders=list(session.registry.all("data")),
               evaluation=_evaluation_state(session))
    return out


def _evaluation_state(session) -> dict:
    ev = session.evaluation
    running = ev.running
    return {"running": _request_dict(running) if running is not None else None,
            "last": _request_dict(ev.history[-1]) if ev.history else None}


def _request_dict(req) -> dict:
    keys = ("id", "loader_name", "tags", "state", "step", "error", "result", "summary",
            "progress")
    out = {k: getattr(req, k) for k in keys}
    out["tags"] = list(out["tags"])
    out["progress"] = list(out["progress"])
    return out


def _pause(session, a) -> dict:
    session.controller.pause()
    return session.controller.snapshot()


def _resume(session, a) -> dict:
    session.controller.resume()
    return session.controller.snapshot()


def _evaluate(session, a) -> dict:
    """Queue the evaluation; with ``wait`` (seconds), answer once it finished or that time has
    passed (the reply's ``state`` tells which). The wait holds this request's own server
    thread only: other commands are served meanwhile."""
    loaders = session.registry.all("data")
    if a["loader"] not in loaders and \
            not any(getattr(w, "origin", None) == a["loader"] for w in loaders.values()):
        raise CommandError(f"loader: no watched loader or origin {a['loader']!r} (watched: "
                           f"{', '.join(loaders) or 'none'})", status=422,
                           kind="UnknownNameError")
    req = session.request_evaluation(a["loader"], tags=a["tags"], resume=a["resume"])
    if a["wait"] is not None:
        req.wait(a["wait"])
    return _request_dict(req)


def _hp_handle(session, name):
    handles = session.registry.all("hyperparameters")
    if not handles:
        raise CommandError("hp: no hyperparameters are watched; watch a dict with "
                           "wl.watch_or_edit({...}, flag='hp')", status=422, kind="KeyError")
    if name is not None:
        if name not in handles:
            raise CommandError(f"name: no hyperparameters named {name!r} are watched "
                               f"(watched: {', '.join(handles)})", status=422, kind="KeyError")
        return handles[name]
    if len(handles) > 1:
        raise CommandError(f"name: {len(handles)} hyperparameter dicts are watched "
                           f"({', '.join(handles)}); say which one", status=422,
                           kind="ValueError")
    return next(iter(handles.values()))


def _check_path(path: str) -> None:
    if not path or any(not part.strip() for part in path.split(".")):
        raise CommandError(f"path: expected a dotted path such as 'optimizer.lr', got {path!r}")


def _hp_get(session, a) -> dict:
    hp = _hp_handle(session, a["name"])
    if a["path"] is None:
        return {"path": None, "value": hp.to_dict(), "pending": _pending(hp)}
    _check_path(a["path"])
    value = hp.get_path(a["path"], _MISSING)
    if value is _MISSING:
        raise CommandError(f"path: no hyperparameter at {a['path']!r}; top-level keys: "
                           f"{list(hp)}", status=422, kind="KeyError")
    return {"path": a["path"], "value": value, "pending": _pending(hp, a["path"])}


def _pending(hp, path: str | None = None) -> list:
    """Requested changes not applied yet (they wait for the training thread's batch boundary)."""
    rows = hp.pending()
    if path is not None:
        rows = [r for r in rows if r["key"] == path or r["key"].startswith(path + ".")]
    return rows


def _hp_set(session, a) -> dict:
    """A request from the console: the handle validates it (type, known key) and applies it at
    once, or at the training thread's next batch boundary while a run is in progress."""
    hp = _hp_handle(session, a["name"])
    _check_path(a["path"])
    previous = hp.get_path(a["path"], None)
    applied = hp.request(a["path"], a["value"], source="cli")
    return {"path": a["path"], "requested": a["value"], "applied": applied,
            "value": hp.get_path(a["path"], None), "previous": previous}


def _tag_result(session, tag: str, ids: list, mode: str) -> dict:
    session.tag_samples(ids, tag, mode=mode)
    return {"tag": tag, "mode": mode, "count": len(ids),
            "tagged": session.tag_summary()["boolean"].get(tag, 0)}


def _tag_add(session, a) -> dict:
    return _tag_result(session, a["tag"], a["ids"], "add")


def _tag_remove(session, a) -> dict:
    return _tag_result(session, a["tag"], a["ids"], "remove")


def _cat_set(session, a) -> dict:
    session.set_categorical_tag(a["ids"], a["tag"], a["value"])
    return {"tag": a["tag"], "value": a["value"] or None, "count": len(a["ids"]),
            "counts": session.tag_summary()["categorical"].get(a["tag"], {}).get("counts", {})}


def _discard(session, a, discarded: bool = True) -> dict:
    session.discard_samples(a["ids"], discarded=discarded)
    total, active = session.counts()
    return {"discarded": discarded, "count": len(a["ids"]), "samples": total, "active": active}


def _restore(session, a) -> dict:
    return _discard(session, a, discarded=False)


def _tags(session, a) -> dict:
    return session.tag_summary()


def _export_history(session, a) -> dict:
    path = a["path"]
    if path is not None and not os.path.isabs(path):
        raise CommandError(f"path: expected an absolute path (the backend does not share the "
                           f"client's working directory), got {path!r}")
    kwargs = {"format": a["format"]}
    if a["type_of_history"] is not None:
        kwargs["type_of_history"] = a["type_of_history"]
    if a["graph_name"] is not None:
        kwargs["graph_name"] = a["graph_name"]
    written = session.write_history(path, **kwargs)
    return {"path": str(written), "format": a["format"]}


def _commands(session, a) -> dict:
    return {c.name: {"args": [p.name + ("" if p.required else "?") for p in c.params],
                     "help": c.help} for c in COMMANDS.values()}


_IDS = Param("ids", "ids")
COMMANDS: dict[str, Command] = {c.name: c for c in (
    Command("status", (), _status, "training state, step, epoch, samples, experiment hash"),
    Command("pause", (), _pause, "pause training at the next batch boundary"),
    Command("resume", (), _resume, "resume a paused run"),
    Command("evaluate", (Param("loader", "str"), Param("tags", "opt_tag_terms", False),
                         Param("resume", "bool", False, False),
                         Param("wait", "opt_seconds", False)), _evaluate,
            "evaluate a watched loader (optionally only samples having every tag)"),
    Command("hp_get", (Param("path", "opt_str", False), Param("name", "opt_str", False)),
            _hp_get, "read a hyperparameter (dotted path) or all of them"),
    Command("hp_set", (Param("path", "str"), Param("value", "json"),
                       Param("name", "opt_str", False)), _hp_set,
            "set a hyperparameter (dotted path) to a JSON value"),
    Command("tag_add", (Param("tag", "tag"), _IDS), _tag_add, "add a boolean tag to samples"),
    Command("tag_remove", (Param("tag", "tag"), _IDS), _tag_remove,
            "remove a boolean tag from samples"),
    Command("cat_set", (Param("tag", "tag"), Param("value", "opt_tag_value"), _IDS), _cat_set,
            "set a categorical tag's value on samples ('' or null clears)"),
    Command("discard", (_IDS,), _discard, "discard samples (skipped from the next batch on)"),
    Command("restore", (_IDS,), _restore, "restore discarded samples"),
    Command("tags", (), _tags, "tags and their counts"),
    Command("export_history", (Param("path", "opt_str", False),
                               Param("format", "str", False, "json"),
                               Param("type_of_history", "opt_str", False),
                               Param("graph_name", "opt_str", False)), _export_history,
            "write the signal history to a file (json, csv or parquet)"),
    Command("commands", (), _commands, "the commands this backend accepts"),
)}


def parse_request(payload) -> tuple[Command, dict]:
    """Check a decoded request object; return its command and checked arguments."""
    if not isinstance(payload, dict):
        raise CommandError(f"request: expected a JSON object, got {type(payload).__name__}")
    unexpected = sorted(set(payload) - {"command", "args"})
    if unexpected:
        raise CommandError(f"request: unexpected key(s) {unexpected}; expected 'command' and "
                           "optionally 'args'")
    name = payload.get("command")
    if not isinstance(name, str):
        raise CommandError(f"command: expected a command name, got {_short(name)}")
    command = COMMANDS.get(name)
    if command is None:
        raise CommandError(f"command: unknown command {_short(name)}; known: "
                           f"{', '.join(COMMANDS)}")
    return command, command.validate(payload.get("args", {}))


def execute(session, payload) -> object:
    """Validate and run one request against ``session``; return its JSON-able result.

    Raises
    ------
    CommandError
        400 for a malformed request, 422 when the session refused it (its message). Nothing
        was changed in either case.
    """
    command, args = parse_request(payload)
    if session.closed:
        raise CommandError("session: the session is closed", status=422, kind="RuntimeError")
    try:
        return command.run(session, args)
    except CommandError:
        raise
    except Exception as exc:  # the session's own refusal: pass its message on
        raise CommandError(_message(exc), status=422, kind=type(exc).__name__) from exc


def _message(exc: BaseException) -> str:
    if type(exc) is KeyError and len(exc.args) == 1 and isinstance(exc.args[0], str):
        return exc.args[0]  # str(KeyError) would quote it
    return str(exc) or type(exc).__name__
