"""Artifacts, local and offline: a draft hashes what is added, ``run.log_artifact`` stores a
content-addressed version (unchanged files: no new version), aliases move, ``use_artifact``
records lineage, ``download`` materialises the files and ``verify`` names a tampered one; two
processes logging one name at once lose and duplicate no version."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import weightslab_nb as wl
from weightslab_nb.errors import (InvalidTypeError, InvalidValueError, MissingFileError,
                                  StateError, UnknownNameError)
from weightslab_nb.tracking.artifacts import ArtifactStore, VerificationError

from tests.children import child_env


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def data_dir(tmp_path) -> Path:
    """A small directory: two files at the top, one in a sub-folder."""
    root = tmp_path / "data"
    (root / "sub").mkdir(parents=True)
    (root / "a.csv").write_text("x,y\n1,2\n")
    (root / "b.bin").write_bytes(bytes(range(256)))
    (root / "sub" / "c.txt").write_text("nested")
    return root


@pytest.fixture
def run(session):
    return wl.init(project="proj")


def dataset(data_dir: Path, name: str = "digits") -> wl.Artifact:
    artifact = wl.Artifact(name, "dataset", description="toy", metadata={"rows": 1})
    artifact.add_dir(data_dir)
    return artifact


# ---------------------------------------------------------------- drafts
def test_a_draft_lists_its_files_with_their_sha256(data_dir):
    artifact = wl.Artifact("digits", "dataset")
    artifact.add_dir(data_dir, name="raw")
    artifact.add_file(data_dir / "a.csv", name="top.csv")
    with artifact.new_file("notes/readme.txt") as f:
        f.write("made in a test")
    assert [e.path for e in artifact.files()] == ["notes/readme.txt", "raw/a.csv", "raw/b.bin",
                                                 "raw/sub/c.txt", "top.csv"]
    assert artifact.get_entry("raw/b.bin").digest == sha(bytes(range(256)))
    assert artifact.get_entry("notes/readme.txt").digest == sha(b"made in a test")
    assert artifact.get_entry("top.csv").size == len("x,y\n1,2\n")
    assert artifact.state == "PENDING" and artifact.version is None and artifact.name == "digits"


def test_a_draft_with_the_same_files_has_the_same_digest_whatever_the_metadata(data_dir):
    one, two = dataset(data_dir), wl.Artifact("digits", "dataset", metadata={"other": 2})
    two.add_dir(data_dir)
    assert one.digest == two.digest
    two.add_file(data_dir / "a.csv", name="extra.csv")
    assert one.digest != two.digest


def test_local_and_fsspec_references_are_checksummed_when_readable(data_dir):
    import fsspec

    memory = fsspec.filesystem("memory")
    memory.pipe("/bucket/labels.json", b'{"0": "zero"}')
    artifact = wl.Artifact("refs", "dataset")
    artifact.add_reference(data_dir / "a.csv")
    artifact.add_reference(f"file://{data_dir / 'sub'}", name="folder")
    artifact.add_reference("memory://bucket/labels.json")
    artifact.add_reference("memory://bucket/absent.json")
    entries = {e.path: e for e in artifact.files()}
    assert entries["a.csv"].digest == sha(b"x,y\n1,2\n")
    assert entries["a.csv"].ref == (data_dir / "a.csv").resolve().as_uri()
    assert entries["folder/c.txt"].digest == sha(b"nested")
    assert entries["labels.json"].digest == sha(b'{"0": "zero"}')
    assert entries["labels.json"].ref == "memory://bucket/labels.json"
    assert entries["absent.json"].digest is None  # not readable: kept as a bare reference


@pytest.mark.parametrize("call, error, argument", [
    (lambda a, d: a.add_file(d / "missing.txt"), MissingFileError, "local_path"),
    (lambda a, d: a.add_dir(d / "missing"), MissingFileError, "local_path"),
    (lambda a, d: a.add_file(d / "a.csv", name="../out.csv"), InvalidValueError, "name"),
    (lambda a, d: a.add_file(d / "a.csv", name="/abs.csv"), InvalidValueError, "name"),
    (lambda a, d: a.add_reference(d / "nothing-here"), MissingFileError, "uri"),
    (lambda a, d: a.add_reference(42), InvalidValueError, "uri"),
    (lambda a, d: a.get_entry("nope"), UnknownNameError, "name"),
])
def test_bad_additions_are_refused_naming_the_argument(data_dir, call, error, argument):
    artifact = wl.Artifact("digits", "dataset")
    with pytest.raises(error, match=argument):
        call(artifact, data_dir)


@pytest.mark.parametrize("kwargs, argument", [
    ({"name": "a:b", "type": "dataset"}, "name"), ({"name": "a/b", "type": "dataset"}, "name"),
    ({"name": "", "type": "dataset"}, "name"), ({"name": "ok", "type": "bad type"}, "type"),
    ({"name": "ok", "type": "dataset", "metadata": {"x": object()}}, "metadata"),
    ({"name": "ok", "type": "dataset", "metadata": [1]}, "metadata"),
])
def test_bad_artifact_arguments_are_refused(kwargs, argument):
    with pytest.raises((InvalidValueError, InvalidTypeError), match=argument):
        wl.Artifact(**kwargs)


def test_one_name_cannot_hold_two_different_files(data_dir):
    artifact = wl.Artifact("digits", "dataset")
    artifact.add_file(data_dir / "a.csv", name="x")
    artifact.add_file(data_dir / "a.csv", name="x")  # the same content again is fine
    with pytest.raises(InvalidValueError, match="already holds"):
        artifact.add_file(data_dir / "b.bin", name="x")


# ---------------------------------------------------------------- versions and aliases
def test_versions_count_up_and_unchanged_files_make_no_new_version(run, data_dir):
    first = run.log_artifact(dataset(data_dir))
    assert (first.name, first.version, first.state) == ("digits:v0", "v0", "COMMITTED")
    assert first.qualified_name == "proj/digits:v0" and first.aliases == ["latest"]
    again = run.log_artifact(dataset(data_dir))
    assert again.version == "v0"  # same files as the latest: not duplicated
    (data_dir / "a.csv").write_text("x,y\n3,4\n")
    second = run.log_artifact(dataset(data_dir))
    assert second.version == "v1" and second.aliases == ["latest"]
    assert run.use_artifact("digits:v0").aliases == []
    store = ArtifactStore(run.dir.parent.parent)
    assert [v.version for v in store.versions("proj", "digits")] == ["v0", "v1"]
    # each content is stored once: b.bin and sub/c.txt are shared by both versions
    objects = [p for p in (store.dir / "objects").rglob("*") if p.is_file()]
    assert len(objects) == 4


def test_latest_and_custom_aliases_move_to_the_version_given_them(run, data_dir):
    run.log_artifact(dataset(data_dir), aliases=["best"])
    (data_dir / "a.csv").write_text("changed")
    run.log_artifact(dataset(data_dir))
    assert run.use_artifact("digits:best").version == "v0"
    assert run.use_artifact("digits:latest").version == "v1"
    assert run.use_artifact("digits").version == "v1"  # no version: the latest
    (data_dir / "a.csv").write_text("changed again")
    third = run.log_artifact(dataset(data_dir), aliases=["best", "prod"])
    assert third.aliases == ["best", "latest", "prod"]
    assert run.use_artifact("digits:v0").aliases == []
    assert run.use_artifact("digits:v1").aliases == []
    v1 = run.use_artifact("digits:v1")
    v1.aliases = ["prod"]
    v1.save()  # an alias set on a logged version moves there
    assert run.use_artifact("digits:prod").version == "v1"
    assert run.use_artifact("digits:v2").aliases == ["best", "latest"]


def test_relogging_unchanged_files_with_an_alias_adds_it_to_the_latest(run, data_dir):
    run.log_artifact(dataset(data_dir))
    again = run.log_artifact(dataset(data_dir), aliases=["reviewed"])
    assert again.version == "v0" and again.aliases == ["latest", "reviewed"]


@pytest.mark.parametrize("aliases", [["v3"], ["bad alias"], "best", [1]])
def test_bad_aliases_are_refused_and_nothing_is_logged(run, data_dir, aliases):
    with pytest.raises(InvalidValueError, match="aliases"):
        run.log_artifact(dataset(data_dir), aliases=aliases)
    assert not (run.dir.parent.parent / "artifacts" / "projects").exists()


def test_a_name_keeps_its_type(run, data_dir):
    run.log_artifact(dataset(data_dir))
    model = wl.Artifact("digits", "model")
    model.add_file(data_dir / "a.csv")
    with pytest.raises(InvalidValueError, match="type 'dataset'"):
        run.log_artifact(model)


def test_a_logged_artifact_cannot_change_or_be_logged_again(run, data_dir):
    logged = run.log_artifact(dataset(data_dir))
    with pytest.raises(StateError, match="is logged"):
        logged.add_file(data_dir / "a.csv", name="more.csv")
    with pytest.raises(StateError, match="logged already"):
        run.log_artifact(logged)


@pytest.mark.parametrize("written", ["just before", "an hour before"])
def test_a_file_changed_after_it_was_added_is_refused(run, data_dir, written):
    """A file written an hour before it was hashed is copied without hashing it again (its
    size, mtime and inode tell a change); one written just before is hashed while copied (a
    rewrite could keep its mtime). Either way a same-size rewrite after add is refused."""
    if written == "an hour before":
        for path in data_dir.rglob("*"):
            os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns - 3600 * 10**9))
    artifact = dataset(data_dir)
    with open(data_dir / "b.bin", "r+b") as f:  # same size, same inode, new content
        f.write(b"\xff")
    with pytest.raises(InvalidValueError, match="b.bin.*changed after it was added"):
        run.log_artifact(artifact)


@pytest.mark.parametrize("written", ["just before", "an hour before"])
def test_stored_objects_hold_the_content_of_their_digest(run, data_dir, written):
    if written == "an hour before":
        for path in data_dir.rglob("*"):
            os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns - 3600 * 10**9))
    logged = run.log_artifact(dataset(data_dir))
    for entry in logged.files():
        assert sha(Path(entry.local_path).read_bytes()) == entry.digest


def test_unknown_names_and_versions_list_what_exists(run, data_dir):
    run.log_artifact(dataset(data_dir), aliases=["best"])
    with pytest.raises(UnknownNameError, match=r"no version 'v7'.*\['v0'\].*best"):
        run.use_artifact("digits:v7")
    with pytest.raises(UnknownNameError, match=r"no artifact 'other'"):
        run.use_artifact("other:latest")
    with pytest.raises(InvalidValueError, match="artifact_or_name|name"):
        run.use_artifact("digits:")
    with pytest.raises(InvalidValueError, match="type"):
        run.use_artifact("digits:latest", type="model")
    with pytest.raises(InvalidTypeError, match="artifact_or_name"):
        run.use_artifact(3)


def test_a_path_is_logged_as_a_new_artifact(run, data_dir):
    logged = run.log_artifact(data_dir, name="raw", type="dataset")
    assert logged.name == "raw:v0" and len(logged.files()) == 3
    single = run.log_artifact(data_dir / "a.csv")
    assert single.name == "a.csv:v0" and single.type == "unspecified"


def test_any_project_name_wl_init_takes_can_log_artifacts(session, data_dir):
    for project in ("My Project", "objects", "tmp"):
        run = wl.init(project=project, reinit=True)
        assert run.log_artifact(dataset(data_dir)).qualified_name == f"{project}/digits:v0"
        assert wl.Api(root=session.root_log_dir).artifact(f"{project}/digits:v0").project == project


def test_a_finished_run_refuses_artifacts(run, data_dir):
    run.finish()
    with pytest.raises(StateError, match="finished"):
        run.log_artifact(dataset(data_dir))


def test_without_a_run_the_facade_stores_in_the_session_root(session, data_dir):
    logged = wl.log_artifact(dataset(data_dir))
    assert logged.qualified_name == "weightslab/digits:v0" and logged.logged_by() is None
    assert wl.use_artifact("digits:latest").digest == logged.digest
    assert (session.root_log_dir / "artifacts" / "projects" / "weightslab" / "digits").is_dir()


# ---------------------------------------------------------------- download and verify
def test_download_materialises_every_file_and_verify_passes(run, data_dir, tmp_path):
    run.log_artifact(dataset(data_dir))
    used = run.use_artifact("digits:latest")
    where = Path(used.download(tmp_path / "out"))
    assert where == tmp_path / "out"
    assert (where / "a.csv").read_text() == "x,y\n1,2\n"
    assert (where / "sub" / "c.txt").read_text() == "nested"
    assert (where / "b.bin").read_bytes() == bytes(range(256))
    stored = ArtifactStore(run.dir.parent.parent).object_path(sha(b"nested"))
    assert os.stat(where / "sub" / "c.txt").st_ino == os.stat(stored).st_ino  # a hard link
    used.verify()  # no error: every file matches
    used.verify(where)


def test_download_defaults_to_artifacts_name_version_in_the_working_directory(
        run, data_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run.log_artifact(dataset(data_dir))
    where = run.use_artifact("digits:v0").download()
    assert Path(where) == tmp_path / "artifacts" / "digits:v0"


def test_verify_names_a_tampered_file_with_both_digests(run, data_dir, tmp_path):
    run.log_artifact(dataset(data_dir))
    used = run.use_artifact("digits:latest")
    where = Path(used.download(tmp_path / "out"))
    (where / "sub" / "c.txt").unlink()
    (where / "sub" / "c.txt").write_text("tampered")
    (where / "a.csv").unlink()
    (where / "stray.txt").write_text("not in the artifact")
    with pytest.raises(VerificationError) as raised:
        used.verify()
    problems = {p["name"]: p for p in raised.value.problems}
    assert problems["sub/c.txt"] == {"name": "sub/c.txt", "expected": sha(b"nested"),
                                     "actual": sha(b"tampered")}
    assert problems["a.csv"]["actual"] is None
    assert problems["stray.txt"]["expected"] is None
    assert "sub/c.txt" in str(raised.value) and sha(b"tampered") in str(raised.value)
    assert isinstance(raised.value, ValueError)


def test_verify_before_download_says_to_download(run, data_dir, tmp_path):
    run.log_artifact(dataset(data_dir))
    with pytest.raises(MissingFileError, match="download"):
        run.use_artifact("digits:v0").verify(tmp_path / "never")


def test_references_are_downloaded_from_where_they_are(run, data_dir, tmp_path):
    import fsspec

    fsspec.filesystem("memory").pipe("/bucket/w.bin", b"weights")
    artifact = wl.Artifact("refs", "model")
    artifact.add_reference(data_dir / "a.csv")
    artifact.add_reference("memory://bucket/w.bin")
    run.log_artifact(artifact)
    used = run.use_artifact("refs:latest")
    where = Path(used.download(tmp_path / "out"))
    assert (where / "a.csv").read_text() == "x,y\n1,2\n"
    assert (where / "w.bin").read_bytes() == b"weights"
    used.verify()


def test_draft_only_and_logged_only_calls_say_what_to_do(data_dir):
    draft = dataset(data_dir)
    for call in (draft.download, draft.verify, draft.logged_by, draft.used_by, draft.delete,
                 draft.save):
        with pytest.raises(StateError, match="not logged"):
            call()


# ---------------------------------------------------------------- lineage
def test_lineage_links_the_logging_run_and_the_using_runs(session, data_dir):
    producer = wl.init(project="proj", name="producer")
    logged = producer.log_artifact(dataset(data_dir))
    consumer = wl.init(project="proj", name="consumer", reinit=True)
    used = consumer.use_artifact("digits:v0")
    assert used.logged_by().id == producer.id
    assert [r.id for r in used.used_by()] == [consumer.id]
    assert logged.used_by()[0].name == "consumer"
    api_run = wl.Api(root=session.root_log_dir).run(consumer.path)
    assert [a.qualified_name for a in api_run.used_artifacts()] == ["proj/digits:v0"]
    assert api_run.logged_artifacts() == []


# ---------------------------------------------------------------- two processes at once
CHILD = r"""
import sys
from weightslab_nb.tracking.artifacts import Artifact, ArtifactStore
root, who, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
store = ArtifactStore(root)
print("ready", flush=True)
sys.stdin.readline()  # the parent says go once both children are ready
for i in range(n):
    artifact = Artifact("shared", "dataset")
    with artifact.new_file("content.txt") as f:
        f.write(f"{who}-{i}")
    print(store.log(artifact, "proj", run=f"proj/{who}").version, flush=True)
