"""Carry serial devices' bytes over pseudo-terminals and raw TCP, all in one I/O thread.

``pty.openpty()`` gives a master (the device side, kept here) and a slave (what the edge agent opens with
pyserial). A symlink named after the device points at the slave, so configs use a stable path. With a TCP
port, the same device is also served as raw bytes (like ser2net's raw mode), so
``serial_for_url("socket://host:port")`` reaches it. A reply goes back on the connection the request came
from; an unprompted talker (NMEA) is heard on every connection.

The slave fd stays open here: without it, reading the master fails with EIO while no client has the pty
open. Writes are non-blocking; bytes nobody reads are dropped when the pty's buffer is full, as on a
serial line with nothing listening.
"""

from __future__ import annotations

import errno
import heapq
import itertools
import logging
import os
import pty
import selectors
import socket
import threading
import time
import tty
from dataclasses import dataclass, field
from pathlib import Path

from blueranch.sim.devices import Reply, SerialDevice

log = logging.getLogger(__name__)


@dataclass
class _Served:
    device: SerialDevice
    link_path: Path | None
    master: int = -1
    slave: int = -1
    slave_name: str = ""
    listener: socket.socket | None = None
    clients: list[socket.socket] = field(default_factory=list)


class LinkServer:
    """Serve devices on ptys (and optionally TCP) until :meth:`close`. Use as a context manager."""

    def __init__(self) -> None:
        self._sel = selectors.DefaultSelector()
        self._served: list[_Served] = []
        self._timers: list[tuple[float, int, object, bytes]] = []
        self._seq = itertools.count()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self._sel.register(self._wake_r, selectors.EVENT_READ, ("wake", None))
        self._thread = threading.Thread(target=self._run, name="sim-links", daemon=True)

    def add(
        self, device: SerialDevice, link_path: Path | None, tcp_port: int | None = None, tcp_host: str = "127.0.0.1"
    ) -> _Served:
        """Open a pty for ``device`` (symlinked at ``link_path``) and, if ``tcp_port`` is set, listen there."""
        s = _Served(device, link_path)
        s.master, s.slave = pty.openpty()
        tty.setraw(s.master)
        tty.setraw(s.slave)
        os.set_blocking(s.master, False)
        s.slave_name = os.ttyname(s.slave)
        if link_path is not None:
            link_path.parent.mkdir(parents=True, exist_ok=True)
            if link_path.is_symlink() or link_path.exists():
                link_path.unlink()
            link_path.symlink_to(s.slave_name)
        self._sel.register(s.master, selectors.EVENT_READ, ("pty", s))
        if tcp_port is not None:
            lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                lst.bind((tcp_host, tcp_port))
            except OSError as exc:
                lst.close()
                raise OSError(
                    exc.errno, f"device {device.device_id}: cannot listen on {tcp_host}:{tcp_port}: {exc.strerror}"
                ) from None
            lst.listen(4)
            lst.setblocking(False)
            s.listener = lst
            self._sel.register(lst, selectors.EVENT_READ, ("listen", s))
        self._served.append(s)
        if device.tick_s:
            self._schedule(time.monotonic() + device.tick_s, ("tick", s), b"")
        return s

    def start(self) -> LinkServer:
        self._thread.start()
        return self

    def __enter__(self) -> LinkServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        self._wake()
        if self._thread.is_alive():
            self._thread.join(5)
        for s in self._served:
            for sock in [*s.clients, *([s.listener] if s.listener else [])]:
                sock.close()
            for fd in (s.master, s.slave):
                try:
                    os.close(fd)
                except OSError as exc:
                    log.debug("closing fd %d: %s", fd, exc)
            if s.link_path is not None and s.link_path.is_symlink():
                s.link_path.unlink()
        self._sel.close()
        os.close(self._wake_r)
        os.close(self._wake_w)

    def _wake(self) -> None:
        try:
            os.write(self._wake_w, b"x")
        except BlockingIOError:
            pass

    def _schedule(self, at: float, target, data: bytes) -> None:
        with self._lock:
            heapq.heappush(self._timers, (at, next(self._seq), target, data))
        self._wake()

    @staticmethod
    def _safely(s: _Served, what: str, fn, *args) -> list[Reply]:
        """Run a device callback; a bug in one device is logged with its id and never stops the others."""
        try:
            return fn(*args)
        except Exception:
            log.exception("device %s: %s failed; the device stays up, this input is dropped", s.device.device_id, what)
            return []

    def _send_replies(self, s: _Served, replies: list[Reply], to) -> None:
        now = time.monotonic()
        for r in replies:
            if r.delay_s > 0:
                self._schedule(now + r.delay_s, ("send", s, to), r.data)
            else:
                self._write(s, to, r.data)

    def _write(self, s: _Served, to, data: bytes) -> None:
        if not data:
            return
        targets = [to] if to is not None else ["pty", *s.clients]
        for t in targets:
            try:
                if t == "pty":
                    os.write(s.master, data)
                else:
                    t.sendall(data)
            except BlockingIOError:
                log.debug("device %s: output dropped, nobody reading", s.device.device_id)
            except OSError as exc:
                if t != "pty":
                    self._drop_client(s, t)
                elif exc.errno != errno.EIO:
                    log.warning("device %s: pty write failed: %s", s.device.device_id, exc)

    def _drop_client(self, s: _Served, sock: socket.socket) -> None:
        if sock in s.clients:
            s.clients.remove(sock)
            self._sel.unregister(sock)
            sock.close()

    def _run_timers(self) -> float:
        now = time.monotonic()
        due = []
        with self._lock:
            while self._timers and self._timers[0][0] <= now:
                due.append(heapq.heappop(self._timers))
            nxt = self._timers[0][0] - now if self._timers else 0.5
        for _, _, target, data in due:
            if target[0] == "tick":
                s = target[1]
                self._send_replies(s, self._safely(s, "tick", s.device.tick), None)
                self._schedule(now + s.device.tick_s, target, b"")
            else:
                self._write(target[1], target[2], data)
        return max(0.0, min(nxt, 0.5))

    def _run(self) -> None:
        while not self._stop.is_set():
            timeout = self._run_timers()
            for key, _ in self._sel.select(timeout):
                kind, s = key.data
                if kind == "wake":
                    os.read(self._wake_r, 4096)
                elif kind == "pty":
                    try:
                        data = os.read(s.master, 4096)
                    except (BlockingIOError, OSError):
                        continue
                    self._send_replies(s, self._safely(s, "feed", s.device.feed, data), "pty")
                elif kind == "listen":
                    conn, _ = s.listener.accept()
                    conn.setblocking(True)
                    conn.settimeout(2.0)
                    s.clients.append(conn)
                    self._sel.register(conn, selectors.EVENT_READ, ("tcp", (s, conn)))
                elif kind == "tcp":
                    srv, conn = s
                    try:
                        data = conn.recv(4096)
                    except OSError:
                        data = b""
                    if not data:
                        self._drop_client(srv, conn)
                        continue
                    self._send_replies(srv, self._safely(srv, "feed", srv.device.feed, data), conn)
