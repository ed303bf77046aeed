"""Data states: a curation (discards, tags, categorical tags) saved to a directory, applied to a
fresh session so that its training loop draws exactly the curated samples; mismatches are
reported, not ignored; the tag editor saves, lists, diffs and applies them."""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

import weightslab_nb.data_state as ds
from weightslab_nb.errors import InvalidValueError, StateError
from weightslab_nb.experiment import Manifest
from weightslab_nb.panels import TagEditor
from weightslab_nb.tracking.artifacts import Artifact
from weightslab_nb.tracking.run import init as init_run, log_artifact

from tests.panel_capture import Capture, ask_content as ask


def _data(n: int = 40) -> TensorDataset:
    gen = torch.Generator().manual_seed(0)
    return TensorDataset(torch.randn(n, 4, generator=gen), torch.arange(n) % 3)


def _curate(session) -> None:
    """Discard 5 samples, tag 3 'blurry', set 'weather' on 4 (and register 'rainy' unused)."""
    session.discard_samples([1, 2, 3, 10, 33])
    session.tag_samples([4, 5, 6], "blurry")
    session.register_categorical_tag("weather", ["sunny", "rainy", "foggy"])
    session.set_categorical_tag([7, 8], "weather", "sunny")
    session.set_categorical_tag([9, 2], "weather", "foggy")


def _train_one_epoch(session, loader) -> list:
    """A real training loop over the watched loader: one epoch; the ids it drew."""
    model = session.watch_or_edit(nn.Linear(4, 3), flag="model", device="cpu")
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    seen = []
    for inputs, targets, ids in loader:
        opt.zero_grad()
        nn.functional.cross_entropy(model(inputs), targets).backward()
        opt.step()
        seen += ids.tolist()
    return seen


def test_a_fresh_session_trains_on_exactly_the_curated_samples(make_session, tmp_path):
    data = _data()
    a = make_session("a")
    a.watch_or_edit(data, flag="data", loader_name="train_loader", batch_size=8)
    _curate(a)
    manifest = ds.save_state(a, tmp_path / "state")
    assert manifest["origins"]["train"]["samples"] == 40
    assert manifest["origins"]["train"]["discarded"] == 5
    assert manifest["tags"] == {"boolean": ["blurry"],
                                "categorical": {"weather": ["sunny", "rainy", "foggy"]}}

    b = make_session("b")  # a fresh run directory, the same data
    b.watch_or_edit({"experiment_name": "curated", "lr": 0.1}, flag="hp")
    loader = b.watch_or_edit(data, flag="data", loader_name="train_loader", batch_size=8,
                             shuffle=True, seed=1)
    hash_before = b.get_current_experiment_hash()
    report = ds.apply_state(b, tmp_path / "state", identity={"name": "curated", "version": "v0"})
    assert report.exact and report.missing == {}
    assert report.applied == {"discarded": 5, "restored": 0, "tagged": 3, "untagged": 0,
                              "categorical": 4}
    seen = _train_one_epoch(b, loader)
    assert sorted(seen) == sorted(set(range(40)) - {1, 2, 3, 10, 33})
    assert b.tag_summary() == a.tag_summary()
    assert sorted(b.get_samples_by_tag("weather=foggy")) == [2, 9]
    assert ds.diff_state(b, tmp_path / "state")["discards"] == {"added": 0, "removed": 0}

    # the run records the state it trained on: experiment hash, manifest, run config
    identity = {"name": "curated", "version": "v0", "digest": manifest["digest"]}
    assert b.data_state == identity
    assert b.get_current_experiment_hash() != hash_before
    run = init_run(b, project="p")
    assert run.config["data_state"] == identity
    b.flush()
    entries = Manifest(b.root_log_dir).entries()
    assert entries[-1]["experiment_hash"] == b.get_current_experiment_hash()
    assert entries[-1]["data_state"] == identity


def test_the_applied_edits_are_journaled_user_edits_that_survive_a_reopen(make_session, tmp_path):
    data = _data()
    a = make_session("a")
    a.watch_or_edit(data, flag="data", loader_name="train_loader")
    _curate(a)
    ds.save_state(a, tmp_path / "state")
    b = make_session("b")
    b.watch_or_edit(data, flag="data", loader_name="train_loader")
    ds.apply_state(b, tmp_path / "state")
    b.close()
    again = make_session("b")
    again.watch_or_edit(data, flag="data", loader_name="train_loader")
    assert sorted(again.get_discarded_samples()) == [1, 2, 3, 10, 33]
    assert again.tag_summary() == a.tag_summary()


