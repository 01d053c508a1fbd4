"""Scripted serial peers on pseudo-terminals (byte-exact, as paho's tests script a broker) and helpers.

A :class:`Peer` owns the master side of a pty; the code under test opens the slave by path. Each peer
records every byte it received (``rx``) so tests can check what went over the wire and in which order.
"""

from __future__ import annotations

import itertools
import json
import os
import pty
import select
import struct
import threading
import tty
from collections.abc import Callable
from pathlib import Path

import pytest

from blueranch.contracts import mqtt as contract
from blueranch.edge.drivers.modbus_framing import crc16_modbus
from blueranch.edge.drivers.sdi12_framing import crc_chars
from blueranch.mqttc import connect_properties, make_client, parse_url


class Peer:
    """The device end of a pty. ``handle(buffer) -> (consumed, [(delay_s, reply), ...])``."""

    def __init__(self, link: Path, handle: Callable[[bytes], tuple[int, list[tuple[float, bytes]]]]):
        self.master, self.slave = pty.openpty()
        tty.setraw(self.master)
        tty.setraw(self.slave)
        self.link = link
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.ttyname(self.slave))
        self.handle = handle
        self.rx: list[bytes] = []
        self.silent = False
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def write(self, data: bytes) -> None:
        with self._lock:
            try:
                os.write(self.master, data)
            except OSError:
                pass

    def _later(self, delay: float, data: bytes) -> None:
        if delay <= 0:
            self.write(data)
        else:
            t = threading.Timer(delay, self.write, args=(data,))
            t.daemon = True
            t.start()

    def _run(self) -> None:
        buf = b""
        while not self._stop.is_set():
            r, _, _ = select.select([self.master], [], [], 0.05)
            if not r:
                continue
            try:
                chunk = os.read(self.master, 4096)
            except OSError:
                continue
            buf += chunk
            while buf:
                used, replies = self.handle(buf)
                if used == 0:
                    break
                self.rx.append(buf[:used])
                buf = buf[used:]
                if not self.silent:
                    for delay, data in replies:
                        self._later(delay, data)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass


class Sdi12Sensors:
    """SDI-12 sensors on one line: each address answers a!, aI!, aM!/aMC!/aC!, aD0!; values count up."""

    def __init__(self, addresses: str = "0", n_values: int = 3, wait_s: int = 1, sr_delay_s: float = 0.2):
        self.addresses = addresses
        self.n_values = n_values
        self.wait_s = wait_s
        self.sr_delay_s = sr_delay_s
        self.counter = 0
        self.served: list[float] = []  # first value of every D0 served (a counter)
        self.pending: dict[str, tuple[list[float], bool]] = {}
        self.garble_next = 0
        self.silent_next = 0

    def values(self) -> list[float]:
        self.counter += 1
        return [float(self.counter)] + [7.0 + i for i in range(self.n_values - 1)]

    def __call__(self, buf: bytes):
        if b"!" not in buf:
            return (0, []) if len(buf) < 64 else (len(buf), [])
        cmd = buf[: buf.index(b"!") + 1]
        text = cmd[:-1].decode("ascii", "replace")
        if self.silent_next:
            self.silent_next -= 1
            return len(cmd), []
        a, body = text[:1], text[1:]
        if text == "?" and len(self.addresses) == 1:
            return len(cmd), [(0, f"{self.addresses}\r\n".encode())]
        if a not in self.addresses:
            return len(cmd), []
        if body == "":
            return len(cmd), [(0, f"{a}\r\n".encode())]
        if body == "I":
            return len(cmd), [(0, f"{a}14BLUERNCHSONDE9100SIM{a}\r\n".encode())]
        if body in ("M", "MC", "C", "CC"):
            self.pending[a] = (self.values(), body.endswith("C") and len(body) == 2)
            n = f"{self.n_values:02d}" if body.startswith("C") else f"{self.n_values}"
            head = f"{a}{self.wait_s:03d}{n}"
            out = [(0, (head + "\r\n").encode())]
            if body.startswith("M") and self.wait_s:
                out.append((self.sr_delay_s, f"{a}\r\n".encode()))
            return len(cmd), out
        if body == "D0" and a in self.pending:
            vals, crc = self.pending.pop(a)
            self.served.append(vals[0])
            payload = (a + "".join(f"{v:+.2f}" for v in vals)).encode()
            if crc:
                payload += crc_chars(payload)
            if self.garble_next:
                self.garble_next -= 1
                payload = payload[:3] + b"#?" + payload[5:]
            return len(cmd), [(0, payload + b"\r\n")]
        return len(cmd), []


