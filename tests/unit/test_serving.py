"""The console backend: real HTTP on 127.0.0.1 against a real Session.

Every test starts ``serve(serving_cli=True, session=...)`` on a free port, talks to it with the
:class:`~weightslab_nb.serving.Client` or raw ``http.client`` requests, and checks what changed
in the session (or that nothing did). Threads are awaited with joins and events, never sleeps.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

import weightslab_nb as wl
from weightslab_nb.errors import InvalidTypeError, InvalidValueError
from weightslab_nb.serving import (GRPC_UNAVAILABLE, BackendError, Client, CommandServer,
                                   keep_serving, serve, stop_serving)
from weightslab_nb.serving import backend as backend_module
from weightslab_nb.serving.commands import COMMANDS
from weightslab_nb.session import Session

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def served(session, small_dataset):
    """A session with hyperparameters and 20 samples, served on a free port."""
    hp = session.watch_or_edit({"experiment_name": "serving", "optimizer": {"lr": 0.01},
                                "epochs": 3}, flag="hp")
    loader = session.watch_or_edit(small_dataset, flag="data", loader_name="train_loader",
                                   batch_size=4)
    server = serve(serving_cli=True, session=session)
    yield SimpleNamespace(session=session, hp=hp, loader=loader, server=server,
                          client=Client.from_dir(session.root_log_dir, timeout=30))
    server.stop()


def raw(server: CommandServer, body, token: str | None = "default", path: str = "/v1/command",
        method: str = "POST", headers: dict | None = None) -> tuple[int, dict]:
    """Send one hand-made request; return (status, decoded JSON reply)."""
    token = server.token if token == "default" else token
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    hdrs = {"Content-Type": "application/json"}
    if token is not None:
        hdrs["Authorization"] = f"Bearer {token}"
    hdrs.update(headers or {})
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=hdrs)
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def observable(session: Session) -> dict:
    """Everything a command could change."""
    return {"tags": session.tag_summary(), "discarded": session.get_discarded_samples(None),
            "hp": session.registry.all("hyperparameters")["hp"].to_dict()
            if "hp" in session.registry.all("hyperparameters") else None,
            "pause": session.controller.pause_requested,
            "hash": session.get_current_experiment_hash(),
            "changes": (session.changes.table, session.changes.tags,
                        session.changes.hyperparameters, session.changes.controller)}


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            return True
    except ConnectionRefusedError:
        return False


# ---------------------------------------------------------------- start, token file, stop
def test_token_file_is_private_and_matches_the_server(served):
    path = served.session.root_log_dir / "serving.json"
    assert served.server.token_file == path
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    info = json.loads(path.read_text())
    assert info["host"] == "127.0.0.1" and info["port"] == served.server.port
    assert info["token"] == served.server.token and len(info["token"]) >= 32
    assert info["protocol"] == 1 and info["pid"] == os.getpid()
    assert served.server.host == "127.0.0.1"
    assert served.server.token not in repr(served.server)
    assert served.server._thread.daemon


def test_token_file_mode_ignores_a_permissive_umask(session, small_dataset):
    old = os.umask(0)
    try:
        server = serve(serving_cli=True, session=session)
    finally:
        os.umask(old)
    try:
        assert stat.S_IMODE(os.stat(server.token_file).st_mode) == 0o600
    finally:
        server.stop()


def test_stop_frees_the_port_and_removes_the_token_file(served):
    port, path = served.server.port, served.server.token_file
    assert port_open(port)
    served.server.stop()
    served.server.stop()  # twice is fine
    assert not served.server.running
    assert not port_open(port)
    assert not path.exists()
    with pytest.raises(BackendError, match="no console backend listens"):
        Client(port, served.server.token).call("status")


def test_each_server_has_its_own_token(make_session):
    a, b = make_session("a"), make_session("b")
    sa, sb = serve(serving_cli=True, session=a), serve(serving_cli=True, session=b)
    try:
        assert sa.token != sb.token and sa.port != sb.port
        assert serve(serving_cli=True, session=a) is sa  # already serving: the same server
        assert raw(sa, {"command": "status"}, token=sb.token)[0] == 401
    finally:
        stop_serving()
    assert not sa.running and not sb.running


def test_serve_arguments(session):
    with pytest.raises(NotImplementedError) as exc:
        serve(serving_grpc=True, session=session)
    assert "serving_cli=True" in str(exc.value) and str(exc.value) == GRPC_UNAVAILABLE
    with pytest.raises(NotImplementedError):
        serve(serving_cli=True, serving_grpc=True, session=session)
    with pytest.raises(ValueError, match="host"):
        serve(session=session, host="")
    with pytest.raises(ValueError, match="host"):
        serve(session=session, host="127.0.0.1 evil")
    with pytest.raises(TypeError, match="grpc_port"):
        serve(serving_cli=True, session=session, grpc_port=50051)
    with pytest.raises(TypeError, match="serving_cli"):
        serve(serving_cli="yes", session=session)
    with pytest.raises(ValueError, match="port"):
        serve(serving_cli=True, session=session, port=70000)
    assert not (session.root_log_dir / "serving.json").exists()  # nothing was started


def test_serve_defaults_to_the_current_session(session):
    server = wl.serve(serving_cli=True)  # the facade: the current session
    try:
        assert server.session is session
    finally:
        server.stop()


def test_import_starts_nothing():
    code = ("import threading, weightslab_nb, weightslab_nb.serving, weightslab_nb.cli; "
            "assert threading.active_count() == 1, threading.enumerate()")
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr


# ---------------------------------------------------------------- keep_serving
def test_keep_serving_timeout_stops_the_services(served):
    port = served.server.port
    started = time.monotonic()
    assert keep_serving(timeout=0.5, session=served.session) == "timeout"
    assert 0.4 <= time.monotonic() - started < 10
    assert not served.server.running
    assert not port_open(port)
    assert not served.server.token_file.exists()


def test_keep_serving_returns_on_keyboard_interrupt(served, monkeypatch):
    def interrupted(cond, timeout):
        raise KeyboardInterrupt

    monkeypatch.setattr(backend_module, "_wait", interrupted)
    assert keep_serving(session=served.session) == "interrupted"
    assert not served.server.running and not port_open(served.server.port)


def test_keep_serving_returns_when_stopped_elsewhere(served, monkeypatch):
    entered = threading.Event()
    real_wait = backend_module._wait

    def wait(cond, timeout):
        entered.set()  # keep_serving is waiting (it holds the condition until cond.wait)
        real_wait(cond, timeout)

    monkeypatch.setattr(backend_module, "_wait", wait)
    result = []
    waiter = threading.Thread(target=lambda: result.append(keep_serving(timeout=60)),
                              daemon=True)
    waiter.start()
    assert entered.wait(30)
    served.server.stop()
    waiter.join(30)
    assert not waiter.is_alive() and result == ["stopped"]


def test_keep_serving_rejects_a_bad_timeout():
    with pytest.raises(ValueError, match="timeout"):
        keep_serving(timeout=-1)


# ---------------------------------------------------------------- commands change the session
def test_status(served):
    result = served.client.call("status")
    assert result["state"] == "idle" and result["step"] == 0
    assert result["samples"] == 20 and result["active"] == 20
    assert result["root_log_dir"] == str(served.session.root_log_dir)
    assert result["loaders"] == ["train_loader"]
    assert result["experiment_hash"] == served.session.get_current_experiment_hash()


def test_pause_and_resume_set_the_gate(served):
    result = served.client.call("pause")
    assert served.session.controller.pause_requested and result["pause_requested"]
    result = served.client.call("resume")
    assert not served.session.controller.pause_requested and not result["pause_requested"]


def test_tag_add_and_remove(served):
    s = served.session
    result = served.client.call("tag_add", tag="hard", ids=[1, 2, 3])
    assert result == {"tag": "hard", "mode": "add", "count": 3, "tagged": 3}
    assert s.get_samples_by_tag("hard") == [1, 2, 3]
    served.client.call("tag_remove", tag="hard", ids=[2])
    assert s.get_samples_by_tag("hard") == [1, 3]
    assert served.client.call("tags") == s.tag_summary()


def test_categorical_set_and_clear(served):
    s = served.session
    served.client.call("cat_set", tag="weather", value="rainy", ids=[4, 5])
    served.client.call("cat_set", tag="weather", value="sunny", ids=[6])
    assert s.get_samples_by_tag("weather=rainy") == [4, 5]
    result = served.client.call("cat_set", tag="weather", value=None, ids=[5])
    assert result["counts"] == {"rainy": 1, "sunny": 1}
    assert s.get_samples_by_tag("weather=rainy") == [4]


def test_discard_and_restore(served):
    s = served.session
    result = served.client.call("discard", ids=[1, 2])
    assert result["active"] == 18 and s.get_discarded_samples() == [1, 2]
    served.client.call("restore", ids=[1])
    assert s.get_discarded_samples() == [2] and s.counts() == (20, 19)


def test_hp_get_and_set(served):
    before = served.session.get_current_experiment_hash()
    assert served.client.call("hp_get", path="optimizer.lr") == {"path": "optimizer.lr",
                                                                  "value": 0.01, "pending": []}
    assert served.client.call("hp_get")["value"] == served.hp.to_dict()
    result = served.client.call("hp_set", path="optimizer.lr", value=0.001)
    assert result["value"] == 0.001 and result["previous"] == 0.01 and result["applied"]
    assert served.hp.get_path("optimizer.lr") == 0.001
    assert served.session.get_current_experiment_hash() != before


def test_hp_errors_change_nothing(served):
    """A malformed path is a bad request (400); a well-formed one the handle refuses is 422."""
    before = observable(served.session)
    for args, kind, status, error_kind, start in [
            ({"path": "optimizer.nope"}, "hp_get", 422, "UnknownNameError",
             "path: no hyperparameter at 'optimizer.nope'"),
            ({"path": "optimizer..lr"}, "hp_get", 400, "bad_request",
             "path: expected a dotted path"),
            ({"path": "optimizer.lr.x", "value": 1}, "hp_set", 422, "InvalidTypeError",
             "hyperparameter 'optimizer.lr.x': 'optimizer.lr' is a float"),   # through a float
            ({"path": "optimizer.lr", "value": 1, "name": "other"}, "hp_set", 422, "UnknownNameError",
             "name: no hyperparameters named 'other'")]:
        with pytest.raises(BackendError) as exc:
            served.client.call(kind, **args)
        reply = exc.value.reply
        assert (exc.value.status, reply["http_status"], reply["kind"]) == \
            (status, status, error_kind), reply
        assert reply["error"].startswith(start), reply
    assert observable(served.session) == before


def test_hp_set_is_validated_by_the_handle(served):
    """A value of the wrong type, or a key the code never declared: the handle decides (a
    typed handle refuses both from the console); a refusal changes nothing."""
    for path, value in [("optimizer.lr", "fast"), ("optimizer.nesterov", True)]:
        before = observable(served.session)
        reply = served.client.request("hp_set", {"path": path, "value": value})
        assert reply["ok"] is False and reply["http_status"] == 422, reply
        assert path in reply["error"], reply
        assert observable(served.session) == before


class QueuingHandle:
    """A handle with the typed request API: requests from the console wait for the training
    thread's batch boundary (as while a run is in progress)."""

    def __init__(self):
        self.applied = {"optimizer": {"lr": 0.1}}
        self.requests = []

    def get_path(self, path, default=None):
        node = self.applied
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node

    def to_dict(self):
        return json.loads(json.dumps(self.applied))

    def request(self, path, value, source="code"):
        if self.get_path(path, KeyError) is KeyError:
            raise KeyError(f"{path}: new keys come from code, not from the {source}")
        self.requests.append((path, value, source))
        return False

    def pending(self):
        return [{"key": p, "value": v, "source": s} for p, v, s in self.requests]

    def __iter__(self):
        return iter(self.applied)


