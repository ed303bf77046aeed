"""Strict checks of plain argument values (weightslab_nb.arguments): nothing is coerced."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from weightslab_nb.arguments import (check_bool, check_int, check_name, check_optional_bool,
                                     check_optional_int, check_optional_name,
                                     check_optional_seconds, check_path, check_seconds)
from weightslab_nb.errors import InvalidTypeError, InvalidValueError


@pytest.mark.parametrize("value", [True, False, np.bool_(True)])
def test_bools_are_accepted_as_plain_bools(value):
    assert type(check_bool(value, "log")) is bool


@pytest.mark.parametrize("value", ["no", "yes", 0, 1, None, 1.0, [True]])
def test_anything_else_is_not_a_bool(value):
    with pytest.raises(InvalidTypeError, match="^log: expected True or False"):
        check_bool(value, "log")


def test_optional_bool_takes_none():
    assert check_optional_bool(None, "shuffle") is None
    with pytest.raises(InvalidTypeError, match="^shuffle: "):
        check_optional_bool("no", "shuffle")


@pytest.mark.parametrize("value", [3, np.int64(3)])
def test_ints_are_accepted_as_plain_ints(value):
    assert type(check_int(value, "n")) is int


@pytest.mark.parametrize("value", [True, 1.0, 1.5, "3", None])
def test_other_types_are_not_ints(value):
    with pytest.raises(InvalidTypeError, match="^batch_size: expected an int >= 1"):
        check_int(value, "batch_size", minimum=1)


def test_int_ranges():
    assert check_int(1, "x", 1, 3) == 1 and check_int(3, "x", 1, 3) == 3
    for bad in (0, 4):
        with pytest.raises(InvalidValueError, match="^x: expected an int from 1 to 3, got"):
            check_int(bad, "x", 1, 3)
    with pytest.raises(InvalidValueError, match="<= 0"):
        check_int(1, "x", maximum=0)
    assert check_optional_int(None, "x", 1) is None


@pytest.mark.parametrize("value", [0.5, 2, np.float32(0.25)])
def test_seconds(value):
    assert check_seconds(value, "flush_interval") == pytest.approx(float(value))


@pytest.mark.parametrize("value, error", [
    (0, InvalidValueError), (-1, InvalidValueError), (math.inf, InvalidValueError),
    (math.nan, InvalidValueError), ("0.5", InvalidTypeError), (True, InvalidTypeError),
    (None, InvalidTypeError)])
def test_bad_seconds(value, error):
    with pytest.raises(error, match="^flush_interval: expected a number of seconds > 0"):
        check_seconds(value, "flush_interval")


def test_zero_seconds_when_allowed():
    assert check_seconds(0, "poll", allow_zero=True) == 0.0
    assert check_optional_seconds(None, "timeout") is None


@pytest.mark.parametrize("value, error", [
    ("", InvalidValueError), (" x", InvalidValueError), ("a\nb", InvalidValueError),
    (5, InvalidTypeError), (None, InvalidTypeError)])
def test_names(value, error):
    assert check_name("train_loader", "loader_name") == "train_loader"
    with pytest.raises(error, match="^loader_name: expected a loader name"):
        check_name(value, "loader_name", "a loader name")


def test_optional_name():
    assert check_optional_name(None, "obj_name") is None


def test_paths(tmp_path):
    assert check_path(tmp_path, "dir") == tmp_path and check_path("x", "dir") == "x"
    for bad, error in ((5, InvalidTypeError), (b"x", InvalidTypeError),
                       ("  ", InvalidValueError)):
        with pytest.raises(error, match="^dir: "):
            check_path(bad, "dir")
    assert isinstance(check_path(Path("a"), "dir"), Path)
