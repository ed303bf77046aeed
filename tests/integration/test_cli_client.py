"""``weightslab-nb cli`` against a real backend steering a real training run on digits.

The backend is started in the test (``serve(serving_cli=True)``) for a Session that watches the
digits data, an MLP, Adam and a per-sample loss; the console client runs in-process
(``cli.main([...])``) and as a subprocess. Training threads are awaited with the controller's
waits, never with sleeps.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from weightslab_nb import cli
from weightslab_nb.demo import digits_mlp
from weightslab_nb.serving import serve

REPO = Path(__file__).resolve().parents[2]
WAIT = 60.0       # upper bound for any wait on the training thread
EPOCH_STEPS = 29  # ceil(1797 / 64)


@pytest.fixture
def run(session, digits):
    """The tutorial setup, served by a console backend."""
    hp = session.watch_or_edit({"experiment_name": "cli", "optimizer": {"lr": 1e-2},
                                "schedule": {"warmup": 1, "kind": "step"}}, flag="hp")
    model = session.watch_or_edit(digits_mlp(hidden=32), flag="model")
    loader = session.watch_or_edit(digits, flag="data", loader_name="train_loader",
                                   batch_size=64, shuffle=True, seed=0)
    opt = session.watch_or_edit(torch.optim.Adam(model.parameters(), lr=1e-2), flag="optimizer")
    loss = session.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss",
                                 signal_name="train-loss", per_sample=True)
    server = serve(serving_cli=True, session=session)
    r = SimpleNamespace(session=session, hp=hp, model=model, loader=loader, opt=opt, loss=loss,
                        server=server, root=str(session.root_log_dir), yielded=[])
    yield r
    server.stop()


def train(r, epochs=1000, hold=None):
    """train_digits, recording the ids of every batch the loader yields. ``hold`` =
    ``(step, inside, release)`` keeps the thread inside that step (between two batches) until
    ``release`` is set, after setting ``inside``."""
    for _ in range(epochs):
        for x, y, ids in r.loader:
            r.yielded.append(ids.tolist())
            if hold is not None and r.session.controller.step == hold[0]:
                hold[1].set()
                assert hold[2].wait(WAIT)
            r.opt.zero_grad()
            r.loss(r.model(x), y, batch_ids=ids).mean().backward()
            r.opt.step()


def console(r, *argv) -> int:
    return cli.main(["cli", "--dir", r.root, *argv])


def test_pause_discard_resume_against_background_training(run, capsys):
    """The training thread is held inside step 5 (between two batches) while the console
    pauses: the pause is pending until the thread's next boundary, where it holds at step 5."""
    s = run.session
    inside, release = threading.Event(), threading.Event()
    handle = s.start_training(train, run, hold=(5, inside, release))
    try:
        assert inside.wait(WAIT)
        assert console(run, "pause") == 0
        assert capsys.readouterr().out == "pausing at the next batch boundary (step 5)\n"
        assert console(run, "resume") == 0  # before the thread got there: nothing held
        assert capsys.readouterr().out == "running (step 5)\n"
        assert console(run, "pause") == 0
        assert capsys.readouterr().out == "pausing at the next batch boundary (step 5)\n"
        release.set()
        assert s.controller.wait_for_state("paused", timeout=WAIT)
        assert s.controller.step == 5 and len(run.yielded) == 5

        assert console(run, "--json", "status") == 0
        status = json.loads(capsys.readouterr().out)["result"]
        assert (status["state"], status["step"], status["pause_requested"]) == \
            ("paused", 5, True)

        assert console(run, "discard", "0", "1,2", "3") == 0
        assert capsys.readouterr().out == "discarded 4 sample(s); 1793 of 1797 active\n"
        assert s.controller.step == 5  # still held at the batch boundary

        assert console(run, "pause") == 0
        assert capsys.readouterr().out == "paused at step 5\n"
        # the reply's state is the training thread's, which wakes meanwhile: the rendering of
        # either is checked in tests/unit/test_serving.py; here the rest of the reply
        assert console(run, "--json", "resume") == 0
        resumed = json.loads(capsys.readouterr().out)["result"]
        assert (resumed["step"], resumed["pause_requested"]) == (5, False)
        assert s.controller.wait_for_step(5 + 2 * EPOCH_STEPS, timeout=WAIT)
        assert s.controller.state == "running"
        after = {i for batch in run.yielded[5:] for i in batch}
        assert after == set(range(4, 1797))  # the next whole epoch included, without them
    finally:
        release.set()
        assert handle.stop(timeout=WAIT)
    assert handle.error is None