def test_hp_set_uses_the_handles_request_api(session, capsys):
    from weightslab_nb.serving.client import render

    handle = QueuingHandle()
    session.registry.add("hyperparameters", "hp", handle)
    with serve(serving_cli=True, session=session) as server:
        client = Client(server.port, server.token)
        result = client.call("hp_set", path="optimizer.lr", value=0.01)
        assert handle.requests == [("optimizer.lr", 0.01, "cli")]
        assert result["applied"] is False and result["value"] == 0.1
        assert "requested" in render("hp_set", result)
        got = client.call("hp_get", path="optimizer.lr")
        assert got["value"] == 0.1 and got["pending"][0]["value"] == 0.01
        assert "applies at the next batch boundary" in render("hp_get", got)
        with pytest.raises(BackendError, match="new keys come from code") as exc:
            client.call("hp_set", path="optimizer.nesterov", value=True)
        assert exc.value.status == 422 and len(handle.requests) == 1


def test_hp_without_watched_hyperparameters(session, small_dataset):
    session.watch_or_edit(small_dataset, flag="data", loader_name="train_loader")
    with serve(serving_cli=True, session=session) as server:
        with pytest.raises(BackendError, match="no hyperparameters are watched"):
            Client(server.port, server.token).call("hp_get", path="optimizer.lr")


