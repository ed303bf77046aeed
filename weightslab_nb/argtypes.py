"""Value types for the command-line parsers (``weightslab-nb demo`` and ``weightslab-nb cli``).

Each takes the argument's text and returns the parsed value, or raises
``argparse.ArgumentTypeError`` with a message argparse shows next to the option name.
"""

from __future__ import annotations

import argparse
import math


def _bounded_int(text: str, low: int, high: int | None, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if value < low or (high is not None and value > high):
        raise argparse.ArgumentTypeError(f"expected {what}, got {value}")
    return value


def positive_int(text: str) -> int:
    """An integer >= 1."""
    return _bounded_int(text, 1, None, "a positive integer")


def non_negative_int(text: str) -> int:
    """An integer >= 0."""
    return _bounded_int(text, 0, None, "an integer >= 0")


def port(text: str) -> int:
    """A TCP port number, 1-65535."""
    return _bounded_int(text, 1, 65535, "a port number in 1-65535")


def positive_seconds(text: str) -> float:
    """A finite number of seconds > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value