def test_console_commands_change_the_session(run, capsys, tmp_path, monkeypatch):
    s = run.session
    assert console(run, "tag", "add", "hard", "1", "2", "3") == 0
    assert "tag 'hard' added to 3 sample(s)" in capsys.readouterr().out
    assert s.get_samples_by_tag("hard") == [1, 2, 3]
    assert console(run, "tag", "remove", "hard", "3") == 0
    assert s.get_samples_by_tag("hard") == [1, 2]

    assert console(run, "cat", "set", "weather", "rainy", "4", "5") == 0
    assert s.get_samples_by_tag("weather=rainy") == [4, 5]
    assert console(run, "cat", "clear", "weather", "5") == 0
    assert s.get_samples_by_tag("weather=rainy") == [4]

    assert console(run, "discard", "7", "8") == 0
    assert console(run, "restore", "8") == 0
    assert s.get_discarded_samples() == [7]

    capsys.readouterr()
    assert console(run, "tags") == 0
    out = capsys.readouterr().out
    assert "hard" in out and "weather: rainy=1" in out
    assert console(run, "tags", "--json") == 0
    assert json.loads(capsys.readouterr().out)["result"] == s.tag_summary()

    assert console(run, "hp", "get", "optimizer.lr") == 0
    assert capsys.readouterr().out.strip() == "optimizer.lr = 0.01"
    assert console(run, "hp", "set", "optimizer.lr", "1e-3") == 0
    assert "optimizer.lr = 0.001 (was 0.01)" in capsys.readouterr().out
    assert run.hp.get_path("optimizer.lr") == 0.001
    assert console(run, "hp", "set", "schedule", "{warmup: 5, kind: cosine}") == 0
    assert run.hp.get_path("schedule") == {"warmup": 5, "kind": "cosine"}
    assert console(run, "hp", "get") == 0
    assert "warmup: 5" in capsys.readouterr().out

    monkeypatch.chdir(tmp_path)  # a relative path is the client's, not the backend's
    s.save_signals({"probe": [0.5, 0.25]}, batch_ids=[0, 1])
    assert console(run, "export-history", "out/history.csv", "--format", "csv") == 0
    assert f"wrote {tmp_path / 'out' / 'history.csv'}" in capsys.readouterr().out
    assert "probe" in (tmp_path / "out" / "history.csv").read_text()



def test_evaluate_from_the_console(run, capsys):
    """Asked while the training thread is inside step 2, the evaluation waits for the thread's
    next boundary (the console says "pending"); it runs there, and so does one asked with
    --wait, which prints its summary."""
    s = run.session
    s.tag_samples([1, 2, 3], "hard")
    inside, release = threading.Event(), threading.Event()

    def loop():
        for x, y, ids in run.loader:
            if s.controller.step == 2:
                inside.set()
                assert release.wait(WAIT)

    handle = s.start_training(loop)
    assert inside.wait(WAIT)
    assert console(run, "evaluate", "train_loader", "--tags", "hard") == 0
    (queued,) = s.evaluation.queued()
    assert capsys.readouterr().out == (f"evaluation #{queued.id} of 'train_loader' (tags: hard) "
                                       "requested (state: pending); training pauses for it\n")
    release.set()
    assert console(run, "evaluate", "train_loader", "--wait", "60") == 0
    out = capsys.readouterr().out.strip()
    assert re.fullmatch(r"\[WeightsLab\] Evaluation 'train_loader' @ step 2 — "
                        r"train-loss=\d+\.\d{4}", out), out
    assert [r.state for r in s.evaluation.history] == ["done", "done"]
    assert [m["count"] for m in s.history.markers()] == [3, 1797]
    assert s.controller.pause_requested  # stays paused until resumed

    run.model.forward = None  # a model that fails: --wait reports it and exits 1
    assert console(run, "evaluate", "train_loader", "--tags", "hard", "--wait") == 1
    failed = s.evaluation.history[-1]
    assert failed.state == "failed"
    assert re.search(rf"evaluation #{failed.id} of 'train_loader' \(tags: hard\) failed: "
                     "TypeError", capsys.readouterr().out)
    assert handle.stop(WAIT)


def test_refusals_exit_1_and_change_nothing(run, capsys):
    s = run.session
    before = (s.tag_summary(), s.get_discarded_samples(None), run.hp.to_dict())
    assert cli.main(["cli", "--port", str(run.server.port), "--token", "wrong",
                     "discard", "1"]) == 1
    assert "refused" in capsys.readouterr().err
    assert cli.main(["cli", "--port", str(run.server.port), "--token", "wrong", "--json",
                     "status"]) == 1
    reply = json.loads(capsys.readouterr().out)
    assert reply["ok"] is False and reply["kind"] == "unauthorized"
    assert console(run, "tag", "add", "hard", "1", "99999") == 1
    assert "unknown sample id" in capsys.readouterr().err
    assert console(run, "tag", "remove", "never", "1") == 1
    assert console(run, "hp", "get", "optimizer.nope") == 1
    assert "no hyperparameter at 'optimizer.nope'" in capsys.readouterr().err
    assert console(run, "evaluate", "nope_loader") == 1
    assert (s.tag_summary(), s.get_discarded_samples(None), run.hp.to_dict()) == before


