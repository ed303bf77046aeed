"""Save a session's data state (sample ids per origin, discards, tags) into a directory."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from weightslab_nb.data_state.files import DataState, OriginSamples, ids_fingerprint, write_state
from weightslab_nb.errors import InvalidTypeError

if TYPE_CHECKING:
    from weightslab_nb.session import Session


def selected_origins(session: "Session", origin: str | None) -> list[str]:
    """Every origin of the session (``origin=None``), or the one an origin or loader name
    means. Raises ``InvalidValueError`` for an unknown one, ``InvalidTypeError`` for a
    non-string."""
    if origin is None:
        return session.origins()
    if not isinstance(origin, str):
        raise InvalidTypeError(f"origin: expected an origin or loader name (a string) or None, "
                               f"got {type(origin).__name__}")
    return [session.resolve_origin(origin)]


def capture_state(session: "Session", origin: str | None = None) -> DataState:
    """The session's data state now: ids, discards and tags of every sample (annotation 0) of
    the selected origins, the tag registry, and a fingerprint of each watched loader's ids."""
    origins = selected_origins(session, origin)
    with session.lock:
        table = session.table
        parts = {}
        for name in origins:
            rows = table.sample_rows(name)
            parts[name] = OriginSamples(
                table.ids_of(rows), table.discarded[rows].copy(),
                {col[4:]: arr[rows].copy() for col, arr in table.bool_tags.items()},
                {col[4:]: np.array([*cat.values, None], dtype=object)[cat.codes[rows]]
                 for col, cat in table.cat_tags.items()})
        boolean = [col[4:] for col in table.bool_tags]
        categorical = {col[4:]: list(cat.values) for col, cat in table.cat_tags.items()}
        loaders: dict[str, dict[str, str]] = {}
        for name, loader in session.registry.all("data").items():
            if loader.origin in parts:
                loaders.setdefault(loader.origin, {})[name] = ids_fingerprint(loader.sample_ids)
    return DataState(parts, boolean, categorical, loaders)


def save_state(session: "Session", directory, origin: str | None = None) -> dict:
    """Write the session's data state into ``directory`` and return its manifest.

    Parameters
    ----------
    session : Session
    directory : str or Path
        Created when missing; a state saved there before is replaced (see
        :mod:`weightslab_nb.data_state.files` for the files and the manifest's keys).
    origin : str, optional
        Save this origin (or the origin of this loader name) only; default every origin.

    Returns
    -------
    dict
        The manifest (``state.json``): ``format``, ``digest``, ``experiment_hash``, ``tags``,
        ``origins`` (samples, discarded, fingerprint, loaders, tag counts per origin).

    Raises
    ------
    InvalidValueError, InvalidTypeError
        An unknown or non-string ``origin``; nothing is written then.
    """
    state = capture_state(session, origin)
    return write_state(state, directory, session.get_current_experiment_hash())
