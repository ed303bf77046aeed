"""Displays that carry a static fallback, and their refresh when training stops.

What the front-ends pick from a panel's output ``{widget-view, text/html, text/plain}``
(read in their sources: nbconvert 7.17, nbclient 0.11, JupyterLab 4.6, ipywidgets 8.1):

* JupyterLab, Notebook 7, VS Code with a kernel: the live widget (``widget-view`` ranks first).
* nbconvert ``--to html`` *without* ``--execute``, on a notebook saved from JupyterLab (which
  saves no widget state unless "Save Widget State Automatically" is on): its
  ``WidgetsDataTypeFilter`` skips ``widget-view`` when the model is not in
  ``metadata.widgets`` and takes ``text/html``: the fallback.
* nbconvert ``--execute``: nbclient stores the state of every widget it saw
  (``store_widget_state``, on by default), so the filter keeps ``widget-view``: the page shows
  a blank cell offline, and with the CDN a dead copy of the widget (no kernel behind it, the
  state of its last synced traits). That is why the refresh below drops ``widget-view`` from
  the outputs of displays no front-end ever drew: nbconvert then takes ``text/html``.
* GitHub never runs widget code: it shows ``text/html`` when present (else ``text/plain``),
  with styles, scripts and ids removed.

Refresh: when the controller's state becomes ``stopped`` or ``error`` (the session's
``on_controller_change`` hook; the training thread only compares a string and sets an event),
this registry's thread rebuilds the fallback of each display that no front-end draws and sends
``update_display_data`` with ``text/html`` and ``text/plain`` only. Without ``widget-view`` in
the stored output, nbconvert takes ``text/html`` whether or not the widget state was saved.

Which displays no front-end draws: both JupyterLab and nbclient apply an update to every output
of that display id, whatever cell sends it, and JupyterLab replaces the live widget by what the
update holds. So a display is refreshed only when

* the client that executed its cell does not name its cells (no ``cellId`` in the
  ``execute_request`` metadata: nbclient, i.e. ``nbconvert --execute`` and papermill; JupyterLab,
  Notebook 7 and VS Code send one and draw widgets), and
* no view of its panels announced itself (``{"type": "view"}``, or any request).

The second test alone is not enough: under "Run All" a view's announcement waits behind every
queued cell, so it arrives after a stop made by a later cell.

A display in JupyterLab is therefore never refreshed while its widget is open: updating it would
make JupyterLab create a new view (losing its sort, page and zoom). A notebook saved from
JupyterLab keeps the fallback of the moment it was displayed.

nbclient records only the messages of the cell executing now; a refresh built while no cell ran
is sent again at the end of the next cell (IPython's ``post_run_cell``, which runs before the
cell's reply and waits for a refresh still being built), so a notebook that stops training in a
cell stores the final run.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
import weakref

from weightslab_nb.session import register_feature

log = logging.getLogger(__name__)

FEATURE = "fallback_displays"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
FINAL_STATES = ("stopped", "error")


def _ipython():
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipykernel
        return None
    return get_ipython()


def _client_names_cells() -> bool:
    """Whether the request executing now came with a ``cellId`` (an interactive front-end
    that draws widgets: JupyterLab, Notebook 7, VS Code), not from nbclient."""
    kernel = getattr(_ipython(), "kernel", None)
    try:
        request = kernel.get_parent() if kernel is not None else None
    except Exception:  # another kernel implementation: assume a front-end draws widgets
        return True
    if not isinstance(request, dict):
        return kernel is not None
    return bool((request.get("metadata") or {}).get("cellId"))


class _Shown:
    """One display: its id, the object shown (weakly), and whether an interactive front-end
    executed the cell that made it."""

    def __init__(self, obj, display_id: str, interactive: bool):
        self.ref = weakref.ref(obj)
        self.display_id = display_id
        self.interactive = interactive


class FallbackDisplays:
    """The fallback displays of one session (``session.feature("fallback_displays")``).

    Objects shown through :meth:`show` need ``widget_bundle() -> (data, metadata)`` (the
    widget's own mimebundle plus the fallback), ``static_bundle() -> dict`` (``text/html`` and
    ``text/plain`` only) and ``has_live_view() -> bool``.

    Attributes
    ----------
    refreshes : int
        Refresh rounds sent so far (each sends one update per display without a live view).
    last_sent : dict
        display id -> the data of its last update (for tests and debugging).
    """

    def __init__(self, session):
        self.session = session
        self._shown: list[_Shown] = []
        self._state = session.controller.state
        self._wanted = 0     # stops seen (training thread)
        self._built = 0      # stops whose fallbacks are built
        self._published = 0  # stops whose fallbacks were sent while a cell executed
        self._bundles: list[tuple[_Shown, dict]] = []
        self._executing = False
        self._lock = threading.Lock()  # one refresh at a time (thread or end of a cell)
        self._wake = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None
        self._events = None
        self.refreshes = 0
        self.last_sent: dict[str, dict] = {}
        session.on_controller_change.append(self._controller_changed)
        session.on_close.append(self.close)

    # ---------------------------------------------------------------- main thread
    def show(self, obj) -> str:
        """Display ``obj`` (live widget + fallback) with a new display id; returns the id."""
        from IPython.display import display

        data, metadata = obj.widget_bundle()
        display_id = f"wl-{uuid.uuid4().hex}"
        shown = _Shown(obj, display_id, _client_names_cells())
        with self._lock:
            self._shown = [s for s in self._shown if s.ref() is not None] + [shown]
        display(data, raw=True, metadata=metadata, display_id=display_id)
        self._start()
        return display_id

    def refresh(self, timeout: float = 10.0) -> bool:
        """Build (if a stop is due) and send the fallbacks now, from the calling thread.

        Returns False when another refresh held the lock past ``timeout`` seconds.
        """
        if not self._lock.acquire(timeout=timeout):
            return False
        try:
            self._refresh_locked(in_cell=True)
        finally:
            self._lock.release()
        return True

    def close(self) -> None:
        """Stop the thread and the IPython hooks (the session's ``on_close``)."""
        self._closed = True
        self._wake.set()
        if self._controller_changed in self.session.on_controller_change:
            self.session.on_controller_change.remove(self._controller_changed)
        if self._events is not None:
            for name, fn in (("pre_run_cell", self._pre_run_cell),
                             ("post_run_cell", self._post_run_cell)):
                try:
                    self._events.unregister(name, fn)
                except ValueError:
                    pass
            self._events = None

    # ---------------------------------------------------------------- hooks
    def _controller_changed(self) -> None:
        """Training thread, after every state/step change: compare one string, maybe wake."""
        state = self.session.controller.state
        if state == self._state:
            return
        self._state = state
        if state in FINAL_STATES:
            self._wanted += 1
            self._wake.set()

    def _pre_run_cell(self, *_args) -> None:
        self._executing = True

    def _post_run_cell(self, *_args) -> None:
        """End of a cell, main thread, before its reply: send a refresh not yet recorded."""
        if self._published >= self._wanted:
            self._executing = False
            return
        with self._lock:
            try:
                self._refresh_locked(in_cell=True)
            except Exception:  # a fallback must never break the user's cell
                log.warning("static fallback refresh failed", exc_info=True)
            self._executing = False

    # ---------------------------------------------------------------- refresher thread
    def _start(self) -> None:
        if self._thread is not None:
            return
        ip = _ipython()
        events = getattr(ip, "events", None)
        if events is not None:
            events.register("pre_run_cell", self._pre_run_cell)
            events.register("post_run_cell", self._post_run_cell)
            self._events = events
            self._executing = True  # show() runs inside a cell
        self._thread = threading.Thread(target=self._run, name="wl-fallback-refresh",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._closed:
                return
            try:
                with self._lock:
                    self._refresh_locked(in_cell=self._executing)
            except Exception:
                log.warning("static fallback refresh failed", exc_info=True)

    def _refresh_locked(self, in_cell: bool) -> None:
        wanted = self._wanted
        if self._built < wanted:
            started = time.perf_counter()
            try:
                self.session.drain(wait_signals=False)  # the last steps' values are in
            except Exception:
                log.debug("drain before the fallback refresh failed", exc_info=True)
            bundles = []
            for shown in self._shown:
                obj = shown.ref()
                if obj is None or shown.interactive or obj.has_live_view():
                    continue  # a live view is never replaced (see the module docstring)
                bundles.append((shown, obj.static_bundle()))
            self._bundles, self._built = bundles, wanted
            log.debug("static fallbacks built in %.3f s", time.perf_counter() - started)
        if self._published >= self._built:
            return
        from IPython.display import update_display

        for shown, data in self._bundles:
            update_display(data, raw=True, display_id=shown.display_id)
            self.last_sent[shown.display_id] = data
        self.refreshes += 1
        if in_cell:
            self._published = self._built


register_feature(FEATURE, FallbackDisplays)


def displays_of(session) -> FallbackDisplays:
    """The :class:`FallbackDisplays` of ``session``."""
    return session.feature(FEATURE)
