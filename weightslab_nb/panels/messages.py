"""Validation of browser messages, and the sample actions shared by the grid and the tag editor.

Every field a browser sends is checked here before anything changes; a bad message raises
:class:`MessageError` naming the field, the panel shows it in its ``error`` trait and, when the
message carried a ``req``, answers with ``ok: false``.
"""

from __future__ import annotations

import math

from weightslab_nb.errors import InvalidTypeError, InvalidValueError, WeightslabError
from weightslab_nb.ledger.names import check_tag_name, check_tag_term, check_tag_value

#: Actions on samples: grid ``{type: "action", action, sample_ids, tag?, value?}`` and tag editor
#: ``{type: "apply", action, tag?, value?}`` (on the shared selection).
ACTIONS = ("add_tag", "remove_tag", "set_categorical", "clear_categorical", "discard", "restore")
MAX_IDS = 1_000_000
MAX_NAME = 200  # loader, signal and hyperparameter names (tags: ledger.names, 256)
MAX_VALUES = 1000


class MessageError(WeightslabError, ValueError):
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
    of printable characters without surrounding spaces. Tags use :func:`tag_name_field`."""
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


def tag_name_field(msg: dict, field: str = "tag", *, required: bool = True) -> str | None:
    """A tag name, checked by the rule of :mod:`weightslab_nb.ledger.names` (the same rule as
    ``session.tag_samples``)."""
    value = msg.get(field)
    if value is None:
        if required:
            raise MessageError(f"{field}: required")
        return None
    return _checked(check_tag_name, value, field)


def tag_value_field(msg: dict, field: str = "value") -> str:
    """A categorical value (required), checked by the rule of :mod:`weightslab_nb.ledger.names`."""
    value = msg.get(field)
    if value is None:
        raise MessageError(f"{field}: required")
    return _checked(check_tag_value, value, field)


def _checked(check, value, field: str):
    """``check(value, field)``, its refusal raised as a :class:`MessageError` (same message)."""
    try:
        return check(value, field)
    except (InvalidTypeError, InvalidValueError) as exc:
        raise MessageError(str(exc)) from exc


def ids_field(msg: dict, field: str = "sample_ids", *, allow_empty: bool = False) -> list:
    """A list of sample ids (ints or strings; no floats, bools or nesting)."""
    ids = msg.get(field)
    if not isinstance(ids, list):
        raise MessageError(f"{field}: expected a list of sample ids, got {type(ids).__name__}")
    if not ids and not allow_empty:
        raise MessageError(f"{field}: no samples given (select some first)")
    if len(ids) > MAX_IDS:
        raise MessageError(f"{field}: at most {MAX_IDS} ids per message")
    for v in ids:
        if isinstance(v, bool) or not isinstance(v, (int, str)):
            raise MessageError(f"{field}: sample ids are integers or strings, got {v!r}")
    return list(dict.fromkeys(ids))


def values_field(msg: dict, field: str = "values") -> list[str]:
    """A non-empty list of distinct category values."""
    values = msg.get(field)
    if not isinstance(values, list) or not values:
        raise MessageError(f"{field}: expected a non-empty list of strings")
    if len(values) > MAX_VALUES:
        raise MessageError(f"{field}: at most {MAX_VALUES} values")
    return list(dict.fromkeys(_checked(check_tag_value, v, f"{field}[{i}]")
                              for i, v in enumerate(values)))


def number_field(msg: dict, field: str, *, required: bool = False):
    value = msg.get(field)
    if value is None:
        if required:
            raise MessageError(f"{field}: required")
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise MessageError(f"{field}: expected a finite number, got {value!r}")
    return value


def check_action(session, msg: dict) -> tuple[str, str | None, str | None]:
    """Validate ``action``, ``tag`` and ``value`` of an action message against the tag registry.

    Returns ``(action, tag, value)``.
    """
    action = msg.get("action")
    if action not in ACTIONS:
        raise MessageError(f"action: expected one of {ACTIONS}, got {action!r}")
    if action in ("discard", "restore"):
        if msg.get("tag") is not None or msg.get("value") is not None:
            raise MessageError(f"{action}: takes no tag or value")
        return action, None, None
    tag = tag_name_field(msg, "tag")
    summary = session.tag_summary()
    if action in ("add_tag", "remove_tag"):
        if tag not in summary["boolean"]:
            raise MessageError(f"tag: no boolean tag named {tag!r}; known: "
                               f"{sorted(summary['boolean'])} (create it in the tag editor first)")
        if msg.get("value") is not None:
            raise MessageError(f"{action}: takes no value")
        return action, tag, None
    cats = summary["categorical"]
    if tag not in cats:
        raise MessageError(f"tag: no categorical tag named {tag!r}; known: {sorted(cats)}")
    if action == "clear_categorical":
        if msg.get("value") not in (None, ""):
            raise MessageError("clear_categorical: takes no value")
        return action, tag, None
    value = tag_value_field(msg, "value")
    if value not in cats[tag]["values"]:
        raise MessageError(f"value: {value!r} is not a value of {tag!r}; values: "
                           f"{cats[tag]['values']}")
    return action, tag, value


def apply_action(session, action: str, ids: list, tag: str | None, value: str | None) -> str:
    """Run a validated action through the session; return a message for the panel.

    Session errors (unknown ids, ...) propagate; the session changes nothing then.
    """
    n = len(ids)
    noun = "sample" if n == 1 else "samples"
    if action == "add_tag":
        session.tag_samples(ids, tag, mode="add")
        return f"tagged {n} {noun} {tag!r}"
    if action == "remove_tag":
        session.tag_samples(ids, tag, mode="remove")
        return f"removed {tag!r} from {n} {noun}"
    if action == "set_categorical":
        session.set_categorical_tag(ids, tag, value)
        return f"set {tag}={value} on {n} {noun}"
    if action == "clear_categorical":
        session.set_categorical_tag(ids, tag, None)
        return f"cleared {tag!r} on {n} {noun}"
    if action == "discard":
        session.discard_samples(ids, discarded=True)
        return f"discarded {n} {noun}"
    if action == "restore":
        session.discard_samples(ids, discarded=False)
        return f"restored {n} {noun}"
    raise MessageError(f"action: expected one of {ACTIONS}, got {action!r}")


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


MAX_SUBSET_TAGS = 64


def subset_tags_field(msg: dict, summary: dict, field: str = "tags") -> tuple[str, ...]:
    """A tag subset: a list of known boolean tag names and categorical ``"name=value"`` terms.

    ``summary`` is ``session.tag_summary()``. Absent, null or ``[]`` means no restriction (an
    empty tuple). Duplicates are dropped; two values of one categorical tag are refused (no
    sample has both).
    """
    tags = msg.get(field)
    if tags is None:
        return ()
    if not isinstance(tags, list):
        raise MessageError(f"{field}: expected a list of tag names, got {type(tags).__name__}")
    if len(tags) > MAX_SUBSET_TAGS:
        raise MessageError(f"{field}: at most {MAX_SUBSET_TAGS} tags")
    out: list[str] = []
    categories: dict[str, str] = {}
    for term in tags:
        name, value = _checked(check_tag_term, term, field)
        if term in out:
            continue
        if value is None:
            if term not in summary["boolean"]:
                raise MessageError(f"{field}: no boolean tag named {term!r}; known: "
                                   f"{sorted(summary['boolean'])} (categorical ones as "
                                   "'name=value')")
        else:
            cat = summary["categorical"].get(name)
            if cat is None:
                raise MessageError(f"{field}: no categorical tag named {name!r}; known: "
                                   f"{sorted(summary['categorical'])}")
            if value not in cat["values"]:
                raise MessageError(f"{field}: {value!r} is not a value of {name!r}; values: "
                                   f"{cat['values']}")
            if name in categories:
                raise MessageError(f"{field}: {categories[name]!r} and {term!r} exclude each other "
                                   "(a sample has one value of a categorical tag)")
            categories[name] = term
        out.append(term)
    return tuple(out)