def test_applying_restores_samples_the_state_keeps_and_untags_what_it_does_not_tag(
        make_session, tmp_path):
    data = _data()
    a = make_session("a")
    a.watch_or_edit(data, flag="data", loader_name="train_loader")
    _curate(a)
    ds.save_state(a, tmp_path / "state")
    b = make_session("b")
    b.watch_or_edit(data, flag="data", loader_name="train_loader")
    b.discard_samples([0, 1])          # 0: active in the state -> restored; 1: stays discarded
    b.tag_samples([4, 20], "blurry")   # 20 is not blurry in the state
    b.tag_samples([21], "mine")        # a tag the state does not know
    b.set_categorical_tag([7], "weather", "rainy")
    diff = ds.diff_state(b, tmp_path / "state")
    assert diff["discards"] == {"added": 4, "removed": 1}  # 2, 3, 10, 33 added; 0 restored
    assert diff["tags"] == {"blurry": {"added": 2, "removed": 1},
                            "mine": {"added": 0, "removed": 1},
                            "weather=sunny": {"added": 2, "removed": 0},
                            "weather=rainy": {"added": 0, "removed": 1},
                            "weather=foggy": {"added": 2, "removed": 0}}
    assert diff["registry"] == {"boolean": [], "categorical": {"weather": ["sunny", "foggy"]}}
    report = ds.apply_state(b, tmp_path / "state")
    assert report.applied["restored"] == 1 and report.applied["discarded"] == 4
    assert sorted(b.get_discarded_samples()) == [1, 2, 3, 10, 33]
    assert sorted(b.get_samples_by_tag("blurry")) == [4, 5, 6]
    assert b.get_samples_by_tag("mine") == []
    assert sorted(b.get_samples_by_tag("weather=sunny")) == [7, 8]
    after = ds.diff_state(b, tmp_path / "state")
    assert after["discards"] == {"added": 0, "removed": 0} and after["tags"] == {}


def test_ids_the_session_lacks_are_reported_and_strict_refuses(make_session, tmp_path):
    a = make_session("a")
    a.watch_or_edit(_data(), flag="data", loader_name="train_loader")
    _curate(a)
    ds.save_state(a, tmp_path / "state")
    # the new loader lacks ids 30..39 and has three the state never saw
    b = make_session("b")
    ids = list(range(30)) + [100, 101, 102]
    b.watch_or_edit(_data(33), flag="data", loader_name="train_loader", sample_ids=ids)
    with pytest.raises(ds.DataStateMismatchError) as caught:
        ds.apply_state(b, tmp_path / "state", strict=True)
    assert caught.value.report.missing == {"train": 10}
    assert b.get_discarded_samples() == [] and b.tag_summary()["boolean"] == {}
    assert b.data_state is None  # nothing applied, nothing recorded

    report = ds.apply_state(b, tmp_path / "state")
    train = report.origins["train"]
    assert (train.samples, train.covered) == (40, 30)
    assert train.missing == list(range(30, 40)) and train.missing_count == 10
    assert train.unmentioned == [100, 101, 102] and train.unmentioned_count == 3
    assert report.fingerprint_mismatch == ["train"]
    assert set(train.loaders) == {"train_loader"}
    assert "10 ids of the state not in the session" in report.summary()
    assert sorted(b.get_discarded_samples()) == [1, 2, 3, 10]  # 33 is not in this loader


def test_the_missing_ids_are_listed_up_to_a_limit_with_the_full_count(make_session, tmp_path):
    a = make_session("a")
    a.watch_or_edit(_data(100), flag="data", loader_name="train_loader")
    ds.save_state(a, tmp_path / "state")
    b = make_session("b")
    b.watch_or_edit(_data(10), flag="data", loader_name="train_loader")
    report = ds.apply_state(b, tmp_path / "state")
    assert report.origins["train"].missing_count == 90
    assert report.origins["train"].missing == list(range(10, 10 + ds.apply.SHOWN_IDS))


