"""Reading a nested record (a run's ``run.json``: config, summary) by a dotted key."""

from __future__ import annotations


def lookup(record: dict, dotted: str):
    """``record["a"]["b"]`` for ``"a.b"``; None when a part is missing or not a dict."""
    value = record
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value
