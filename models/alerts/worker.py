"""The alert worker: fetch the look-back window, evaluate every rule, advance the lifecycle, deliver.

``tick()`` does one evaluation at the current time; ``replay()`` fetches a period once and steps the
evaluation time through it (back-testing thresholds on history or on a simulator run). Both go through
the same :meth:`Worker.evaluate_at`.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from blueranch.contracts.influx import to_ms
from blueranch.influxdb import InfluxClient, InfluxError
from blueranch.models.alerts.channels import Channel, Dispatcher, InfluxChannel, MqttChannel, SmtpSender, WebhookSender
from blueranch.models.alerts.config import AlertsConfig
from blueranch.models.alerts.lifecycle import Engine
from blueranch.models.alerts.metrics import Metrics
from blueranch.models.alerts.rules import JUDGED_FIELD, evaluate_all
from blueranch.models.alerts.rules.base import DAY_MS, HOUR_MS, Context, DeviceRecord
from blueranch.models.alerts.rules.devices import infer_interval_s
from blueranch.models.alerts.rules.heatwave import file_climatology, history_climatology, monthly_climatology
from blueranch.models.alerts.series import Frames, fetch_daily_means, fetch_frames
from blueranch.models.alerts.store import Store
from blueranch.outage import Outage
from blueranch.reader import Reader

log = logging.getLogger("blueranch.alerts")


def load_harvests(cfg: AlertsConfig) -> list[tuple[str, int, int]]:
    """Harvests from config and from the harvest log (JSON Lines; lines with ``"type": "harvest"``, the
    simulator truth file's format: ``{"type": "harvest", "time", "asset", "wet_t"}``)."""
    out = [(h.asset, to_ms(h.start), to_ms(h.end or h.start)) for h in cfg.harvests]
    if cfg.harvest_log is not None:
        try:
            text = Path(cfg.harvest_log).read_text("utf-8")
        except OSError as exc:
            raise ValueError(f"harvest_log: cannot read {cfg.harvest_log}: {exc}") from exc
        for n, raw in enumerate(text.splitlines(), 1):
            if not raw.strip():
                continue
            try:
                rec = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{cfg.harvest_log}:{n}: not JSON: {exc}") from exc
            if rec.get("type") != "harvest":
                continue
            try:
                t = to_ms(datetime.fromisoformat(str(rec["time"]).replace("Z", "+00:00")))
                out.append((str(rec["asset"]), t, t))
            except (KeyError, ValueError) as exc:
                raise ValueError(
                    f"{cfg.harvest_log}:{n}: harvest needs 'time' (RFC 3339 UTC) and 'asset': {exc}"
                ) from exc
    return out


def needed_lookback_h(config: AlertsConfig) -> dict[str, float]:
    """Hours of each series the rules need (the largest over every configured site and device), so a
    tick reads 2 h of wind rather than ``lookback_h`` of it. ``lookback_h`` still caps every window."""
    rules = [config.resolve_rules("*", "*")]
    for site, s in config.sites.items():
        rules.append(config.resolve_rules(site, "*"))
        rules += [config.resolve_rules(site, d) for d in s.devices]
    need = {
        "do_mg_l": max(max(r.do_forecast.fit_window_h, r.do_daily.window_h) for r in rules) + 1,
        "temp_c": max(r.heatwave.min_days for r in rules) * 24 + 48,
        "wind_speed_m_s": max(r.storm.average_s for r in rules) / 3600 + 1,
        "load_kg": max(r.biomass_loss.reference_lag_h + r.biomass_loss.reference_h for r in rules) + 1,
        "buffer_dropped_total": max(r.buffer_drops.window_h for r in rules) + 1,
        "position": 24.0,
        "seen": 24.0,  # the sensor registry keeps what was seen before
    }
    need["wave_height_m"] = need["wind_speed_m_s"]
    return {k: min(v, config.lookback_h) for k, v in need.items()}


class Worker:
    def __init__(
        self, client: InfluxClient, config: AlertsConfig, store: Store | None = None, mqtt_client=None, clock=time.time
    ):
        self.client = client
        self.reader = Reader(client)
        self.config = config
        self.store = store or Store(config.state_path)
        self.engine = Engine(config, self.store)
        channels: list[Channel] = []
        if config.channels.influx:
            channels.append(InfluxChannel(client))
        if mqtt_client is not None:
            channels.append(MqttChannel(mqtt_client, config.channels.mqtt_qos))
        channels += [WebhookSender(w) for w in config.channels.webhooks]
        channels += [SmtpSender(s) for s in config.channels.smtp]
        self.dispatcher = Dispatcher(self.store, channels, config.channels, clock)
        self.harvests = load_harvests(config)
        self._harvest_mtime = self._harvest_log_mtime()
        self.lookback_h = needed_lookback_h(config)
        self._clim: dict[tuple[str, str, int], np.ndarray | None] = {}

    # ------------------------------------------------------------ climatology
    def climatology(self, site: str, device: str, now_ms: int) -> tuple[np.ndarray, str] | None:
        """The device's p90 climatology and what it comes from: its own history when long enough, else
        the external file or monthly values; None without any (the heatwave rule is then not evaluated)."""
        clim = self.config.resolve_rules(site, device).heatwave.climatology
        if clim is None:
            return None
        if clim.from_history:
            own = self._history_climatology(site, device, now_ms, clim)
            if own is not None:
                return own
        key = (site, device, -1)
        if key not in self._clim:
            if clim.file is not None:
                self._clim[key] = (file_climatology(clim.file), f"file {clim.file.name} ({clim.file_source})")
            elif clim.p90_c_by_month is not None:
                self._clim[key] = (monthly_climatology(clim.p90_c_by_month), f"monthly values ({clim.source})")
            else:
                self._clim[key] = None
        return self._clim[key]

    def _history_climatology(self, site, device, now_ms, clim) -> tuple[np.ndarray, str] | None:
        key = (site, device, now_ms // DAY_MS)
        if key not in self._clim:
            start = now_ms - int(40 * 365.25 * DAY_MS)
            end = now_ms - int(clim.exclude_recent_days * DAY_MS)
            tracks = [
                t for t in fetch_daily_means(self.reader, "temp_c", start, end) if t.site == site and t.device == device
            ]
            self._clim[key] = None
            span_y = (tracks[0].t_ms[-1] - tracks[0].t_ms[0]) / (365 * DAY_MS) if tracks else 0.0
            if span_y >= clim.min_history_years:
                days = tracks[0].t_ms // DAY_MS
                self._clim[key] = (
                    history_climatology(days, tracks[0].v("temp_c"), clim.window_days),
                    f"the site's history ({span_y:.1f} years of daily means, {clim.source})",
                )
            else:
                log.warning(
                    "alerts: heatwave %s/%s: %.1f of the %g years of temp_c history needed: %s",
                    site,
                    device,
                    span_y,
                    clim.min_history_years,
                    "using the external climatology" if clim.file or clim.p90_c_by_month else "no climatology yet",
                )
        return self._clim[key]

    # ------------------------------------------------------------ evaluation
    def _update_devices(self, frames: Frames) -> tuple[dict[tuple[str, str, str], DeviceRecord], dict]:
        """The sensor registry updated with the frames; also a snapshot to tell which records changed."""
        devices = self.store.devices()
        before = {k: (r.last_seen_ms, r.interval_s, r.anchor) for k, r in devices.items()}
        for key, times in frames.seen.items():
            if not len(times):
                continue
            rec = devices.get(key) or DeviceRecord(*key, int(times[-1]), None)
            rec.last_seen_ms = max(rec.last_seen_ms, int(times[-1]))
            rec.interval_s = infer_interval_s(times, 1.0) or rec.interval_s
            devices[key] = rec
        return devices, before

    def _suspect(self, frames: Frames, observations: list, now_ms: int) -> dict[tuple[str, str, str, str], str]:
        """Alert keys whose sensor's newest reading is QC-flagged suspect: ``hold`` once it has been for
        ``qc_hold_after_s`` (a drifting or fouled sensor), else ``mark`` (a suspect reading in a real event)."""
        if self.config.qc_suspect == "use":
            return {}
        since = {f: frames.suspect_since(f) for f in set(JUDGED_FIELD.values())}
        out = {}
        for k in {ob.key for ob in observations} | set(self.store.active()):
            t0 = since[JUDGED_FIELD[k[2]]].get((k[0], k[1], k[3])) if k[2] in JUDGED_FIELD else None
            if t0 is not None:
                out[k] = "hold" if now_ms - t0 >= self.config.qc_hold_after_s * 1000 else "mark"
        return out

    def _harvest_log_mtime(self) -> float | None:
        p = self.config.harvest_log
        return p.stat().st_mtime if p is not None and p.exists() else None

    def evaluate_at(self, frames: Frames, now_ms: int) -> list[dict]:
        """Evaluate all rules on ``frames`` (already cut at ``now_ms``); returns the notifications queued."""
        mtime = self._harvest_log_mtime()
        if mtime != self._harvest_mtime:  # the farm's harvest log grew: read it again
            self.harvests, self._harvest_mtime = load_harvests(self.config), mtime
        devices, before = self._update_devices(frames)
        ctx = Context(
            now_ms,
            frames,
            self.config,
            devices,
            self.harvests,
            lambda site, device: self.climatology(site, device, now_ms),
        )
        observations = evaluate_all(ctx)
        held = self._suspect(frames, observations, now_ms)
        changed = [r for k, r in devices.items() if before.get(k) != (r.last_seen_ms, r.interval_s, r.anchor)]
        if changed:
            with self.store.transaction():
                for rec in changed:
                    self.store.save_device(rec)
        return self.engine.apply(observations, now_ms, held)

    def evaluate_now(self, now_ms: int | None = None) -> list[dict]:
        """Fetch what the rules need up to ``now_ms`` (default: the clock) and evaluate it."""
        now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
        frames = fetch_frames(self.reader, now_ms - int(self.config.lookback_h * HOUR_MS), now_ms, self.lookback_h)
        return self.evaluate_at(frames, now_ms)

    def tick(self, now_ms: int | None = None) -> list[dict]:
        events = self.evaluate_now(now_ms)
        self.dispatcher.deliver()
        return events

    def replay(self, start_ms: int, end_ms: int, step_s: float) -> list[dict]:
        """Step the evaluation time from ``start_ms`` to ``end_ms``; deliver after every step."""
        lookback = int(self.config.lookback_h * HOUR_MS)
        frames = fetch_frames(self.reader, start_ms - lookback, end_ms)
        events: list[dict] = []
        now = start_ms
        while now <= end_ms:
            events += self.evaluate_at(frames.window(now - lookback, now), now)
            self.dispatcher.deliver()
            now += int(step_s * 1000)
        return events

    def run(
        self, interval_s: float, once: bool = False, stop: threading.Event | None = None, metrics: Metrics | None = None
    ) -> None:
        """Evaluate and deliver every ``interval_s`` until ``stop`` is set. A failing evaluation (InfluxDB
        down) is logged and retried next time, and the outbox is still delivered (webhooks may be up)."""
        stop = stop or threading.Event()
        last_prune = 0.0
        influx = Outage(log, "InfluxDB", self.reader.client.url)
        while True:
            started = time.monotonic()
            try:
                events = self.evaluate_now()
                influx.ok()
                if metrics is not None:
                    metrics.evaluations.labels("ok").inc()
                    metrics.evaluation_s.observe(time.monotonic() - started)
                    for ev in events:
                        metrics.events.labels(ev["event"]).inc()
            except Exception as exc:
                if metrics is not None:
                    metrics.evaluations.labels("failed").inc()
                if once:
                    raise
                if isinstance(exc, InfluxError) and exc.retryable:
                    influx.failed(exc)  # at WARNING when it starts, then every minute; no traceback
                else:
                    log.exception("alerts: evaluation failed; retrying in %g s", interval_s)
            try:
                done = self.dispatcher.deliver()
                if metrics is not None:
                    metrics.deliveries.labels("sent").inc(done["sent"])
                    metrics.deliveries.labels("failed").inc(done["failed"])
                    metrics.observe_store(self.store)
                if started - last_prune >= 3600:
                    last_prune = started
                    self.store.prune(time.time() - self.config.channels.keep_delivered_s)
            except Exception:
                if once:
                    raise
                log.exception("alerts: delivery failed; retrying in %g s", interval_s)
            if once:
                return
            if stop.wait(max(0.0, interval_s - (time.monotonic() - started))):
                return


def utc_ms(text: str) -> int:
    """Milliseconds of an RFC 3339 time; a time without a zone is an error, not a guess."""
    t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if t.tzinfo is None:
        raise ValueError(f"time {text!r} has no zone: write it in UTC, e.g. 2026-11-21T14:00:00Z")
    return to_ms(t.astimezone(UTC))
