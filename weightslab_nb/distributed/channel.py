"""The connection between the ranks and the hub: records go up, control comes down.

Built on :mod:`multiprocessing.connection` (an authenticated socket; messages are plain
pickles, numpy arrays travel as their raw bytes). Pickles are only read from peers that proved
they hold the key. The hub listens on ``host`` (loopback by
default) with a random key; each rank connects once, says who it is, and then:

* ships what it records through :meth:`HubLink.ship`: one list append under a lock on the
  training thread; a sender thread sends the accumulated messages as one object every
  ``interval`` seconds (or at once after :meth:`HubLink.flush`), so the step never waits for
  the network;
* receives the hub's control messages on a reader thread (``on_control``).

The hub's :class:`HubServer` reads every rank on a thread of its own and hands each message to
``on_message(rank, message)``; a rank whose connection ends without its goodbye is reported
through ``on_lost(rank, reason)``.
"""

from __future__ import annotations

import logging
import pickle
import secrets
import socket
import threading
from collections.abc import Callable
from multiprocessing import AuthenticationError
from multiprocessing.connection import Client, Connection, Listener

log = logging.getLogger(__name__)

BYE = "bye"  # the last message of a rank that ended normally


def _dumps(obj) -> bytes:
    # plain pickle: multiprocessing's own pickler would pass torch tensors as shared-memory
    # handles that only a process of the same family can open
    return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)


def _loads(data: bytes):
    return pickle.loads(data)


def _close_quietly(conn: Connection) -> None:
    """Close ``conn`` (closing it twice, from two threads, is harmless)."""
    try:
        conn.close()
    except OSError:
        pass


class HubServer:
    """The hub's end: accepts the ranks' connections and reads their messages.

    Parameters
    ----------
    on_message : callable
        ``on_message(rank, message)``, called on the rank's reader thread for every message a
        rank shipped (in the order shipped). Exceptions are logged; the connection stays.
    on_lost : callable, optional
        ``on_lost(rank, reason)`` when a rank's connection ends without its goodbye (it died,
        or its machine is gone).
    on_bye : callable, optional
        ``on_bye(rank)`` when a rank said goodbye (after its last message was handled).
    host : str, default "127.0.0.1"
        Interface to listen on. Ranks on other machines need one they can reach.

    Attributes
    ----------
    address : tuple[str, int]
        ``(host, port)`` to connect to.
    authkey : bytes
        The key every rank must present (random, 32 bytes).
    """

    def __init__(self, on_message: Callable[[int, object], None],
                 on_lost: Callable[[int, str], None] | None = None, host: str = "127.0.0.1",
                 on_bye: Callable[[int], None] | None = None):
        self.authkey = secrets.token_bytes(32)
        self._listener = Listener((host, 0), authkey=self.authkey)
        self.address = self._listener.address
        self._on_message = on_message
        self._on_lost = on_lost
        self._on_bye = on_bye
        self._lock = threading.Lock()
        self._links: dict[int, Connection] = {}
        self._joined = threading.Condition(self._lock)
        self._closed = False
        self._threads: list[threading.Thread] = []
        self._acceptor = threading.Thread(target=self._accept, name="wl-hub-accept",
                                          daemon=True)
        self._acceptor.start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn = self._listener.accept()
            except (OSError, AuthenticationError, EOFError):  # closed, or a wrong key
                if self._closed:
                    return
                log.warning("a connection to the hub was refused", exc_info=True)
                continue
            reader = threading.Thread(target=self._read, args=(conn,), name="wl-hub-read",
                                      daemon=True)
            self._threads.append(reader)
            reader.start()

    def _read(self, conn: Connection) -> None:
        try:
            hello = _loads(conn.recv_bytes())
            rank = int(hello["rank"])
        except (EOFError, OSError, KeyError, TypeError, ValueError):
            conn.close()
            return
        with self._joined:
            self._links[rank] = conn
            self._joined.notify_all()
        reason = "its connection closed"
        try:
            while True:
                messages = _loads(conn.recv_bytes())
                for message in messages:
                    if message == BYE:
                        if self._on_bye is not None:
                            self._on_bye(rank)
                        return
                    try:
                        self._on_message(rank, message)
                    except Exception:
                        log.exception("the hub could not apply a message of rank %d", rank)
        except (EOFError, OSError, TypeError) as exc:  # TypeError: closed by close()
            reason = f"its connection was lost ({type(exc).__name__})"
        finally:
            with self._lock:
                self._links.pop(rank, None)
            _close_quietly(conn)
        if not self._closed and self._on_lost is not None:
            self._on_lost(rank, reason)

    def wait_for_ranks(self, ranks, timeout: float) -> bool:
        """Wait until every rank of ``ranks`` has connected; False on timeout."""
        wanted = set(ranks)
        with self._joined:
            return self._joined.wait_for(lambda: wanted <= set(self._links), timeout)

    def send(self, rank: int, message) -> bool:
        """Send ``message`` to one connected rank; False when it is not connected."""
        with self._lock:
            conn = self._links.get(rank)
        if conn is None:
            return False
        try:
            conn.send_bytes(_dumps(message))
        except OSError:
            return False
        return True

    def close(self) -> None:
        """Stop listening and close every connection (readers end; nothing is reported lost).
        The accepting thread ends too: a thread blocked in ``accept()`` would keep the listening
        socket open for as long as the kernel lives, so a last connection wakes it first."""
        if self._closed:
            return
        self._closed = True
        try:
            socket.create_connection(self.address, timeout=1.0).close()
        except OSError:
            pass  # nothing listens any more: the thread has ended
        self._acceptor.join(5.0)
        self._listener.close()
        with self._lock:
            links, self._links = list(self._links.values()), {}
        for conn in links:
            _close_quietly(conn)


