"""Change counters: how panels and other pollers learn that something changed."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ChangeCounters:
    """Counters that only grow; readers compare them with the values they saw last.

    ``table``: sample rows, latest values, tags or discards; ``history``: history points;
    ``controller``: training or evaluation state; ``tags``: the tag registry or memberships;
    ``hyperparameters``: applied hyperparameter values.
    """

    table: int = 0
    history: int = 0
    controller: int = 0
    tags: int = 0
    hyperparameters: int = 0
