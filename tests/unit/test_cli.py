"""The ``weightslab-nb`` command: argument handling, the headless demo, the notebook copy and
the JupyterLab launcher."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from weightslab_nb import cli

REPO = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------- arguments
@pytest.mark.parametrize("argv", [
    [],                                                   # a command is required
    ["nope"],                                             # unknown command
    ["demo", "--epochs", "0"],
    ["demo", "--epochs", "two"],
    ["demo", "--batch-size", "-1"],
    ["demo", "--port", "70000"],
    ["demo", "--discard", "-3"],
    ["demo", "--headless", "--epochs", "1"],              # needs an epoch after the discard
    ["demo", "--headless", "--port", "8888"],             # lab option in headless mode
    ["demo", "--headless", "--lr", "0"],
    ["demo", "--unknown-flag"],
])
def test_argument_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "usage: weightslab-nb" in err and "error:" in err


def test_error_messages_name_the_argument(capsys):
    with pytest.raises(SystemExit):
        cli.main(["demo", "--epochs", "0"])
    assert "--epochs" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["demo", "--headless", "--epochs", "1"])
    assert "at least 2 epochs" in capsys.readouterr().err


def test_help(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["demo", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for option in ("--headless", "--workdir", "--port", "--no-browser", "--epochs"):
        assert option in out
    with pytest.raises(SystemExit) as exc:
        cli.main(["--help"])
    assert exc.value.code == 0 and "demo" in capsys.readouterr().out


# ---------------------------------------------------------------- headless demo
def _summary_value(out: str, label: str) -> str:
    match = re.search(rf"^{re.escape(label)}\s*(.*)$", out, re.MULTILINE)
    assert match, f"{label!r} missing from the summary:\n{out}"
    return match.group(1)


def test_headless_demo(tmp_path, capsys):
    import torch

    threads = torch.get_num_threads()
    rc = cli.main(["demo", "--headless", "--epochs", "2", "--workdir", str(tmp_path),
                   "--no-progress"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert torch.get_num_threads() == threads  # restored for the rest of the process

    steps, epochs = re.match(r"(\d+) in (\d+) epochs", _summary_value(out, "steps:")).groups()
    # 29 batches of 64 over 1,797 digits, then 28 over the 1,777 left after the discard
    assert int(epochs) == 2 and int(steps) == 29 + 28
    loss = float(_summary_value(out, "final mean loss:").split()[0])
    assert 0 < loss < 2.3  # below chance level (ln 10) after two epochs
    assert _summary_value(out, "discarded:").startswith("20 samples at step 29")
    assert "active now: 1777 of 1797" in out
    assert _summary_value(out, "violations:") == "0"
    assert _summary_value(out, "discarded samples yielded after the discard:") == "0"

    table = out.split("highest-loss active samples:\n", 1)[1].splitlines()
    assert table[0].split() == ["sample_id", "label", "prediction", "loss"]
    rows = [line.split() for line in table[1:11]]
    assert len(rows) == 10 and all(len(r) == 4 for r in rows)
    losses = [float(r[3]) for r in rows]
    assert losses == sorted(losses, reverse=True)
    assert all(0 <= int(r[0]) < 1797 and 0 <= int(r[1]) <= 9 for r in rows)

    runs = list((tmp_path / "weightslab_runs").iterdir())
    assert len(runs) == 1 and (runs[0] / "history.duckdb").is_file()


def test_headless_without_discard(tmp_path, capsys):
    rc = cli.main(["demo", "--headless", "--epochs", "1", "--discard", "0", "--batch-size",
                   "128", "--workdir", str(tmp_path), "--no-progress"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert _summary_value(out, "steps:").startswith("15 in 1 epochs")
    assert _summary_value(out, "violations:") == "0"


def test_headless_leaves_no_current_session_behind(tmp_path, capsys):
    import weightslab_nb as wl

    before = wl.current_session(create=False)
    assert cli.main(["demo", "--headless", "--epochs", "2", "--workdir", str(tmp_path),
                     "--no-progress"]) == 0
    assert wl.current_session(create=False) is before


def test_workdir_that_is_a_file(tmp_path, capsys):
    target = tmp_path / "file"
    target.write_text("x")
    assert cli.main(["demo", "--workdir", str(target), "--no-browser"]) == 1
    assert "--workdir" in capsys.readouterr().err


# ---------------------------------------------------------------- the notebook
def test_prepare_workdir_copies_the_repository_notebook(tmp_path):
    path, origin = cli.prepare_workdir(tmp_path / "demo")
    assert origin == "repository"
    assert path.read_bytes() == (REPO / "notebooks" / cli.NOTEBOOK_NAME).read_bytes()
    path.write_text("{}")  # the user's edits are kept unless --overwrite
    assert cli.prepare_workdir(tmp_path / "demo") == (path, "kept")
    assert path.read_text() == "{}"
    assert cli.prepare_workdir(tmp_path / "demo", overwrite=True)[1] == "repository"


def test_generated_notebook_when_the_repository_copy_is_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(cli, "find_quickstart", lambda: None)
    path, origin = cli.prepare_workdir(tmp_path)
    assert origin == "generated"
    nb = json.loads(path.read_text())
    assert nb["nbformat"] == 4 and nb["cells"]
    code = "\n".join(c["source"] for c in nb["cells"] if c["cell_type"] == "code")
    for needle in ("watch_or_edit", "per_sample=True", "start_training", "wl.dashboard()",
                   "discard_samples", "handle.stop()"):
        assert needle in code
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None
            compile(cell["source"], "<cell>", "exec")
    nbformat = pytest.importorskip("nbformat")
    nbformat.validate(nbformat.reads(path.read_text(), as_version=4))


# ---------------------------------------------------------------- JupyterLab
def test_lab_command():
    cmd = cli.lab_command(Path("/tmp/w"), 8123, "abc", open_browser=False)
    assert cmd[:3] == [sys.executable, "-m", "jupyterlab"]
    for part in ("--ip=127.0.0.1", "--port=8123", "--IdentityProvider.token=abc", "--no-browser",
                 "--ServerApp.root_dir=/tmp/w"):
        assert part in cmd
    assert "--no-browser" not in cli.lab_command(Path("/tmp/w"), 1, "t", open_browser=True)


def test_free_port_is_bindable():
    import socket

    port = cli.free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="POSIX process groups")
def test_lab_starts_prints_the_url_and_stops_on_ctrl_c(tmp_path):
    pytest.importorskip("jupyterlab")
    env = dict(os.environ)
    for var, sub in (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_RUNTIME_DIR", "runtime"),
                     ("JUPYTERLAB_SETTINGS_DIR", "settings"),
                     ("JUPYTERLAB_WORKSPACES_DIR", "workspaces"), ("JUPYTER_DATA_DIR", "data")):
        env[var] = str(tmp_path / "jupyter" / sub)
    import weightslab_nb

    package_root = str(Path(weightslab_nb.__file__).parents[1])  # the package under test
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    port = cli.free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "weightslab_nb.cli", "demo", "--no-browser", "--port", str(port),
         "--workdir", str(tmp_path / "demo")],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=tmp_path)
    try:
        url = None
        deadline = time.monotonic() + 120
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            match = re.search(r"(http://127\.0\.0\.1:\d+/lab/tree/\S+\?token=(\w+))", line)
            if match:
                url, token = match.groups()
        assert url, f"no URL printed (rc={proc.poll()})"
        assert f":{port}/" in url and len(token) >= 32
        assert (tmp_path / "demo" / cli.NOTEBOOK_NAME).is_file()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}",
                                    timeout=10) as reply:
            assert reply.status == 200
        with pytest.raises(OSError):  # the token is required
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/contents", timeout=10)

        proc.send_signal(signal.SIGINT)  # Ctrl-C
        assert proc.wait(timeout=30) == 0
        assert "Stopped." in proc.stdout.read()
        with pytest.raises(OSError):  # the server is gone
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=2)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
