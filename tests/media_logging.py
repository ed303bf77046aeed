"""Logging a rich value through ``wl.log`` and finding it again through ``wl.Api`` (shared by the
tests/unit/test_media_*.py files)."""

from __future__ import annotations

import json

import weightslab_nb as wl


def log_and_read_back(session, key: str, value):
    """Log ``{key: value}`` in a new run; return ``(run_dir, descriptor, wl.Api's value)``."""
    run = wl.init()
    wl.log({key: value})
    logged = wl.Api(root=session.root_log_dir).run(run.path)
    descriptor = logged.summary[key]
    json.dumps(descriptor, allow_nan=False)  # history and summaries hold plain JSON
    return logged.dir, descriptor, logged.load_media(descriptor)
