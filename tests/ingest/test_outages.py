"""Nothing is lost when InfluxDB or a worker dies under load (real Mosquitto, real InfluxDB).

The InfluxDB outage lasts ``BLUERANCH_INGEST_OUTAGE_S`` seconds (default 3 to fit the suite's time
budget; ``bench/bench_ingest.py`` runs the issue's 60 s outage).
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading

import pytest
import yaml

from blueranch.influxdb import InfluxClient
from blueranch.procs import Supervisor, blueranch_command
from blueranch.testing.ingest_checks import count_points
from blueranch.testing.loadgen import Publisher, stream
from blueranch.testing.wait import wait_until

pytestmark = pytest.mark.integration

OUTAGE_S = float(os.environ.get("BLUERANCH_INGEST_OUTAGE_S", "3"))


class BackgroundLoad:
    def __init__(self, url: str, client_id: str, messages):
        self.publisher = Publisher(url, client_id)
        self.error: BaseException | None = None
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(messages,), daemon=True)
        self.thread.start()

    def _run(self, messages) -> None:
        try:
            self.publisher.publish_all(messages, rate_per_s=1000)
        except BaseException as exc:  # reported by wait()
            self.error = exc
        finally:
            self.done.set()

    def wait(self) -> None:
        assert self.done.wait(240), "publisher did not finish"
        self.publisher.close()
        if self.error:
            raise self.error


@pytest.mark.slow
def test_influxdb_killed_under_load_then_restarted_every_point_arrives_once(
    mosquitto_factory, influxdb_factory, start_worker, unique
):
    broker = mosquitto_factory()
    server = influxdb_factory()
    client = InfluxClient(server.url, "outage", timeout_s=2)
    client.ensure_database()  # blueranch deploy init-db: the ingest never creates it
    n, samples = 4000, 2
    worker = start_worker(
        url=broker.url,
        client=client,
        receive_maximum=300,
        max_pending_points=1000,
        retry={"initial_s": 0.05, "max_s": 0.5, "timeout_s": 2},
    )
    load = BackgroundLoad(broker.url, f"{unique}-pub", stream(unique, ["buoy-01", "buoy-02"], n, samples))
    wait_until(lambda: count_points(client, unique) > 200, 60, 0.05, message="load flowing")
    server.kill()
    threading.Event().wait(OUTAGE_S)  # the outage itself (a scenario duration, not a synchronisation)
    assert worker.writer.retries > 0, "the worker never noticed the outage"
    server.start()
    load.wait()
    wait_until(lambda: count_points(client, unique) >= n * samples, 120, 0.2, message="catch-up after the outage")
    assert count_points(client, unique) == n * samples  # every point, none twice (same series + time = one point)
    # Mosquitto 2.0.11 honours the Receive Maximum while messages flow, but sends its queue beyond it on
    # catch-up (measured: ~1,300 unacknowledged with a maximum of 300), so the internal bound is what holds.
    assert worker.peak_pending_points <= 1000 + samples, "the internal in-flight bound was exceeded"
    assert worker.metrics.totals["points_total"] >= n * samples


def _children(pid: int) -> set[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return {int(p) for p in out.split()}


@pytest.mark.slow
def test_a_worker_killed_with_sigkill_under_load_loses_nothing(tmp_path, mosquitto_factory, influx, unique):
    broker = mosquitto_factory()
    cfg = tmp_path / "ingest.yaml"
    cfg.write_text(yaml.safe_dump({"group": unique, "client_id": unique, "stats_interval_s": 1.0}))
    n = 6000
    with Supervisor(tmp_path / "logs") as sup:
        pool = sup.start(
            "ingest",
            blueranch_command(
                "ingest",
                "run",
                "--mqtt",
                broker.url,
                "--influx",
                influx.url,
                "--database",
                influx.database,
                "--workers",
                "2",
                "--config",
                str(cfg),
            ),
        )
        children = wait_until(
            lambda: len(_children(pool.pid)) == 2 and _children(pool.pid), 30, message="two worker processes"
        )
        # the workers are subscribed once a message published now lands (earlier ones had no subscriber)
        warm = Publisher(broker.url, f"{unique}-warm")
        probes = stream(f"{unique}w", ["buoy-01"], 1000)

        def probe() -> bool:
            warm.publish_all([next(probes)])
            return count_points(influx, f"{unique}w") > 0

        try:
            wait_until(probe, 60, 0.2, message="workers up")
        except AssertionError:
            raise AssertionError(sup.log("ingest")[-3000:]) from None
        warm.close()
        load = BackgroundLoad(broker.url, f"{unique}-pub", stream(unique, ["buoy-01", "buoy-02", "buoy-03"], n))
        wait_until(lambda: count_points(influx, unique) > 500, 60, 0.05, message="load flowing")
        victim = sorted(children)[0]
        os.kill(victim, signal.SIGKILL)
        load.wait()
        try:
            wait_until(lambda: count_points(influx, unique) >= n, 120, 0.2, message="everything written")
        except AssertionError:
            raise AssertionError(sup.log("ingest")[-3000:]) from None
        assert count_points(influx, unique) == n
        now = _children(pool.pid)
        assert len(now) == 2 and victim not in now, "the pool did not restart the killed worker"
        code = sup.stop("ingest", timeout_s=90)
    assert code == 0, sup.log("ingest")[-3000:]
    assert "exited with -9" in sup.log("ingest")
