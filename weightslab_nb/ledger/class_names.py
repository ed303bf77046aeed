"""Class names of an origin's labels: ``class_names=`` of a watched loader, checked once.

Stored on the session per origin (:meth:`~weightslab_nb.ledger.sample_info.SampleInfo.
set_class_names`); the sample detail view and the grid's tooltip show ``3 (cat)`` instead of
``3``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from weightslab_nb.errors import InvalidTypeError, InvalidValueError

#: The most classes a name list may hold, and the longest name.
MAX_CLASSES = 100_000
MAX_NAME = 200


def check_class_names(value, argument: str = "class_names") -> dict[int, str]:
    """``value`` as ``{class index: name}``.

    Parameters
    ----------
    value : sequence of str, or mapping of int to str
        ``["cat", "dog"]`` names classes 0 and 1; ``{0: "cat", 7: "dog"}`` names the classes
        given (others keep their number). Names are non-empty strings of at most
        :data:`MAX_NAME` printable characters; indices are ints >= 0.

    Raises
    ------
    InvalidTypeError
        ``value`` is a string, or neither a sequence nor a mapping; a key that is not an int; a
        name that is not a string.
    InvalidValueError
        An empty name, a negative index, too many classes.
    """
    if isinstance(value, Mapping):
        items = list(value.items())
    elif isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        items = list(enumerate(value))
    elif isinstance(value, np.ndarray) and value.ndim == 1:
        items = list(enumerate(value.tolist()))
    else:
        raise InvalidTypeError(f"{argument}: expected a sequence of class names (['cat', 'dog']) "
                               f"or a dict {{class index: name}}, got {type(value).__name__}")
    if len(items) > MAX_CLASSES:
        raise InvalidValueError(f"{argument}: {len(items)} classes; at most {MAX_CLASSES}")
    out: dict[int, str] = {}
    for key, name in items:
        if isinstance(key, (bool, np.bool_)) or not isinstance(key, (int, np.integer)):
            raise InvalidTypeError(f"{argument}: class indices are ints, got {key!r}")
        if key < 0:
            raise InvalidValueError(f"{argument}: class indices are >= 0, got {key}")
        if not isinstance(name, str):
            raise InvalidTypeError(f"{argument}[{key}]: expected a string, got "
                                   f"{type(name).__name__} ({name!r})")
        if not name.strip() or len(name) > MAX_NAME or not name.isprintable():
            raise InvalidValueError(f"{argument}[{key}]: expected a non-empty printable name of "
                                    f"at most {MAX_NAME} characters, got {name!r}")
        out[int(key)] = name
    return out


def class_label(value, names: Mapping[int, str] | None) -> str | None:
    """The name of class ``value`` (a number holding a whole class index), or None when
    ``value`` is None, not a whole number or has no name."""
    if value is None or not names or isinstance(value, bool):
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    if not np.isfinite(f) or f != int(f):
        return None
    return names.get(int(f))
