"""Boolean and categorical tags, discards and restores, and the queries over them.

Each behaviour is checked with int ids (dataset indices) and string ids (``sample_ids=``).
"""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import TensorDataset

import weightslab_nb as wl
from weightslab_nb.errors import InvalidTypeError, InvalidValueError
from weightslab_nb import UnknownSampleError


@pytest.fixture(params=["int", "str"])
def ids(request, session, small_dataset):
    """Watch a 20-sample train loader and a 10-sample val loader; return ``ids(i)`` for train
    sample ``i`` and ``vids(i)`` for val sample ``i`` in the parametrised id kind."""
    if request.param == "int":
        train = list(range(20))
        val = list(range(100, 110))
    else:
        train = [f"img_{i}" for i in range(20)]
        val = [f"val_{i}" for i in range(10)]
    session.watch_or_edit(small_dataset, flag="data", loader_name="train_loader",
                          sample_ids=train)
    session.watch_or_edit(TensorDataset(torch.zeros(10, 4), torch.zeros(10, dtype=torch.long)),
                          flag="data", loader_name="val_loader", sample_ids=val)

    class Ids:
        def __call__(self, *i):
            return [train[k] for k in i]

        def val(self, *i):
            return [val[k] for k in i]

    return Ids()


def _column(session, name):
    return session.dataframe[name].xs(0, level="annotation_id")


# ---------------------------------------------------------------- boolean tags
def test_tag_add_marks_exactly_the_given_samples(session, ids):
    wl.tag_samples(ids(3, 1), "hard")
    wl.tag_samples(ids(5), "hard", mode="add")
    assert wl.get_samples_by_tag("hard") == ids(1, 3, 5)  # table order
    col = _column(session, "tag:hard")
    assert col[col].index.tolist() == ids(1, 3, 5)


def test_tag_a_single_id_without_a_list(session, ids):
    wl.tag_samples(ids(7)[0], "hard")
    assert wl.get_samples_by_tag("hard") == ids(7)


def test_tag_remove_unmarks_only_the_given_samples(session, ids):
    wl.tag_samples(ids(1, 2, 3), "hard")
    wl.tag_samples(ids(2), "hard", mode="remove")
    assert wl.get_samples_by_tag("hard") == ids(1, 3)


def test_tag_set_replaces_the_membership_within_the_origin(session, ids):
    wl.tag_samples(ids(1, 2, 3) + ids.val(0), "hard")
    wl.tag_samples(ids(3, 4), "hard", mode="set")
    assert wl.get_samples_by_tag("hard", origin="train") == ids(3, 4)
    # other origins keep their members
    assert wl.get_samples_by_tag("hard", origin="val") == ids.val(0)


def test_tags_are_independent_of_each_other(session, ids):
    wl.tag_samples(ids(1), "a")
    wl.tag_samples(ids(2), "b")
    wl.tag_samples(ids(1, 2), "a", mode="set")
    assert wl.get_samples_by_tag("a") == ids(1, 2)
    assert wl.get_samples_by_tag("b") == ids(2)


def test_register_tag_creates_an_empty_tag(session, ids):
    session.register_tag("later")
    assert wl.get_samples_by_tag("later") == []
    assert not _column(session, "tag:later").any()


def test_bad_tag_mode_is_a_value_error_listing_the_modes(session, ids):
    with pytest.raises(ValueError) as err:
        wl.tag_samples(ids(1), "hard", mode="toggle")
    assert "mode" in str(err.value)
    for mode in ("add", "remove", "set"):
        assert mode in str(err.value)
    assert "tag:hard" not in session.dataframe.columns


@pytest.mark.parametrize("name,error", [("", InvalidValueError), (" padded ", InvalidValueError),
                                        ("a=b", InvalidValueError), ("tag:x", InvalidValueError),
                                        ("a\x00b", InvalidValueError),
                                        ("x" * 257, InvalidValueError),
                                        (None, InvalidTypeError), (3, InvalidTypeError)])
def test_bad_tag_names_are_rejected(session, ids, name, error):
    with pytest.raises(error, match="^tag:"):
        wl.tag_samples(ids(1), name)
    assert not any(c.startswith("tag:") for c in session.dataframe.columns)


def test_removing_a_tag_that_does_not_exist_is_an_error(session, ids):
    with pytest.raises(ValueError, match="nope"):
        wl.tag_samples(ids(1), "nope", mode="remove")


def test_tagging_unknown_ids_changes_nothing(session, ids):
    wl.tag_samples(ids(1), "hard")
    before = session.dataframe
    bad = ids(2) + ["missing"] if isinstance(ids(0)[0], str) else ids(2) + [999]
    for call in (lambda: wl.tag_samples(bad, "hard"),
                 lambda: wl.tag_samples(bad, "hard", mode="set"),
                 lambda: wl.tag_samples(bad, "hard", mode="remove"),
                 lambda: wl.tag_samples(bad, "new-tag")):
        with pytest.raises(UnknownSampleError) as err:
            call()
        assert bad[-1] in err.value.missing
    after = session.dataframe
    assert after.equals(before)


