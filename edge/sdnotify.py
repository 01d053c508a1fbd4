"""systemd's service notifications (sd_notify(3)) without a dependency: one datagram to ``$NOTIFY_SOCKET``.

``READY=1`` when the agent runs, ``WATCHDOG=1`` every half ``WatchdogSec`` while its threads are alive and
its sender is not stuck (``$WATCHDOG_USEC``), ``STATUS=...`` with the uplink state, ``STOPPING=1`` on a stop.
Outside systemd (no ``$NOTIFY_SOCKET``) every call does nothing.
"""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger("blueranch.edge")


def notify(message: str) -> bool:
    """Send ``message`` (``KEY=VALUE`` lines); False when there is no socket or it cannot be reached."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):  # an abstract socket
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(message.encode("utf-8", "replace"))
    except OSError as exc:
        log.warning("cannot notify systemd on %s: %s", os.environ.get("NOTIFY_SOCKET"), exc)
        return False
    return True


def watchdog_period_s() -> float | None:
    """How often to send ``WATCHDOG=1`` (half of systemd's ``WatchdogSec``), or None without a watchdog."""
    usec = os.environ.get("WATCHDOG_USEC", "")
    pid = os.environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0 or (pid.isdigit() and int(pid) != os.getpid()):
        return None
    return int(usec) / 2e6
