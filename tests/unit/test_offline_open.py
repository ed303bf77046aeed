"""``wl.open(root_log_dir)``: a finished (or crashed) run opened to look at it shows everything
it recorded, refuses every change (the folder stays byte for byte as it was) unless
``writable=True``, and a run still being written by its process is refused with a clear error."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

import weightslab_nb as wl
from tests.children import child_env, run_child
from tests.panel_capture import Capture, ask_content
from weightslab_nb import commands
from weightslab_nb.errors import MissingFileError, ReadOnlyError, StateError
from weightslab_nb.panels import RunMedia, SampleGrid
from weightslab_nb.session import Session


def _data():
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(40, 1, 4, 4, generator=gen), torch.arange(40) % 3
    return TensorDataset(x[:30], y[:30]), TensorDataset(x[30:], y[30:])


def digest(root) -> dict[str, str]:
    """sha1 of every file under ``root`` (relative path -> hex digest)."""
    return {str(p.relative_to(root)): hashlib.sha1(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def record_run(root) -> dict:
    """A small finished run under ``root``: 9 training steps, one evaluation, logged values
    and an image, tags, a categorical tag, a discard. Returns what the live session showed."""
    train_set, val_set = _data()
    with Session(root_log_dir=root) as s:
        torch.manual_seed(0)
        model = s.watch_or_edit(nn.Sequential(nn.Flatten(), nn.Linear(16, 3)), flag="model")
        train = s.watch_or_edit(train_set, flag="data", loader_name="train_loader",
                                batch_size=10)
        s.watch_or_edit(val_set, flag="data", loader_name="val_loader", batch_size=10,
                        id_prefix="val/")
        opt = s.watch_or_edit(torch.optim.SGD(model.parameters(), lr=0.1), flag="optimizer")
        loss = s.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss",
                               signal_name="loss", per_sample=True)
        wl.init(session=s, name="offline-test")
        for epoch in range(3):
            for xb, yb, ids in train:
                opt.zero_grad()
                loss(model(xb), yb, batch_ids=ids).mean().backward()
                opt.step()
            wl.log({"acc": 0.5 + epoch / 10, "note": f"epoch {epoch}"}, session=s)
        wl.log({"picture": wl.Image(np.arange(64, dtype=np.uint8).reshape(8, 8))}, session=s)
        evaluation = s.request_evaluation("val_loader")
        assert evaluation.wait(60) and evaluation.state == "done", evaluation.error
        s.tag_samples([1, 2], "hard")
        s.register_tag("empty")
        s.set_categorical_tag([4], "quality", "noisy")
        s.discard_samples([3])
        return {"frame": s.dataframe, "loss": s.global_series("loss"),
                "acc": s.global_series("acc"), "markers": s.history.markers(),
                "sample_5": s.query_sample_history(5, "loss", origin="train"),
                "step": s.controller.step}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    root = tmp_path_factory.mktemp("offline") / "run"
    return root, record_run(root)


@pytest.fixture
def opened():
    made = []

    def open_(*args, **kwargs):
        session = wl.open(*args, **kwargs)
        made.append(session)
        return session

    yield open_
    for session in made:
        session.close()


# ---------------------------------------------------------------- what an opened run shows
def test_an_opened_run_shows_what_it_recorded(recorded, opened):
    root, live = recorded
    s = opened(root)
    assert wl.current_session(create=False) is s  # module functions act on it
    pd.testing.assert_frame_equal(s.dataframe, live["frame"])
    for name in ("loss", "acc"):
        for column, values in live[name].items():
            np.testing.assert_array_equal(s.global_series(name)[column], values)
    assert s.history.markers() == live["markers"] and len(live["markers"]) == 1
    history = s.query_sample_history(5, "loss", origin="train")
    assert len(history) == 3 and history == live["sample_5"]
    assert wl.get_samples_by_tag("hard") == [1, 2]
    assert wl.get_samples_by_tag("quality=noisy") == [4]
    assert wl.get_discarded_samples() == [3]
    assert "empty" in s.tag_summary()["boolean"]
    assert s.counts() == (40, 39) and s.controller.step == live["step"] == 9
    assert s.loss_column == "signals//loss"  # the grid sorts by it, as in the live run


def test_the_run_s_logged_values_and_media_are_its_run(recorded, opened):
    root, _ = recorded
    s = opened(root)
    run = s.run
    assert (run.name, run.state, run.step) == ("offline-test", "finished", 9)
    assert run.summary["acc"] == pytest.approx(0.7) and run.summary["note"] == "epoch 2"
    assert [v for _, v in run.recent("acc")] == pytest.approx([0.5, 0.6, 0.7])
    media = RunMedia(s)
    try:
        assert media.flush()
        entries = {e["key"]: e for e in media.entries}
        assert media.run["name"] == "offline-test" and media.run["state"] == "finished"
        assert entries["acc"]["kind"] == "number" and entries["note"]["value"] == "epoch 2"
        assert entries["picture"]["kind"] == "image"
        reply = ask_content(media, Capture(media), 1, type="media", key="picture",
                            step=entries["picture"]["step"])
        assert reply["ok"] and reply["items"][0]["mime"] == "image/png"
    finally:
        media.close()


def test_the_dashboard_and_its_fallbacks_render_on_an_opened_run(recorded, opened):
    root, _ = recorded
    s = opened(root)
    board = wl.dashboard(s)
    try:
        html = board.static_bundle()["text/html"]
        assert "signals//loss" in html and "train:" in html
        for panel in (board.controls, board.hparams, board.curves, board.grid, board.tags):
            assert panel.static_bundle()["text/html"]
        cap = Capture(board.grid)
        page = ask_content(board.grid, cap, 1, type="page", offset=0, limit=8)
        assert page["ok"] and len(page["rows"]) == 8
        # no dataset passed: values only, a placeholder image (never an error reply)
        assert all(row["thumbnail_error"] for row in page["rows"])
    finally:
        board.close()


# ---------------------------------------------------------------- nothing changes
def _changes(s):
    """Every way to change a run, as (operation named in the error, call)."""
    x = torch.zeros(2, 3)
    return [
        ("tag_samples", lambda: wl.tag_samples([5], "hard")),
        ("tag_samples", lambda: s.tag_samples([1], "hard", mode="remove")),
        ("register_tag", lambda: s.register_tag("new")),
        ("register_categorical_tag", lambda: s.register_categorical_tag("q2", ["a"])),
        ("set_categorical_tag", lambda: wl.set_categorical_tag([5], "quality", "clean")),
        ("discard_samples", lambda: wl.discard_samples([5])),
        ("discard_samples", lambda: s.discard_samples([3], discarded=False)),
        ("tag_samples", lambda: wl.run_command("tag_add", {"tag": "hard", "ids": [6]})),
        ("discard_samples", lambda: commands.run(s, "discard", {"ids": [6]}, source="panel")),
        ("save_signals", lambda: wl.save_signals({"loss": x.sum(1)}, [0, 1])),
        ("record_scalar", lambda: s.record_scalar("loss", 1.0)),
        ("compute_signals", lambda: wl.compute_signals("train_loader")),
        ("start_training", lambda: wl.start_training(lambda: None)),
        ("request_evaluation", lambda: wl.request_evaluation("val_loader")),
        ("watch_or_edit", lambda: wl.watch_or_edit({"lr": 0.1}, flag="hyperparameters")),
        ("wl.init", lambda: wl.init()),
        ("wl.log", lambda: wl.log({"acc": 1.0})),
        ("auto_tag_loss_shapes", lambda: wl.auto_tag_loss_shapes("loss")),
        ("register_categorical_tag", lambda: wl.tag_loss_shapes_now("loss")),
        ("save_checkpoint", lambda: s.save_checkpoint()),
        ("set_root_log_dir", lambda: s.set_root_log_dir(s.root_log_dir / "elsewhere")),
        ("write_history", lambda: wl.write_history()),
        ("write_dataframe", lambda: wl.write_dataframe(format="csv")),
    ]


def test_every_change_is_refused_and_the_folder_stays_byte_identical(recorded, opened,
                                                                      tmp_path):
    root, live = recorded
    before = digest(root)
    s = opened(root)
    for operation, change in _changes(s):
        with pytest.raises(ReadOnlyError, match=operation) as refused:
            change()
        assert refused.value.operation == operation
        if operation not in ("start_training", "request_evaluation", "watch_or_edit", "wl.init",
                             "wl.log", "auto_tag_loss_shapes", "save_checkpoint",
                             "set_root_log_dir", "save_signals", "record_scalar",
                             "compute_signals"):
            assert "pass writable=True to edit" in str(refused.value)
    assert isinstance(refused.value, StateError)
    pd.testing.assert_frame_equal(s.dataframe, live["frame"])  # nothing changed in memory
    s.query_sample_history(7, origin="train")  # reads (which may build caches) write nothing
    exported = wl.write_dataframe(tmp_path / "table.csv", format="csv")  # elsewhere: fine
    assert len(pd.read_csv(exported)) == 40
    s.flush()
    s.close()
    assert digest(root) == before


def test_writable_persists_tag_edits_for_the_next_open_but_still_refuses_training(
        recorded, opened, tmp_path):
    import shutil

    root = tmp_path / "copy"
    shutil.copytree(recorded[0], root)
    history = digest(root)["history.duckdb"]
    s = opened(root, writable=True)
    s.tag_samples([7, 8], "hard")
    s.discard_samples([3], discarded=False)
    s.set_categorical_tag([4], "quality", "clean")
    with pytest.raises(ReadOnlyError, match="start_training"):
        s.start_training(lambda: None)
    with pytest.raises(ReadOnlyError, match="save_signals"):
        s.save_signals({"loss": [1.0]}, [0])
    s.close()
    assert digest(root)["history.duckdb"] == history  # the history is only read
    again = opened(root)
    assert again.get_samples_by_tag("hard") == [1, 2, 7, 8]
    assert again.get_discarded_samples() == []
    assert again.get_samples_by_tag("quality=clean") == [4]


# ---------------------------------------------------------------- crashed and live runs
_RECORD = textwrap.dedent("""
    import os, sys
    import torch
    from torch.utils.data import TensorDataset
    from weightslab_nb.session import Session

    s = Session(root_log_dir=sys.argv[1])
    loader = s.watch_or_edit(TensorDataset(torch.zeros(12, 2), torch.zeros(12)), flag="data",
                             loader_name="train_loader", batch_size=4)
    for _ in range(2):
        for x, y, ids in loader:
            s.save_signals({"loss": ids.double() / 10}, ids)
    s.tag_samples([5], "late")
    s.flush()
    s.discard_samples([6])  # journaled, not in any snapshot
    if sys.argv[2] == "kill":
        os._exit(1)  # no close(): the history's write-ahead log and the journal stay as left
    print("ready", flush=True)
    sys.stdin.read()
    s.close()
