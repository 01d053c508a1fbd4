"""Saying loudly, and not too often, that a broker or a database cannot be reached.

A service that retries forever must not retry in silence (an operator sees nothing for minutes) nor log every
attempt (a reconnect every 200 ms fills a disk). :class:`Outage` logs at WARNING on the first failure, then
once every ``every_s`` while the peer stays away (with how long and how many attempts), each time with the
address and the last error, and at INFO once the peer answers again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable


class Outage:
    def __init__(
        self,
        log: logging.Logger,
        what: str,
        address: str,
        every_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.log = log
        self.what = what
        self.address = address
        self.every_s = every_s
        self.clock = clock
        self._lock = threading.Lock()
        self.since: float | None = None
        self.attempts = 0
        self._last_logged = 0.0

    @property
    def down(self) -> bool:
        return self.since is not None

    def failed(self, error: object) -> None:
        """One failed attempt to reach the peer; logs when the outage starts and then every ``every_s``."""
        now = self.clock()
        with self._lock:
            self.attempts += 1
            if self.since is None:
                self.since, self._last_logged = now, now
                first = True
            elif now - self._last_logged >= self.every_s:
                self._last_logged = now
                first = False
            else:
                return
            attempts, lasted = self.attempts, now - self.since
        if first:
            self.log.warning("cannot reach %s at %s: %s; retrying", self.what, self.address, error)
        else:
            self.log.warning(
                "still cannot reach %s at %s after %.0f s (%d attempts): %s; retrying",
                self.what,
                self.address,
                lasted,
                attempts,
                error,
            )

    def ok(self) -> None:
        """The peer answered; logs the end of an outage (once)."""
        if self.since is None:
            return
        now = self.clock()
        with self._lock:
            if self.since is None:
                return
            lasted, attempts = now - self.since, self.attempts
            self.since, self.attempts = None, 0
        self.log.info(
            "%s at %s is reachable again after %.0f s (%d attempts)", self.what, self.address, lasted, attempts
        )
