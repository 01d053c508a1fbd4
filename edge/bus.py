"""One serial line, one conversation at a time.

An RS-485 or SDI-12 line is shared by every sensor wired to it. A :class:`Bus` owns the open port and a
lock; polling, probing and on-demand commands all go through :meth:`Bus.conversation`, so two exchanges can
never interleave on the wire. :class:`Buses` hands out one Bus per port URL for the whole process.

Ports are opened with ``serial.serial_for_url`` (``/dev/ttyUSB0``, a pty path, ``socket://host:port``).
A pseudo-terminal rejects parity and reconfiguring its timeout (termios EINVAL), so the port is opened once
with a short fixed read timeout and replies are read against a deadline (:func:`read_until`).
"""

from __future__ import annotations

import logging
import os
import termios
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import serial

from blueranch.edge.drivers.base import DriverError, LineSettings

log = logging.getLogger("blueranch.edge.bus")

#: The port's own read timeout: short, so a read loop can watch its deadline and the stop flag.
PORT_POLL_S = 0.02


def is_pty(url: str) -> bool:
    return "://" not in url and os.path.realpath(url).startswith("/dev/pts/")


def _framing(url: str, line: LineSettings) -> dict:
    """pyserial's settings for ``line`` on ``url``. A pseudo-terminal carries bytes, not bits on a wire: it gets
    no parity (setting it is EINVAL) and 8 data bits (re-opening a pty last set to 7 bits fails with EINVAL in
    tcsetattr)."""
    pty = is_pty(url)
    return {
        "baudrate": line.baudrate,
        "bytesize": serial.EIGHTBITS if pty else line.bytesize,
        "parity": serial.PARITY_NONE if pty else line.parity,
        "stopbits": line.stopbits,
    }


def open_port(url: str, line: LineSettings) -> serial.SerialBase:
    """Open ``url`` with the settings of ``line`` (:func:`_framing`)."""
    try:
        return serial.serial_for_url(
            url,
            **_framing(url, line),
            timeout=PORT_POLL_S,
            # pyserial's rfc2217:// client refuses a write timeout (NotImplementedError); it writes to a socket
            write_timeout=None if url.startswith("rfc2217://") else 5,
            exclusive="://" not in url,
        )
    except (serial.SerialException, ValueError, OSError, termios.error) as exc:
        raise DriverError(f"cannot open {url}: {exc}") from exc


def read_until(port: serial.SerialBase, terminator: bytes, deadline: float, max_bytes: int = 4096) -> bytes:
    """Read until ``terminator`` or the monotonic ``deadline``; return what came (maybe unterminated)."""
    got = bytearray()
    while time.monotonic() < deadline and len(got) < max_bytes:
        chunk = port.read_until(terminator, max_bytes - len(got))
        if chunk:
            got += chunk
            if got.endswith(terminator):
                break
    return bytes(got)


class Bus:
    """A serial line shared by the sensors on one port."""

    def __init__(self, url: str, line: LineSettings):
        self.url = url
        self.line = line
        self._lock = threading.Lock()
        self._port: serial.SerialBase | None = None
        self.owner: str | None = None
        self.conversations = 0
        #: what a protocol remembers about the wire itself, shared by the sensors on it (SDI-12: when the line
        #: last carried a byte and which address it spoke to; see drivers/sdi12.py)
        self.line_state: dict[str, object] = {}

    @contextmanager
    def conversation(self, who: str, timeout_s: float | None = None) -> Iterator[serial.SerialBase]:
        """Hold the line for one exchange; ``timeout_s`` bounds the wait for the lock (None: wait)."""
        if not self._lock.acquire(timeout=-1 if timeout_s is None else timeout_s):
            raise DriverError(f"bus {self.url} busy (held by {self.owner}) for more than {timeout_s} s")
        self.owner = who
        try:
            if self._port is not None and not self._port.is_open:
                self._port = None  # closed under us (pymodbus closes its "socket" after an I/O error)
            if self._port is None:
                self._port = open_port(self.url, self.line)
            self.conversations += 1
            yield self._port
        except (serial.SerialException, OSError) as exc:
            # The adapter vanished or the socket reset: reopen on the next conversation.
            self._close_port()
            raise DriverError(f"I/O error on {self.url}: {exc}") from exc
        finally:
            self.owner = None
            self._lock.release()

    def retune(self, line: LineSettings) -> None:
        """Change the line settings, on the open port if there is one (cheaper than reopening it: an RFC 2217
        port takes about 0.7 s to close and open); for a probe that tries settings, inside its conversation."""
        if line.protocol != self.line.protocol:
            raise ValueError(f"bus {self.url} speaks {self.line.protocol}, not {line.protocol}")
        self.line = line
        if self._port is not None:
            try:
                self._port.apply_settings(_framing(self.url, line))
            except (serial.SerialException, ValueError, OSError, termios.error) as exc:
                self._close_port()
                raise DriverError(f"cannot set {self.url} to {line}: {exc}") from exc

    def _close_port(self) -> None:
        if self._port is not None:
            try:
                self._port.close()
            except (serial.SerialException, OSError) as exc:
                log.warning("closing %s: %s", self.url, exc)
            self._port = None

    def close(self) -> None:
        with self._lock:
            self._close_port()


class Buses:
    """One :class:`Bus` per port URL; sensors on one port must use the same line settings."""

    def __init__(self) -> None:
        self._buses: dict[str, Bus] = {}
        self._lock = threading.Lock()

    def get(self, url: str, line: LineSettings) -> Bus:
        with self._lock:
            bus = self._buses.get(url)
            if bus is None:
                bus = self._buses[url] = Bus(url, line)
            elif bus.line != line:
                raise DriverError(f"port {url} is already open with {bus.line}, not {line}")
            return bus

    def __iter__(self):
        return iter(list(self._buses.values()))

    def close(self) -> None:
        for bus in self:
            bus.close()