def test_export_history(served, tmp_path):
    s = served.session
    s.save_signals({"loss": [0.5, 0.25, 0.125, 1.0]}, batch_ids=[0, 1, 2, 3])
    target = tmp_path / "exports" / "history.csv"
    result = served.client.call("export_history", path=str(target), format="csv")
    assert result["path"] == str(target) and target.is_file()
    assert "loss" in target.read_text()
    with pytest.raises(BackendError, match="absolute path") as exc:
        served.client.call("export_history", path="relative.csv", format="csv")
    assert exc.value.status == 400
    with pytest.raises(BackendError, match="format") as exc:
        served.client.call("export_history", path=str(tmp_path / "x.csv"), format="xlsx")
    assert exc.value.status == 422 and not (tmp_path / "x.csv").exists()


def test_evaluate_queues_an_evaluation_and_can_wait_for_its_result(served):
    """Asked while the training thread is inside step 2, the evaluation waits for the thread's
    next boundary: the reply says "pending". It then runs at step 2, and a second one, asked
    with ``wait``, runs while training is held there and answers once done."""
    session = served.session
    session.watch_or_edit(torch.nn.Linear(4, 3), flag="model")
    session.watch_or_edit(torch.nn.CrossEntropyLoss(reduction="none"), flag="loss",
                          signal_name="loss", per_sample=True)
    session.tag_samples([0, 1, 2], "hard")
    inside, release = threading.Event(), threading.Event()

    def loop():
        for _ in range(1000):
            for _, _, ids in served.loader:
                if session.controller.step == 2:
                    inside.set()
                    assert release.wait(30)

    handle = session.start_training(loop)
    assert inside.wait(30)
    queued = served.client.call("evaluate", loader="train_loader", tags=["hard"])
    assert {k: queued[k] for k in ("loader_name", "tags", "state", "step", "progress")} == {
        "loader_name": "train_loader", "tags": ["hard"], "state": "pending", "step": None,
        "progress": [0, 0]}
    assert [r.id for r in session.evaluation.queued()] == [queued["id"]]
    release.set()
    waited = served.client.call("evaluate", loader="train_loader", wait=30)
    assert waited["state"] == "done" and waited["id"] == queued["id"] + 1
    assert waited["summary"].startswith("[WeightsLab] Evaluation 'train_loader' @ step 2 — loss=")
    assert set(waited["result"]) == {"loss"} and waited["progress"] == [5, 5]  # 20 samples / 4
    first = session.evaluation.history[0]
    assert (first.id, first.state, first.tags, first.step) == (queued["id"], "done", ("hard",), 2)
    assert [(m["step"], m["count"]) for m in session.history.markers()] == [(2, 3), (2, 20)]
    assert handle.state == "paused" and handle.step == 2  # training stays paused after them
    last = served.client.call("status")["evaluation"]["last"]
    assert last["id"] == waited["id"] and last["summary"] == waited["summary"]
    assert handle.stop(30)


