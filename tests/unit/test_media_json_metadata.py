"""JSONMetadata: arbitrary JSON-able metadata saved as a file and rebuilt by from_json."""

from __future__ import annotations

import json

import numpy as np
import pytest

import weightslab_nb as wl
from tests.media_logging import log_and_read_back
from weightslab_nb.tracking.media import JSONMetadata

CONTENT = {"model": "mlp", "layers": [4, 8, 2], "dropout": 0.1, "notes": None, "ok": True}


def test_metadata_is_a_snapshot_of_its_dict():
    source = {"layers": [1, 2]}
    metadata = JSONMetadata(source)
    source["layers"].append(3)
    assert metadata.val == {"layers": [1, 2]}


@pytest.mark.parametrize("val, error, words", [
    ([1, 2], TypeError, "val: expected a dict"),
    ({"a": {1, 2}}, TypeError, r"val\['a'\]: expected JSON-able"),
    ({"a": [1, {"b": object()}]}, TypeError, r"val\['a'\]\[1\]\['b'\]: expected JSON-able"),
    ({"a": float("nan")}, ValueError, r"val\['a'\]: expected finite numbers"),
    ({"a": np.array([1.0, np.inf])}, ValueError, r"val\['a'\]\[1\]: expected finite numbers"),
])
def test_values_json_cannot_hold_are_rejected_naming_the_argument(val, error, words):
    with pytest.raises(error, match=words):
        JSONMetadata(val)


def test_numpy_values_and_tensors_become_numbers_and_lists():
    import torch

    metadata = JSONMetadata({"lr": np.float32(0.5), "ids": np.arange(3),
                             "loss": torch.tensor([1.5, 2.0]), "n": np.int64(7)})
    assert metadata.val == {"ids": [0, 1, 2], "loss": [1.5, 2.0], "lr": 0.5, "n": 7}


def test_metadata_is_stored_under_media_and_read_back_by_the_api(session):
    metadata = JSONMetadata(CONTENT)
    run_dir, descriptor, back = log_and_read_back(session, "config/meta", metadata)
    assert descriptor["_type"] == "json-metadata-file"
    assert descriptor["path"].startswith("media/metadata/config_meta_0_")
    assert json.loads((run_dir / descriptor["path"]).read_text()) == CONTENT
    assert back == metadata and back.val == CONTENT
    assert JSONMetadata.from_json(descriptor, run_dir) == metadata


def test_equality_follows_the_content():
    assert JSONMetadata({"a": 1, "b": 2}) == JSONMetadata({"b": 2, "a": 1})
    assert JSONMetadata({"a": 1}) != JSONMetadata({"a": 2})
    assert len({JSONMetadata({"a": 1}), JSONMetadata({"a": 1})}) == 1


def test_the_package_exports_the_class():
    assert wl.JSONMetadata is JSONMetadata
