"""Notification channels and the outbox delivery loop.

Every channel has ``send(body)`` that returns on success and raises :class:`Retryable` or
:class:`Permanent`. :class:`Dispatcher` fans queued notifications out to the channels and delivers
them in order per channel; a failure leaves the delivery in the outbox with exponential back-off, so a
receiver that is down for hours still gets every notification when it comes back (at least once; the
``notification_id`` lets a receiver drop repeats). Within one delivery the webhook retries quickly with
tenacity before giving the attempt back to the outbox.
"""

from __future__ import annotations

import json
import logging
import math
import os
import smtplib
import time
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any, Protocol

import requests
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential

from blueranch.contracts.errors import ContractError
from blueranch.contracts.influx import MEASUREMENTS, Point
from blueranch.contracts.lineprotocol import lines
from blueranch.contracts.mqtt import alerts_topic
from blueranch.influxdb import InfluxClient, InfluxError
from blueranch.models.alerts.config import SEVERITY_RANK, Channels, SmtpChannel, WebhookChannel
from blueranch.models.alerts.store import Store

log = logging.getLogger("blueranch.alerts")


class Retryable(RuntimeError):
    """The receiver may accept it later (network error, 5xx, 429, broker down)."""


class Permanent(RuntimeError):
    """The receiver will never accept it (4xx): logged and marked failed, not retried."""


class Channel(Protocol):
    name: str

    def wants(self, body: dict[str, Any]) -> bool: ...

    def send(self, body: dict[str, Any]) -> None: ...


def text(body: dict[str, Any]) -> str:
    return (
        f"[{body['severity'].upper()}] {body['event']}: {body['kind']} at {body['site']}/{body['device']}"
        f"{'/' + body['subject'] if body['subject'] else ''} - {body['message']} (alert {body['alert_id']}, "
        f"{body['time']})"
    )


class InfluxChannel:
    """The ``alerts`` measurement (contract, ``derived`` policy): one point per lifecycle event."""

    name = "influx"

    def __init__(self, client: InfluxClient):
        self.client = client

    def wants(self, body: dict[str, Any]) -> bool:
        return body["event"] != "reminder"

    def send(self, body: dict[str, Any]) -> None:
        m = MEASUREMENTS["alerts"]
        fields: dict[str, Any] = {
            "alert_id": body["alert_id"],
            "message": body["message"][:1000],
            "open": 0 if body["state"] == "resolved" else 1,
        }
        for f in ("value", "threshold"):
            if body[f] is not None and math.isfinite(body[f]):
                fields[f] = float(body[f])
        tags = {
            "site": body["site"],
            "device": body["device"],
            "kind": body["kind"],
            "severity": body["severity"],
            "state": body["state"],
        }
        if body["subject"]:
            tags["subject"] = body["subject"]
        try:
            data = lines([Point(m.name, tags, fields, body["time_ms"])])
        except ContractError as exc:
            raise Permanent(f"alert point refused by the line protocol contract: {exc}") from exc
        try:
            self.client.write(data, retention_policy=m.retention_policy)
        except InfluxError as exc:
            raise (Retryable if exc.retryable else Permanent)(str(exc)) from exc


class MqttChannel:
    """JSON on ``alerts_topic(site)``, QoS 1; waits for the broker's PUBACK."""

    name = "mqtt"

    def __init__(self, client, qos: int = 1, timeout_s: float = 10.0):
        self.client = client
        self.qos = qos
        self.timeout_s = timeout_s

    def wants(self, body: dict[str, Any]) -> bool:
        return True

    def send(self, body: dict[str, Any]) -> None:
        if not self.client.is_connected():
            raise Retryable("MQTT broker not connected")
        try:
            topic = alerts_topic(body["site"])
        except ContractError as exc:
            raise Permanent(f"no alert topic for site {body['site']!r}: {exc}") from exc
        info = self.client.publish(topic, json.dumps(body, sort_keys=True), qos=self.qos)
        info.wait_for_publish(self.timeout_s)
        if not info.is_published():
            raise Retryable(f"MQTT publish not acknowledged within {self.timeout_s} s (rc {info.rc})")


def webhook_payload(body: dict[str, Any], fmt: str) -> dict[str, Any]:
    """Generic JSON (the notification itself), or the text shapes Slack, WeCom and DingTalk robots take."""
    if fmt == "slack":
        return {"text": text(body)}
    if fmt in ("wecom", "dingtalk"):
        return {"msgtype": "text", "text": {"content": text(body)}}
    return body


