"""The naming rule of tags and categorical values, one rule for code, panels and the CLI.

Tag names
    A tag name is a ``str`` of 1 to 256 characters, every one printable (``str.isprintable()``:
    no control characters such as NUL, tab or newline, no format or line-separator characters,
    no space other than the ASCII space), without leading or trailing spaces, that does not
    start with ``"tag:"`` (the sample table's column prefix: ``"tag:hard"`` is the column of the
    tag ``"hard"``) and contains no ``"="`` (``"name=value"`` selects one value of a
    categorical tag).

Categorical values
    The same rule, except that a value may contain ``"="`` and may start with ``"tag:"``:
    ``get_samples_by_tag("name=value")`` (and every ``"name=value"`` term of the panels and the
    CLI) splits at the *first* ``"="``, so ``"ratio=a=b"`` selects the value ``"a=b"`` of the tag
    ``"ratio"``. The empty value is not a value: ``set_categorical_tag(ids, tag, "")`` (or None)
    clears the tag, before any check.

Names already stored in a run directory are not re-checked when it is reopened.

Each check returns the name as a plain ``str`` or raises
:class:`~weightslab_nb.errors.InvalidTypeError` (not a string) or
:class:`~weightslab_nb.errors.InvalidValueError` (a string breaking the rule), naming the
argument, what was wrong and the rule. Nothing else is imported here (layer L0): callers that
answer with their own error class (panels, the CLI command table) convert these.
"""

from __future__ import annotations

from weightslab_nb.errors import InvalidTypeError, InvalidValueError

MAX_NAME_LENGTH = 256
#: The sample table's column prefix of tags (``ledger.sample_table.TAG_PREFIX``).
COLUMN_PREFIX = "tag:"
#: What a selection term uses to name one value of a categorical tag: ``"name=value"``.
VALUE_SEPARATOR = "="

TAG_NAME_RULE = (f"a tag name is 1-{MAX_NAME_LENGTH} printable characters without leading or "
                 f"trailing spaces, not starting with {COLUMN_PREFIX!r} and without "
                 f"{VALUE_SEPARATOR!r}")
TAG_VALUE_RULE = (f"a categorical value is 1-{MAX_NAME_LENGTH} printable characters without "
                  "leading or trailing spaces")

_SHOWN = 60  # characters of a refused name quoted in a message


def check_tag_name(name, argument: str = "tag") -> str:
    """Return ``name`` if it is a valid tag name (see the module docstring).

    Parameters
    ----------
    name : object
        What the caller was given.
    argument : str
        The argument (or message field) that held it; messages start with it.

    Raises
    ------
    InvalidTypeError
        ``name`` is not a string.
    InvalidValueError
        ``name`` breaks the rule; the message says which part.
    """
    name = _check_text(name, argument, "a tag name", TAG_NAME_RULE)
    if name.startswith(COLUMN_PREFIX):
        raise InvalidValueError(f"{argument}: {_shown(name)} starts with {COLUMN_PREFIX!r}, the "
                                f"prefix of tag columns; name the tag "
                                f"{_shown(name[len(COLUMN_PREFIX):])} ({TAG_NAME_RULE})")
    if VALUE_SEPARATOR in name:
        head, _, tail = name.partition(VALUE_SEPARATOR)
        raise InvalidValueError(f"{argument}: {_shown(name)} contains {VALUE_SEPARATOR!r}, which "
                                f"selects a value of a categorical tag ('name=value'); for a "
                                f"tag {_shown(head)} with the value {_shown(tail)} use "
                                f"register_categorical_tag / set_categorical_tag "
                                f"({TAG_NAME_RULE})")
    return name


def check_tag_value(value, argument: str = "value") -> str:
    """Return ``value`` if it is a valid categorical value (see the module docstring).

    Callers treat ``""`` and None ("clear") before calling this; here both are refused.

    Raises
    ------
    InvalidTypeError
        ``value`` is not a string.
    InvalidValueError
        ``value`` breaks the rule.
    """
    return _check_text(value, argument, "a categorical value", TAG_VALUE_RULE)


def check_tag_values(values, argument: str = "values") -> list[str]:
    """The distinct values of a sequence of categorical values, in their first order.

    Raises
    ------
    InvalidTypeError
        ``values`` is a string or not iterable, or holds a non-string.
    InvalidValueError
        A value breaks the rule (the message names ``argument[i]``).
    """
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise InvalidTypeError(f"{argument}: expected a list of strings, got "
                               f"{type(values).__name__}")
    values = list(values)
    return list(dict.fromkeys(check_tag_value(v, f"{argument}[{i}]")
                              for i, v in enumerate(values)))


def check_tag_term(term, argument: str = "tag") -> tuple[str, str | None]:
    """Split a selection term: ``"name"`` -> ``(name, None)``, ``"name=value"`` ->
    ``(name, value)`` (at the first ``"="``), each part checked.

    Raises
    ------
    InvalidTypeError
        ``term`` is not a string.
    InvalidValueError
        The name or the value breaks the rule.
    """
    if not isinstance(term, str):
        raise InvalidTypeError(f"{argument}: expected a tag ('name' or 'name=value', a string), "
                               f"got {type(term).__name__}")
    name, separator, value = term.partition(VALUE_SEPARATOR)
    if not separator:
        return check_tag_name(term, argument), None
    if not name:
        raise InvalidValueError(f"{argument}: {_shown(term)} has no tag name before "
                                f"{VALUE_SEPARATOR!r}; expected 'name' or 'name=value'")
    return (check_tag_name(str(name), argument),
            check_tag_value(str(value), f"{argument} (value of {_shown(name)})"))


def _check_text(text, argument: str, what: str, rule: str) -> str:
    if not isinstance(text, str):
        raise InvalidTypeError(f"{argument}: expected {what} (a string), got "
                               f"{type(text).__name__}")
    text = str(text)  # a str subclass (numpy.str_) becomes a plain str
    if not text:
        raise InvalidValueError(f"{argument}: expected {what}, got an empty string ({rule})")
    if len(text) > MAX_NAME_LENGTH:
        raise InvalidValueError(f"{argument}: {what} of {len(text)} characters is longer than "
                                f"{MAX_NAME_LENGTH} ({rule}); got {_shown(text)}")
    if not text.isprintable():
        bad = next(c for c in text if not c.isprintable())
        raise InvalidValueError(f"{argument}: {_shown(text)} contains the non-printable "
                                f"character {bad!r} ({rule})")
    if text != text.strip():
        raise InvalidValueError(f"{argument}: {_shown(text)} has leading or trailing spaces "
                                f"({rule})")
    return text


def _shown(text: str) -> str:
    """``repr`` of ``text``, cut to a readable length."""
    return repr(text) if len(text) <= _SHOWN else repr(text[:_SHOWN - 3]) + "..."
