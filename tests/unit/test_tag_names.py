"""The one tag-name rule (weightslab_nb.ledger.names) that code, panels and the CLI share."""

from __future__ import annotations

import numpy as np
import pytest

from weightslab_nb.errors import InvalidTypeError, InvalidValueError, WeightslabError
from weightslab_nb.ledger import names
from weightslab_nb.ledger.names import (check_tag_name, check_tag_term, check_tag_value,
                                        check_tag_values)
from weightslab_nb.ledger.sample_table import TAG_PREFIX


def test_the_column_prefix_is_the_sample_tables():
    assert names.COLUMN_PREFIX == TAG_PREFIX


@pytest.mark.parametrize("name", ["hard", "high loss", "Flat_high", "日本", "a" * 256, "x:y",
                                  "weird!?#", "train/val", "a tag: b"])
def test_valid_names_come_back_as_plain_strings(name):
    assert check_tag_name(name) == name and type(check_tag_name(name)) is str


def test_a_numpy_string_becomes_a_plain_string():
    assert type(check_tag_name(np.str_("hard"))) is str


@pytest.mark.parametrize("name, fragment", [
    ("", "empty"),
    ("a" * 257, "257 characters is longer than 256"),
    ("a" * 100_000, "longer than 256"),
    ("a\x00b", "non-printable character '\\x00'"),
    ("a\nb", "non-printable"),
    ("a\tb", "non-printable"),
    ("a\x7fb", "non-printable"),
    ("a\u200bb", "non-printable"),      # zero-width space
    ("a\u2028b", "non-printable"),      # line separator
    ("a\u00a0b", "non-printable"),      # no-break space
    (" hard", "leading or trailing spaces"),
    ("hard ", "leading or trailing spaces"),
    ("tag:hard", "starts with 'tag:'"),
    ("k=v", "contains '='"),
    ("=", "contains '='"),
])
def test_names_breaking_the_rule_are_refused_naming_the_argument(name, fragment):
    with pytest.raises(InvalidValueError) as info:
        check_tag_name(name, "tag")
    text = str(info.value)
    assert text.startswith("tag: ") and fragment in text
    assert len(text) < 600  # a huge name is not copied into the message
    assert isinstance(info.value, (WeightslabError, ValueError))


@pytest.mark.parametrize("name", [5, None, b"hard", ["hard"], 1.5])
def test_non_strings_are_a_type_error(name):
    with pytest.raises(InvalidTypeError, match=r"^name: expected a tag name \(a string\)"):
        check_tag_name(name, "name")


def test_an_equals_sign_points_to_categorical_tags():
    with pytest.raises(InvalidValueError, match="register_categorical_tag"):
        check_tag_name("weather=rainy")


@pytest.mark.parametrize("value", ["rainy", "a=b", "tag:x", "=", "x" * 256, "2 < 3"])
def test_values_may_hold_equals_signs_and_the_tag_prefix(value):
    assert check_tag_value(value) == value


@pytest.mark.parametrize("value", ["", " rainy", "a\x00", "x" * 257, "a\nb"])
def test_values_follow_the_rest_of_the_rule(value):
    with pytest.raises(InvalidValueError, match="^value: "):
        check_tag_value(value)


def test_value_lists_are_checked_item_by_item_and_deduplicated():
    assert check_tag_values(["b", "a", "b"]) == ["b", "a"]
    assert check_tag_values(("x",)) == ["x"]
    with pytest.raises(InvalidValueError, match=r"^values\[1\]: "):
        check_tag_values(["ok", "a\x00"])
    with pytest.raises(InvalidTypeError, match=r"^values\[0\]: "):
        check_tag_values([1])
    with pytest.raises(InvalidTypeError, match="^values: expected a list"):
        check_tag_values("abc")


@pytest.mark.parametrize("term, expected", [
    ("hard", ("hard", None)),
    ("weather=rainy", ("weather", "rainy")),
    ("ratio=a=b", ("ratio", "a=b")),  # split at the first "="
])
def test_terms_split_at_the_first_equals_sign(term, expected):
    assert check_tag_term(term) == expected


@pytest.mark.parametrize("term, fragment", [
    ("=rainy", "no tag name"),
    ("weather=", "empty"),
    ("tag:weather=rainy", "starts with 'tag:'"),
    ("weather= rainy", "leading or trailing spaces"),
    ("a\x00", "non-printable"),
])
def test_bad_terms_are_refused(term, fragment):
    with pytest.raises(InvalidValueError, match=fragment):
        check_tag_term(term, "tags")


def test_a_term_that_is_not_a_string_is_a_type_error():
    with pytest.raises(InvalidTypeError, match="^tags: "):
        check_tag_term(["hard"], "tags")