""")


def test_a_run_killed_mid_way_opens_with_what_it_recorded(tmp_path, opened):
    root = tmp_path / "killed"
    result = run_child(_RECORD, root, "kill")
    assert result.returncode == 1, result.stderr[-2000:]
    before = digest(root)
    assert "history.duckdb.wal" in before  # the killed writer's values are in its log only
    s = opened(root)
    assert s.counts() == (12, 11)
    assert s.get_samples_by_tag("late") == [5] and s.get_discarded_samples() == [6]
    assert [v for _, _, v, _ in s.query_sample_history(5, "loss")] == pytest.approx([0.5, 0.5])
    assert s.global_series("loss")["step"].tolist() == [1, 2, 3, 4, 5, 6]
    s.close()
    assert digest(root) == before  # the write-ahead log was replayed in memory only


def test_a_run_its_process_still_writes_is_refused_with_a_clear_error(tmp_path, opened):
    root = tmp_path / "live"
    child = subprocess.Popen([sys.executable, "-c", _RECORD, str(root), "hold"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                             env=child_env())
    try:
        assert child.stdout.readline() == "ready\n"
        with pytest.raises(StateError, match="still being written by another process") as err:
            wl.open(root)
        assert "wl.connect" in str(err.value) and str(root) in str(err.value)
    finally:
        child.communicate("", timeout=60)
    assert child.returncode == 0
    assert opened(root).get_samples_by_tag("late") == [5]  # once it ended, it opens


def test_a_run_a_live_session_of_this_process_writes_is_refused(session, small_dataset):
    loader = session.watch_or_edit(small_dataset, flag="data", loader_name="train_loader")
    session.save_signals({"loss": [0.5] * 4}, [0, 1, 2, 3], origin="train")
    session.flush()
    with pytest.raises(StateError, match="open for writing in this process"):
        wl.open(session.root_log_dir)
    assert loader.session is session and session.counts() == (20, 20)


def test_a_folder_without_a_run_is_named_in_the_error(tmp_path):
    with pytest.raises(MissingFileError, match=f"root_log_dir: {tmp_path / 'nope'} does not"):
        wl.open(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(MissingFileError, match="holds no run: it has no history file"):
        wl.open(tmp_path / "empty")
    (tmp_path / "file").write_text("x")
    with pytest.raises(wl.InvalidValueError, match="is not a directory"):
        wl.open(tmp_path / "file")
    with pytest.raises(wl.InvalidTypeError, match="writable"):
        wl.open(tmp_path / "empty", writable="yes")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "file"]  # nothing made


# ---------------------------------------------------------------- thumbnails
def test_a_dataset_passed_draws_the_thumbnails(recorded, opened):
    root, _ = recorded
    train_set, val_set = _data()
    before = digest(root)
    s = opened(root, dataset=train_set)
    assert torch.equal(s.sample_input(5, origin="train"), train_set[5][0])
    grid = SampleGrid(s)
    try:
        page = ask_content(grid, Capture(grid), 1, type="page", offset=0, limit=6,
                           sort_by="sample_id", descending=False, origin="train")
        assert [r["sample_id"] for r in page["rows"]] == [0, 1, 2, 4, 5, 6]  # 3: discarded
        assert all(r["thumbnail_error"] is None for r in page["rows"])
    finally:
        grid.close()
    assert s.counts() == (40, 39)  # the dataset's samples are the run's: no row added
    with pytest.raises(wl.InvalidValueError, match="not samples of origin 'val'"):
        wl.open(root, dataset={"val_loader": val_set})  # its ids were "val/<i>"
    s.close()
    assert digest(root) == before
