"""Strict checks of plain argument values: flags, counts, seconds, names, paths.

The public API never coerces: ``per_sample="no"`` is refused, not read as True; ``batch_size=0``
is refused, not replaced by a default; ``step="3"`` is refused, not parsed. Each check returns
the value (as a plain Python ``bool``/``int``/``float``/``str``) or raises
:class:`~weightslab_nb.errors.InvalidTypeError` for a wrong type or
:class:`~weightslab_nb.errors.InvalidValueError` for a wrong value, with a message that starts
with the argument's name and says what is accepted. Layer L0: only :mod:`weightslab_nb.errors`
is imported. (Command-line text is parsed by :mod:`weightslab_nb.argtypes` instead.)
"""

from __future__ import annotations

import math
import numbers
import os

from weightslab_nb.errors import InvalidTypeError, InvalidValueError


def _is_bool(value) -> bool:
    return isinstance(value, bool) or (type(value).__name__ in ("bool_", "bool")
                                       and type(value).__module__ == "numpy")


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_bool(value, argument: str) -> bool:
    """``True`` or ``False`` (a numpy bool too); nothing else, not 0/1 or ``"no"``."""
    if not _is_bool(value):
        raise InvalidTypeError(f"{argument}: expected True or False, got "
                               f"{type(value).__name__} {_shown(value)}")
    return bool(value)


def check_optional_bool(value, argument: str) -> bool | None:
    """None, True or False."""
    return None if value is None else check_bool(value, argument)


def check_int(value, argument: str, minimum: int | None = None,
              maximum: int | None = None) -> int:
    """An integer (numpy integers too; not a bool, float or string) in
    ``[minimum, maximum]``."""
    if _is_bool(value) or not isinstance(value, numbers.Integral):
        raise InvalidTypeError(f"{argument}: expected {_int_range(minimum, maximum)}, got "
                               f"{type(value).__name__} {_shown(value)}")
    value = int(value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise InvalidValueError(f"{argument}: expected {_int_range(minimum, maximum)}, got "
                                f"{value}")
    return value


def check_optional_int(value, argument: str, minimum: int | None = None,
                       maximum: int | None = None) -> int | None:
    """None, or :func:`check_int`."""
    return None if value is None else check_int(value, argument, minimum, maximum)


def _int_range(minimum, maximum) -> str:
    if minimum is not None and maximum is not None:
        return f"an int from {minimum} to {maximum}"
    if minimum is not None:
        return f"an int >= {minimum}"
    if maximum is not None:
        return f"an int <= {maximum}"
    return "an int"


def check_seconds(value, argument: str, allow_zero: bool = False) -> float:
    """A finite real number of seconds, > 0 (>= 0 with ``allow_zero``); not a bool or a
    string."""
    what = "a number of seconds >= 0" if allow_zero else "a number of seconds > 0"
    if _is_bool(value) or not isinstance(value, numbers.Real):
        raise InvalidTypeError(f"{argument}: expected {what}, got {type(value).__name__} "
                               f"{_shown(value)}")
    value = float(value)
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise InvalidValueError(f"{argument}: expected {what}, got {value!r}")
    return value


def check_optional_seconds(value, argument: str, allow_zero: bool = False) -> float | None:
    """None, or :func:`check_seconds`."""
    return None if value is None else check_seconds(value, argument, allow_zero)


def check_name(value, argument: str, what: str = "a name") -> str:
    """A non-empty printable string without leading or trailing spaces (a loader, signal,
    object or run name)."""
    if not isinstance(value, str):
        raise InvalidTypeError(f"{argument}: expected {what} (a string), got "
                               f"{type(value).__name__} {_shown(value)}")
    value = str(value)
    if not value or value != value.strip() or not value.isprintable():
        raise InvalidValueError(f"{argument}: expected {what}: a non-empty string of printable "
                                f"characters without leading or trailing spaces, got "
                                f"{_shown(value)}")
    return value


def check_optional_name(value, argument: str, what: str = "a name") -> str | None:
    """None, or :func:`check_name`."""
    return None if value is None else check_name(value, argument, what)


def check_path(value, argument: str) -> str | os.PathLike:
    """A ``str`` or ``os.PathLike`` (not bytes, not a number), non-empty."""
    if isinstance(value, bytes) or not isinstance(value, (str, os.PathLike)):
        raise InvalidTypeError(f"{argument}: expected a path (str or os.PathLike), got "
                               f"{type(value).__name__} {_shown(value)}")
    if isinstance(value, str) and not value.strip():
        raise InvalidValueError(f"{argument}: expected a path, got an empty string")
    return value
