"""The shape of browser messages, and how the sample actions of the grid and the tag editor
map to the command table.

Every field a browser sends is checked before anything changes. What a message asks the session
to *do* (tag, discard, pause, evaluate, set a hyperparameter...) is a command of
:mod:`weightslab_nb.commands`, run with ``source="panel"``: the table checks its arguments and
the session its values, with the same rules and messages as from code and the CLI. Here live
only the checks of the message format itself (its ``req``, which fields an action takes, the
fields of a page request). A bad message raises :class:`MessageError` (or the table's or the
session's error) naming the field; the panel shows it in its ``error`` trait and, when the
message carried a ``req``, answers with ``ok: false``.
"""

from __future__ import annotations

import math

from weightslab_nb.commands import check_samples, check_tag_subset, check_tag_terms
from weightslab_nb.errors import ArgumentError

#: Actions on samples: grid ``{type: "action", action, sample_ids, tag?, value?, origin?}`` and
#: tag editor ``{type: "apply", action, tag?, value?}`` (on the shared selection).
ACTIONS = ("add_tag", "remove_tag", "set_categorical", "clear_categorical", "discard", "restore")
#: The command of :data:`weightslab_nb.commands.COMMANDS` each action runs.
ACTION_COMMANDS = {"add_tag": "tag_add", "remove_tag": "tag_remove", "set_categorical": "cat_set",
                   "clear_categorical": "cat_set", "discard": "discard", "restore": "restore"}
#: How the panels name the commands' arguments in their messages.
SAMPLE_FIELDS = {"ids": "sample_ids"}
#: Actions on the flag set of ``wl.suspects(origin)``: grid ``{type: "flagged", action, origin,
#: tag?, dry_run?, expect?}``, and the command each runs.
FLAGGED_COMMANDS = {"tag": "tag_flagged", "discard": "discard_flagged"}
MAX_TOKEN = 32  # an undo token
MAX_NAME = 200  # loader, signal and hyperparameter names (tags: ledger.names, 256)


class MessageError(ArgumentError):
    """A browser message with a missing, mistyped or out-of-range field; nothing was changed."""


def request_id(msg: dict):
    """The ``req`` of a message: a non-negative int, a short string, or None when absent."""
    req = msg.get("req")
    if req is None:
        return None
    if isinstance(req, bool) or not isinstance(req, (int, str)):
        raise MessageError(f"req: expected an integer or a string, got {req!r}")
    if isinstance(req, int) and not 0 <= req < 2**53:
        raise MessageError(f"req: out of range: {req}")
    if isinstance(req, str) and len(req) > 64:
        raise MessageError("req: longer than 64 characters")
    return req


def name_field(msg: dict, field: str, *, required: bool = True) -> str | None:
    """A name that is not a tag (a loader, a signal, a hyperparameter path): a non-empty string
    of printable characters without surrounding spaces. (Tag names are the command table's:
    :mod:`weightslab_nb.ledger.names`.)"""
    value = msg.get(field)
    if value is None:
        if required:
            raise MessageError(f"{field}: required")
        return None
    if not isinstance(value, str):
        raise MessageError(f"{field}: expected a string, got {type(value).__name__}")
    if not value or value != value.strip():
        raise MessageError(f"{field}: expected a non-empty name without surrounding spaces, "
                           f"got {value!r}")
    if len(value) > MAX_NAME:
        raise MessageError(f"{field}: longer than {MAX_NAME} characters")
    if not value.isprintable():
        raise MessageError(f"{field}: non-printable characters (control, format, line "
                           "separators) are not allowed")
    return value


def number_field(msg: dict, field: str, *, required: bool = False):
    value = msg.get(field)
    if value is None:
        if required:
            raise MessageError(f"{field}: required")
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise MessageError(f"{field}: expected a finite number, got {value!r}")
    return value


def int_field(msg: dict, field: str, *, lo: int = 0, hi: int = 2**53 - 1, default=None,
              required: bool = False):
    """An integer in ``[lo, hi]`` (no bools, no floats); ``default`` when absent or null."""
    value = msg.get(field)
    if value is None:
        if required:
            raise MessageError(f"{field}: required")
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise MessageError(f"{field}: expected an integer, got {value!r}")
    if not lo <= value <= hi:
        raise MessageError(f"{field}: must be in {lo}..{hi}, got {value}")
    return value


def bool_field(msg: dict, field: str, *, default: bool = False) -> bool:
    """``true``/``false``; ``default`` when absent or null."""
    value = msg.get(field)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise MessageError(f"{field}: expected true or false, got {value!r}")
    return value


def subset_tags_field(msg: dict, summary: dict, field: str = "tags") -> tuple[str, ...]:
    """A tag subset: a list of known boolean tag names and categorical ``"name=value"`` terms
    (:func:`weightslab_nb.commands.check_tag_subset`, the rule of the ``evaluate`` command).

    ``summary`` is ``session.tag_summary()``. Absent, null or ``[]`` means no restriction (an
    empty tuple). Duplicates are dropped; two values of one categorical tag are refused (no
    sample has both).
    """
    return check_tag_subset(summary, check_tag_terms(msg.get(field), field), field)


def ids_field(msg: dict, field: str = "sample_ids", *, allow_empty: bool = False) -> list:
    """Samples: sample ids (ints or strings) and ``[origin, sample_id]`` refs
    (:func:`weightslab_nb.commands.check_samples`); refs come back as tuples, duplicates
    dropped."""
    return check_samples(msg.get(field), field, allow_empty=allow_empty)


