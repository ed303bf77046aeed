"""Panels attached to a run in another process: real panels hosted by a real backend
(:class:`CommandServer` over loopback HTTP), mirrored by widgets that talk to it through a real
:class:`PanelLink`. The "other process" is this one: the server and the mirrors share a Session
only so that the tests can compare a mirror with an in-kernel panel of the same session.
Waits use conditions on trait changes and the relay's own flush, never sleeps."""

from __future__ import annotations

import http.client
import json
import threading
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from weightslab_nb.demo import digits_mlp, train_digits
from weightslab_nb.panels.controls import TrainingControls
from weightslab_nb.panels.curves import LossCurves
from weightslab_nb.panels.grid import SampleGrid
from weightslab_nb.serving import BackendError, CommandServer
from weightslab_nb.serving.attached_panels import (AttachedPanel, attached_dashboard,
                                                   attached_panel, kind_of)
from weightslab_nb.serving.client import read_token_file
from weightslab_nb.serving.frames import decode_frames, encode_frames
from weightslab_nb.serving.panel_host import PanelHost, relayed_traits
from weightslab_nb.serving.panel_link import PanelLink

from tests.panel_capture import Capture, ask

FAST_RETRY = (0.05, 0.2)


@pytest.fixture
def run(session, digits):
    """The training side: digits, an MLP, a per-sample loss, 4 steps recorded."""
    loader = session.watch_or_edit(digits, flag="data", loader_name="train_loader",
                                   batch_size=64, shuffle=False)
    model = digits_mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loss = session.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss",
                                 name="train-loss", per_sample=True)
    train_digits(loader, model, opt, loss, max_steps=4)
    return SimpleNamespace(session=session, train=lambda steps: train_digits(
        loader, model, opt, loss, max_steps=steps))


@pytest.fixture
def trained(run):
    return run.session


@pytest.fixture
def server(trained):
    srv = CommandServer(trained, panel_lease=30).start()
    yield srv
    srv.stop()


@pytest.fixture
def mirrors():
    made = []
    yield made
    for m in made:
        m.close()


def wait_for(widget, predicate, timeout: float = 10.0) -> bool:
    """Wait until ``predicate()`` holds, re-checked at each trait change of ``widget``."""
    cond = threading.Condition()

    def changed(_change):
        with cond:
            cond.notify_all()

    widget.observe(changed)
    try:
        with cond:
            return cond.wait_for(predicate, timeout)
    finally:
        widget.unobserve(changed)


def mirror(made, link, kind, **kwargs):
    m = attached_panel(link, kind, retry=FAST_RETRY, **kwargs)
    made.append(m)
    assert m.flush(10), f"the {kind} mirror did not attach"
    return m


def traits_of(panel) -> dict:
    return {name: getattr(panel, name) for name in relayed_traits(type(panel))}


def test_mirrors_are_the_real_panel_classes_and_follow_the_hosted_panels(trained, server,
                                                                         mirrors):
    link = PanelLink.from_dir(trained.root_log_dir)
    grid = mirror(mirrors, link, "grid", page_size=24)
    controls = mirror(mirrors, link, "controls")
    assert isinstance(grid, SampleGrid) and isinstance(grid, AttachedPanel)
    assert isinstance(controls, TrainingControls)
    local_grid, local_controls = SampleGrid(trained, page_size=24), TrainingControls(trained)
    try:
        assert grid._esm == local_grid._esm and controls._css == local_controls._css
        assert local_grid.flush() and local_controls.flush()
        assert (grid.total, grid.active, grid.page_size) == (1797, 1797, 24)
        assert traits_of(grid) == traits_of(local_grid)
        shown = {k: v for k, v in traits_of(controls).items() if k != "steps_per_second"}
        assert shown == {k: v for k, v in traits_of(local_controls).items()
                         if k != "steps_per_second"}
        assert controls.step == trained.controller.step > 0

        trained.discard_samples([3, 4])  # the session changes: the mirror follows
        trained.controller.pause()
        assert grid.flush() and controls.flush()
        assert grid.active == 1795 and controls.pause_requested is True
    finally:
        local_grid.close()
        local_controls.close()


def test_a_grid_page_asked_through_the_mirror_carries_the_same_thumbnails(trained, server,
                                                                        mirrors):
    grid = mirror(mirrors, PanelLink.from_dir(trained.root_log_dir), "grid")
    local = SampleGrid(trained)
    try:
        remote_reply, remote_buffers = ask(grid, Capture(grid), 1, type="page", offset=0,
                                           limit=12)
        local_reply, local_buffers = ask(local, Capture(local), 1, type="page", offset=0,
                                         limit=12)
    finally:
        local.close()
    assert remote_reply["ok"] is True and remote_reply["type"] == "page"
    assert remote_reply["rows"] == local_reply["rows"]
    assert len(remote_buffers) == len(local_buffers) == 12 + 3
    assert [bytes(b) for b in remote_buffers] == [bytes(b) for b in local_buffers]
    assert bytes(remote_buffers[0])[:8] == b"\x89PNG\r\n\x1a\n"


