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
Traits
    ``summary``: ``session.tag_summary()``; ``selection_size``; ``selection_origins``:
    ``{origin: count}`` of the selection; ``error``.
"""

from __future__ import annotations

import traitlets

from weightslab_nb import commands
from weightslab_nb.panels._base import Panel, static_asset
from weightslab_nb.panels.messages import MessageError, action_command, action_message


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

    def __init__(self, session, **kwargs):
        self._seen = (-1, -1)
        self._seen_selection = -1
        super().__init__(session, **kwargs)

    def _handlers(self) -> dict:
        return {"create_tag": self._on_create_tag,
                "create_categorical": self._on_create_categorical,
                "apply": self._on_apply, "clear_selection": self._on_clear_selection}

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
        return out or None

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

    def _run(self, name: str, args: dict) -> dict:
        result = commands.run(self.session, name, args, source="panel")
        self._publisher.wake()
        return result