def test_string_and_int_ids_round_trip_exactly(make_session, tmp_path):
    a = make_session("a")
    a.watch_or_edit(_data(6), flag="data", loader_name="train_loader")
    a.watch_or_edit(_data(6), flag="data", loader_name="val_loader",
                    sample_ids=["7", "b", "a", "x-1", "0", "é"])
    a.discard_samples(["7", "é"], origin="val")
    a.tag_samples([0], "seen", origin="train")
    a.tag_samples(["0"], "seen", origin="val")
    ds.save_state(a, tmp_path / "state")
    state = ds.files.read_state(tmp_path / "state")
    assert sorted(state.origins["train"].ids) == list(range(6))
    assert all(type(s) is int for s in state.origins["train"].ids)
    assert sorted(state.origins["val"].ids) == sorted(["7", "b", "a", "x-1", "0", "é"])
    assert all(type(s) is str for s in state.origins["val"].ids)

    b = make_session("b")
    b.watch_or_edit(_data(6), flag="data", loader_name="train_loader")
    val = b.watch_or_edit(_data(6), flag="data", loader_name="val_loader",
                          sample_ids=["7", "b", "a", "x-1", "0", "é"])
    report = ds.apply_state(b, tmp_path / "state", origin="val_loader")  # a loader name
    assert list(report.origins) == ["val"] and report.exact
    assert sorted(b.get_discarded_samples("val")) == ["7", "é"]
    assert b.get_samples_by_tag("seen", origin="val") == ["0"]
    assert b.get_samples_by_tag("seen", origin="train") == []  # train was not applied
    assert sorted(s for _, _, ids in val for s in ids) == ["0", "a", "b", "x-1"]


def test_the_fingerprint_names_the_ids_not_their_order_and_tells_7_from_the_string_7():
    assert ds.ids_fingerprint([3, 1, 2]) == ds.ids_fingerprint([1, 2, 3])
    assert ds.ids_fingerprint([7]) != ds.ids_fingerprint(["7"])
    assert ds.ids_fingerprint([2**70, 1]) == ds.ids_fingerprint([1, 2**70])


def test_equal_curations_have_equal_digests_and_a_changed_file_is_refused(make_session,
                                                                          tmp_path):
    a = make_session("a")
    a.watch_or_edit(_data(), flag="data", loader_name="train_loader")
    _curate(a)
    first = ds.save_state(a, tmp_path / "one")
    second = ds.save_state(a, tmp_path / "two")
    assert first["digest"] == second["digest"]
    a.discard_samples([0])
    assert ds.save_state(a, tmp_path / "three")["digest"] != first["digest"]
    (tmp_path / "two" / "samples.parquet").write_bytes(
        (tmp_path / "three" / "samples.parquet").read_bytes())
    with pytest.raises(ValueError, match="does not match its state.json"):
        ds.diff_state(a, tmp_path / "two")
    with pytest.raises(FileNotFoundError, match="holds no data state"):
        ds.apply_state(a, tmp_path / "nowhere")


@contextmanager
def training_between_batches(session, loader):
    """A training thread that has drawn a batch of ``loader`` and holds it while the block
    runs (then it is released and stopped)."""
    drawing, release = threading.Event(), threading.Event()

    def train():
        for _ in loader:
            drawing.set()
            release.wait(10)

    handle = session.start_training(train)
    try:
        assert drawing.wait(10)
        yield handle
    finally:
        release.set()
        handle.stop()


def test_applying_is_refused_while_training_runs(make_session, tmp_path):
    a = make_session("a")
    loader = a.watch_or_edit(_data(), flag="data", loader_name="train_loader", batch_size=4)
    ds.save_state(a, tmp_path / "state")
    with training_between_batches(a, loader):
        with pytest.raises(StateError, match="training is running"):
            ds.apply_state(a, tmp_path / "state")
    assert a.data_state is None


def test_watching_data_with_a_saved_state_applies_it(make_session, tmp_path):
    a = make_session("a")
    a.watch_or_edit(_data(), flag="data", loader_name="train_loader")
    _curate(a)
    ds.save_state(a, tmp_path / "state")
    b = make_session("b")
    loader = b.watch_or_edit(_data(), flag="data", loader_name="train_loader",
                             data_state=str(tmp_path / "state"))
    assert sorted(s for _, _, ids in loader for s in ids.tolist()) == \
        sorted(set(range(40)) - {1, 2, 3, 10, 33})
    assert b.data_state["path"] == str(tmp_path / "state")


