"""A loopback TCP proxy that can be cut: an island's radio link to the shore, for delivery drills.

:meth:`LinkProxy.cut` closes every connection through it and, until :meth:`LinkProxy.restore`, closes each new
one at once (the link is down: the far side is unreachable); :meth:`LinkProxy.restore` lets connections
through again. It forwards bytes as they come, so TLS and MQTT pass through untouched. Loopback only.
"""

from __future__ import annotations

import socket
import threading

from blueranch.testing.services import free_port


class LinkProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1", port: int | None = None):
        self.target = (target_host, target_port)
        self.port = port or free_port()
        self._up = threading.Event()
        self._up.set()
        self._lock = threading.Lock()
        self._conns: set[socket.socket] = set()
        self.cuts = 0
        self.mode = "close"
        self._silenced: list[socket.socket] = []
        self._closed = threading.Event()
        self._listen()
        self._start_accepting()

    def _listen(self) -> None:
        self._server = socket.create_server(("127.0.0.1", self.port))
        self._server.settimeout(0.2)

    def _start_accepting(self) -> None:
        self._thread = threading.Thread(target=self._accept_loop, args=(self._server,), daemon=True)
        self._thread.start()

    @property
    def is_up(self) -> bool:
        return self._up.is_set()

    def cut(self, mode: str = "close") -> None:
        """The link goes down until :meth:`restore`. ``close``: live connections are closed and new ones closed
        at once; ``silent``: nothing more crosses, in either direction, and nobody is told (a radio link that
        drops every packet: each side finds out by its keepalive); new connections get no answer."""
        self._up.clear()
        self.mode = mode
        self.cuts += 1
        if mode == "refuse":
            self._server.close()  # a connection attempt is refused (nothing listens)
        if mode in ("close", "refuse"):
            with self._lock:
                conns, self._conns = list(self._conns), set()
            for s in conns:
                _close(s)

    def restore(self) -> None:
        if self.mode == "refuse":
            self._listen()
            self._start_accepting()
        self._up.set()
        silenced, self._silenced = self._silenced, []
        for s in silenced:
            _close(s)

    def close(self) -> None:
        self._closed.set()
        self.cut()
        self._server.close()
        self._thread.join(5)

    def _accept_loop(self, server: socket.socket) -> None:
        while not self._closed.is_set():
            try:
                client, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if not self._up.is_set():
                if self.mode == "close":
                    _close(client)
                else:
                    self._silenced.append(client)  # held open, never answered
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _close(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                self._conns.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                if self._up.is_set():
                    dst.sendall(data)  # else lost on the way
        except OSError:
            pass
        finally:
            with self._lock:
                self._conns.discard(src)
                self._conns.discard(dst)
            _close(src)
            _close(dst)

    def __enter__(self) -> LinkProxy:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _close(s: socket.socket) -> None:
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    s.close()
