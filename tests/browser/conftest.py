"""A real JupyterLab on 127.0.0.1 and a real Chromium driven by Playwright.

The sequence follows shared/BROWSER_TESTING.md: isolated Jupyter dirs, token auth, wait for
``/api/status``, wait for the kernel's ``kernel_info_reply`` before "Run All", then watch the DOM.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter lab exited early (rc={proc.returncode})")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            # the server is not listening yet: poll again shortly (an HTTP poll, not a thread wait)
            time.sleep(0.25)
    raise TimeoutError(f"jupyter lab did not answer {url} within {timeout} s")


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: CI must install Debian's chromium")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install -y chromium)")
    return CHROMIUM


THEMES = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}


@pytest.fixture
def lab(tmp_path, request):
    """Start JupyterLab on a copy of notebooks/; yield (base_url, token, root_dir).

    Parametrize indirectly with "light" or "dark" to choose the theme (default light).
    """
    theme = THEMES[getattr(request, "param", "light")]
    root = tmp_path / "root"
    root.mkdir()
    for notebook in (REPO / "notebooks").glob("*.ipynb"):  # not the run folders nbval leaves
        shutil.copy(notebook, root)
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ)
    for var, sub in (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_RUNTIME_DIR", "runtime"),
                     ("JUPYTERLAB_SETTINGS_DIR", "lab-settings"),
                     ("JUPYTERLAB_WORKSPACES_DIR", "lab-workspaces")):
        env[var] = str(tmp_path / sub)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    notif = tmp_path / "lab-settings" / "@jupyterlab" / "apputils-extension"
    notif.mkdir(parents=True)
    (notif / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    (notif / "themes.jupyterlab-settings").write_text(f'{{"theme": "{theme}"}}')
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
           f"--port={port}", f"--IdentityProvider.token={token}",
           f"--ServerApp.root_dir={root}", "--allow-root", "--LabApp.news_url="]
    log_file = open(tmp_path / "lab.log", "w")
    proc = subprocess.Popen(cmd, env=env, stdout=log_file, stderr=subprocess.STDOUT,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_http(f"{base}/api/status?token={token}", proc)
        yield base, token, root
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, signal.SIGKILL)
        log_file.close()
        ARTIFACTS.mkdir(exist_ok=True)
        shutil.copy(tmp_path / "lab.log", ARTIFACTS / "lab.log")


@pytest.fixture
def browser_page(chromium_path):
    """A fresh Chromium page (1400x1000) with console errors collected in ``page.errors``."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, headless=True,
                                    args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.errors = []
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        try:
            yield page
        finally:
            browser.close()


def open_notebook(page, base: str, token: str, name: str, timeout_ms: int = 90_000) -> None:
    """Open a notebook and return once its kernel has answered ``kernel_info``."""
    ready = {"seen": False}

    def on_ws(ws):
        if "/api/kernels/" in ws.url:
            def on_frame(payload):
                data = payload if isinstance(payload, (bytes, bytearray)) else payload.encode()
                if b"kernel_info_reply" in data:
                    ready["seen"] = True
            ws.on("framereceived", on_frame)

    page.on("websocket", on_ws)
    page.goto(f"{base}/lab/tree/{name}?token={token}")
    page.wait_for_selector(".jp-NotebookPanel", timeout=timeout_ms)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']",
                           timeout=timeout_ms)
    deadline = time.monotonic() + timeout_ms / 1000
    while not ready["seen"] and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert ready["seen"], "the kernel never answered kernel_info"


def run_all(page) -> None:
    """Run > Run All Cells, retried once if the first prompt does not start."""
    from playwright.sync_api import expect

    first_prompt = page.locator(".jp-CodeCell .jp-InputPrompt").first
    for attempt in range(2):
        page.locator("#jp-MainMenu").get_by_text("Run", exact=True).click()
        page.locator('li[data-command="runmenu:run-all"]').click()
        try:
            expect(first_prompt).not_to_have_text("[ ]:", timeout=10_000)
            return
        except AssertionError:
            if attempt:
                raise


def write_notebook(root: Path, name: str, cells: list[str]) -> None:
    """Write a notebook of code ``cells`` (Python 3 kernel) as ``root / name``."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, root / name)


DONE_PROMPT = re.compile(r"^\[\d+\]:$")


def wait_until_done(page, timeout_s: float = 120) -> None:
    """Wait until the notebook's last code cell has run (its prompt shows a number)."""
    last_prompt = page.locator(".jp-CodeCell .jp-InputPrompt").last
    deadline = time.monotonic() + timeout_s
    while not DONE_PROMPT.match((last_prompt.text_content() or "").strip()):
        assert time.monotonic() < deadline, f"the notebook did not finish within {timeout_s} s"
        page.wait_for_timeout(100)


ERROR_OUTPUT = ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']"


def run_notebook(page, base: str, token: str, name: str, timeout_s: float = 120) -> None:
    """Open the notebook ``name``, run all its cells, wait for the last one, and fail with the
    first error output if a cell raised."""
    open_notebook(page, base, token, name)
    run_all(page)
    wait_until_done(page, timeout_s)
    errors = page.locator(ERROR_OUTPUT)
    assert errors.count() == 0, errors.first.inner_text()
