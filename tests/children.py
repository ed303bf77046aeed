"""Run Python code in a real child process (for crash tests): this checkout's package, an
optional crash point armed through ``WEIGHTSLAB_NB_CRASH_AT``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def child_env(crash_at: str | None = None) -> dict:
    """The environment of a child that imports this checkout's ``weightslab_nb``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.pop("WEIGHTSLAB_NB_CRASH_AT", None)
    if crash_at is not None:
        env["WEIGHTSLAB_NB_CRASH_AT"] = crash_at
    return env


def run_child(code: str, *args: str, crash_at: str | None = None,
              timeout: float = 60) -> subprocess.CompletedProcess:
    """Run ``code`` (``sys.argv[1:]`` = ``args``) to its end; output captured as text."""
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], check=False,
                          env=child_env(crash_at), capture_output=True, text=True,
                          timeout=timeout)


def assert_killed(result: subprocess.CompletedProcess) -> None:
    """The child died of SIGKILL (its crash point fired), not of an error."""
    assert result.returncode == -signal.SIGKILL, (result.returncode, result.stderr[-2000:])