@pytest.mark.parametrize("command, state, pausing, line", [
    ("pause", "running", True, "pausing at the next batch boundary (step 7)"),
    ("pause", "paused", True, "paused at step 7"),
    ("resume", "running", False, "running (step 7)"),  # a pending pause cancelled, or woken
    ("resume", "paused", False, "resuming from step 7"),  # the thread has not woken yet
    ("pause", "idle", True, "idle at step 7 (pause requested: the next run starts paused)"),
    ("resume", "stopped", False, "stopped at step 7"),
])
def test_pause_and_resume_replies_name_the_transition_under_way(command, state, pausing, line):
    from weightslab_nb.serving.client import render

    assert render(command, {"state": state, "step": 7, "pause_requested": pausing}) == line


@pytest.mark.parametrize("wait", [0, -1, 1e9, "soon", True])
def test_evaluate_refuses_a_bad_wait(served, wait):
    before = observable(served.session)
    status, reply = raw(served.server, {"command": "evaluate",
                                        "args": {"loader": "train_loader", "wait": wait}})
    assert status == 400 and reply["error"].startswith("wait: expected a number of seconds")
    assert observable(served.session) == before and served.session.evaluation.queued() == []


def test_commands_lists_the_table(served):
    assert set(served.client.call("commands")) == set(COMMANDS)