def test_ids_of_a_wrong_type_are_a_type_error(session, ids):
    with pytest.raises(TypeError):
        wl.tag_samples([1.5], "hard")
    with pytest.raises(TypeError):
        wl.discard_samples([None])
    assert wl.get_discarded_samples(origin=None) == []


# ---------------------------------------------------------------- categorical tags
def test_categorical_tag_values_are_registered_in_order_and_shown_before_use(session, ids):
    wl.register_categorical_tag("weather", ["rainy", "sunny", "cloudy"])
    col = _column(session, "tag:weather")
    assert list(col.cat.categories) == ["rainy", "sunny", "cloudy"]
    assert col.isna().all()
    assert session.tag_summary()["categorical"]["weather"]["values"] == ["rainy", "sunny",
                                                                          "cloudy"]


def test_set_categorical_tag_sets_one_value_per_sample(session, ids):
    wl.register_categorical_tag("weather", ["rainy", "sunny"])
    wl.set_categorical_tag(ids(1, 2), "weather", "rainy")
    wl.set_categorical_tag(ids(2, 3), "weather", "sunny")
    col = _column(session, "tag:weather")
    assert col.loc[ids(1)[0]] == "rainy"
    assert col.loc[ids(2)[0]] == "sunny"  # the later value replaces the earlier
    assert col.loc[ids(3)[0]] == "sunny"
    assert wl.get_samples_by_tag("weather") == ids(1, 2, 3)
    assert wl.get_samples_by_tag("weather=sunny") == ids(2, 3)
    assert session.tag_summary()["categorical"]["weather"]["counts"] == {"rainy": 1, "sunny": 2}


def test_set_categorical_tag_auto_registers_new_values_and_tags(session, ids):
    wl.set_categorical_tag(ids(4), "quality", "blurry")
    wl.set_categorical_tag(ids(5), "quality", "sharp")
    col = _column(session, "tag:quality")
    assert list(col.cat.categories) == ["blurry", "sharp"]
    assert col.loc[ids(4)[0]] == "blurry"
    assert wl.get_samples_by_tag("quality=sharp") == ids(5)


@pytest.mark.parametrize("clear", ["", None])
def test_empty_string_or_none_clears_a_categorical_value(session, ids, clear):
    wl.set_categorical_tag(ids(1, 2), "weather", "rainy")
    wl.set_categorical_tag(ids(1), "weather", clear)
    col = _column(session, "tag:weather")
    assert pd_isna(col.loc[ids(1)[0]])
    assert col.loc[ids(2)[0]] == "rainy"
    assert wl.get_samples_by_tag("weather") == ids(2)
    assert list(col.cat.categories) == ["rainy"]  # the value stays registered


def pd_isna(v) -> bool:
    import pandas as pd

    return bool(pd.isna(v))


def test_register_categorical_tag_extends_an_existing_tag(session, ids):
    wl.register_categorical_tag("weather", ["rainy"])
    wl.set_categorical_tag(ids(0), "weather", "rainy")
    wl.register_categorical_tag("weather", ["sunny", "rainy"])
    col = _column(session, "tag:weather")
    assert list(col.cat.categories) == ["rainy", "sunny"]
    assert col.loc[ids(0)[0]] == "rainy"


@pytest.mark.parametrize("values,error", [("rainy", InvalidTypeError),
                                          (["rainy", ""], InvalidValueError),
                                          (["rainy", 3], InvalidTypeError),
                                          (5, InvalidTypeError)])
def test_register_categorical_tag_rejects_values_that_are_not_strings(session, ids, values,
                                                                      error):
    with pytest.raises(error, match="values"):
        wl.register_categorical_tag("weather", values)
    assert "tag:weather" not in session.dataframe.columns


def test_a_non_string_categorical_value_is_a_type_error(session, ids):
    with pytest.raises(TypeError, match="value"):
        wl.set_categorical_tag(ids(1), "weather", 3)
    assert "tag:weather" not in session.dataframe.columns


def test_a_categorical_value_query_for_an_unknown_value_is_an_error(session, ids):
    wl.register_categorical_tag("weather", ["rainy"])
    with pytest.raises(ValueError, match="snowy"):
        wl.get_samples_by_tag("weather=snowy")


def test_boolean_and_categorical_tags_cannot_share_a_name(session, ids):
    wl.tag_samples(ids(1), "hard")
    wl.register_categorical_tag("weather", ["rainy"])
    wl.set_categorical_tag(ids(2), "weather", "rainy")
    before = session.dataframe

    with pytest.raises(ValueError, match="hard"):
        wl.register_categorical_tag("hard", ["yes", "no"])
    with pytest.raises(ValueError, match="hard"):
        wl.set_categorical_tag(ids(3), "hard", "yes")
    with pytest.raises(ValueError, match="weather"):
        wl.tag_samples(ids(3), "weather")
    with pytest.raises(ValueError, match="weather"):
        wl.tag_samples(ids(3), "weather", mode="set")

    after = session.dataframe
    assert after.equals(before)
    assert after["tag:hard"].dtype == bool
    assert wl.get_samples_by_tag("hard") == ids(1)
    assert wl.get_samples_by_tag("weather") == ids(2)