class HubLink:
    """A rank's end: ships records to the hub and receives its control messages.

    Parameters
    ----------
    address : tuple[str, int]
        The hub's :attr:`HubServer.address`.
    authkey : bytes
        The hub's :attr:`HubServer.authkey`.
    rank : int
        This rank.
    on_control : callable, optional
        ``on_control(message)`` on the reader thread for each message the hub sends.
    interval : float, default 0.1
        Seconds between two sends of the accumulated messages.

    Attributes
    ----------
    error : BaseException or None
        Why shipping failed (the hub is gone); later messages are dropped then.
    """

    def __init__(self, address, authkey: bytes, rank: int,
                 on_control: Callable[[object], None] | None = None, interval: float = 0.1):
        self.rank = rank
        self.error: BaseException | None = None
        self._conn = Client(tuple(address), authkey=authkey)
        self._conn.send_bytes(_dumps({"rank": rank}))
        self._interval = interval
        self._outbox: list = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._sent = threading.Condition()
        self._queued = 0  # messages queued so far
        self._done = 0    # of those, messages handed to the socket (or dropped after an error)
        self._closing = False
        self._on_control = on_control
        self._sender = threading.Thread(target=self._send_loop, name="wl-rank-send", daemon=True)
        self._sender.start()
        self._reader = threading.Thread(target=self._read_loop, name="wl-rank-read", daemon=True)
        self._reader.start()

    def ship(self, message) -> None:
        """Queue ``message`` for the hub (any thread; one list append under a lock)."""
        with self._lock:
            self._outbox.append(message)
            self._queued += 1

    def flush(self, timeout: float | None = 10.0) -> bool:
        """Send everything queued now and wait until it was handed to the socket; False on
        timeout or when the hub is gone."""
        with self._lock:
            target = self._queued
        self._wake.set()
        with self._sent:
            done = self._sent.wait_for(lambda: self._done >= target or self.error is not None,
                                       timeout)
        return done and self.error is None

    def _send_loop(self) -> None:
        while True:
            self._wake.wait(self._interval)
            self._wake.clear()
            with self._lock:
                batch, self._outbox = self._outbox, []
                taken = self._queued
                closing = self._closing
            if closing:
                batch.append(BYE)
            if batch and self.error is None:
                try:
                    self._conn.send_bytes(_dumps(batch))
                except OSError as exc:
                    self.error = exc
            with self._sent:
                self._done = taken
                self._sent.notify_all()
            if closing:
                return

    def _read_loop(self) -> None:
        while True:
            try:
                message = _loads(self._conn.recv_bytes())
            except (EOFError, OSError):
                return
            if self._on_control is not None:
                try:
                    self._on_control(message)
                except Exception:
                    log.exception("rank %d could not apply a control message", self.rank)

    def close(self, timeout: float = 10.0) -> None:
        """Send what is queued and the goodbye, then close the connection (safe twice)."""
        with self._lock:
            if self._closing:
                return
            self._closing = True
        self._wake.set()
        self._sender.join(timeout)
        self._conn.close()