def test_concurrent_requests(served):
    errors = []

    def tag(i):
        try:
            served.client.call("tag_add", tag=f"t{i % 4}", ids=[i])
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=tag, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert served.session.tag_summary()["boolean"] == {"t0": 4, "t1": 4, "t2": 4, "t3": 4}


# ---------------------------------------------------------------- refusals change nothing
@pytest.mark.parametrize("token", [None, "", "wrong-token", "x" * 43])
def test_wrong_token_is_refused(served, token):
    before = observable(served.session)
    status, reply = raw(served.server, {"command": "tag_add",
                                        "args": {"tag": "bad", "ids": [1]}}, token=token)
    assert status == 401 and reply["ok"] is False and reply["kind"] == "unauthorized"
    status, _ = raw(served.server, {"command": "discard", "args": {"ids": [1]}}, token=token)
    assert status == 401
    assert observable(served.session) == before


def test_wrong_scheme_is_refused(served):
    status, _ = raw(served.server, {"command": "pause"}, token=None,
                    headers={"Authorization": served.server.token})
    assert status == 401
    assert not served.session.controller.pause_requested


BAD_REQUESTS = [
    b"{not json",
    b"\xff\xfe",
    b"[]",
    b'"status"',
    json.dumps({"args": {}}).encode(),
    json.dumps({"command": "rm -rf"}).encode(),
    json.dumps({"command": 5}).encode(),
    json.dumps({"command": "status", "extra": 1}).encode(),
    json.dumps({"command": "status", "args": []}).encode(),
    json.dumps({"command": "status", "args": {"x": 1}}).encode(),
    json.dumps({"command": "tag_add", "args": {"tag": "t"}}).encode(),
    json.dumps({"command": "tag_add", "args": {"tag": "t", "ids": "1,2"}}).encode(),
    json.dumps({"command": "tag_add", "args": {"tag": "t", "ids": []}}).encode(),
    json.dumps({"command": "tag_add", "args": {"tag": "t", "ids": [1, True]}}).encode(),
    json.dumps({"command": "tag_add", "args": {"tag": "t", "ids": [1.5]}}).encode(),
    json.dumps({"command": "tag_add", "args": {"tag": 3, "ids": [1]}}).encode(),
    json.dumps({"command": "tag_add", "args": {"tag": " spaced ", "ids": [1]}}).encode(),
    json.dumps({"command": "tag_add", "args": {"tag": "k=v", "ids": [1]}}).encode(),
    json.dumps({"command": "cat_set", "args": {"tag": "w", "value": "a\nb", "ids": [1]}}).encode(),
    json.dumps({"command": "evaluate", "args": {"loader": "train_loader",
                                                "tags": ["tag:hard"]}}).encode(),
    json.dumps({"command": "discard", "args": {"ids": [[1]]}}).encode(),
    json.dumps({"command": "cat_set", "args": {"tag": "w", "value": 3, "ids": [1]}}).encode(),
    json.dumps({"command": "evaluate", "args": {"loader": "train_loader",
                                                "tags": "hard"}}).encode(),
    json.dumps({"command": "evaluate", "args": {"loader": "train_loader",
                                                "resume": "yes"}}).encode(),
    json.dumps({"command": "hp_set", "args": {"path": "optimizer.lr"}}).encode(),
    json.dumps({"command": "hp_set", "args": {"path": 1, "value": 1}}).encode(),
    b'{"command": "hp_set", "args": {"path": "optimizer.lr", "value": NaN}}',
    json.dumps({"command": "export_history", "args": {"format": None}}).encode(),
]


