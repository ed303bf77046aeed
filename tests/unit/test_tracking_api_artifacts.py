"""``wl.Api`` over artifacts, with the names and shapes of wandb's public API:
``Api.artifact``, ``artifact_versions``, ``artifact_types``, ``artifact_type``, collections,
``ApiRun.logged_artifacts`` / ``used_artifacts``, ``logged_by`` / ``used_by`` and ``delete``
(refused while a version has aliases)."""

from __future__ import annotations

from pathlib import Path

import pytest

import weightslab_nb as wl
from weightslab_nb.errors import InvalidValueError, StateError, UnknownNameError
from weightslab_nb.tracking.artifacts import (Artifact, ArtifactCollection, ArtifactType,
                                              ArtifactVersions)


def artifact(name: str, type: str, text: str) -> Artifact:
    made = wl.Artifact(name, type)
    with made.new_file("content.txt") as f:
        f.write(text)
    return made


@pytest.fixture
def logged(session):
    """Project "proj": a producer run logs digits v0 (alias "best"), v1, v2 and model v0; a
    consumer run uses digits:best and model:latest. Project "other" has one dataset."""
    producer = wl.init(project="proj", name="producer")
    producer.log_artifact(artifact("digits", "dataset", "zero"), aliases=["best"])
    producer.log_artifact(artifact("digits", "dataset", "one"))
    producer.log_artifact(artifact("digits", "dataset", "two"))
    producer.log_artifact(artifact("net", "model", "weights"))
    consumer = wl.init(project="proj", name="consumer", reinit=True)
    consumer.use_artifact("digits:best")
    consumer.use_artifact("net:latest")
    consumer.finish()
    other = wl.init(project="other", name="elsewhere", reinit=True)
    other.log_artifact(artifact("faces", "dataset", "face"))
    other.finish()
    return {"producer": producer.path, "consumer": consumer.path, "other": other.path,
            "api": wl.Api(root=session.root_log_dir)}


def test_api_artifact_takes_versions_aliases_and_digests(logged):
    api = logged["api"]
    assert api.artifact("proj/digits:v1").version == "v1"
    assert api.artifact("entity/proj/digits:best").version == "v0"
    assert api.artifact("digits:latest").version == "v2"  # a bare name in its one project
    assert api.artifact("proj/digits").version == "v2"
    v1 = api.artifact("digits:v1")
    assert api.artifact(f"digits:{v1.digest}").version == "v1"
    assert api.artifact("digits:v0", type="dataset").type == "dataset"
    assert (v1.name, v1.qualified_name, v1.project, v1.collection_name) == \
        ("digits:v1", "proj/digits:v1", "proj", "digits")
    assert v1.size == len("one") and v1.created_at and v1.state == "COMMITTED"
    assert v1.manifest["entries"]["content.txt"]["size"] == 3
    assert api.artifact_exists("digits:v2") and not api.artifact_exists("digits:v9")


def test_api_artifact_errors_name_the_argument(logged):
    api = logged["api"]
    with pytest.raises(UnknownNameError, match="no version 'v9'"):
        api.artifact("digits:v9")
    with pytest.raises(UnknownNameError, match="no artifact 'nothing'"):
        api.artifact("nothing:latest")
    with pytest.raises(InvalidValueError, match="type"):
        api.artifact("digits:v0", type="model")
    with pytest.raises(InvalidValueError, match="name"):
        api.artifact("a/b/c/d:v0")
    with pytest.raises(InvalidValueError, match="name"):
        api.artifact(None)


def test_artifact_versions_lists_every_version_oldest_first(logged):
    versions = logged["api"].artifact_versions("dataset", "digits")
    assert isinstance(versions, ArtifactVersions) and versions.length == 3
    assert [v.version for v in versions] == ["v0", "v1", "v2"]
    assert [v.aliases for v in versions] == [["best"], [], ["latest"]]
    assert all(isinstance(v, Artifact) for v in versions)