def test_actions_from_mirrors_change_the_training_session(trained, server, mirrors):
    link = PanelLink.from_dir(trained.root_log_dir)
    grid = mirror(mirrors, link, "grid")
    tags = mirror(mirrors, link, "tags")
    cap = Capture(tags)
    reply = ask(tags, cap, 1, type="create_tag", name="hard")[0]
    assert reply["ok"] is True, reply
    gcap = Capture(grid)
    reply = ask(grid, gcap, 2, type="action", action="add_tag", sample_ids=[1, 2], tag="hard")[0]
    assert reply["ok"] is True and reply["count"] == 2
    reply = ask(grid, gcap, 3, type="action", action="discard", sample_ids=[7])[0]
    assert reply["ok"] is True
    assert trained.get_samples_by_tag("hard") == [1, 2]
    assert trained.get_discarded_samples() == [7]
    assert tags.flush() and tags.summary["boolean"]["hard"] == 2

    bad = ask(grid, gcap, 4, type="action", action="explode", sample_ids=[1])[0]
    assert bad["ok"] is False and "action" in bad["message"]  # the twin's own validation
    assert trained.get_discarded_samples() == [7]


def test_curves_stream_points_to_the_mirror_after_its_snapshot(run, trained, server, mirrors):
    curves = mirror(mirrors, PanelLink.from_dir(trained.root_log_dir), "curves")
    local = LossCurves(trained)
    try:
        cap = Capture(curves)
        snap, buffers = ask(curves, cap, 1, type="sync")
        want, want_buffers = ask(local, Capture(local), 1, type="sync")
    finally:
        local.close()
    assert snap["type"] == "snapshot" and snap["ok"] is True
    assert snap["series"] == want["series"] and snap["total_points"] == want["total_points"] > 0
    assert [bytes(b) for b in buffers] == [bytes(b) for b in want_buffers]

    run.train(2)  # training goes on: the twin streams the new points, the mirror relays them
    points, point_buffers = cap.wait_for(lambda m: m.get("type") == "points", 10)
    assert points["signal"] == "train-loss" and points["n"] >= 1 and point_buffers


def test_requests_without_the_right_token_create_and_change_nothing(trained, server, mirrors):
    link = PanelLink.from_dir(trained.root_log_dir)
    grid = mirror(mirrors, link, "grid")
    before = server.panels.count
    panel_id = grid._panel_id

    def post(path, header, token, host=None):
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        if host is not None:
            headers["Host"] = host
        try:
            conn.request("POST", path, body=encode_frames(header), headers=headers)
            response = conn.getresponse()
            return response.status, json.loads(response.read())
        finally:
            conn.close()

    for token in (None, "", "wrong", server.token + "x", server.token[:-1]):
        status, reply = post("/v1/panels/create", {"kind": "tags"}, token)
        assert status == 401 and reply["kind"] == "unauthorized"
        status, _ = post("/v1/panels/message", {
            "panel": panel_id, "content": {"type": "action", "action": "add_tag", "req": 1,
                                           "sample_ids": [1], "tag": "x", "create": True}},
                         token)
        assert status == 401
        status, _ = post("/v1/panels/close", {"panel": panel_id}, token)
        assert status == 401
    status, reply = post("/v1/panels/create", {"kind": "tags"}, server.token, "evil.example:80")
    assert status == 403 and reply["kind"] == "forbidden"  # a rebinding page: refused too
    assert server.panels.count == before
    assert "x" not in trained.tag_summary()["boolean"] and grid.connected
    with pytest.raises(BackendError) as info:
        PanelLink(server.port, "wrong").create_panel("tags")
    assert info.value.status == 401 and server.panels.count == before


def test_a_stopped_server_shows_disconnected_and_a_new_one_is_found_again(trained, server,
                                                                         mirrors):
    grid = mirror(mirrors, trained.root_log_dir, "grid")  # made from the run directory
    first = read_token_file(trained.root_log_dir)
    server.stop()
    assert wait_for(grid, lambda: "disconnected from http://127.0.0.1:" in grid.error)
    assert "retrying" in grid.error and not grid.connected
    cap = Capture(grid)
    reply = ask(grid, cap, 1, type="page", offset=0, limit=4)[0]  # answered at once, locally
    assert reply["ok"] is False and "disconnected" in reply["message"]

    trained.discard_samples([0])  # changed while nobody served it
    restarted = CommandServer(trained).start()  # a new port and a new token
    try:
        second = read_token_file(trained.root_log_dir)
        assert (second["port"], second["token"]) != (first["port"], first["token"])
        assert wait_for(grid, lambda: grid.error == "" and grid.connected)
        assert grid.attachments == 2 and restarted.panels.count == 1
        assert grid.flush() and grid.active == 1796  # resynced
        reply, buffers = ask(grid, cap, 2, type="page", offset=0, limit=4)
        assert reply["ok"] is True and len(buffers) == 4 + 3
    finally:
        grid.close()
        restarted.stop()


