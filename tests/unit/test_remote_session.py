"""A notebook attached to a served session (``wl.connect``): module functions act on the run
in the other process, refusals come back with the served session's own error class and message,
and nothing travels without the token.

The served session lives in this test process (a real Session and a real HTTP backend on a free
loopback port); the remote session talks to it over HTTP only.
"""

from __future__ import annotations

import http.client
import json
import threading
import warnings
from types import SimpleNamespace

import pytest
import torch

import weightslab_nb as wl
from weightslab_nb.errors import InvalidValueError, StateError, UnknownSampleError
from weightslab_nb.serving import BackendError, serve
from weightslab_nb.serving.remote import RemoteSession, connect
from weightslab_nb.session import set_current_session


@pytest.fixture
def run(session, small_dataset):
    """A served session with 20 samples, a recorded loss and an attached remote session."""
    session.watch_or_edit({"experiment_name": "remote", "optimizer": {"lr": 0.01}}, flag="hp")
    loader = session.watch_or_edit(small_dataset, flag="data", loader_name="train_loader",
                                   batch_size=4)
    session.save_signals({"loss": [float(i) for i in range(20)]}, list(range(20)), step=1)
    session.save_signals({"loss": [float(i) / 2 for i in range(20)]}, list(range(20)), step=2)
    server = serve(session=session)
    remote = connect(session.root_log_dir)
    yield SimpleNamespace(session=session, loader=loader, server=server, remote=remote)
    set_current_session(session)
    server.stop()


def test_the_module_functions_act_on_the_run_once_attached(run):
    attached = wl.connect(run.session.root_log_dir)
    assert wl.current_session() is attached and isinstance(attached, RemoteSession)
    wl.tag_samples([3, 7], "hard")
    wl.discard_samples([5])
    wl.register_categorical_tag("quality", ["ok", "blurry"])
    wl.set_categorical_tag([1, 2], "quality", "blurry")
    local = run.session
    assert sorted(local.get_samples_by_tag("hard")) == [3, 7]
    assert local.get_discarded_samples() == [5]
    drawn = {int(i) for _, _, ids in run.loader for i in ids}
    assert drawn == set(range(20)) - {5}  # the run's loader skips it from now on
    assert wl.get_samples_by_tag("quality=blurry") == [1, 2]
    assert wl.get_discarded_samples() == [5]
    history = wl.query_sample_history(4, "loss")
    assert history == local.query_sample_history(4, "loss")
    assert [row[:3] for row in history] == [("loss", 1, 4.0), ("loss", 2, 2.0)]
    assert wl.query_signal_history("loss") == local.query_signal_history("loss")
    assert wl.get_current_experiment_hash() == local.get_current_experiment_hash()


def test_a_refused_call_raises_the_served_sessions_error_and_changes_nothing(run):
    remote, local = run.remote, run.session
    before = local.dataframe.copy()
    with pytest.raises(UnknownSampleError) as exc:
        remote.tag_samples([3, 999], "hard")
    assert "999" in str(exc.value) and "unknown sample id" in str(exc.value)
    with pytest.raises(ValueError, match="mode"):
        remote.tag_samples([3], "hard", mode="toggle")
    with pytest.raises(InvalidValueError, match="no tag named 'never-made'"):
        remote.get_samples_by_tag("never-made")
    assert local.dataframe.equals(before)
    assert "tag:hard" not in local.dataframe.columns


def test_what_only_the_training_process_does_is_refused_here(run):
    with pytest.raises(StateError, match="another process"):
        run.remote.save_signals({"loss": [1.0]}, [0])
    with pytest.raises(StateError, match="another process"):
        run.remote.start_training(lambda: None)
    with pytest.raises(StateError, match="another process"):
        run.remote.watch_or_edit(torch.nn.Linear(2, 2), flag="model")


def test_steering_from_the_attached_notebook(run):
    remote, local = run.remote, run.session
    assert remote.status()["state"] == local.controller.state
    remote.pause()
    assert local.controller.snapshot()["pause_requested"]
    remote.resume()
    assert not local.controller.snapshot()["pause_requested"]
    remote.set_hp("optimizer.lr", 0.001)
    assert remote.hp("optimizer.lr")


def test_an_evaluation_requested_from_the_attached_notebook_runs_in_the_training_process(run):
    local = run.session
    local.watch_or_edit(torch.nn.Linear(4, 3), flag="model")
    local.watch_or_edit(torch.nn.CrossEntropyLoss(reduction="none"), flag="loss",
                        signal_name="val-loss", per_sample=True)
    stop = threading.Event()

    def loop():
        while not stop.is_set():
            for _ in run.loader:
                pass

    handle = local.start_training(loop)
    try:
        request = run.remote.request_evaluation("train_loader", resume=True)
        assert request.state in ("pending", "running", "done")
        assert request.wait(timeout=60)
        assert request.state == "done" and set(request.result) == {"val-loss"}
        assert request.marker_hash and request.marker_hash.endswith("_1")
    finally:
        stop.set()
        handle.stop(30)


