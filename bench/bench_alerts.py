"""Alert worker figures: one tick over a farm's look-back window, replay speed, outbox delivery rate.

Raw limits measured in the same run: a plain ``SELECT *`` of the whole 240 h look-back window of the
telemetry the rules read (what a worker that re-reads everything every tick would pay; the tick reads
only the hours each rule needs) and a bare HTTP POST loop to the same local receiver.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import requests

from blueranch.influxdb import InfluxClient
from blueranch.models.alerts.channels import Dispatcher, WebhookSender
from blueranch.models.alerts.config import AlertsConfig, Channels, WebhookChannel
from blueranch.models.alerts.lifecycle import Engine
from blueranch.models.alerts.rules.base import Observation
from blueranch.models.alerts.series import fetch_frames
from blueranch.models.alerts.store import Store
from blueranch.models.alerts.worker import Worker
from blueranch.reader import Reader
from blueranch.testing.alerts_synthetic import DAY_MS, MIN_MS, T0_MS, diel_do, write_series
from blueranch.testing.services import InfluxDB


def _farm(client: InfluxClient, devices: int, days: float) -> int:
    rng = np.random.default_rng(0)
    t = np.arange(T0_MS, T0_MS + int(days * DAY_MS), 10 * MIN_MS)
    n = len(t)
    for d in range(devices):
        dev = f"buoy-{d:02d}"
        write_series(
            client,
            "dachen",
            dev,
            t,
            {"do_mg_l": diel_do(t) + rng.normal(0, 0.1, n), "temp_c": 21 + rng.normal(0, 0.2, n)},
            sensor="sonde",
        )
        write_series(client, "dachen", dev, t, {"wind_speed_m_s": np.abs(6 + rng.normal(0, 2, n))}, sensor="wx")
        write_series(
            client,
            "dachen",
            dev,
            t,
            {"lat_deg": 28.45 + rng.normal(0, 3e-5, n), "lon_deg": 121.89 + rng.normal(0, 3e-5, n)},
            sensor="gps",
        )
        write_series(client, "dachen", dev, t, {"load_kg": 800 + rng.normal(0, 5, n)}, sensor="lc", asset=f"ml-{d}")
    return n * devices * 5


class _Sink(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *a):
        pass


def run(ctx) -> dict:
    devices, days = ctx.size((20, 10), (5, 3), (2, 1))
    server = InfluxDB(ctx.workdir / "influx").start()
    out: dict = {}
    try:
        client = InfluxClient(server.url, "bench_alerts")
        client.ensure_database()
        readings = _farm(client, devices, days)
        end = T0_MS + int(days * DAY_MS) - 1
        start = end - 240 * 3_600_000
        t0 = time.perf_counter()
        client.query(f'SELECT * FROM "raw"."water_quality" WHERE time >= {start}ms AND time <= {end}ms')
        client.query(f'SELECT * FROM "raw"."weather" WHERE time >= {start}ms AND time <= {end}ms')
        client.query(f'SELECT * FROM "raw"."position" WHERE time >= {start}ms AND time <= {end}ms')
        client.query(f'SELECT * FROM "raw"."biomass_load" WHERE time >= {start}ms AND time <= {end}ms')
        raw_s = time.perf_counter() - t0
        cfg = AlertsConfig.model_validate({"state_path": str(ctx.workdir / "a.sqlite"), "channels": {"influx": False}})
        w = Worker(client, cfg)
        t0 = time.perf_counter()
        frames = fetch_frames(Reader(client), start, end)
        fetch_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        w.evaluate_at(frames, end)
        eval_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        w.tick(end)
        tick_s = time.perf_counter() - t0
        steps = 48
        w2 = Worker(client, cfg.model_copy(update={"state_path": ctx.workdir / "b.sqlite"}))
        t0 = time.perf_counter()
        w2.replay(end - steps * 600_000, end, 600)
        replay_s = time.perf_counter() - t0
        out.update(
            {
                "alerts_devices": devices,
                "alerts_readings_in_window": readings,
                "alerts_raw_query_lookback_window_s": raw_s,
                "alerts_fetch_full_window_s": fetch_s,
                "alerts_evaluate_s": eval_s,
                "alerts_tick_s": tick_s,
                "alerts_tick_vs_raw_lookback_query_ratio": tick_s / raw_s,
                "alerts_replay_steps_per_s": steps / replay_s,
            }
        )
    finally:
        server.stop()
    out.update(_outbox(ctx))
    return out


def _outbox(ctx) -> dict:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/"
    n = ctx.size(500, 100, 10)
    try:
        s = requests.Session()
        t0 = time.perf_counter()
        for i in range(n):
            s.post(url, data=json.dumps({"i": i}), headers={"Content-Type": "application/json"}, timeout=5)
        raw = n / (time.perf_counter() - t0)
        store = Store(ctx.workdir / "outbox.sqlite")
        e = Engine(AlertsConfig(), store)
        e.apply(
            [Observation("dachen", f"d{i}", "storm", "", "warning", True, False, 20, 17.2, "w") for i in range(n)],
            T0_MS,
        )
        d = Dispatcher(store, [WebhookSender(WebhookChannel(url=url))], Channels())
        t0 = time.perf_counter()
        d.deliver()
        rate = n / (time.perf_counter() - t0)
        store.close()
        return {
            "alerts_webhook_notifications_per_s": rate,
            "alerts_raw_http_posts_per_s": raw,
            "alerts_webhook_vs_raw_post_ratio": rate / raw,
        }
    finally:
        httpd.shutdown()
        httpd.server_close()