def test_token_from_the_command_line(run, capsys):
    assert cli.main(["cli", "--port", str(run.server.port), "--token", run.server.token,
                     "tag", "add", "direct", "9"]) == 0
    assert run.session.get_samples_by_tag("direct") == [9]


@pytest.mark.parametrize("argv", [
    ["cli", "--dir", ".", "tag", "add", "hard"],           # no ids
    ["cli", "--dir", ".", "tag", "rename", "a", "b"],      # unknown action
    ["cli", "--dir", ".", "frobnicate"],                   # unknown command
    ["cli", "--port", "5000"],                             # port without token
    ["cli", "--token", "t"],                               # token without port
    ["cli", "--dir", ".", "--port", "5000", "--token", "t", "status"],
    ["cli", "--port", "0", "--token", "t", "status"],
    ["cli", "--dir", ".", "export-history", "x", "--format", "xlsx"],
    ["cli", "--dir", ".", "--timeout", "-1", "status"],
])
def test_usage_errors_exit_2(argv, capsys, monkeypatch):
    monkeypatch.delenv("WEIGHTSLAB_NB_TOKEN", raising=False)
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_no_backend(tmp_path, capsys, run):
    assert cli.main(["cli", "--dir", str(tmp_path / "elsewhere"), "status"]) == 1
    assert "serving.json does not exist" in capsys.readouterr().err
    port = run.server.port
    run.server.stop()
    assert cli.main(["cli", "--port", str(port), "--token", "t", "status"]) == 1
    assert "no console backend listens" in capsys.readouterr().err


def test_help_lists_the_commands(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["cli", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for word in ("status", "pause", "resume", "evaluate", "hp", "tag", "cat", "discard",
                 "restore", "tags", "export-history", "--dir", "--json"):
        assert word in out


def test_interactive_mode(run, capsys, monkeypatch):
    lines = "\n".join(["help", "status", "tag add picked 10 11", "# a comment", "",
                       "bogus-command", "discard 12", "tags", "quit", "discard 13"]) + "\n"
    monkeypatch.setattr(sys, "stdin", io.StringIO(lines))
    assert console(run) == 1  # bogus-command failed; the others ran
    out = capsys.readouterr().out
    assert "commands:" in out and "state:" in out and "picked" in out
    assert run.session.get_samples_by_tag("picked") == [10, 11]
    assert run.session.get_discarded_samples() == [12]  # nothing after quit

    monkeypatch.setattr(sys, "stdin", io.StringIO("pause\nresume\n"))
    assert console(run) == 0


def test_interactive_mode_with_a_wrong_token_stops_at_once(run, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("discard 1\n"))
    assert cli.main(["cli", "--port", str(run.server.port), "--token", "nope"]) == 1
    assert run.session.get_discarded_samples() == []


def _subprocess(argv, stdin=None):
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-m", "weightslab_nb.cli", *argv], input=stdin,
                          capture_output=True, text=True, env=env, timeout=120, cwd=REPO)


def test_console_client_as_a_subprocess(run):
    done = _subprocess(["cli", "--dir", run.root, "--json", "status"])
    assert done.returncode == 0, done.stderr
    reply = json.loads(done.stdout)
    assert reply["ok"] and reply["result"]["samples"] == 1797

    done = _subprocess(["cli", "--dir", run.root], stdin="tag add sub 5 6\ntags\nquit\n")
    assert done.returncode == 0, done.stderr
    assert "sub" in done.stdout
    assert run.session.get_samples_by_tag("sub") == [5, 6]

    done = _subprocess(["cli", "--dir", run.root, "discard", "424242"])
    assert done.returncode == 1 and "unknown sample id" in done.stderr


@pytest.fixture
def shared_ids(session, digits):
    """A train and a val set that both index from 0 (200 and 100 digits), trained one epoch,
    the val set evaluated, served by a console backend."""
    from torch.utils.data import Subset

    train = session.watch_or_edit(Subset(digits, range(200)), flag="data",
                                  loader_name="train_loader", batch_size=50, shuffle=True, seed=0)
    session.watch_or_edit(Subset(digits, range(200, 300)), flag="data", loader_name="val_loader",
                          batch_size=50)
    model = session.watch_or_edit(digits_mlp(hidden=16), flag="model")
    loss = session.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss",
                                 signal_name="loss", per_sample=True)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for x, y, ids in train:
        opt.zero_grad()
        loss(model(x), y, batch_ids=ids).mean().backward()
        opt.step()
    session.request_evaluation("val_loader")
    assert session.run_pending_evaluation()
    server = serve(serving_cli=True, session=session)
    yield SimpleNamespace(session=session, server=server, root=str(session.root_log_dir))
    server.stop()