class WebhookSender:
    def __init__(self, cfg: WebhookChannel, session: requests.Session | None = None):
        self.cfg = cfg
        self.name = f"webhook:{cfg.name}"
        self.session = session or requests.Session()
        self._post = retry(
            retry=retry_if_exception_type(Retryable),
            stop=stop_after_attempt(cfg.attempts),
            wait=wait_exponential(multiplier=0.2, max=2.0),
            reraise=True,
        )(self._post_once)

    def wants(self, body: dict[str, Any]) -> bool:
        return SEVERITY_RANK[body["severity"]] >= SEVERITY_RANK[self.cfg.min_severity]

    def _post_once(self, body: dict[str, Any]) -> None:
        headers = {
            "Content-Type": "application/json",
            "X-BlueRanch-Notification-Id": body["notification_id"],
            **self.cfg.headers,
        }
        try:
            r = self.session.post(
                self.cfg.url,
                data=json.dumps(webhook_payload(body, self.cfg.format)),
                headers=headers,
                timeout=self.cfg.timeout_s,
            )
        except requests.RequestException as exc:
            raise Retryable(f"{self.name}: {exc}") from exc
        if r.status_code >= 500 or r.status_code in (408, 429):
            raise Retryable(f"{self.name}: HTTP {r.status_code}")
        if r.status_code >= 400:
            raise Permanent(f"{self.name}: HTTP {r.status_code}: {r.text[:200]}")

    def send(self, body: dict[str, Any]) -> None:
        self._post(body)


class SmtpSender:
    def __init__(self, cfg: SmtpChannel):
        self.cfg = cfg
        self.name = f"smtp:{cfg.name}"
        if cfg.password_env and cfg.password_env not in os.environ:
            raise ValueError(f"smtp {cfg.name}: environment variable {cfg.password_env} (password_env) is not set")

    def wants(self, body: dict[str, Any]) -> bool:
        return SEVERITY_RANK[body["severity"]] >= SEVERITY_RANK[self.cfg.min_severity] and body["event"] != "reminder"

    def send(self, body: dict[str, Any]) -> None:
        msg = EmailMessage()
        msg["From"], msg["To"] = self.cfg.sender, ", ".join(self.cfg.recipients)
        msg["Subject"] = (
            f"[BlueRanch {body['severity']}] {body['event']}: {body['kind']} {body['site']}/{body['device']}"
        )
        msg["Message-ID"] = f"<{body['notification_id'].replace(':', '.')}@blueranch>"
        msg.set_content(text(body) + "\n\n" + json.dumps(body, indent=2, sort_keys=True))
        try:
            with smtplib.SMTP(self.cfg.host, self.cfg.port, timeout=self.cfg.timeout_s) as s:
                if self.cfg.starttls:
                    s.starttls()
                if self.cfg.username:
                    s.login(self.cfg.username, os.environ.get(self.cfg.password_env or "", ""))
                s.send_message(msg)
        except smtplib.SMTPResponseException as exc:
            raise (Permanent if 500 <= exc.smtp_code < 600 else Retryable)(f"{self.name}: {exc}") from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise Retryable(f"{self.name}: {exc}") from exc


class Dispatcher:
    def __init__(self, store: Store, channels: list[Channel], cfg: Channels, clock: Callable[[], float] = time.time):
        self.store = store
        self.channels = {c.name: c for c in channels}
        self.cfg = cfg
        self.clock = clock

    def deliver(self) -> dict[str, int]:
        """Fan out new notifications, then try every due delivery once. Returns counts of this round."""
        now = self.clock()
        self.store.fan_out(list(self.channels), lambda ch, body: self.channels[ch].wants(body), now)
        sent = failed = 0
        blocked: set[str] = set()
        for d in self.store.due(now):
            ch = self.channels.get(d.channel)
            if ch is None or d.channel in blocked:
                continue  # a channel no longer configured keeps its deliveries; order is kept per channel
            try:
                ch.send(d.body)
            except Retryable as exc:
                blocked.add(d.channel)
                give_up = now - d.created_s >= self.cfg.give_up_after_s
                delay = min(self.cfg.retry_base_s * 2**d.attempts, self.cfg.retry_max_s)
                self.store.retry_later(d, now + delay, str(exc), give_up)
                (log.error if give_up else log.warning)(
                    "alerts: %s delivery of %s failed (attempt %d)%s: %s",
                    d.channel,
                    d.body["notification_id"],
                    d.attempts + 1,
                    ", giving up" if give_up else f", retry in {delay:.0f} s",
                    exc,
                )
                failed += 1
                continue
            except Permanent as exc:
                self.store.retry_later(d, now, str(exc), True)
                log.error("alerts: %s rejected %s for good: %s", d.channel, d.body["notification_id"], exc)
                failed += 1
                continue
            except Exception as exc:  # a bug in a channel must not block the others: log it, retry later
                blocked.add(d.channel)
                self.store.retry_later(d, now + self.cfg.retry_max_s, f"{type(exc).__name__}: {exc}", False)
                log.exception("alerts: %s failed on %s unexpectedly", d.channel, d.body["notification_id"])
                failed += 1
                continue
            self.store.delivered(d, now)
            sent += 1
        return {"sent": sent, "failed": failed}
