"""TagEditor: create tags and apply them to the shared selection.

Protocol (browser view: ``js/src/tags.ts``)
-------------------------------------------
browser -> Python (each with a ``req``; the reply is ``{"type": "action_result", "req", "ok",
"message"}``). Each runs a command of :mod:`weightslab_nb.commands` (``source="panel"``):
    ``{"type": "create_tag", "name"}``: ``tag_create`` (a boolean tag without samples).
    ``{"type": "create_categorical", "name", "values": [str, ...]}``: ``cat_register``
    (extends an existing one).
    ``{"type": "apply", "action", "tag"?, "value"?}``: an action of
    :data:`~weightslab_nb.panels.messages.ACTIONS` on ``session.selection`` (its refs
    ``(origin, sample_id)``: a validation sample stays a validation sample).
    ``{"type": "clear_selection"}``, ``{"type": "clear_error"}``.
    Data states (:mod:`weightslab_nb.data_state`: artifacts of type ``"data-state"`` in the
    store of ``root_log_dir``, by name):
    ``{"type": "save_state", "name"}``: save the session's state as a new version of ``name``
    (the same curation again: the same version); ``{"type": "apply_state", "name", "strict"?}``: apply it (refused while
    training runs; the reply's ``report`` lists missing and unmentioned ids);
    ``{"type": "list_states"}``: the reply's ``states``; ``{"type": "state_diff", "name"}``:
    the reply's ``diff`` (:func:`~weightslab_nb.data_state.diff_state`).
Traits
    ``summary``: ``session.tag_summary()``; ``selection_size``; ``selection_origins``:
    ``{origin: count}`` of the selection; ``states``: the saved states, each
    ``{"name", "digest", "samples", "discarded", "origins", "diff": {"discards": {"added",
    "removed"}, "tags": {term: {"added", "removed"}}} | None, "error"?}`` (the diff against the
    session now, refreshed when tags, discards or the saved states change); ``error``.
"""

from __future__ import annotations

import traitlets

from weightslab_nb import commands, data_state
from weightslab_nb.panels._base import Panel, static_asset
from weightslab_nb.panels.messages import (MessageError, action_command, action_message,
                                           bool_field)

MAX_LISTED_STATES = 50  # states listed (and diffed) in the panel, by name


class TagEditor(Panel):
    """Create boolean and categorical tags; tag, untag or set values on the selected samples.

    The selection is ``session.selection``, set by the sample grid (or by code:
    ``session.selection.set(ids, origin=None)``).
    """

    _esm = static_asset("tags.js")
    _css = static_asset("tags.css")
    _poll_interval = 0.25

    summary = traitlets.Dict({"boolean": {}, "categorical": {}}).tag(sync=True)
    selection_size = traitlets.Int(0).tag(sync=True)
    selection_origins = traitlets.Dict().tag(sync=True)
    states = traitlets.List().tag(sync=True)

    def __init__(self, session, **kwargs):
        self._seen = (-1, -1)
        self._seen_selection = -1
        self._seen_states = None
        self._states_changed = 0  # bumped by this panel's save/apply
        super().__init__(session, **kwargs)

    def _handlers(self) -> dict:
        return {"create_tag": self._on_create_tag,
                "create_categorical": self._on_create_categorical,
                "apply": self._on_apply, "clear_selection": self._on_clear_selection,
                "save_state": self._on_save_state, "apply_state": self._on_apply_state,
                "list_states": self._on_list_states, "state_diff": self._on_state_diff}

    # ---------------------------------------------------------------- publisher thread
    def _poll(self):
        s = self.session
        out = {}
        if s.selection.version != self._seen_selection:
            self._seen_selection = s.selection.version
            origins = {o: len(ids) for o, ids in s.selection.by_origin().items()}
            out.update(selection_size=sum(origins.values()), selection_origins=origins)
        seen = (s.changes.tags, s.changes.table)
        if seen != self._seen:
            self._seen = seen
            out["summary"] = s.tag_summary()
        states = self._states_key()
        if states != self._seen_states:
            self._seen_states = states
            out["states"] = self._listed_states()
        return out or None

    def _states_key(self) -> tuple:
        """Changes when the diffs of the saved states may change: tags, discards, samples,
        or a state saved (by this panel, a cell or another panel of this process)."""
        s = self.session
        return (s.changes.tags, s.table.discard_version, len(s.table), data_state.saves(),
                self._states_changed)

    def _listed_states(self) -> list[dict]:
        out = []
        if self.session.chosen_root_log_dir is None:
            return out
        for entry in data_state.list_states(self.session)[:MAX_LISTED_STATES]:
            try:
                diff = data_state.diff_named_state(self.session, entry["name"],
                                                   project=entry["project"])
                entry["diff"] = {"discards": diff["discards"], "tags": diff["tags"]}
            except (ValueError, KeyError, OSError) as exc:
                entry["diff"], entry["error"] = None, str(exc)
            out.append(entry)
        return out

    # ---------------------------------------------------------------- messages
    def _on_create_tag(self, msg: dict):
        result = self._run("tag_create", {"name": msg.get("name")})
        name = result["tag"]
        return {"message": f"created tag {name!r}" if result["created"]
                else f"tag {name!r} already exists"}

    def _on_create_categorical(self, msg: dict):
        result = self._run("cat_register", {"name": msg.get("name"),
                                            "values": msg.get("values")})
        return {"message": f"categorical tag {result['tag']!r}: {', '.join(result['values'])}"}

    def _on_apply(self, msg: dict):
        action, name, args = action_command(msg)
        refs = self.session.selection.get()
        if not refs:
            raise MessageError("no samples selected: select some in the sample grid first")
        result = self._run(name, {**args, "ids": refs})
        return {"message": action_message(action, result), "action": action,
                "count": result["count"]}

    def _on_clear_selection(self, _msg: dict):
        self.session.selection.clear()
        self._publisher.wake()
        return {"message": "selection cleared"}

    def _on_save_state(self, msg: dict):
        name = _state_name(msg)
        manifest = data_state.save_named_state(self.session, name)
        self._states_changed += 1
        self._publisher.wake()
        samples = sum(o["samples"] for o in manifest["origins"].values())
        discarded = sum(o["discarded"] for o in manifest["origins"].values())
        return {"message": f"saved data state {name!r}: {samples} samples, {discarded} "
                           "discarded", "digest": manifest["digest"]}

    def _on_apply_state(self, msg: dict):
        name = _state_name(msg)
        report = data_state.apply_named_state(self.session, name,
                                              strict=bool_field(msg, "strict"))
        self._states_changed += 1
        self._publisher.wake()
        return {"message": f"applied data state {name!r}: {report.summary()}",
                "report": report.to_dict()}

    def _on_list_states(self, _msg: dict):
        states = data_state.list_states(self.session)
        return {"message": f"{len(states)} saved data states", "states": states}

    def _on_state_diff(self, msg: dict):
        diff = data_state.diff_named_state(self.session, _state_name(msg))
        return {"message": f"{diff['discards']['added']} discards added, "
                           f"{diff['discards']['removed']} removed", "diff": diff}

    def _run(self, name: str, args: dict) -> dict:
        result = commands.run(self.session, name, args, source="panel")
        self._publisher.wake()
        return result


def _state_name(msg: dict) -> str:
    """The ``name`` of a data state message (a state name, see
    :func:`~weightslab_nb.data_state.check_state_name`)."""
    name = msg.get("name")
    if name is None:
        raise MessageError("name: missing; type a state name")
    try:
        return data_state.check_state_name(name)
    except (TypeError, ValueError) as exc:
        raise MessageError(str(exc)) from None
