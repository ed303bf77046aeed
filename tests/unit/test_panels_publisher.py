"""The publisher: the one writer of a panel's traits, rate-limited, never raising into training."""

from __future__ import annotations

import threading

import anywidget
import traitlets

from weightslab_nb.panels.publisher import Publisher


class Probe(anywidget.AnyWidget):
    _esm = "export default { render() {} };\n"
    value = traitlets.Int(0).tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)


def test_pushed_changes_and_polled_values_are_applied_by_the_publisher_thread():
    w = Probe()
    writers = []
    w.observe(lambda change: writers.append(threading.current_thread().name), names="value")
    source = {"value": 1}
    pub = Publisher(w, lambda: {"value": source["value"]}, interval=0.05, name="probe-pub").start()
    try:
        assert pub.flush(5)
        assert w.value == 1
        source["value"] = 2
        assert pub.flush(5) and w.value == 2
        pub.push(error="shown")
        assert pub.flush(5) and w.error == "shown"
        assert set(writers) == {"probe-pub"}
    finally:
        assert pub.close(5)
    w.close()


def test_poll_errors_are_shown_logged_and_cleared_and_the_thread_survives(caplog):
    w = Probe()
    state = {"fail": True}

    def poll():
        if state["fail"]:
            raise RuntimeError("boom")
        return {"value": 5}

    pub = Publisher(w, poll, interval=0.05, name="failing-pub").start()
    try:
        assert pub.flush(5)
        assert "RuntimeError: boom" in w.error
        assert pub.alive
        assert any("poll failed" in r.message for r in caplog.records)
        state["fail"] = False
        assert pub.flush(5)
        assert w.error == "" and w.value == 5
    finally:
        assert pub.close(5)
    w.close()


def test_close_stops_the_thread_after_a_final_poll():
    w = Probe()
    counter = {"n": 0}
    polled_after_close = threading.Event()
    closing = threading.Event()

    def poll():
        counter["n"] += 1
        if closing.is_set():
            polled_after_close.set()
        return {"value": counter["n"]}

    pub = Publisher(w, poll, interval=60, name="final-pub").start()
    assert pub.flush(5)
    closing.set()
    assert pub.close(5)
    assert not pub.alive
    assert polled_after_close.is_set()
    assert w.value == counter["n"]
    assert not pub.flush(0.1)  # nothing runs any more
    w.close()


def test_errors_from_several_sources_are_joined_and_cleared_separately():
    w = Probe()
    pub = Publisher(w, lambda: None, interval=0.05).start()
    try:
        pub.set_error("request", "bad message")
        pub.set_error("other", "other problem")
        assert pub.flush(5) and w.error == "bad message\nother problem"
        pub.set_error("request", "")
        assert pub.flush(5) and w.error == "other problem"
        pub.clear_errors()
        assert pub.flush(5) and w.error == ""
    finally:
        pub.close(5)
    w.close()


def test_a_closed_widget_ends_its_publisher():
    w = Probe()
    pub = Publisher(w, lambda: None, interval=0.05).start()
    w.close()  # comm gone: nothing left to write to
    pub.wake()
    assert pub.close(5)
