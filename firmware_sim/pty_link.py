"""Carry a device's bytes over a pseudo-terminal, as a USB serial adapter would.

``pty.openpty()`` gives a master (the device side, kept here) and a slave (what the edge agent opens
with pyserial). A symlink named after the device points at the slave so configs can use a stable path.
A pseudo-terminal carries no SDI-12 break, so commands are framed by their terminating ``!``.
"""

from __future__ import annotations

import logging
import os
import pty
import select
import threading
import time
import tty
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)


class CommandDevice(Protocol):
    def handle(self, command: bytes): ...


class PtyLink:
    def __init__(self, device: CommandDevice, link_path: Path | None = None, terminator: bytes = b"!"):
        self.device = device
        self.terminator = terminator
        self.master, self.slave = pty.openpty()
        tty.setraw(self.master)
        tty.setraw(self.slave)
        self.slave_name = os.ttyname(self.slave)
        self.link_path = link_path
        if link_path is not None:
            link_path.parent.mkdir(parents=True, exist_ok=True)
            if link_path.is_symlink() or link_path.exists():
                link_path.unlink()
            link_path.symlink_to(self.slave_name)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"pty-{link_path or self.slave_name}", daemon=True)
        self._timers: list[threading.Timer] = []

    def start(self) -> "PtyLink":
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        for t in self._timers:
            t.cancel()
        self._thread.join(2)
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass
        if self.link_path is not None and self.link_path.is_symlink():
            self.link_path.unlink()

    def write(self, data: bytes) -> None:
        if data and not self._stop.is_set():
            try:
                os.write(self.master, data)
            except OSError as exc:
                log.debug("pty write failed: %s", exc)

    def _run(self) -> None:
        buf = b""
        while not self._stop.is_set():
            r, _, _ = select.select([self.master], [], [], 0.1)
            if not r:
                continue
            try:
                chunk = os.read(self.master, 4096)
            except OSError:
                time.sleep(0.05)
                continue
            buf += chunk
            while self.terminator in buf:
                command, buf = buf.split(self.terminator, 1)
                command = command.lstrip(b"\r\n\x00 ") + self.terminator
                resp = self.device.handle(command)
                if resp is None:
                    continue
                self.write(resp.now)
                if resp.later:
                    t = threading.Timer(resp.delay_s, self.write, args=(resp.later,))
                    t.daemon = True
                    self._timers.append(t)
                    t.start()
            if len(buf) > 1024:  # garbage without a terminator: drop it as a bus would
                buf = b""
