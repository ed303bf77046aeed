"""The command table: every action a user can take on a session, defined once.

Tagging, discarding, pausing, setting a hyperparameter, evaluating... each is one
:class:`Command` of :data:`COMMANDS`: its name, its parameters with their kinds (how an argument
is checked), and a handler that calls :class:`~weightslab_nb.session.Session` methods. Every
entry point runs the same command through :func:`run`:

* code: ``weightslab_nb.commands.run(session, "tag_add", {"tag": "hard", "ids": [0, 1],
  "origin": "val"})``;
* the panels (:mod:`weightslab_nb.panels`): the grid's actions, the tag editor's create and
  apply, the training controls and the hyperparameter editor, with ``source="panel"``;
* the console backend (:mod:`weightslab_nb.serving`, ``weightslab-nb cli``), with
  ``source="cli"``; it only maps the errors to HTTP statuses.

So the same input gets the same result and the same refusal everywhere. :func:`run` checks the
name and every argument against its kind *before* calling the session (a malformed argument
raises :class:`~weightslab_nb.errors.ArgumentError`); then the handler checks what only the
session knows (known tags, loaders, samples, hyperparameter values) and the session raises its
own errors (:class:`~weightslab_nb.errors.UnknownSampleError`,
:class:`~weightslab_nb.errors.AmbiguousSampleError`, ...). A refused command changes nothing.

Samples
-------
The ``ids`` of the sample commands (``tag_add``, ``tag_remove``, ``cat_set``, ``discard``,
``restore``) are sample ids (int or str) and/or refs ``[origin, sample_id]`` (a list or a
tuple; the identity of one sample, see :class:`~weightslab_nb.ledger.ids.SampleRef`). The
optional ``origin`` (an origin or a loader name) says which origin the bare ids belong to; it
is needed only for an id several origins hold (train and validation sets both indexed from 0),
which is refused without it. A ref names its own origin (one of another origin than ``origin``
is refused). Refs of several origins are checked together, then applied origin by origin.

=====================  ===========================================================================
command                args (``?`` optional)
=====================  ===========================================================================
``status``             —
``pause``              —
``resume``             — (refused while an evaluation runs or waits)
``stop``               — (training ends at the next batch boundary)
``evaluate``           ``loader`` str (a watched loader's name or origin), ``tags?`` list of tags
                       (``name`` or ``name=value``, all required), ``resume?`` bool,
                       ``timeout?`` seconds (of the pass), ``wait?`` seconds (answer when the
                       pass finished, at most that long)
``cancel_evaluation``  ``id?`` int (default: the running one, else the next queued one)
``hp_get``             ``path?`` str (dotted; None: all), ``name?`` str (which watched dict)
``hp_set``             ``path`` str, ``value`` any JSON value, ``name?`` str
``tag_create``         ``name`` tag name (a boolean tag with no samples yet)
``cat_register``       ``name`` tag name, ``values`` list of values (declares or extends a
                       categorical tag)
``tag_add``            ``tag`` tag name, ``ids``, ``origin?``, ``create?`` bool (default true:
                       a new tag is created; false: only a known boolean tag)
``tag_remove``         ``tag`` tag name, ``ids``, ``origin?``
``cat_set``            ``tag`` tag name, ``value`` categorical value or None (``""``/None
                       clears), ``ids``, ``origin?``, ``create?`` bool (default true: a new tag
                       or value is registered; false: only a known tag and value)
``discard``            ``ids``, ``origin?``
``restore``            ``ids``, ``origin?``
``tag_flagged``        ``origin`` (required), ``tag?`` tag name (default ``"suspect"``),
                       ``create?`` bool (default true), ``dry_run?`` bool, ``expect?`` digest
``discard_flagged``    ``origin`` (required), ``dry_run?`` bool, ``expect?`` digest
``tags``               —
``export_history``     ``path?`` absolute path (None: ``root_log_dir``), ``format?`` str,
                       ``type_of_history?`` str, ``graph_name?`` str
``commands``           —
=====================  ===========================================================================

Flagged samples
---------------
``tag_flagged`` and ``discard_flagged`` act on the flag set of ``wl.suspects(origin)``
(:mod:`weightslab_nb.suspects`: the samples whose labels training disagreed with most, split
from the rest by the data itself), computed when the command runs. Their result names the
samples they changed, and only those: ``refs`` (``[origin, sample_id]`` of the flagged samples
that did not have the tag, or were not discarded, before), ``count`` (how many), ``flagged``
(the size of the flag set), ``already`` (flagged samples that needed no change) and ``undo``
(``{"command", "args"}``: the command that reverts exactly this change, ``tag_remove`` or
``restore`` on ``refs``; None when nothing changed). ``dry_run`` reports the same without
changing anything, plus ``digest``: a fingerprint of the flag set; passing it back as
``expect`` makes the command refuse (``StateError``) when the flag set changed since the
preview (training went on), so a confirmed action touches what the preview showed.

Tag names and categorical values follow the one rule of :mod:`weightslab_nb.ledger.names`.
``hp_set`` goes through the watched handle's ``request(path, value, source=...)``, which records
who asked (``"code"``, ``"panel"``, ``"cli"``) and decides which keys the source may add.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field

from weightslab_nb.errors import (ArgumentError, InvalidTypeError, InvalidValueError,
                                  StateError, UnknownNameError)
from weightslab_nb.ledger.names import check_tag_name, check_tag_term, check_tag_value

MAX_IDS = 1_000_000  # samples of one command
MAX_TAGS = 64  # tags of one evaluation subset
MAX_VALUES = 1000  # values of one categorical tag registration
MAX_WAIT = 3600.0  # seconds an ``evaluate`` request may hold its reply
SOURCES = ("code", "panel", "cli")

_MISSING = object()


# ---------------------------------------------------------------- argument kinds
def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_id(value) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def _by_rule(check, value, label: str):
    """``check(value, label)`` of :mod:`weightslab_nb.ledger.names`, refused as an
    :class:`ArgumentError` with its message."""
    try:
        return check(value, label)
    except (InvalidTypeError, InvalidValueError) as exc:
        raise ArgumentError(str(exc)) from None


def check_samples(value, label: str = "ids", *, allow_empty: bool = False) -> list:
    """A list of samples: sample ids (int or str) and refs ``[origin, sample_id]`` (lists or
    tuples). Returns them deduplicated, refs as tuples; raises :class:`ArgumentError`."""
    if not isinstance(value, (list, tuple)) or (not value and not allow_empty):
        raise ArgumentError(f"{label}: expected a non-empty list of sample ids (ints or "
                            f"strings) or [origin, sample_id] refs, got "
                            f"{type(value).__name__} ({_short(value)})")
    if len(value) > MAX_IDS:
        raise ArgumentError(f"{label}: at most {MAX_IDS} samples per command, got {len(value)}")
    out = []
    for item in value:
        if isinstance(item, (list, tuple)):
            if len(item) != 2 or not isinstance(item[0], str) or not item[0] or \
                    not _is_id(item[1]):
                raise ArgumentError(f"{label}: a ref is [origin, sample_id] (a non-empty "
                                    f"string and an int or string), got {_short(item)}")
            out.append((item[0], item[1]))
        elif _is_id(item):
            out.append(item)
        else:
            raise ArgumentError(f"{label}: sample ids are ints or strings (or [origin, "
                                f"sample_id] refs), got {type(item).__name__} ({_short(item)})")
    return list(dict.fromkeys(out))


def check_tag_terms(value, label: str = "tags") -> tuple[str, ...]:
    """None or a list of tag terms (``name`` or ``name=value``), at most :data:`MAX_TAGS`;
    duplicates dropped. Raises :class:`ArgumentError`."""
    if value is None:
        return ()
    if not isinstance(value, (list, tuple)):
        raise ArgumentError(f"{label}: expected a list of tags ('name' or 'name=value') or "
                            f"null, got {type(value).__name__} ({_short(value)})")
    if len(value) > MAX_TAGS:
        raise ArgumentError(f"{label}: at most {MAX_TAGS} tags, got {len(value)}")
    for i, term in enumerate(value):
        _by_rule(check_tag_term, term, f"{label}[{i}]")
    return tuple(dict.fromkeys(value))


def check_tag_subset(summary: dict, terms, label: str = "tags") -> tuple[str, ...]:
    """Known tag terms: boolean tag names and categorical ``name=value`` terms of
    ``summary`` (``session.tag_summary()``), at most one value per categorical tag.

    Raises
    ------
    UnknownNameError
        A tag that does not exist.
    InvalidValueError
        A value the categorical tag does not have, or two values of one categorical tag (no
        sample has both).
    """
    categories: dict[str, str] = {}
    for term in terms:
        name, sep, value = term.partition("=")
        if not sep:
            if term not in summary["boolean"]:
                raise UnknownNameError(f"{label}: no boolean tag named {term!r}; known: "
                                       f"{sorted(summary['boolean'])} (categorical ones as "
                                       "'name=value')")
            continue
        cat = summary["categorical"].get(name)
        if cat is None:
            raise UnknownNameError(f"{label}: no categorical tag named {name!r}; known: "
                                   f"{sorted(summary['categorical'])}")
        if value not in cat["values"]:
            raise InvalidValueError(f"{label}: {value!r} is not a value of {name!r}; values: "
                                    f"{cat['values']}")
        if name in categories:
            raise InvalidValueError(f"{label}: {categories[name]!r} and {term!r} exclude each "
                                    "other (a sample has one value of a categorical tag)")
        categories[name] = term
    return tuple(terms)


def _check(kind: str, label: str, value):
    """``value`` checked as ``kind`` (and normalised); :class:`ArgumentError` otherwise."""
    def bad(expected: str):
        return ArgumentError(f"{label}: expected {expected}, got {type(value).__name__} "
                             f"({_short(value)})")

    if kind == "str":
        if not isinstance(value, str):
            raise bad("a string")
    elif kind == "opt_str":
        if value is not None and not isinstance(value, str):
            raise bad("a string or null")
    elif kind == "opt_origin":
        if value is not None and (not isinstance(value, str) or not value):
            raise bad("an origin or loader name (a non-empty string) or null")
    elif kind == "origin":
        if not isinstance(value, str) or not value:
            raise bad("an origin or loader name (a non-empty string)")
    elif kind == "opt_digest":
        if value is not None and (not isinstance(value, str) or not value or len(value) > 64):
            raise bad("the digest of a preview (a string of at most 64 characters) or null")
    elif kind == "bool":
        if not isinstance(value, bool):
            raise bad("true or false")
    elif kind == "samples":
        return check_samples(value, label)
    elif kind == "tag":
        return _by_rule(check_tag_name, value, label)
    elif kind == "opt_tag_value":
        if value is None or value == "":  # clears the tag
            return value
        return _by_rule(check_tag_value, value, label)
    elif kind == "tag_values":
        if not isinstance(value, (list, tuple)) or not value:
            raise bad("a non-empty list of values (strings)")
        if len(value) > MAX_VALUES:
            raise ArgumentError(f"{label}: at most {MAX_VALUES} values, got {len(value)}")
        return list(dict.fromkeys(_by_rule(check_tag_value, v, f"{label}[{i}]")
                                  for i, v in enumerate(value)))
    elif kind == "opt_tag_terms":
        return check_tag_terms(value, label)
    elif kind == "opt_seconds":
        if value is None:
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                not math.isfinite(value) or not 0 < value <= MAX_WAIT:
            raise bad(f"a number of seconds in (0, {MAX_WAIT}] or null")
    elif kind == "opt_timeout":
        if value is None:
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                not math.isfinite(value) or value <= 0:
            raise bad("a positive number of seconds or null")
    elif kind == "opt_request_id":
        if value is None:
            return value
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise bad("an integer >= 1 (an evaluation id) or null")
    elif kind == "json":
        if not _finite(value):
            raise bad("a JSON value with finite numbers")
    else:  # pragma: no cover - a typo in the table
        raise AssertionError(kind)
    return value


def _finite(value, depth: int = 0) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if depth > 64:
        return True  # deeper than a request can be (the backend refuses those first)
    if isinstance(value, (list, tuple)):
        return all(_finite(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(_finite(v, depth + 1) for v in value.values())
    return True


# ---------------------------------------------------------------- the table's types
@dataclass(frozen=True)
class Param:
    """One argument of a command: its name, its kind (how it is checked), whether it is
    required and its default."""

    name: str
    kind: str
    required: bool = True
    default: object = None


@dataclass(frozen=True)
class Context:
    """What a handler knows of its caller: ``source`` (``"code"``, ``"panel"``, ``"cli"``)
    and the names the caller gives the arguments (:meth:`label`)."""

    source: str = "code"
    fields: dict = field(default_factory=dict)

    def label(self, name: str) -> str:
        """How the caller names argument ``name`` (a panel message says ``sample_ids``)."""
        return self.fields.get(name, name)


@dataclass(frozen=True)
class Command:
    """One action: ``handler(session, args, context)`` runs it with checked ``args``."""

    name: str
    params: tuple[Param, ...]
    handler: Callable
    help: str

    def validate(self, args, fields: dict | None = None) -> dict:
        """The checked arguments with defaults filled in; raises :class:`ArgumentError`.

        ``fields`` maps argument names to the names the caller uses (errors name those).
        """
        fields = fields or {}
        if args is None:
            args = {}
        if not isinstance(args, dict):
            raise ArgumentError(f"args: expected an object, got {type(args).__name__}")
        known = {p.name for p in self.params}
        unexpected = sorted(str(k) for k in set(args) - known)
        if unexpected:
            accepted = ", ".join(sorted(fields.get(n, n) for n in known)) or "none"
            raise ArgumentError(f"{self.name}: unexpected argument(s) {unexpected}; "
                                f"accepted: {accepted}")
        out = {}
        for p in self.params:
            label = fields.get(p.name, p.name)
            if p.name in args:
                out[p.name] = _check(p.kind, label, args[p.name])
            elif p.required:
                raise ArgumentError(f"{label}: required (an argument of {self.name})")
            else:  # the default, normalised as a given value would be
                out[p.name] = _check(p.kind, label, p.default)
        return out

    def describe(self) -> dict:
        """``{"args": [...], "help": ...}``: optional arguments end with ``?``."""
        return {"args": [p.name + ("" if p.required else "?") for p in self.params],
                "help": self.help}


# ---------------------------------------------------------------- running a command
def run(session, name: str, args: dict | None = None, *, source: str = "code",
        fields: dict | None = None):
    """Run command ``name`` of :data:`COMMANDS` with ``args`` on ``session``.

    Parameters
    ----------
    session : Session
    name : str
        A command name (``"tag_add"``, ``"pause"``, ...; see the module docstring).
    args : dict, optional
        The command's arguments (JSON values; refs may be tuples).
    source : {"code", "panel", "cli"}, default "code"
        Who asks; recorded with hyperparameter changes.
    fields : dict, optional
        The names the caller gives the arguments in its own messages (``{"ids":
        "sample_ids"}``): errors about those arguments name them.

    Returns
    -------
    The command's result: JSON values (dicts, lists, strings, numbers).

    Raises
    ------
    ArgumentError
        An unknown command, or a missing, unexpected or malformed argument.
    WeightslabError
        What the session refused (its own error class: ``UnknownSampleError``,
        ``AmbiguousSampleError``, ``UnknownNameError``, ``InvalidValueError``,
        ``StateError``...). Nothing was changed in either case.
    """
    if not isinstance(name, str) or name not in COMMANDS:
        raise ArgumentError(f"command: unknown command {_short(name)}; known: "
                            f"{', '.join(COMMANDS)}")
    if not isinstance(source, str) or not source:
        raise InvalidValueError(f"source: expected a non-empty name such as {SOURCES}, got "
                                f"{source!r}")
    command = COMMANDS[name]
    checked = command.validate(args, fields)
    if session.closed:
        raise StateError("session: the session is closed")
    return command.handler(session, checked, Context(source, dict(fields or {})))


def describe() -> dict:
    """``{name: {"args": [...], "help": ...}}`` of every command."""
    return {c.name: c.describe() for c in COMMANDS.values()}


# ---------------------------------------------------------------- handlers: training
def _status(session, a, ctx) -> dict:
    out = dict(session.controller.snapshot())
    total, active = session.counts()
    out.update(samples=total, active=active,
               experiment_hash=session.get_current_experiment_hash(),
               root_log_dir=str(session.root_log_dir),
               loaders=list(session.registry.all("data")), origins=session.origins(),
               evaluation=_evaluation_state(session))
    return out


def _evaluation_state(session) -> dict:
    ev = session.evaluation
    running = ev.running
    return {"running": request_dict(running) if running is not None else None,
            "last": request_dict(ev.history[-1]) if ev.history else None}


def request_dict(req) -> dict:
    """An evaluation request as JSON values."""
    keys = ("id", "loader_name", "tags", "state", "step", "error", "result", "summary",
            "progress", "marker_hash")
    out = {k: getattr(req, k) for k in keys}
    out["tags"] = list(out["tags"])
    out["progress"] = list(out["progress"])
    return out


def _pause(session, a, ctx) -> dict:
    session.controller.pause()
    return session.controller.snapshot()


def _resume(session, a, ctx) -> dict:
    session.controller.resume()
    return session.controller.snapshot()


def _stop(session, a, ctx) -> dict:
    session.controller.stop()
    return session.controller.snapshot()


def _evaluate(session, a, ctx) -> dict:
    """Queue the evaluation; with ``wait`` (seconds), answer once it finished or that time has
    passed (the reply's ``state`` tells which). The wait holds the caller only (a console
    request's own server thread): other commands are served meanwhile."""
    loaders = session.registry.all("data")
    if a["loader"] not in loaders and \
            not any(getattr(w, "origin", None) == a["loader"] for w in loaders.values()):
        raise UnknownNameError(f"{ctx.label('loader')}: no watched loader or origin "
                               f"{a['loader']!r}; watched: {', '.join(loaders) or 'none'}")
    tags = check_tag_subset(session.tag_summary(), a["tags"], ctx.label("tags"))
    req = session.request_evaluation(a["loader"], tags=list(tags), timeout=a["timeout"],
                                     resume=a["resume"])
    if a["wait"] is not None:
        req.wait(a["wait"])
    return request_dict(req)


def _cancel_evaluation(session, a, ctx) -> dict:
    ev = session.evaluation
    running = ev.running
    live = ([running] if running is not None else []) + \
        [r for r in ev.queued() if r is not running]
    req_id = a["id"]
    if req_id is None:
        if not live:
            raise StateError("cancel_evaluation: no evaluation is running or queued")
        target = live[0]
    else:
        target = ev.find(req_id)
        label = ctx.label("id")
        if target is None:
            raise UnknownNameError(f"{label}: no evaluation {req_id}")
        if target.finished:
            raise StateError(f"{label}: evaluation {req_id} is {target.state}, not running or "
                             "queued")
    target.cancel()
    return request_dict(target)


# ---------------------------------------------------------------- handlers: hyperparameters
def _hp_handle(session, name, ctx):
    handles = session.registry.all("hyperparameters")
    if not handles:
        raise UnknownNameError("hp: no hyperparameters are watched; watch a dict with "
                               "wl.watch_or_edit({...}, flag='hp')")
    if name is not None:
        if name not in handles:
            raise UnknownNameError(f"{ctx.label('name')}: no hyperparameters named {name!r} "
                                   f"are watched (watched: {', '.join(handles)})")
        return handles[name]
    if len(handles) > 1:
        raise InvalidValueError(f"{ctx.label('name')}: {len(handles)} hyperparameter dicts are "
                                f"watched ({', '.join(handles)}); say which one")
    return next(iter(handles.values()))


def _check_path(path: str, ctx) -> None:
    if not path or any(not part.strip() for part in path.split(".")):
        raise ArgumentError(f"{ctx.label('path')}: expected a dotted path such as "
                            f"'optimizer.lr', got {path!r}")


def _hp_get(session, a, ctx) -> dict:
    hp = _hp_handle(session, a["name"], ctx)
    if a["path"] is None:
        return {"path": None, "value": hp.to_dict(), "pending": _pending(hp)}
    _check_path(a["path"], ctx)
    value = hp.get_path(a["path"], _MISSING)
    if value is _MISSING:
        raise UnknownNameError(f"{ctx.label('path')}: no hyperparameter at {a['path']!r}; "
                               f"top-level keys: {list(hp)}")
    return {"path": a["path"], "value": value, "pending": _pending(hp, a["path"])}


def _pending(hp, path: str | None = None) -> list:
    """Requested changes not applied yet (they wait for the training thread's batch boundary)."""
    rows = hp.pending()
    if path is not None:
        rows = [r for r in rows if r["key"] == path or r["key"].startswith(path + ".")]
    return rows


def _hp_set(session, a, ctx) -> dict:
    """The handle validates the value (type, range, known key for the source) and applies it at
    once, or at the training thread's next batch boundary while a run is in progress."""
    _check_path(a["path"], ctx)
    hp = _hp_handle(session, a["name"], ctx)
    previous = hp.get_path(a["path"], None)
    applied = hp.request(a["path"], a["value"], source=ctx.source)
    return {"path": a["path"], "requested": a["value"], "applied": applied,
            "value": hp.get_path(a["path"], None), "previous": previous}


# ---------------------------------------------------------------- handlers: tags and samples
def sample_groups(session, samples: list, origin: str | None) -> list[tuple[str | None, list]]:
    """``[(origin, ids), ...]``: the checked ``samples`` (ids and refs) grouped by origin.

    Bare ids alone make one group of ``origin`` (the session resolves them as usual). With
    refs, every sample is looked up first (:meth:`Session.sample_refs`: unknown or ambiguous
    ones are refused before anything changes), then grouped by its origin.
    """
    if not any(isinstance(s, tuple) for s in samples):
        return [(origin, list(samples))]
    groups: dict[str, list] = {}
    for ref in session.sample_refs(samples, origin):
        groups.setdefault(ref.origin, []).append(ref.sample_id)
    return list(groups.items())


def _tag_add(session, a, ctx) -> dict:
    if not a["create"]:
        boolean = session.tag_summary()["boolean"]
        if a["tag"] not in boolean:
            raise UnknownNameError(f"{ctx.label('tag')}: no boolean tag named {a['tag']!r}; "
                                   f"known: {sorted(boolean)} (create it first)")
    return _tag(session, a, "add")


def _tag_remove(session, a, ctx) -> dict:
    return _tag(session, a, "remove")


def _tag(session, a, mode: str) -> dict:
    for origin, ids in sample_groups(session, a["ids"], a["origin"]):
        session.tag_samples(ids, a["tag"], mode=mode, origin=origin)
    return {"tag": a["tag"], "mode": mode, "count": len(a["ids"]),
            "tagged": session.tag_summary()["boolean"].get(a["tag"], 0)}


def _cat_set(session, a, ctx) -> dict:
    tag, value = a["tag"], a["value"] or None
    if not a["create"]:
        cats = session.tag_summary()["categorical"]
        if tag not in cats:
            raise UnknownNameError(f"{ctx.label('tag')}: no categorical tag named {tag!r}; "
                                   f"known: {sorted(cats)}")
        if value is not None and value not in cats[tag]["values"]:
            raise InvalidValueError(f"{ctx.label('value')}: {value!r} is not a value of "
                                    f"{tag!r}; values: {cats[tag]['values']}")
    for origin, ids in sample_groups(session, a["ids"], a["origin"]):
        session.set_categorical_tag(ids, tag, value, origin=origin)
    return {"tag": tag, "value": value, "count": len(a["ids"]),
            "counts": session.tag_summary()["categorical"].get(tag, {}).get("counts", {})}


def _discard(session, a, ctx, discarded: bool = True) -> dict:
    for origin, ids in sample_groups(session, a["ids"], a["origin"]):
        session.discard_samples(ids, discarded=discarded, origin=origin)
    total, active = session.counts()
    return {"discarded": discarded, "count": len(a["ids"]), "samples": total, "active": active}


def _restore(session, a, ctx) -> dict:
    return _discard(session, a, ctx, discarded=False)


def _tag_create(session, a, ctx) -> dict:
    existed = a["name"] in session.tag_summary()["boolean"]
    session.register_tag(a["name"])
    return {"tag": a["name"], "created": not existed}


def _cat_register(session, a, ctx) -> dict:
    session.register_categorical_tag(a["name"], a["values"])
    return {"tag": a["name"],
            "values": session.tag_summary()["categorical"][a["name"]]["values"]}


def _tags(session, a, ctx) -> dict:
    return session.tag_summary()


# ---------------------------------------------------------------- handlers: flagged samples
FLAGGED_TAG = "suspect"  # the default tag of ``tag_flagged``


def flag_set_digest(origin: str, ids) -> str:
    """A fingerprint of a flag set: 16 hex digits of the SHA-1 of its sorted refs."""
    import hashlib

    text = json.dumps([origin, sorted(repr(i) for i in ids)])
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def _flag_set(session, a, ctx) -> tuple[str, list, str]:
    """``(origin, flagged ids in score order, digest)`` of ``wl.suspects(origin)`` now; refuses
    (``StateError``) when ``expect`` is given and the set is another one."""
    origin = session.resolve_origin(a["origin"])
    frame = session.suspects(origin=origin)
    ids = frame.loc[frame["flagged"].to_numpy(dtype=bool), "sample_id"].tolist()
    digest = flag_set_digest(origin, ids)
    if a["expect"] is not None and a["expect"] != digest:
        raise StateError(f"{ctx.label('expect')}: the flag set of {origin!r} changed since it "
                         f"was previewed ({len(ids)} flagged samples now); preview it again "
                         "(pause training for a set that holds still)")
    return origin, ids, digest


def _flagged_result(origin: str, ids: list, todo: list, digest: str, dry_run: bool,
                    undo_command: str, undo_args: dict) -> dict:
    refs = [[origin, i] for i in todo]
    return {"origin": origin, "flagged": len(ids), "count": len(todo),
            "already": len(ids) - len(todo), "refs": refs, "digest": digest,
            "dry_run": dry_run,
            "undo": None if dry_run or not todo else
            {"command": undo_command, "args": {**undo_args, "ids": refs}}}


def _tag_flagged(session, a, ctx) -> dict:
    tag = a["tag"]
    summary = session.tag_summary()
    if tag in summary["categorical"]:
        raise InvalidValueError(f"{ctx.label('tag')}: {tag!r} is a categorical tag; a flag set "
                                "takes a boolean tag")
    if not a["create"] and tag not in summary["boolean"]:
        raise UnknownNameError(f"{ctx.label('tag')}: no boolean tag named {tag!r}; known: "
                               f"{sorted(summary['boolean'])} (create it first)")
    origin, ids, digest = _flag_set(session, a, ctx)
    with session.lock:  # what has the tag and the edit, with no other edit in between
        have = set(session.get_samples_by_tag(tag, origin=origin)) \
            if tag in session.tag_summary()["boolean"] else set()
        todo = [i for i in ids if i not in have]
        if todo and not a["dry_run"]:
            session.tag_samples(todo, tag, mode="add", origin=origin)
    out = _flagged_result(origin, ids, todo, digest, a["dry_run"], "tag_remove", {"tag": tag})
    out["tag"] = tag
    return out


def _discard_flagged(session, a, ctx) -> dict:
    origin, ids, digest = _flag_set(session, a, ctx)
    with session.lock:
        gone = set(session.get_discarded_samples(origin=origin))
        todo = [i for i in ids if i not in gone]
        if todo and not a["dry_run"]:
            session.discard_samples(todo, discarded=True, origin=origin)
    out = _flagged_result(origin, ids, todo, digest, a["dry_run"], "restore", {})
    out["samples"], out["active"] = session.counts()
    return out


# ---------------------------------------------------------------- handlers: files, the table
def _export_history(session, a, ctx) -> dict:
    path = a["path"]
    if path is not None and not os.path.isabs(path):
        raise ArgumentError(f"{ctx.label('path')}: expected an absolute path (a console "
                            "backend does not share its client's working directory), got "
                            f"{path!r}")
    kwargs = {"format": a["format"]}
    if a["type_of_history"] is not None:
        kwargs["type_of_history"] = a["type_of_history"]
    if a["graph_name"] is not None:
        kwargs["graph_name"] = a["graph_name"]
    written = session.write_history(path, **kwargs)
    return {"path": str(written), "format": a["format"]}


def _commands(session, a, ctx) -> dict:
    return describe()


_IDS = Param("ids", "samples")
_ORIGIN = Param("origin", "opt_origin", False)
COMMANDS: dict[str, Command] = {c.name: c for c in (
    Command("status", (), _status, "training state, step, epoch, samples, experiment hash"),
    Command("pause", (), _pause, "pause training at the next batch boundary"),
    Command("resume", (), _resume, "resume a paused run"),
    Command("stop", (), _stop, "stop training at the next batch boundary"),
    Command("evaluate", (Param("loader", "str"), Param("tags", "opt_tag_terms", False),
                         Param("resume", "bool", False, False),
                         Param("timeout", "opt_timeout", False),
                         Param("wait", "opt_seconds", False)), _evaluate,
            "evaluate a watched loader (optionally only samples having every tag)"),
    Command("cancel_evaluation", (Param("id", "opt_request_id", False),), _cancel_evaluation,
            "cancel a running or queued evaluation"),
    Command("hp_get", (Param("path", "opt_str", False), Param("name", "opt_str", False)),
            _hp_get, "read a hyperparameter (dotted path) or all of them"),
    Command("hp_set", (Param("path", "str"), Param("value", "json"),
                       Param("name", "opt_str", False)), _hp_set,
            "set a hyperparameter (dotted path) to a JSON value"),
    Command("tag_create", (Param("name", "tag"),), _tag_create,
            "create a boolean tag (no samples have it yet)"),
    Command("cat_register", (Param("name", "tag"), Param("values", "tag_values")),
            _cat_register, "declare a categorical tag and its values (extends an existing one)"),
    Command("tag_add", (Param("tag", "tag"), _IDS, _ORIGIN, Param("create", "bool", False, True)),
            _tag_add, "add a boolean tag to samples"),
    Command("tag_remove", (Param("tag", "tag"), _IDS, _ORIGIN), _tag_remove,
            "remove a boolean tag from samples"),
    Command("cat_set", (Param("tag", "tag"), Param("value", "opt_tag_value"), _IDS, _ORIGIN,
                        Param("create", "bool", False, True)), _cat_set,
            "set a categorical tag's value on samples ('' or null clears)"),
    Command("discard", (_IDS, _ORIGIN), _discard,
            "discard samples (skipped from the next batch on)"),
    Command("restore", (_IDS, _ORIGIN), _restore, "restore discarded samples"),
    Command("tag_flagged", (Param("origin", "origin"), Param("tag", "tag", False, FLAGGED_TAG),
                            Param("create", "bool", False, True),
                            Param("dry_run", "bool", False, False),
                            Param("expect", "opt_digest", False)), _tag_flagged,
            "tag the flagged samples of wl.suspects(origin); the result's undo reverts it"),
    Command("discard_flagged", (Param("origin", "origin"), Param("dry_run", "bool", False, False),
                                Param("expect", "opt_digest", False)), _discard_flagged,
            "discard the flagged samples of wl.suspects(origin); the result's undo restores "
            "exactly those"),
    Command("tags", (), _tags, "tags and their counts"),
    Command("export_history", (Param("path", "opt_str", False),
                               Param("format", "str", False, "json"),
                               Param("type_of_history", "opt_str", False),
                               Param("graph_name", "opt_str", False)), _export_history,
            "write the signal history to a file (json, csv or parquet)"),
    Command("commands", (), _commands, "the commands of this table"),
)}
