"""HyperParameterEditor: every watched hyperparameter, requested and applied, edited by type.

The panel shows one watched hyperparameters handle (:mod:`weightslab_nb.watch.hyperparameters`):
one row per leaf (nested keys flattened to dotted paths such as ``"optimizer.lr"``) with its
requested value (what was asked for, from code, this panel, the CLI or the YAML file), its
applied value (what the training uses; a request made while a step runs is applied at the next
batch boundary), its type, and the last applied change. An edit is checked against the type in
the browser and again here, then runs the ``hp_set`` command of :mod:`weightslab_nb.commands`
(``source="panel"``), which goes through ``handle.request(path, value, source="panel")`` (typed
validation: an ``int`` stays an ``int``, a ``float`` takes an ``int``, a ``bool`` only a bool,
...; no new keys from the panel). A refused edit changes nothing and is shown in its row.

Protocol (browser view: ``js/src/hparams.ts``)
----------------------------------------------
browser -> Python
    ``{"type": "set", "req"?, "path", "value"}``: ``path`` one of the rows' paths; ``value`` a
    JSON value (null, bool, number, string, or a list of those). Reply
    ``{"type": "set_result", "req", "ok": true, "path", "applied", "message"}`` (``applied``:
    false when the value waits for the next batch boundary). A refused value (unknown path,
    wrong type, out of range) answers ``ok: false`` with the reason, which also shows in the
    row's ``error`` and in the panel's ``error`` trait; nothing changes.
    ``{"type": "clear_error"}`` (also clears the rows' errors).
Traits
    ``rows``: ``[{"path", "type", "requested", "applied", "pending", "editable", "item_types",
    "error", "changed"}]``: ``type`` is the requested value's type name (``float``, ``int``,
    ``bool``, ``str``, ``list``, ``tuple``, ``NoneType``, ...); values are JSON (a non-finite
    float or another object is sent as its ``repr`` string, and such a row is not
    ``editable``); ``item_types`` the type names of a list's items (else None); ``error`` the
    last refusal of an edit of that row (None after a good one); ``changed``: ``{"step",
    "source", "old"}`` of the last applied change of that key, or None.
    ``name``: the registry name of the handle shown ("" when none is watched); ``config_path``:
    the watched YAML file ("" when none); ``config_error``: why the file's last version was
    refused ("" when it was good); ``pending``: how many rows wait to be applied; ``error``.
"""

from __future__ import annotations

import math

import traitlets

from weightslab_nb import commands
from weightslab_nb.errors import InvalidValueError
from weightslab_nb.panels._base import Panel, static_asset
from weightslab_nb.panels.messages import MessageError, name_field

MAX_TEXT = 10_000
MAX_ITEMS = 10_000
#: Types the panel can edit (JSON carries them); others are shown read-only.
EDITABLE = frozenset({"float", "int", "bool", "str", "list", "tuple", "NoneType"})


def _json_value(value):
    """``(value as JSON, representable)``: non-finite floats and other objects become reprs."""
    if value is None or isinstance(value, (bool, str)):
        return value, True
    if isinstance(value, int):
        return (value, True) if abs(value) < 2**53 else (str(value), False)
    if isinstance(value, float):
        return (value, True) if math.isfinite(value) else (repr(value), False)
    if isinstance(value, (list, tuple)):
        items = [_json_value(v) for v in value]
        return [v for v, _ in items], all(ok for _, ok in items)
    try:  # numpy scalars and the like
        import numbers

        if isinstance(value, numbers.Integral):
            return _json_value(int(value))
        if isinstance(value, numbers.Real):
            return _json_value(float(value))
    except Exception:
        pass
    return repr(value), False