def test_a_hosted_panel_nobody_polls_is_closed_when_its_lease_ends(trained):
    srv = CommandServer(trained, panel_lease=0.2).start()
    try:
        link = PanelLink(srv.port, srv.token)
        created = link.create_panel("tags")
        assert srv.panels.count == 1 and created["lease"] == 0.2
        assert srv.panels.wait_for(lambda host: host.count == 0, 10)
        with pytest.raises(BackendError) as info:
            link.panel_events(created["panel"], created["seq"], wait=0)
        assert info.value.status == 404 and info.value.kind == "unknown_panel"
    finally:
        srv.stop()


def test_a_polled_panel_keeps_its_lease(trained, mirrors):
    srv = CommandServer(trained, panel_lease=1.0).start()
    try:
        tags = attached_panel(PanelLink(srv.port, srv.token), "tags", wait=0.2,
                              retry=FAST_RETRY)
        mirrors.append(tags)
        assert tags.wait_connected(10)
        # more than two lease periods pass while the mirror polls: the hosted panel stays
        assert not srv.panels.wait_for(lambda host: host.count == 0, 2.5)
        assert tags.attachments == 1 and tags.flush()
    finally:
        srv.stop()


def test_bad_relay_requests_are_refused_clearly(trained, server):
    link = PanelLink(server.port, server.token)
    with pytest.raises(BackendError) as info:
        link.create_panel("plot")
    assert info.value.status == 400 and "kind" in info.value.message
    with pytest.raises(BackendError) as info:
        link.create_panel("grid", {"thumbnail": "x"})
    assert info.value.status == 400 and "page_size" in info.value.message
    with pytest.raises(BackendError) as info:
        link.create_panel("sample", {"sample_id": 99999})
    assert info.value.status == 422
    with pytest.raises(BackendError) as info:
        link.post_message("nope", {"type": "page"})
    assert info.value.kind == "unknown_panel"
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("POST", "/v1/panels/create", body=b"\x00\x00\x00\x09{}",
                     headers={"Authorization": f"Bearer {server.token}"})
        response = conn.getresponse()
        header, _ = decode_frames(response.read())
        assert response.status == 400 and header["ok"] is False
    finally:
        conn.close()
    assert server.panels.count == 0


def test_the_attached_dashboard_has_the_dashboard_layout_of_mirrors(trained, server):
    board = attached_dashboard(trained.root_log_dir, page_size=12, retry=FAST_RETRY)
    try:
        assert board.wait_connected(10) and board.flush(10)
        assert [p.kind for p in board.panels] == ["controls", "hparams", "curves", "grid",
                                                  "tags"]
        assert board.grid.page_size == 12 and board.grid.total == 1797
        assert server.panels.count == 5
        assert "attached to http://127.0.0.1:" in board.static_bundle()["text/plain"]
    finally:
        board.close()
    assert server.panels.wait_for(lambda host: host.count == 0, 10)


def test_a_client_behind_the_bounded_log_gets_the_full_state_again(trained):
    host = PanelHost(trained, max_events=3)
    try:
        created = host.create("grid", {"page_size": 6})
        for req in range(1, 6):  # five replies with thumbnails: more than the log keeps
            host.message(created["panel"], {"type": "page", "req": req, "offset": 0,
                                            "limit": 6}, [])
        header, buffers = host.events(created["panel"], created["seq"], wait=0)
        assert header["reset"] is True and header["events"] == [] and buffers == []
        assert header["state"]["page_size"] == 6 and header["state"]["total"] == 1797
        header, buffers = host.events(created["panel"], header["seq"] - 3, wait=0)
        assert header["reset"] is False and [e["content"]["req"] for e in header["events"]] \
            == [3, 4, 5]
        assert len(buffers) == sum(e["nbuf"] for e in header["events"]) == 3 * (6 + 3)
    finally:
        host.close()
    assert host.count == 0


def test_a_long_poll_returns_as_soon_as_an_event_arrives(trained):
    host = PanelHost(trained)
    try:
        created = host.create("tags")
        got = {}
        poll = threading.Thread(target=lambda: got.update(
            reply=host.events(created["panel"], created["seq"], wait=20)))
        poll.start()
        host.message(created["panel"], {"type": "create_tag", "name": "x", "req": 1}, [])
        poll.join(10)
        assert not poll.is_alive()
        header, _ = got["reply"]
        assert any(e["kind"] == "msg" and e["content"]["req"] == 1 for e in header["events"])
    finally:
        host.close()


def test_panel_classes_map_to_relay_kinds():
    assert kind_of(SampleGrid) == "grid" and kind_of("LossCurves") == "curves"
    assert kind_of(TrainingControls) == "controls" and kind_of("TagEditor") == "tags"
    with pytest.raises(ValueError):
        kind_of("Dashboard")
    with pytest.raises(ValueError):
        attached_panel(".", "plot")


def test_frames_round_trip_raw_bytes_and_refuse_bad_lengths():
    body = encode_frames({"a": 1}, [b"\x89PNG", memoryview(b"xyz"), b""])
    header, buffers = decode_frames(body)
    assert header == {"a": 1} and [bytes(b) for b in buffers] == [b"\x89PNG", b"xyz", b""]
    with pytest.raises(ValueError):
        decode_frames(body[:-1])
    with pytest.raises(ValueError):
        decode_frames(b"\x00\x00")
