"""Ingest test helpers: in-process workers on the real broker and database, point counts."""

from __future__ import annotations

import itertools
import threading

import pytest

from blueranch.ingest.config import IngestConfig
from blueranch.ingest.worker import Worker

_ids = itertools.count(1)


@pytest.fixture
def unique():
    """A fresh id for this test's site, group and client ids (tests share one broker)."""
    return f"t{next(_ids)}x{threading.get_ident() % 10000}"


@pytest.fixture
def start_worker(mosquitto, influx, unique):
    """Start an in-process :class:`Worker` (its own group and client id); stopped after the test."""
    started: list[tuple[Worker, threading.Thread]] = []

    def start(
        url: str | None = None,
        client=None,
        index: int = 1,
        username: str | None = None,
        password: str | None = None,
        metrics_port: int | None = None,
        **overrides,
    ) -> Worker:
        settings = {"group": unique, "client_id": unique, "session_expiry_s": 0, "stats_interval_s": 1.0, **overrides}
        worker = Worker(
            url or mosquitto.url,
            client or influx,
            IngestConfig.model_validate(settings),
            index=index,
            username=username,
            password=password,
            metrics_port=metrics_port,
        )
        thread = threading.Thread(target=worker.run, name=f"worker-{unique}", daemon=True)
        thread.start()
        assert worker.subscribed.wait(30), "worker did not subscribe"
        started.append((worker, thread))
        return worker

    yield start
    for worker, thread in started:
        worker.stop()
        thread.join(60)
        assert not thread.is_alive(), "worker did not stop"