def test_setting_a_categorical_tag_on_unknown_ids_changes_nothing(session, ids):
    wl.set_categorical_tag(ids(1), "weather", "rainy")
    before = session.dataframe
    with pytest.raises(UnknownSampleError):
        wl.set_categorical_tag(ids(2) + ["nobody"], "weather", "snowy")
    with pytest.raises(UnknownSampleError):
        wl.set_categorical_tag(["nobody"], "season", "winter")
    after = session.dataframe
    assert after.equals(before)
    assert list(after["tag:weather"].cat.categories) == ["rainy"]
    assert "tag:season" not in after.columns


# ---------------------------------------------------------------- discards
def test_discard_and_restore(session, ids):
    wl.discard_samples(ids(4, 2, 9))
    assert wl.get_discarded_samples() == ids(2, 4, 9)
    assert session.counts() == (30, 27)
    assert _column(session, "discarded")[lambda s: s].index.tolist() == ids(2, 4, 9)

    wl.discard_samples(ids(4), discarded=False)
    assert wl.get_discarded_samples() == ids(2, 9)
    assert session.counts() == (30, 28)


def test_discarding_twice_is_the_same_as_once(session, ids):
    wl.discard_samples(ids(1))
    wl.discard_samples(ids(1))
    assert wl.get_discarded_samples() == ids(1)
    assert session.counts() == (30, 29)


def test_discarded_must_be_a_bool(session, ids):
    with pytest.raises(TypeError, match="discarded"):
        wl.discard_samples(ids(1), discarded=1)
    with pytest.raises(TypeError, match="discarded"):
        wl.discard_samples(ids(1), discarded="yes")
    assert wl.get_discarded_samples() == []


def test_discarding_unknown_ids_changes_nothing(session, ids):
    wl.discard_samples(ids(0))
    with pytest.raises(UnknownSampleError):
        wl.discard_samples(ids(1, 2) + ["nobody"])
    with pytest.raises(UnknownSampleError):
        wl.discard_samples(ids(0) + ["nobody"], discarded=False)
    assert wl.get_discarded_samples(origin=None) == ids(0)


def test_discarded_samples_are_queried_per_origin(session, ids):
    wl.discard_samples(ids(1) + ids.val(2, 3))
    assert wl.get_discarded_samples(origin="train") == ids(1)
    assert wl.get_discarded_samples(origin="val_loader") == ids.val(2, 3)
    assert wl.get_discarded_samples(origin=None) == ids(1) + ids.val(2, 3)


def test_a_discarded_sample_keeps_its_tags(session, ids):
    wl.tag_samples(ids(5), "hard")
    wl.discard_samples(ids(5))
    assert wl.get_samples_by_tag("hard") == ids(5)


def test_a_watched_loader_skips_discarded_samples_and_counts_only_active_ones(session, ids,
                                                                            small_dataset):
    loader = session.watch_or_edit(small_dataset, flag="data", loader_name="train_loader",
                                   batch_size=4, sample_ids=ids(*range(20)))

    def yielded():
        return [i for _, _, b in loader for i in (b.tolist() if hasattr(b, "tolist") else b)]

    assert len(loader) == 5
    gone = ids(0, 5, 6, 7, 19)
    wl.discard_samples(gone)
    assert len(loader) == 4
    assert yielded() == [i for i in ids(*range(20)) if i not in gone]
    wl.discard_samples(ids(0), discarded=False)
    assert yielded()[0] == ids(0)[0]


# ---------------------------------------------------------------- limit and origin arguments
def test_limit_returns_the_first_ids_in_table_order(session, ids):
    wl.tag_samples(ids(9, 3, 7, 1), "hard")
    wl.discard_samples(ids(8, 6, 4))
    assert wl.get_samples_by_tag("hard", limit=2) == ids(1, 3)
    assert wl.get_samples_by_tag("hard", limit=0) == []
    assert wl.get_samples_by_tag("hard", limit=100) == ids(1, 3, 7, 9)
    assert wl.get_discarded_samples(limit=1) == ids(4)


@pytest.mark.parametrize("limit,error", [(-1, InvalidValueError), (1.5, InvalidTypeError),
                                         ("3", InvalidTypeError), (True, InvalidTypeError)])
def test_a_bad_limit_is_refused(session, ids, limit, error):
    wl.tag_samples(ids(1), "hard")
    with pytest.raises(error, match="limit"):
        wl.get_samples_by_tag("hard", limit=limit)
    with pytest.raises(error, match="limit"):
        wl.get_discarded_samples(limit=limit)


def test_unknown_tag_or_origin_is_a_value_error_listing_the_known_ones(session, ids):
    wl.tag_samples(ids(1), "hard")
    with pytest.raises(ValueError) as err:
        wl.get_samples_by_tag("hrad")
    assert "hard" in str(err.value)
    with pytest.raises(ValueError) as err:
        wl.get_samples_by_tag("hard", origin="tarin")
    assert "train" in str(err.value) and "val" in str(err.value)
    with pytest.raises(ValueError, match="origin"):
        wl.get_discarded_samples(origin="tarin")