@pytest.mark.parametrize("body", BAD_REQUESTS)
def test_malformed_requests_are_refused(served, body):
    before = observable(served.session)
    status, reply = raw(served.server, body)
    assert status == 400, reply
    assert reply["ok"] is False and reply["kind"] == "bad_request" and reply["error"]
    assert observable(served.session) == before


def test_unknown_command_lists_the_known_ones(served):
    status, reply = raw(served.server, {"command": "shutdown"})
    assert status == 400 and "unknown command" in reply["error"] and "tag_add" in reply["error"]


@pytest.mark.parametrize("command,args,message", [
    ("tag_add", {"tag": "hard", "ids": [1, 999]}, "unknown sample id"),
    ("tag_remove", {"tag": "never", "ids": [1]}, "no boolean tag"),
    ("cat_set", {"tag": "weather", "value": "rainy", "ids": ["nope"]}, "unknown sample id"),
    ("discard", {"ids": [3, -1]}, "unknown sample id"),
    ("restore", {"ids": [12345]}, "unknown sample id"),
    ("evaluate", {"loader": "train_loader", "tags": ["never"]}, "tags"),
    ("evaluate", {"loader": "val_loader"}, "loader: no watched loader or origin 'val_loader'"),
])
def test_session_refusals_change_nothing(served, command, args, message):
    before = observable(served.session)
    status, reply = raw(served.server, {"command": command, "args": args})
    assert status == 422, reply
    assert reply["ok"] is False and message in reply["error"]
    assert observable(served.session) == before


def test_oversized_body_is_refused(session):
    with serve(serving_cli=True, session=session, max_body=4096) as server:
        ids = list(range(2000))
        status, reply = raw(server, {"command": "discard", "args": {"ids": ids}})
        assert status == 413 and reply["kind"] == "too_large"
    assert session.get_discarded_samples(None) == []


def test_other_paths_methods_and_hosts(served):
    assert raw(served.server, {"command": "status"}, path="/")[0] == 404
    assert raw(served.server, None, method="GET")[0] == 405
    status, reply = raw(served.server, {"command": "status"}, headers={"Host": "evil.example"})
    assert status == 403 and not reply["ok"]
    status, _ = raw(served.server, {"command": "status"},
                    headers={"Host": f"localhost:{served.server.port}"})
    assert status == 200


def test_missing_content_length_is_refused(served):
    with socket.create_connection(("127.0.0.1", served.server.port), timeout=30) as sock:
        sock.sendall(f"POST /v1/command HTTP/1.0\r\nHost: 127.0.0.1:{served.server.port}\r\n"
                     f"Authorization: Bearer {served.server.token}\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.0 411")