def ref_field(msg: dict, field: str = "ref") -> tuple:
    """One sample's ref ``[origin, sample_id]`` (a non-empty origin string and an int or string
    id), as a tuple; the session then resolves it (an unknown sample is refused there)."""
    value = msg.get(field)
    if not isinstance(value, list) or len(value) != 2:
        raise MessageError(f"{field}: expected a sample ref [origin, sample_id], got {value!r}"
                           [:300])
    return check_samples([value], field)[0]


def action_command(msg: dict) -> tuple[str, str, dict]:
    """The command an action message runs: ``(action, command name, args)``.

    ``args`` holds the message's ``tag``, ``value`` and ``origin`` as the command takes them
    (the samples are added by the caller: the grid's ``sample_ids`` or the tag editor's
    selection). An action tags with known tags and values only (``create=False``): the views
    offer those; ``add_tag`` with ``create: true`` creates a new boolean tag first (the grid's
    "new tag" box).
    """
    action = msg.get("action")
    if action not in ACTIONS:
        raise MessageError(f"action: expected one of {ACTIONS}, got {action!r}")
    has = {k: msg[k] for k in ("tag", "value", "origin") if msg.get(k) is not None}
    if action in ("discard", "restore"):
        if "tag" in has or "value" in has:
            raise MessageError(f"{action}: takes no tag or value")
    elif action in ("add_tag", "remove_tag") and "value" in has:
        raise MessageError(f"{action}: takes no value")
    elif action == "set_categorical" and has.get("value", "") == "":
        raise MessageError("value: required (clear_categorical clears a tag)")
    elif action == "clear_categorical":
        if has.get("value", "") != "":
            raise MessageError("clear_categorical: takes no value")
        has["value"] = None
    create = bool_field(msg, "create")
    if create and action != "add_tag":
        raise MessageError(f"create: only add_tag creates a tag, not {action}")
    if action in ("add_tag", "set_categorical", "clear_categorical"):
        has["create"] = create
    return action, ACTION_COMMANDS[action], has


def action_message(action: str, result: dict) -> str:
    """What the panel says after an action ran (``result``: the command's result)."""
    n = result["count"]
    noun = "sample" if n == 1 else "samples"
    tag = result.get("tag")
    return {"add_tag": f"tagged {n} {noun} {tag!r}",
            "remove_tag": f"removed {tag!r} from {n} {noun}",
            "set_categorical": f"set {tag}={result.get('value')} on {n} {noun}",
            "clear_categorical": f"cleared {tag!r} on {n} {noun}",
            "discard": f"discarded {n} {noun}",
            "restore": f"restored {n} {noun}"}[action]


def flagged_command(msg: dict) -> tuple[str, str, dict]:
    """The command a ``flagged`` message runs: ``(action, command name, args)``.

    ``action`` is ``"tag"`` or ``"discard"``; ``origin`` is required (the flag set is one
    origin's); ``dry_run`` (bool) previews; ``expect`` (the digest of a preview) makes the
    command refuse when the flag set changed since; ``tag`` (``"tag"`` only) names the tag,
    created when new (the view offers a name to type, default ``"suspect"``).
    """
    action = msg.get("action")
    if action not in FLAGGED_COMMANDS:
        raise MessageError(f"action: expected one of {tuple(FLAGGED_COMMANDS)}, got {action!r}")
    args = {"origin": name_field(msg, "origin"), "dry_run": bool_field(msg, "dry_run")}
    if msg.get("expect") is not None:
        args["expect"] = msg["expect"]  # the command checks its kind
    if msg.get("tag") is not None:
        if action != "tag":
            raise MessageError(f"{action}: takes no tag")
        args["tag"] = msg["tag"]
    return action, FLAGGED_COMMANDS[action], args


def undo_token_field(msg: dict, field: str = "token") -> str:
    """The token of an undo the panel offered: a non-empty string of at most
    :data:`MAX_TOKEN` characters."""
    value = msg.get(field)
    if not isinstance(value, str) or not value or len(value) > MAX_TOKEN:
        raise MessageError(f"{field}: expected the token of an undo (a string of 1-{MAX_TOKEN} "
                           f"characters), got {value!r}")
    return value


def flagged_message(action: str, result: dict) -> str:
    """What the panel says after a ``flagged`` message ran (``result``: the command's)."""
    n, origin, already = result["count"], result["origin"], result["already"]
    noun = "sample" if n == 1 else "samples"
    if result["flagged"] == 0:
        return f"no flagged samples in {origin!r}"
    if n == 0:
        return (f"all {already} flagged samples of {origin!r} have {result['tag']!r} already"
                if action == "tag" else
                f"all {already} flagged samples of {origin!r} are discarded already")
    if action == "tag":
        what = f"tag {n} flagged {noun} of {origin!r} with {result['tag']!r}"
        rest = f"{already} had it already" if already else ""
    else:
        what = f"discard {n} flagged {noun} of {origin!r}"
        rest = f"{already} were discarded already" if already else ""
    if result["dry_run"]:
        return f"{what}?" + (f" ({rest})" if rest else "")
    done = what.replace("tag ", "tagged ", 1) if action == "tag" else \
        what.replace("discard ", "discarded ", 1)
    return done + (f" ({rest})" if rest else "")


def undo_message(command: str, result: dict) -> str:
    """What the panel says after an undo ran ``command`` (``tag_remove`` or ``restore``)."""
    n = result["count"]
    noun = "sample" if n == 1 else "samples"
    if command == "tag_remove":
        return f"undone: removed {result['tag']!r} from {n} {noun}"
    return f"undone: restored {n} {noun}"