def _check_value(value, depth: int = 0):
    """A JSON value from the browser: null, bool, finite number, string, list of those."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise MessageError(f"value: expected a finite number, got {value!r}")
        return value
    if isinstance(value, str):
        if len(value) > MAX_TEXT:
            raise MessageError(f"value: longer than {MAX_TEXT} characters")
        return value
    if isinstance(value, list):
        if depth >= 4:
            raise MessageError("value: lists nested deeper than 4 levels")
        if len(value) > MAX_ITEMS:
            raise MessageError(f"value: at most {MAX_ITEMS} items")
        return [_check_value(v, depth + 1) for v in value]
    if isinstance(value, dict):
        raise MessageError("value: a section cannot be set as a whole from the panel; set its "
                           "keys one by one")
    raise MessageError(f"value: expected null, true/false, a number, a string or a list, got "
                       f"{type(value).__name__}")


class HyperParameterEditor(Panel):
    """Every watched hyperparameter with its requested and applied value; typed edits.

    Parameters
    ----------
    session : Session
        The session shown (``wl.<panel>()`` in the facade passes the current one).
    name : str, optional
        Registry name of the hyperparameters handle to show (``watch_or_edit(...,
        flag="hyperparameters")`` registers ``"hyperparameters"`` unless told otherwise).
        Default: the one watched last, followed when another is watched.
    """

    _esm = static_asset("hparams.js")
    _css = static_asset("hparams.css")
    _poll_interval = 0.2  # <= 5 Hz
    _reply_types = {"set": "set_result"}

    rows = traitlets.List().tag(sync=True)
    name = traitlets.Unicode("").tag(sync=True)
    config_path = traitlets.Unicode("").tag(sync=True)
    config_error = traitlets.Unicode("").tag(sync=True)
    pending = traitlets.Int(0).tag(sync=True)

    def __init__(self, session, *, name: str | None = None, **kwargs):
        if name is not None and (not isinstance(name, str) or not name):
            raise InvalidValueError("name: expected a registry name of watched hyperparameters, "
                                    f"got {name!r}")
        self._wanted = name
        self._seen = None
        self._row_errors: dict[str, str] = {}
        self._row_errors_version = 0
        super().__init__(session, **kwargs)

    def _handlers(self) -> dict:
        return {"set": self._on_set}

    # ---------------------------------------------------------------- the handle
    def handle(self):
        """``(name, handle)`` shown by the panel, or ``(None, None)`` when none is watched."""
        handles = self.session.registry.all("hyperparameters")
        if self._wanted is not None:
            hp = handles.get(self._wanted)
            return (self._wanted, hp) if hp is not None else (None, None)
        if not handles:
            return None, None
        name = next(reversed(handles))
        return name, handles[name]

    # ---------------------------------------------------------------- publisher thread
    def _poll(self):
        name, hp = self.handle()
        key = (name, id(hp), getattr(hp, "version", None), self.session.changes.hyperparameters,
               self._row_errors_version)
        if key == self._seen:
            return None
        self._seen = key
        if hp is None:
            return {"rows": [], "name": "", "config_path": "", "config_error": "", "pending": 0}
        rows = self._rows(hp)
        config = getattr(hp, "config", None)
        path = getattr(config, "path", None)
        return {"rows": rows, "name": name, "config_path": "" if path is None else str(path),
                "config_error": str(getattr(hp, "error", None) or ""),
                "pending": sum(1 for r in rows if r["pending"])}

    def _rows(self, hp) -> list[dict]:
        raw = hp.rows()
        last: dict[str, dict] = {}
        for record in hp.history():
            last[record["key"]] = record
        errors = dict(self._row_errors)
        out = []
        for row in raw:
            requested, ok_r = _json_value(row["requested"])
            applied, ok_a = _json_value(row["applied"])
            kind = str(row["type"])
            shown = row["requested"] if row["requested"] is not None else row["applied"]
            item_types = ([type(v).__name__ for v in shown]
                          if isinstance(shown, (list, tuple)) else None)
            change = last.get(row["key"])
            out.append({
                "path": row["key"], "type": kind, "requested": requested, "applied": applied,
                "pending": bool(row["pending"]),
                "editable": kind in EDITABLE and ok_r and ok_a,
                "item_types": item_types, "error": errors.get(row["key"]),
                "changed": None if change is None else {
                    "step": change.get("step"), "source": change.get("source"),
                    "old": _json_value(change.get("old"))[0]},
            })
        return out

    # ---------------------------------------------------------------- messages
    def _on_set(self, msg: dict):
        path = name_field(msg, "path")
        if "value" not in msg:
            raise MessageError("value: required")
        value = _check_value(msg["value"])
        name, hp = self.handle()
        if hp is None:
            raise MessageError("path: no hyperparameters are watched")
        paths = [r["key"] for r in hp.rows()]
        if path not in paths:
            raise MessageError(f"path: no hyperparameter {path!r} in {name!r}; known: {paths}")
        try:
            result = commands.run(self.session, "hp_set",
                                  {"path": path, "value": value, "name": name}, source="panel")
        except (TypeError, ValueError, KeyError) as exc:
            text = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
            self._set_row_error(path, str(text))
            raise
        self._set_row_error(path, None)
        applied = result["applied"]
        shown = value if not isinstance(value, str) else repr(value)
        when = "applied" if applied else "requested; applied at the next batch boundary"
        return {"path": path, "applied": bool(applied), "message": f"{path} = {shown}: {when}"}

    def _set_row_error(self, path: str, text: str | None) -> None:
        if text is None:
            if self._row_errors.pop(path, None) is None:
                return
        else:
            self._row_errors[path] = text
        self._row_errors_version += 1
        self._publisher.wake()

    def _on_clear_error(self, msg: dict):
        if self._row_errors:
            self._row_errors.clear()
            self._row_errors_version += 1
        return super()._on_clear_error(msg)
