"""Carry serial devices' bytes over pseudo-terminals and raw TCP, all in one I/O thread.

``pty.openpty()`` gives a master (the device side, kept here) and a slave (what the edge agent opens with
pyserial). A symlink named after the device points at the slave, so configs use a stable path. With a TCP
port, the same device is also served as raw bytes (like ser2net's raw mode), so
``serial_for_url("socket://host:port")`` reaches it. A reply goes back on the connection the request came
from; an unprompted talker (NMEA) is heard on every connection.

**Breaks.** A pseudo-terminal carries no break: Linux's pty driver has no ``break_ctl``, so
``tcsendbreak``/``TIOCSBRK`` on the agent's side return at once and nothing reaches this side (no NUL, no
framing error, with or without PARMRK). A device that needs to see breaks (an SDI-12 sonde wired
directly, ``require_break``) is therefore served with ``rfc2217=True``: its TCP port speaks RFC 2217
(telnet COM-PORT-OPTION, as ser2net's telnet mode), pyserial's ``rfc2217://`` client sends
``send_break`` as SET-CONTROL BREAK-ON / BREAK-OFF, and the device's ``on_break(active)`` is called in
order with the data bytes around it (pyserial's own server-side ``PortManager`` parses the protocol).

**Serial settings.** A device with a ``line`` (:class:`blueranch.sim.devices.SerialLine`: a Modbus slave
set to 9600 8N1) hears a request only when the master's settings match it; other bytes are dropped and
counted (``_Served.misheard``), as a UART set otherwise hears framing and parity errors and the slave
discards the frame. What the master set is seen where the link can see it: over RFC 2217 every setting
(pyserial's client sends baud rate, data bits, parity and stop bits when it opens the port); on a pty the
speed only (``tcgetattr`` on this side shows the speed the agent set, but Linux's pty clears ``PARENB``
whatever the agent asked, so parity cannot be told); over raw TCP nothing (the server's own port would
set the line, as in ser2net's raw mode), so everything is heard.

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
import termios
import threading
import time
import tty
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from serial import rfc2217

from blueranch.sim.devices import Reply, SerialDevice

log = logging.getLogger(__name__)

#: termios speed constants -> baud rates, to read the speed a master set on a pty
_SPEEDS = {
    getattr(termios, f"B{b}"): b
    for b in (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)
    if hasattr(termios, f"B{b}")
}


@dataclass
class _Served:
    device: SerialDevice
    link_path: Path | None
    master: int = -1
    slave: int = -1
    slave_name: str = ""
    listener: socket.socket | None = None
    clients: list[socket.socket] = field(default_factory=list)
    #: serve the TCP port as RFC 2217 (telnet COM-PORT-OPTION) rather than raw bytes
    rfc2217: bool = False
    #: per RFC 2217 client: its protocol state
    managers: dict[socket.socket, rfc2217.PortManager] = field(default_factory=dict)
    #: requests the device did not hear because the master's serial settings differ from its ``line``
    misheard: int = 0
    #: the last mismatch logged (each new one is logged once)
    _mismatch: str | None = None


class _VirtualPort:
    """What pyserial's RFC 2217 ``PortManager`` sets and reads on "the serial port": line settings are
    accepted and echoed back, modem lines are off, and the break condition goes to the device."""

    def __init__(self, device: SerialDevice):
        self.device = device
        self.baudrate, self.bytesize, self.parity, self.stopbits = 1200, 7, "E", 1
        self.xonxoff = self.rtscts = self.dtr = self.rts = False
        self.cts = self.dsr = self.ri = self.cd = False
        self._break = False
        #: hands the data bytes received before a control command to the device first (set per read)
        self.flush: Callable[[], None] = lambda: None

    @property
    def break_condition(self) -> bool:
        return self._break

    @break_condition.setter
    def break_condition(self, active: bool) -> None:
        self._break = bool(active)
        self.flush()
        on_break = getattr(self.device, "on_break", None)
        if on_break is not None:
            on_break(self._break)

    def reset_input_buffer(self) -> None:
        """Nothing is buffered here: bytes go to the device as they come."""

    def reset_output_buffer(self) -> None:
        """Replies are written at once (or on their timer): nothing to discard."""


class _Connection:
    """``PortManager`` writes its telnet answers through this."""

    def __init__(self, sock: socket.socket):
        self.sock = sock

    def write(self, data: bytes) -> None:
        self.sock.sendall(data)


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
        self,
        device: SerialDevice,
        link_path: Path | None,
        tcp_port: int | None = None,
        tcp_host: str = "127.0.0.1",
        rfc2217: bool = False,
    ) -> _Served:
        """Open a pty for ``device`` (symlinked at ``link_path``) and, if ``tcp_port`` is set, listen there
        (raw bytes, or RFC 2217 with ``rfc2217``; port 0 picks a free one: see ``listener.getsockname()``)."""
        s = _Served(device, link_path, rfc2217=rfc2217)
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
                elif t in s.managers:
                    t.sendall(b"".join(s.managers[t].escape(data)))
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
        s.managers.pop(sock, None)
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
                    if self._hears(s, "pty", len(data)):
                        self._send_replies(s, self._safely(s, "feed", s.device.feed, data), "pty")
                elif kind == "listen":
                    conn, _ = s.listener.accept()
                    conn.setblocking(True)
                    conn.settimeout(2.0)
                    s.clients.append(conn)
                    if s.rfc2217:
                        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                        s.managers[conn] = rfc2217.PortManager(_VirtualPort(s.device), _Connection(conn))
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
                    if conn in srv.managers:
                        self._feed_rfc2217(srv, conn, data)
                        continue
                    if self._hears(srv, conn, len(data)):
                        self._send_replies(srv, self._safely(srv, "feed", srv.device.feed, data), conn)

    def _feed_rfc2217(self, s: _Served, conn: socket.socket, data: bytes) -> None:
        """Telnet commands (a break among them) act as they come; the data bytes between them go to the device
        in runs, so a break lands between the bytes it was sent between."""
        run = bytearray()
        manager = s.managers[conn]

        def flush() -> None:
            if run:
                if self._hears(s, conn, len(run)):
                    self._send_replies(s, self._safely(s, "feed", s.device.feed, bytes(run)), conn)
                run.clear()

        manager.serial.flush = flush
        try:
            for byte in manager.filter(data):
                run += byte
        except OSError:
            self._drop_client(s, conn)
            return
        flush()

    def _master_settings(self, s: _Served, conn) -> tuple[int | None, str | None, int | None]:
        """(baud rate, parity, data bits) the master set on this connection, None where the link cannot see."""
        if conn == "pty":
            try:
                speed = termios.tcgetattr(s.slave)[5]
            except termios.error:
                return None, None, None
            return _SPEEDS.get(speed), None, None
        manager = s.managers.get(conn)
        if manager is None:
            return None, None, None
        port = manager.serial
        return port.baudrate, port.parity, port.bytesize

    def _hears(self, s: _Served, conn, n: int) -> bool:
        """Whether the device hears these bytes: always, unless its ``line`` differs from the master's settings."""
        line = getattr(s.device, "line", None)
        if line is None:
            return True
        why = line.mismatch(*self._master_settings(s, conn))
        if why is None:
            return True
        s.misheard += 1
        if why != s._mismatch:
            s._mismatch = why
            log.info("device %s (%s): %d bytes not heard: master at %s", s.device.device_id, line.label, n, why)
        return False
