"""Data states: a session's curation (sample ids per origin, discards, boolean and categorical
tags) saved as files, compared with a session and applied to it before training, so a new run
(or a teammate) trains on exactly the curated samples.

* :func:`save_state` / :func:`apply_state` / :func:`diff_state`: a state in a directory
  (:mod:`weightslab_nb.data_state.files` describes its files);
* states as versioned artifacts of type ``"data-state"``: :func:`log_data_state`,
  :func:`apply_data_state`; by name, as the tag editor lists them: :func:`save_named_state`,
  :func:`list_states`, :func:`apply_named_state`, :func:`diff_named_state`.

The state a run trains on is recorded by :meth:`Session.note_data_state`: it is part of the
experiment hash and of the manifest entry (``manifest.json``, ``"data_state"``).
"""

from weightslab_nb.data_state.apply import (ApplyReport, DataStateMismatchError, OriginReport,
                                            apply_state, diff_state)
from weightslab_nb.data_state.files import FORMAT, ids_fingerprint, read_manifest
from weightslab_nb.data_state.save import save_state
from weightslab_nb.data_state.store import (apply_data_state, apply_named_state,
                                            check_state_name, diff_named_state, list_states,
                                            log_data_state, save_named_state, saves)

__all__ = ["ApplyReport", "DataStateMismatchError", "FORMAT", "OriginReport", "apply_data_state",
           "apply_named_state", "apply_state", "check_state_name", "diff_named_state",
           "diff_state", "ids_fingerprint", "list_states", "log_data_state", "read_manifest",
           "save_named_state", "save_state", "saves"]