class ModbusSlaves:
    """Modbus RTU slaves on one line: function 3/4 over a register map; else exception 02."""

    def __init__(self, maps: dict[int, dict[int, int]]):
        self.maps = maps
        self.requests: list[tuple[int, int, int]] = []
        self.bad_crc_next = 0

    def __call__(self, buf: bytes):
        if len(buf) < 8:
            return 0, []
        frame = buf[:8]
        if crc16_modbus(frame[:6]) != frame[6:]:
            return 1, []  # resynchronise byte by byte, as a slave ignores a corrupt frame
        sid, fc, addr, count = frame[0], frame[1], *struct.unpack(">HH", frame[2:6])
        self.requests.append((sid, addr, count))
        regs = self.maps.get(sid)
        if regs is None or fc not in (3, 4):
            return 8, []
        if any(a not in regs for a in range(addr, addr + count)):
            body = bytes([sid, fc | 0x80, 2])
        else:
            data = b"".join(struct.pack(">H", regs[a]) for a in range(addr, addr + count))
            body = bytes([sid, fc, len(data)]) + data
        crc = crc16_modbus(body)
        if self.bad_crc_next:
            self.bad_crc_next -= 1
            crc = bytes([crc[0] ^ 0xFF, crc[1]])
        return 8, [(0.01, body + crc)]


@pytest.fixture
def peer_factory(tmp_path):
    peers: list[Peer] = []

    def make(name: str, handle) -> Peer:
        p = Peer(tmp_path / "dev" / name, handle)
        peers.append(p)
        return p

    yield make
    for p in peers:
        p.close()


def nmea(body: str) -> bytes:
    """``$BODY*hh\\r\\n`` with the XOR checksum."""
    cs = 0
    for ch in body.encode():
        cs ^= ch
    return f"${body}*{cs:02X}\r\n".encode()


class Talker:
    """Writes NMEA lines to a peer every ``period_s`` until closed."""

    def __init__(self, peer: Peer, lines: list[bytes], period_s: float = 0.1):
        self.peer, self.lines, self.period_s = peer, lines, period_s
        self._stop = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for line in self.lines:
                self.peer.write(line)
            self._stop.wait(self.period_s)

    def close(self) -> None:
        self._stop.set()


@pytest.fixture
def talker_factory():
    talkers: list[Talker] = []

    def make(peer, lines, period_s=0.1) -> Talker:
        t = Talker(peer, lines, period_s)
        talkers.append(t)
        return t

    yield make
    for t in talkers:
        t.close()


@pytest.fixture
def wire():
    """The scripted devices, for tests (conftest modules cannot be imported under --import-mode=importlib)."""
    from types import SimpleNamespace

    return SimpleNamespace(Sdi12Sensors=Sdi12Sensors, ModbusSlaves=ModbusSlaves, nmea=nmea)


_collector_ids = itertools.count()
_device_ids = itertools.count()


class Collector:
    """A QoS 1 subscriber with a persistent session that records telemetry in arrival order."""

    def __init__(self, broker_url: str, site: str = "dachen", device: str = "buoy-01", **auth):
        self.messages: list[contract.Telemetry] = []
        self.status: dict | None = None
        self.lock = threading.Lock()
        u = parse_url(broker_url)
        self.device = device
        self.client = make_client(f"collector-{device}-{next(_collector_ids)}", clean=False, **auth)
        self.client.on_connect = lambda c, *a: c.subscribe(
            [(contract.telemetry_topic(site, device), 1), (contract.status_topic(site, device), 1)]
        )
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(0.1, 0.5)
        self.client.connect_async(u.host, u.port, clean_start=False, properties=connect_properties(3600))
        self.client.loop_start()

    def _on_message(self, client, userdata, msg) -> None:
        if msg.topic.endswith("/status"):
            self.status = json.loads(msg.payload) if msg.payload else None
            return
        m = contract.parse_telemetry(msg.payload, msg.topic)
        with self.lock:
            self.messages.append(m)

    def seqs(self) -> set[int]:
        with self.lock:
            return {m.seq for m in self.messages}

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def device_id() -> str:
    """A device id of this test's own: the session-wide broker keeps retained status and sessions per device."""
    return f"buoy-t{os.getpid()}-{next(_device_ids)}"


@pytest.fixture
def collector(device_id):
    """Make :class:`Collector` subscribers (for ``device_id`` unless told); all are closed after the test."""
    made: list[Collector] = []

    def make(url: str, **auth) -> Collector:
        c = Collector(url, **{"device": device_id, **auth})
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()
