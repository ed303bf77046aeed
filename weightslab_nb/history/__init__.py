"""Signal history: the store behind query_*_history, the curves and the exports."""

from weightslab_nb.history.store import HistoryStore

__all__ = ["HistoryStore"]