def test_origin_says_which_split_the_ids_are(shared_ids, capsys):
    """--origin on tag, cat, discard and restore: the val samples change, the train samples of
    the same ids do not; an id both hold is refused without it, naming the origins."""
    s, r = shared_ids.session, shared_ids

    def by_origin(tag):
        return {o: s.get_samples_by_tag(tag, origin=o) for o in ("train", "val")}

    assert console(r, "tag", "add", "hard", "0", "1,2", "--origin", "val") == 0
    assert "tag 'hard' added to 3 sample(s); 3 sample(s) have it now" in capsys.readouterr().out
    assert by_origin("hard") == {"train": [], "val": [0, 1, 2]}
    assert console(r, "tag", "remove", "hard", "2", "--origin", "val_loader") == 0
    assert by_origin("hard") == {"train": [], "val": [0, 1]}
    assert console(r, "cat", "set", "quality", "bad", "--origin", "val", "3") == 0
    assert by_origin("quality=bad") == {"train": [], "val": [3]}
    assert console(r, "cat", "clear", "quality", "3", "--origin", "val") == 0
    assert by_origin("quality=bad") == {"train": [], "val": []}
    assert console(r, "discard", "5", "6", "--origin", "train") == 0
    assert "discarded 2 sample(s); 298 of 300 active" in capsys.readouterr().out
    assert console(r, "restore", "6", "--origin", "train") == 0
    assert s.get_discarded_samples(origin="train") == [5]
    assert s.get_discarded_samples(origin="val") == []
    capsys.readouterr()

    before = (s.tag_summary(), s.get_discarded_samples(origin=None))
    assert console(r, "tag", "add", "hard", "7") == 1
    err = capsys.readouterr().err
    assert "sample id 7 exists in origins ['train', 'val']" in err and "origin=" in err
    assert console(r, "discard", "7", "--origin", "test") == 1
    assert "origin: unknown origin 'test'; known: ['train', 'val']" in capsys.readouterr().err
    assert console(r, "discard", "150", "--origin", "val") == 1  # val holds 0..99
    assert "unknown sample id" in capsys.readouterr().err
    assert (s.tag_summary(), s.get_discarded_samples(origin=None)) == before

    assert console(r, "status") == 0
    assert "origins:        train, val" in capsys.readouterr().out
    done = _subprocess(["cli", "--dir", r.root, "--json", "discard", "9", "--origin", "val"])
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["result"]["count"] == 1
    assert s.get_discarded_samples(origin="val") == [9]
    assert s.get_discarded_samples(origin="train") == [5]


def test_a_token_starting_with_a_dash_is_read_as_the_token(session, small_dataset,
                                                           monkeypatch, capsys):
    from weightslab_nb.serving import backend

    token = "-Jx3" + "a1_B" * 9 + "z9q"  # as secrets.token_urlsafe gives 1 time in 64
    monkeypatch.setattr(backend, "new_token", lambda: token)
    session.watch_or_edit(small_dataset, flag="data", loader_name="train_loader", batch_size=4)
    server = serve(serving_cli=True, session=session)
    try:
        assert server.token == token and len(token) == 43
        port = str(server.port)
        assert cli.main(["cli", "--port", port, "--token", token, "tag", "add", "dash", "9"]) == 0
        assert cli.main(["cli", "--port", port, f"--token={token}", "discard", "3"]) == 0
        done = _subprocess(["cli", "--port", port, "--token", token, "--json", "tags"])
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["result"]["boolean"] == {"dash": 1}
    finally:
        server.stop()
    assert session.get_samples_by_tag("dash") == [9]
    assert session.get_discarded_samples(None) == [3]


@pytest.mark.parametrize("argv, expected", [
    (["cli", "--port", "1", "--token", "-abc", "status"],
     ["cli", "--port", "1", "--token=-abc", "status"]),
    (["cli", "--token", "--json", "--port", "1"], ["cli", "--token=--json", "--port", "1"]),
    (["cli", "--token"], ["cli", "--token"]),
    (["cli", "--dir", "d", "--", "--token", "-x"], ["cli", "--dir", "d", "--", "--token", "-x"]),
], ids=["dash-token", "value-that-looks-like-an-option", "missing-value", "after-double-dash"])
def test_the_argument_after_token_is_its_value_as_getopt_reads_it(argv, expected):
    assert cli.attach_option_values(argv) == expected
