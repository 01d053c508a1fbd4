"""Write line protocol to InfluxDB: retry what may succeed later, isolate the points InfluxDB refuses.

- 5xx, 429, timeouts, connection errors, and also 401/403/404 (credentials or a database an operator
  has to fix: the data is good, so it is kept and retried) are retried with exponential backoff and full
  jitter (tenacity's ``wait_random_exponential``) until they succeed or the worker stops.
- 400 (a point InfluxDB refuses: a field-type conflict, a point beyond the retention policy) and 413
  (body too large) are data errors. InfluxDB 1.x writes the good points of a partially refused body,
  but its error does not say which lines it refused, so the body is bisected: each half is written
  again (writes are idempotent, so rewriting accepted points is harmless) until every refused point is
  isolated. That costs about ``2 * log2(n)`` extra writes per refused point and never loses a good one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

import tenacity

from blueranch.contracts.influx import RETENTION_POLICIES
from blueranch.influxdb import InfluxClient, InfluxError
from blueranch.ingest.config import RetryConfig
from blueranch.outage import Outage

log = logging.getLogger("blueranch.ingest.writer")

#: HTTP statuses that mean "these points are refused" rather than "try again later".
DATA_ERROR_STATUSES = (400, 413)


class Stopped(RuntimeError):
    """The worker is stopping while InfluxDB still fails: the batch is not acknowledged."""


def check_databases(client: InfluxClient) -> None:
    """Raise :class:`~blueranch.influxdb.MissingDatabase` unless every database and policy of the contract that
    the client's naming writes to exists (created by ``blueranch deploy init-db``, never by the ingest)."""
    for rp in RETENTION_POLICIES:
        client.check_database(rp)


def is_data_error(exc: BaseException) -> bool:
    return isinstance(exc, InfluxError) and exc.status in DATA_ERROR_STATUSES


@dataclass(frozen=True)
class Refused:
    """One line InfluxDB refused, the index of the message it came from, and InfluxDB's reason."""

    line: bytes
    owner: int
    error: str


class Writer:
    def __init__(
        self,
        client: InfluxClient,
        retry: RetryConfig,
        stop_event: threading.Event,
        compress: bool = True,
        on_retry: Callable[[], None] = lambda: None,
        outage: Outage | None = None,
    ):
        self.client = client
        #: logs the outage at WARNING when it starts and then every minute (not every retry)
        self.outage = outage or Outage(log, "InfluxDB", client.url)
        self.on_retry = on_retry
        self.stop_event = stop_event
        self.compress = compress
        self.retries = 0
        self._retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(lambda e: isinstance(e, InfluxError) and not is_data_error(e)),
            wait=tenacity.wait_random_exponential(multiplier=retry.initial_s, max=retry.max_s),
            stop=lambda state: stop_event.is_set(),
            sleep=stop_event.wait,
            before_sleep=self._log_retry,
            reraise=True,
        )

    def _log_retry(self, state: tenacity.RetryCallState) -> None:
        self.retries += 1
        self.on_retry()
        exc = state.outcome.exception() if state.outcome else None
        self.outage.failed(f"{exc} (writes are retried; nothing is acknowledged meanwhile)")
        if isinstance(exc, InfluxError) and exc.status == 404:  # dropped, or never created: not the ingest's to make
            log.error(
                "database %r is missing (%s); create it with 'blueranch deploy init-db' (writes are retried)",
                self.client.database,
                exc,
            )

    def write_retrying(self, body: bytes, retention_policy: str | None) -> None:
        """Write until InfluxDB accepts, or raise a data error (400/413), or :class:`Stopped`."""
        try:
            self._retrying(self.client.write, body, retention_policy=retention_policy, compress=self.compress)
        except InfluxError as exc:
            if is_data_error(exc):
                self.outage.ok()  # it answered
                raise
            raise Stopped(f"stopping while InfluxDB fails: {exc}") from exc
        self.outage.ok()

    def write(self, chunks: list[bytes], owners: list[int], retention_policy: str | None) -> list[Refused]:
        """Write ``chunks`` (line-protocol bodies, ``owners[i]`` owns ``chunks[i]``) as one body.

        Returns the refused lines (empty when InfluxDB took everything); raises :class:`Stopped`.
        """
        if not chunks:
            return []
        try:
            self.write_retrying(b"\n".join(chunks), retention_policy)
            return []
        except InfluxError as exc:
            first_error = exc
        lines: list[bytes] = []
        line_owner: list[int] = []
        for chunk, owner in zip(chunks, owners, strict=False):
            for ln in chunk.split(b"\n"):
                lines.append(ln)
                line_owner.append(owner)
        log.warning(
            "InfluxDB refused part of a batch of %d lines (%s); bisecting to find the refused points",
            len(lines),
            first_error,
        )
        return self._bisect(lines, line_owner, 0, len(lines), first_error, retention_policy)

    def _bisect(
        self, lines: list[bytes], owner: list[int], lo: int, hi: int, error: InfluxError, rp: str | None
    ) -> list[Refused]:
        if hi - lo == 1:
            return [Refused(lines[lo], owner[lo], str(error))]
        mid = (lo + hi) // 2
        out: list[Refused] = []
        for a, b in ((lo, mid), (mid, hi)):
            try:
                self.write_retrying(b"\n".join(lines[a:b]), rp)
            except InfluxError as exc:
                out.extend(self._bisect(lines, owner, a, b, exc, rp))
        return out
