"""TagEditor: create tags and apply them to the shared selection.

Protocol (browser view: ``js/src/tags.ts``)
-------------------------------------------
browser -> Python (each with a ``req``; the reply is ``{"type": "action_result", "req", "ok",
"message"}``)
    ``{"type": "create_tag", "name"}``: ``session.register_tag(name)``.
    ``{"type": "create_categorical", "name", "values": [str, ...]}``:
    ``session.register_categorical_tag(name, values)`` (extends an existing one).
    ``{"type": "apply", "action", "tag"?, "value"?}``: an action of
    :data:`~weightslab_nb.panels.messages.ACTIONS` on ``session.selection``.
    ``{"type": "clear_selection"}``, ``{"type": "clear_error"}``.
Traits
    ``summary``: ``session.tag_summary()``; ``selection_size``; ``error``.
"""

from __future__ import annotations

import traitlets

from weightslab_nb.panels._base import Panel, static_asset
from weightslab_nb.panels.messages import (MessageError, apply_action, check_action,
                                           tag_name_field, values_field)


class TagEditor(Panel):
    """Create boolean and categorical tags; tag, untag or set values on the selected samples.

    The selection is ``session.selection``, set by the sample grid (or by code:
    ``session.selection.set(ids)``).
    """

    _esm = static_asset("tags.js")
    _css = static_asset("tags.css")
    _poll_interval = 0.25

    summary = traitlets.Dict({"boolean": {}, "categorical": {}}).tag(sync=True)
    selection_size = traitlets.Int(0).tag(sync=True)

    def __init__(self, session, **kwargs):
        self._seen = (-1, -1)
        super().__init__(session, **kwargs)

    def _handlers(self) -> dict:
        return {"create_tag": self._on_create_tag,
                "create_categorical": self._on_create_categorical,
                "apply": self._on_apply, "clear_selection": self._on_clear_selection}

    # ---------------------------------------------------------------- publisher thread
    def _poll(self):
        s = self.session
        out = {"selection_size": len(s.selection)}
        seen = (s.changes.tags, s.changes.table)
        if seen != self._seen:
            self._seen = seen
            out["summary"] = s.tag_summary()
        return out

    # ---------------------------------------------------------------- messages
    def _on_create_tag(self, msg: dict):
        name = tag_name_field(msg, "name")
        summary = self.session.tag_summary()
        if name in summary["categorical"]:
            raise MessageError(f"name: {name!r} is already a categorical tag")
        existed = name in summary["boolean"]
        self.session.register_tag(name)
        self._publisher.wake()
        return {"message": f"tag {name!r} already exists" if existed else f"created tag {name!r}"}

    def _on_create_categorical(self, msg: dict):
        name = tag_name_field(msg, "name")
        values = values_field(msg)
        if name in self.session.tag_summary()["boolean"]:
            raise MessageError(f"name: {name!r} is already a boolean tag")
        self.session.register_categorical_tag(name, values)
        self._publisher.wake()
        return {"message": f"categorical tag {name!r}: {', '.join(values)}"}

    def _on_apply(self, msg: dict):
        action, tag, value = check_action(self.session, msg)
        ids = self.session.selection.get()
        if not ids:
            raise MessageError("no samples selected: select some in the sample grid first")
        message = apply_action(self.session, action, ids, tag, value)
        self._publisher.wake()
        return {"message": message, "action": action, "count": len(ids)}

    def _on_clear_selection(self, _msg: dict):
        self.session.selection.clear()
        self._publisher.wake()
        return {"message": "selection cleared"}