# ---------------------------------------------------------------- every failure answers JSON
def exchange(server: CommandServer, data: bytes, close_write: bool = False) -> tuple[int, dict,
                                                                                    dict]:
    """Send raw bytes on one connection (half-close it with ``close_write``), read until the
    server closes it; return (status, headers, decoded JSON body)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(data)
        if close_write:
            sock.shutdown(socket.SHUT_WR)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in header_lines)
    return int(status_line.split()[1]), headers, json.loads(body)


def request_bytes(server: CommandServer, body: bytes = b'{"command": "status"}',
                  headers: dict | None = None, length: str | None = "auto",
                  start: str = "POST /v1/command HTTP/1.0") -> bytes:
    """A hand-made request: ``length`` None sends no Content-Length, "auto" the right one."""
    lines = [start, f"Host: 127.0.0.1:{server.port}", f"Authorization: Bearer {server.token}"]
    if length is not None:
        lines.append(f"Content-Length: {len(body) if length == 'auto' else length}")
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def nested(depth: int) -> bytes:
    """A pause request whose ``args`` holds a list nested so that the body is ``depth`` deep."""
    inner = depth - 2  # the request object and args
    return (b'{"command": "pause", "args": {"x": ' + b"[" * inner + b"]" * inner + b"}}")


@pytest.fixture
def quick(session, small_dataset):
    """A served session whose clients have 0.5 s to send a request."""
    session.watch_or_edit({"epochs": 3}, flag="hp")
    server = serve(serving_cli=True, session=session, request_timeout=0.5)
    yield server
    server.stop()


def test_a_100000_deep_body_is_refused_in_json_naming_the_limit(served):
    from weightslab_nb.serving.backend import MAX_JSON_DEPTH

    before = observable(served.session)
    body = b'{"command": "hp_set", "args": {"path": "epochs", "value": ' + \
        b"[" * 100_000 + b"]" * 100_000 + b"}}"
    status, headers, reply = exchange(served.server, request_bytes(served.server, body))
    assert status == 400 and headers["Content-Type"] == "application/json; charset=utf-8"
    assert reply == {"ok": False, "kind": "bad_request",
                     "error": f"request: JSON nested deeper than {MAX_JSON_DEPTH} levels (the "
                              "limit MAX_JSON_DEPTH)"}
    assert observable(served.session) == before
    assert served.client.call("status")["state"]  # the server still answers


def test_json_at_the_depth_limit_is_parsed_and_one_deeper_is_not(served):
    from weightslab_nb.serving.backend import MAX_JSON_DEPTH

    status, _, reply = exchange(served.server, request_bytes(served.server,
                                                             nested(MAX_JSON_DEPTH)))
    assert status == 400 and "unexpected" in reply["error"] and "MAX_JSON_DEPTH" not in \
        reply["error"]  # parsed; the command table refuses the argument
    status, _, reply = exchange(served.server, request_bytes(served.server,
                                                             nested(MAX_JSON_DEPTH + 1)))
    assert status == 400 and "MAX_JSON_DEPTH" in reply["error"]
    assert not served.session.controller.pause_requested


def test_a_body_shorter_than_its_content_length_gets_a_json_408(quick):
    data = request_bytes(quick, b'{"command": "pause"}', length="100")  # 20 of 100 bytes
    status, headers, reply = exchange(quick, data)  # the connection stays open: it waits
    assert status == 408 and headers["Content-Type"] == "application/json; charset=utf-8"
    assert reply == {"ok": False, "kind": "timeout",
                     "error": "the request body (100 bytes, its Content-Length) did not arrive "
                              "within 0.5 s (request_timeout)"}
    assert not quick.session.controller.pause_requested


def test_a_body_cut_short_by_the_client_gets_a_json_400(quick):
    data = request_bytes(quick, b'{"command": "pause"}', length="100")
    status, _, reply = exchange(quick, data, close_write=True)
    assert (status, reply) == (400, {"ok": False, "kind": "bad_request",
                                     "error": "request body: 20 bytes, shorter than its "
                                              "Content-Length (100)"})
    assert not quick.session.controller.pause_requested


@pytest.mark.parametrize("data", [b"", b"POST /v1/command HTTP/1.0\r\nHost: 127.0."],
                         ids=["nothing", "half-headers"])
def test_a_request_that_stalls_gets_a_json_408(quick, data):
    status, _, reply = exchange(quick, data)
    assert (status, reply) == (408, {"ok": False, "kind": "timeout",
                                     "error": "the request did not arrive within 0.5 s "
                                              "(request_timeout)"})


NOT_A_LENGTH = "Content-Length: expected a number of bytes (up to 18 digits), got "
TOO_LARGE = "request body of 2000000 bytes is larger than the 1048576 allowed"


@pytest.mark.parametrize("length, status, kind, error", [
    ("abc", 400, "bad_request", NOT_A_LENGTH + "'abc'"),
    ("1_9", 400, "bad_request", NOT_A_LENGTH + "'1_9'"),
    ("-1", 400, "bad_request", NOT_A_LENGTH + "'-1'"),
    ("99999999999999999999", 400, "bad_request", NOT_A_LENGTH + "'99999999999999999999'"),
    ("2000000", 413, "too_large", TOO_LARGE),
], ids=["letters", "underscore", "negative", "20-digits", "too-large"])
def test_a_bad_content_length_gets_a_json_error(served, length, status, kind, error):
    got = exchange(served.server, request_bytes(served.server, b"", length=length))
    assert (got[0], got[2]) == (status, {"ok": False, "kind": kind, "error": error})


def test_conflicting_content_lengths_and_chunked_bodies_are_refused_in_json(served):
    body = b'{"command": "pause"}'
    status, _, reply = exchange(served.server, request_bytes(
        served.server, body, headers={"Content-Length": "3"}))
    assert (status, reply) == (400, {"ok": False, "kind": "bad_request",
                                     "error": "Content-Length: several different values "
                                              "['20', '3']"})
    status, _, reply = exchange(served.server, request_bytes(
        served.server, b"", length=None, headers={"Transfer-Encoding": "chunked"}))
    assert (status, reply["kind"]) == (501, "not_implemented")
    assert "Transfer-Encoding" in reply["error"]
    assert not served.session.controller.pause_requested


@pytest.mark.parametrize("body, error", [
    (b"null", "request: expected a JSON object, got NoneType"),
    (b"5", "request: expected a JSON object, got int"),
    (b"[]", "request: expected a JSON object, got list"),
    (b"1" * 5000, ("request: not valid JSON (Exceeds the limit (4300 digits) for integer "
                   "string conversion: value has 5000 digits; use sys.set_int_max_str_digits() "
                   "to increase the limit)")),
], ids=["null", "number", "array", "5000-digit-int"])
def test_a_body_that_is_not_a_request_object_gets_a_json_400(served, body, error):
    got = exchange(served.server, request_bytes(served.server, body))
    assert (got[0], got[2]) == (400, {"ok": False, "kind": "bad_request", "error": error})


@pytest.mark.parametrize("start, status, kind", [
    ("hello", 400, "bad_request"),
    ("POST /v1/command HTTP/x", 400, "bad_request"),
    ("POST /v1/command HTTP/2.0", 505, "http_version_not_supported"),
    ("FOO /v1/command HTTP/1.0", 405, "method_not_allowed"),
], ids=["no-method", "bad-version", "http2", "unknown-method"])
def test_a_bad_request_line_gets_a_json_error(served, start, status, kind):
    got_status, headers, reply = exchange(served.server, request_bytes(served.server,
                                                                       start=start))
    assert (got_status, reply["ok"], reply["kind"]) == (status, False, kind)
    assert headers["Content-Type"] == "application/json; charset=utf-8" and reply["error"]


def test_an_overlong_request_line_or_header_gets_a_json_error(served):
    line = b"POST /" + b"a" * (65537 - len(b"POST / HTTP/1.0\r\n")) + b" HTTP/1.0\r\n"
    assert len(line) == 65537  # read whole, so the server closes with nothing left unread
    status, _, reply = exchange(served.server, line)
    assert (status, reply) == (414, {"ok": False, "kind": "too_large",
                                     "error": "request line: longer than 65536 bytes"})
    header = b"X-Long: " + b"a" * (65537 - len(b"X-Long: \r\n")) + b"\r\n"
    status, _, reply = exchange(served.server, b"POST /v1/command HTTP/1.0\r\n" + header)
    assert (status, reply["kind"]) == (431, "too_large") and "Line too long" in reply["error"]
    many = b"".join(b"X-%d: 1\r\n" % i for i in range(101))
    status, _, reply = exchange(served.server, b"POST /v1/command HTTP/1.0\r\n" + many)
    assert (status, reply["kind"]) == (431, "too_large") and "100 headers" in reply["error"]


def test_a_result_that_cannot_be_serialised_gets_a_json_500(served, monkeypatch):
    from weightslab_nb.serving import backend

    loop: list = []
    loop.append(loop)
    monkeypatch.setattr(backend, "execute", lambda session, payload: loop)
    status, _, reply = exchange(served.server, request_bytes(served.server))
    assert (status, reply["kind"]) == (500, "internal")
    assert reply["error"] == ("internal error: reply not serialisable (Circular reference "
                              "detected)")


def test_a_bad_request_timeout_is_refused(session):
    for bad, error in ((0, InvalidValueError), (-1.0, InvalidValueError),
                       (float("nan"), InvalidValueError), ("5", InvalidTypeError),
                       (True, InvalidTypeError)):
        with pytest.raises(error, match="^request_timeout:"):
            serve(serving_cli=True, session=session, request_timeout=bad)
    assert not (session.root_log_dir / "serving.json").exists()


def test_generated_tokens_never_start_with_a_dash():
    from weightslab_nb.serving.backend import new_token

    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    tokens = [new_token() for _ in range(2000)]  # a dash would come first ~31 times in 2000
    assert not [t for t in tokens if t.startswith("-")]
    assert all(len(t) == 43 and set(t) <= set(alphabet) for t in tokens)
    assert len(set(tokens)) == 2000