def test_nothing_is_done_without_the_right_token(run):
    server = run.server
    for token in (None, "wrong"):
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        conn.request("POST", "/v1/call", body=json.dumps({
            "method": "tag_samples", "args": [[1], "hard"]}), headers=headers)
        reply = conn.getresponse()
        assert reply.status == 401
        conn.close()
    assert "tag:hard" not in run.session.dataframe.columns
    with pytest.raises(BackendError, match="token"):
        connect(f"http://127.0.0.1:{server.port}", token="wrong")


def test_calls_outside_the_list_are_refused(run):
    reply = run.remote.client.post_json("/v1/call", {"method": "close", "args": []})
    assert not reply["ok"] and "cannot be called remotely" in reply["error"]
    assert not run.session._closed


def test_connect_checks_its_target(run, tmp_path):
    with pytest.raises(InvalidValueError, match="token"):
        connect(f"http://127.0.0.1:{run.server.port}")
    with pytest.raises(InvalidValueError, match="HOST:PORT"):
        connect("http://127.0.0.1", token="x")
    with pytest.raises(BackendError, match="serving.json"):
        connect(tmp_path)  # no run serves there
    by_url = connect(f"http://127.0.0.1:{run.server.port}", token=run.server.token)
    assert by_url.status()["step"] == run.session.controller.step


def test_serve_starts_with_no_arguments_and_warns_beyond_loopback(session):
    server = wl.serve()
    try:
        assert server.host == "127.0.0.1" and (session.root_log_dir / "serving.json").exists()
    finally:
        server.stop()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        exposed = serve(session=session, host="0.0.0.0")
    try:
        assert any("exposes this run" in str(w.message) for w in caught)
        assert exposed.host == "0.0.0.0"
    finally:
        exposed.stop()


def test_a_closed_remote_session_is_not_current_any_more(run):
    attached = wl.connect(run.session.root_log_dir)
    attached.close()
    with pytest.raises(StateError, match="closed"):
        attached.tag_samples([1], "hard")
    assert wl.current_session() is not attached


def test_the_sample_table_travels_as_an_arrow_stream_with_its_dtypes_and_index(run):
    run.session.tag_samples([2], "hard")
    run.session.discard_samples([4])
    remote, local = run.remote.dataframe, run.session.dataframe
    assert remote.equals(local) and list(remote.index.names) == list(local.index.names)
    assert remote.dtypes.to_dict() == local.dtypes.to_dict()
    worst = remote.nlargest(3, "signals//loss").index.get_level_values("sample_id").tolist()
    assert worst == [19, 18, 17]


def test_the_dashboard_and_panels_of_an_attached_run_are_mirrors_of_the_run_there(run):
    from weightslab_nb.panels.grid import SampleGrid
    from weightslab_nb.serving.mirror import AttachedPanel

    attached = wl.connect(run.session.root_log_dir)
    board = wl.dashboard()
    grid = wl.SampleGrid()  # the class, bound to the current (attached) session
    try:
        assert isinstance(grid, SampleGrid) and isinstance(grid, AttachedPanel)
        assert all(isinstance(p, AttachedPanel) for p in board.panels)
        assert grid.wait_connected(30) and board.grid.wait_connected(30)
        assert grid.flush(30)
        assert grid.total == 20 and board.grid.total == 20
        with pytest.raises(InvalidValueError, match="thumbnail"):
            wl.dashboard(attached, thumbnail=lambda x: x)
    finally:
        grid.close()
        board.close()


def test_run_logging_belongs_to_the_training_process(run):
    wl.connect(run.session.root_log_dir)
    with pytest.raises(StateError, match="another process"):
        wl.init(project="p")
    assert not list((run.session.root_log_dir).glob("runs/*"))  # nothing was started there


def test_a_run_opened_read_only_is_not_served(run, tmp_path):
    from weightslab_nb.session import Session

    done = Session(root_log_dir=tmp_path / "done")
    done.save_signals({"loss": [1.0, 2.0]}, [0, 1], step=1)
    done.close()
    opened = wl.open(tmp_path / "done")
    try:
        with pytest.raises(StateError, match="read-only"):
            serve(session=opened)
        assert not (tmp_path / "done" / "serving.json").exists()
    finally:
        opened.close()