"""


def test_two_processes_logging_one_name_get_distinct_versions(tmp_path):
    n = 25
    children = [subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path), who, str(n)],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                 env=child_env()) for who in ("alpha", "beta")]
    try:
        for child in children:
            assert child.stdout.readline().strip() == "ready"
        for child in children:
            child.stdin.write("go\n")
            child.stdin.flush()
        outputs = [child.communicate(timeout=120)[0].split() for child in children]
    finally:
        for child in children:
            child.kill()
    assert [child.returncode for child in children] == [0, 0]
    got = outputs[0] + outputs[1]
    assert sorted(got, key=lambda v: int(v[1:])) == [f"v{i}" for i in range(2 * n)]
    store = ArtifactStore(tmp_path)
    versions = store.versions("proj", "shared")
    contents = [Path(v.get_entry("content.txt").local_path).read_text() for v in versions]
    assert sorted(contents) == sorted(f"{who}-{i}" for who in ("alpha", "beta") for i in range(n))
    assert versions[-1].aliases == ["latest"] and versions[-1].version == f"v{2 * n - 1}"
    aliases = json.loads((store.dir / "projects" / "proj" / "shared" / "aliases.json").read_text())
    assert aliases == {"latest": 2 * n - 1}
    # each child's own versions count up in the order it logged them
    for output in outputs:
        numbers = [int(v[1:]) for v in output]
        assert numbers == sorted(numbers)


def test_leftovers_of_interrupted_writers_are_removed_by_the_next_log(run, data_dir, tmp_path):
    """A dead process's partial copy and a partial metadata file go; a live writer's copy
    stays."""
    import socket

    run.log_artifact(dataset(data_dir))
    store = ArtifactStore(run.dir.parent.parent)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead = store.dir / "tmp" / f"{socket.gethostname()}-{gone.stdout.strip()}-00ff.partial"
    live = store.dir / "tmp" / f"{socket.gethostname()}-{os.getpid()}-00ff.partial"
    half = store.dir / "projects" / "proj" / "digits" / ".aliases.json.1234abcd.partial"
    for path in (dead, live, half):
        path.write_text("half")
    (data_dir / "a.csv").write_text("new")
    assert run.log_artifact(dataset(data_dir)).version == "v1"
    assert not dead.exists() and not half.exists() and live.exists()


def test_a_session_checkpoint_logged_as_a_model_loads_back_into_the_watched_model(session):
    torch = pytest.importorskip("torch")
    import weightslab_nb as wl

    model = session.watch_or_edit(torch.nn.Linear(3, 2), flag="model", device="cpu")
    trained = {k: v.clone() for k, v in model.state_dict().items()}
    first = wl.log_model(name="mlp", aliases=["best"], session=session)
    assert (first.type, first.version, first.metadata["checkpoint"]) == ("model", "v0", True)
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
    path = wl.use_model("mlp:best", session=session)
    session.load_checkpoint(path)
    assert all(torch.equal(model.state_dict()[k], v) for k, v in trained.items())
    module = wl.log_model(torch.nn.Linear(2, 2), name="head", session=session)
    assert module.version == "v0" and [e.path for e in module.files()] == ["model.pt"]
    with pytest.raises(ValueError, match="not a 'model'"):
        data = wl.Artifact("table", type="dataset")
        with data.new_file("t.csv") as f:
            f.write("a\n1\n")
        wl.log_artifact(data, session=session)
        wl.use_model("table:latest", session=session)
    with pytest.raises(TypeError, match="path_or_module"):
        wl.log_model(42, session=session)


def test_a_run_of_another_root_that_uses_a_version_is_in_its_used_by(make_session, tmp_path):
    import weightslab_nb as wl
    from weightslab_nb.tracking.api import Api
    from weightslab_nb.tracking.run import init

    a = make_session("a")
    init(a, project="p", name="producer")
    art = wl.Artifact("table", type="dataset")
    with art.new_file("t.csv") as f:
        f.write("x\n1\n")
    wl.log_artifact(art, session=a)
    b = make_session("b")
    init(b, project="p", name="consumer")
    found = Api(root=tmp_path / "a").artifact("p/table:latest")
    wl.use_artifact(found, session=b)
    assert [r.name for r in found.used_by()] == ["consumer"]
    assert found.logged_by().name == "producer"