def test_a_state_logged_as_an_artifact_is_versioned_and_a_new_run_trains_on_it(
        make_session, tmp_path):
    a = make_session("a")
    a.watch_or_edit(_data(), flag="data", loader_name="train_loader")
    _curate(a)
    first = ds.log_data_state(a, "curated")
    again = ds.log_data_state(a, "curated")  # the same curation: the same version
    assert (first.version, again.version) == ("v0", "v0") and first.type == "data-state"
    a.discard_samples([20])
    second = ds.log_data_state(a, "curated", aliases=["best"])
    assert second.version == "v1" and "latest" in second.aliases and "best" in second.aliases

    from weightslab_nb.tracking.api import Api

    logged = Api(root=tmp_path / "a").artifact("weightslab/curated:v0")  # a teammate's view
    b = make_session("b")
    init_run(b, project="retrain")
    loader = b.watch_or_edit(_data(), flag="data", loader_name="train_loader",
                             data_state=logged)
    seen = sorted(s for _, _, ids in loader for s in ids.tolist())
    assert seen == sorted(set(range(40)) - {1, 2, 3, 10, 33})  # v0: before sample 20 went
    assert b.data_state["name"] == "curated" and b.data_state["version"] == "v0"
    assert b.data_state["digest"] == first.metadata["digest"]  # the state's own digest
    assert b.run.config["data_state"]["version"] == "v0"
    other = Artifact("weights", type="model")
    with other.new_file("w.txt") as f:
        f.write("0")
    log_artifact(b, other)
    with pytest.raises(InvalidValueError, match="not a 'data-state'"):
        ds.apply_data_state(b, "weights:latest")


# ---------------------------------------------------------------- the tag editor
@pytest.fixture
def editor(session):
    session.watch_or_edit(_data(), flag="data", loader_name="train_loader")
    panel = TagEditor(session)
    cap = Capture(panel)
    yield panel, cap
    panel.close()


def test_the_tag_editor_saves_lists_diffs_and_applies_states(editor, session):
    panel, cap = editor
    _curate(session)
    reply = ask(panel, cap, 1, type="save_state", name="curated")
    assert reply["ok"] and reply["message"] == "saved data state 'curated': 40 samples, 5 discarded"
    listed = ask(panel, cap, 2, type="list_states")["states"]
    assert [(s["name"], s["samples"], s["discarded"]) for s in listed] == [("curated", 40, 5)]
    assert listed[0]["ref"] == "weightslab/curated:v0"  # an artifact of the run's store

    session.discard_samples([1, 2, 3, 10, 33], discarded=False)  # undo the curation here
    session.tag_samples([4], "blurry", mode="remove")
    diff = ask(panel, cap, 3, type="state_diff", name="curated")["diff"]
    assert diff["discards"] == {"added": 5, "removed": 0}
    assert diff["tags"] == {"blurry": {"added": 1, "removed": 0}}
    assert panel.flush()
    assert panel.states[0]["name"] == "curated"
    assert panel.states[0]["diff"] == {"discards": {"added": 5, "removed": 0},
                                       "tags": {"blurry": {"added": 1, "removed": 0}}}

    reply = ask(panel, cap, 4, type="apply_state", name="curated")
    assert reply["ok"] and reply["report"]["applied"]["discarded"] == 5
    assert reply["message"].startswith("applied data state 'curated': 5 discarded")
    assert sorted(session.get_discarded_samples()) == [1, 2, 3, 10, 33]
    assert session.data_state["name"] == "curated"
    assert panel.flush()
    assert panel.states[0]["diff"] == {"discards": {"added": 0, "removed": 0}, "tags": {}}
    json.dumps(panel.states)  # the trait is plain JSON


@pytest.mark.parametrize("message, expected", [
    ({"type": "save_state"}, "name: missing"),
    ({"type": "save_state", "name": "../up"}, "not a state name"),
    ({"type": "save_state", "name": 5}, "expected a string"),
    ({"type": "apply_state", "name": "nothing"}, "no saved data state 'nothing'"),
    ({"type": "apply_state", "name": "x", "strict": "yes"}, "strict: expected true or false"),
    ({"type": "state_diff", "name": ".hidden"}, "not a state name"),
])
def test_bad_data_state_messages_are_answered_with_a_clear_error(editor, message, expected):
    panel, cap = editor
    reply = ask(panel, cap, 9, **message)
    assert reply["ok"] is False and expected in reply["message"]


def test_the_tag_editor_refuses_to_apply_while_training_runs(editor, session):
    panel, cap = editor
    ask(panel, cap, 1, type="save_state", name="s")
    loader = session.registry.get("data", "train_loader")
    with training_between_batches(session, loader):
        reply = ask(panel, cap, 2, type="apply_state", name="s")
        assert reply["ok"] is False and "training is running" in reply["message"]