def test_types_and_collections_per_project(logged):
    api = logged["api"]
    types = api.artifact_types("proj")
    assert [t.name for t in types] == ["dataset", "model"]
    assert all(isinstance(t, ArtifactType) and t.project == "proj" for t in types)
    assert {(t.project, t.name) for t in api.artifact_types()} == \
        {("proj", "dataset"), ("proj", "model"), ("other", "dataset")}
    dataset = api.artifact_type("dataset", "proj")
    collections = dataset.collections()
    assert [c.name for c in collections] == ["digits"]
    assert isinstance(collections[0], ArtifactCollection) and collections[0].type == "dataset"
    assert [v.version for v in dataset.collection("digits").versions()] == ["v0", "v1", "v2"]
    assert dataset.collection("digits").aliases == ["best", "latest"]
    assert [c.id for c in api.artifact_collections(None, "dataset")] == \
        ["other/faces", "proj/digits"]
    assert api.artifact_collection("dataset", "proj/digits").versions().length == 3
    with pytest.raises(UnknownNameError, match="type_name"):
        api.artifact_type("table", "proj")
    with pytest.raises(UnknownNameError, match="faces"):
        dataset.collection("faces")


def test_lineage_reads_both_ways_through_the_api(logged):
    api = logged["api"]
    producer, consumer = api.run(logged["producer"]), api.run(logged["consumer"])
    assert [a.qualified_name for a in producer.logged_artifacts()] == \
        ["proj/digits:v0", "proj/digits:v1", "proj/digits:v2", "proj/net:v0"]
    assert producer.used_artifacts() == [] and producer.logged_artifacts().length == 4
    assert [a.qualified_name for a in consumer.used_artifacts()] == \
        ["proj/digits:v0", "proj/net:v0"]
    best = api.artifact("digits:best")
    assert best.logged_by().path == producer.path
    assert [r.path for r in best.used_by()] == [consumer.path]
    assert api.artifact("digits:v1").used_by() == []
    assert [a.name for a in api.run(logged["other"]).logged_artifacts()] == ["faces:v0"]


def test_a_second_run_relogging_the_same_files_is_listed_with_that_version(session):
    first = wl.init(project="proj")
    first.log_artifact(artifact("digits", "dataset", "same"))
    second = wl.init(project="proj", reinit=True)
    again = second.log_artifact(artifact("digits", "dataset", "same"))
    api = wl.Api(root=session.root_log_dir)
    assert again.version == "v0" and again.logged_by().id == first.id
    assert [a.version for a in api.run(second.path).logged_artifacts()] == ["v0"]


def test_delete_is_refused_while_a_version_has_aliases(logged):
    api = logged["api"]
    with pytest.raises(StateError, match=r"aliases \['best'\]"):
        api.artifact("digits:v0").delete()
    with pytest.raises(StateError, match=r"aliases \['latest'\]"):
        api.artifact("digits:latest").delete()
    assert api.artifact_versions("dataset", "digits").length == 3  # nothing was deleted


def test_delete_removes_the_version_and_files_no_other_version_keeps(logged, session):
    api = logged["api"]
    v1 = api.artifact("digits:v1")
    stored = Path(v1.get_entry("content.txt").local_path)
    v1.delete()
    assert not stored.exists()
    assert [v.version for v in api.artifact_versions("dataset", "digits")] == ["v0", "v2"]
    with pytest.raises(UnknownNameError, match="no version 'v1'"):
        api.artifact("digits:v1")
    best = api.artifact("digits:best")
    best.aliases = []
    best.save()
    best.delete()
    assert [v.version for v in api.artifact_versions("dataset", "digits")] == ["v2"]
    # numbers are never reused
    run = wl.init(project="proj", reinit=True)
    assert run.log_artifact(artifact("digits", "dataset", "three")).version == "v3"


def test_delete_with_delete_aliases_moves_latest_back(logged):
    api = logged["api"]
    api.artifact("digits:latest").delete(delete_aliases=True)
    assert api.artifact("digits:latest").version == "v1"
    assert api.artifact("digits:best").version == "v0"
    api.artifact("net:latest").delete(delete_aliases=True)  # its only version
    assert [c.name for c in api.artifact_collections("proj", "model")] == []


def test_the_api_finds_artifacts_in_run_directories_below_its_root(logged, session):
    api = wl.Api(root=session.root_log_dir.parent)  # the store is one level down
    assert api.artifact("proj/digits:v2").digest == logged["api"].artifact("digits:v2").digest


def test_wl_api_of_the_current_session_finds_its_artifacts(logged):
    assert wl.Api().artifact("proj/digits:best").version == "v0"
    assert wl.Api(overrides={"project": "other"}).artifact("faces").name == "faces:v0"
