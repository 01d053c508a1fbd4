"""Alert lifecycle: pending -> open -> (acknowledged | escalated) -> resolved, plus reminders.

One alert per condition per device: observations are keyed by (site, device, kind, subject) and at most
one alert per key is active. An observation that triggers starts a *pending* alert, which opens once it
has triggered continuously for the rule's ``min_duration_s``; an open alert resolves once the rule has
reported *cleared* continuously for ``clear_after_s`` (together with each rule's clear threshold this
is the hysteresis). An open alert not acknowledged within ``escalate_after_s`` is escalated; while
unacknowledged, reminders go out, ``repeat_every_s`` apart at first and backing off (``repeat_backoff``,
capped at ``repeat_max_s``). A more severe observation raises the
alert's severity (notified as ``severity``). Every event is queued in the outbox in the same
transaction as the state change.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import replace
from datetime import UTC, datetime

from blueranch.models.alerts.config import RULE_NAMES, SEVERITY_RANK, AlertsConfig, Lifecycle
from blueranch.models.alerts.rules.base import Observation
from blueranch.models.alerts.store import OPEN_STATES, Alert, Store

log = logging.getLogger("blueranch.alerts")

EVENTS = ("open", "acknowledged", "escalated", "reminder", "severity", "resolved")


def alert_id(key: tuple[str, str, str, str], since_ms: int) -> str:
    """Stable id of one occurrence of a condition: replays and restarts produce the same id."""
    return hashlib.sha1(("|".join(key) + f"|{since_ms}").encode()).hexdigest()[:12]


def iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def notification(a: Alert, event: str, now_ms: int) -> dict:
    return {
        "notification_id": f"{a.id}:{event}:{now_ms}",
        "event": event,
        "alert_id": a.id,
        "site": a.site,
        "device": a.device,
        "kind": a.kind,
        "subject": a.subject,
        "severity": a.severity,
        "state": a.state,
        "message": a.message,
        "value": a.value,
        "threshold": a.threshold,
        "time": iso(now_ms),
        "time_ms": now_ms,
        "opened_at": iso(a.opened_ms),
        "acknowledged_by": a.acked_by,
    }


def reminder_wait_s(lc: Lifecycle, open_at_last_s: float) -> float:
    """Seconds from the last notification to the next reminder: ``repeat_every_s``, or ``repeat_backoff``
    - 1 times how long the alert had been open at the last notification if longer (2: each wait doubles),
    never more than ``repeat_max_s``. A sonde that stays low for months reminds daily, not 6 times a day."""
    return min(lc.repeat_max_s, max(lc.repeat_every_s, (lc.repeat_backoff - 1) * open_at_last_s))


def as_observation(a: Alert) -> Observation:
    return Observation(a.site, a.device, a.kind, a.subject, a.severity, False, False, a.value, a.threshold, a.message)


def qc_marked(ob: Observation, how: str | None) -> Observation:
    """The observation of a subject whose newest reading is QC-flagged suspect: held back (not triggered,
    cleared) or marked; unchanged if its reading is not suspect."""
    if how is None:
        return ob
    if how == "mark":
        return replace(ob, message=f"[QC suspect: the newest reading is flagged 3] {ob.message}"[:1000])
    return replace(
        ob,
        triggered=False,
        cleared=True,
        message=f"held back: the readings of {ob.subject or ob.device} have been QC-flagged suspect (3) for "
        f"hours; no alert on them (last: {ob.message})"[:1000],
    )


class Engine:
    def __init__(self, config: AlertsConfig, store: Store):
        self.config = config
        self.store = store

    def _lifecycle(self, site: str, device: str, kind: str) -> Lifecycle:
        return self.config.lifecycle_for(getattr(self.config.resolve_rules(site, device), kind))

    def _emit(self, a: Alert, event: str, now_ms: int) -> dict:
        body = notification(a, event, now_ms)
        self.store.add_notification(body)
        if event != "resolved":
            a.last_notified_ms = now_ms
        log.info("alert %s %s: %s/%s %s %s: %s", a.id, event, a.site, a.device, a.kind, a.severity, a.message)
        return body

    def apply(
        self, observations: list[Observation], now_ms: int, suspect: dict[tuple[str, str, str, str], str] | None = None
    ) -> list[dict]:
        """Advance every alert with this evaluation's observations; return the notifications queued.
        ``suspect``: keys whose newest reading is QC-flagged suspect: ``hold`` (neither opens nor keeps an
        alert) or ``mark`` (judged, the message says so)."""
        events: list[dict] = []
        suspect = suspect or {}
        with self.store.transaction():
            active = self.store.active()
            observations = [qc_marked(ob, suspect.get(ob.key)) for ob in observations]
            observed = {ob.key for ob in observations}
            observations += [
                qc_marked(as_observation(a), "hold")
                for k, a in active.items()
                if suspect.get(k) == "hold" and k not in observed
            ]
            lifecycles: dict[tuple[str, str, str], Lifecycle] = {}
            seen = set()
            for ob in observations:
                if ob.key in seen:
                    raise ValueError(f"rule {ob.kind} reported {ob.key} twice in one evaluation")
                seen.add(ob.key)
                lk = (ob.site, ob.device, ob.kind)
                if lk not in lifecycles:
                    lifecycles[lk] = self._lifecycle(*lk)
                events += self._step(active.get(ob.key), ob, lifecycles[lk], now_ms)
            for a in active.values():
                if a.key in seen:
                    continue
                if not self._enabled(a):
                    events += self._retire(a, now_ms)
                elif a.state in OPEN_STATES:
                    events += self._timers(a, self._lifecycle(a.site, a.device, a.kind), now_ms)
        return events

    def _step(self, a: Alert | None, ob: Observation, lc: Lifecycle, now_ms: int) -> list[dict]:
        if a is None:
            if not ob.triggered:
                return []
            a = Alert(
                alert_id(ob.key, now_ms),
                ob.site,
                ob.device,
                ob.kind,
                ob.subject,
                ob.severity,
                "pending",
                now_ms,
                ob.message,
                now_ms,
                value=ob.value,
                threshold=ob.threshold,
            )
        if a.state == "pending":
            if not ob.triggered:
                self.store.delete(a.id)
                return []
            a.value, a.threshold, a.message, a.updated_ms = ob.value, ob.threshold, ob.message, now_ms
            a.severity = max(a.severity, ob.severity, key=SEVERITY_RANK.__getitem__)
            if now_ms - a.pending_since_ms < lc.min_duration_s * 1000:
                self.store.save(a)
                return []
            a.state, a.opened_ms = "open", now_ms
            out = [self._emit(a, "open", now_ms)]
            self.store.save(a)
            return out
        out = []
        if ob.cleared:
            a.clear_since_ms = a.clear_since_ms if a.clear_since_ms is not None else now_ms
        else:
            a.clear_since_ms = None
            a.value, a.threshold, a.message = ob.value, ob.threshold, ob.message
            if ob.triggered and SEVERITY_RANK[ob.severity] > SEVERITY_RANK[a.severity]:
                a.severity = ob.severity
                out.append(self._emit(a, "severity", now_ms))
        a.updated_ms = now_ms
        if a.clear_since_ms is not None and now_ms - a.clear_since_ms >= lc.clear_after_s * 1000:
            # The last message while it triggered says what the alert was; the clearing one, what it is now.
            a.message = f"resolved: {ob.message}; while active: {a.message}"[:1000]
            a.value = ob.value
            a.state, a.resolved_ms = "resolved", now_ms
            out.append(self._emit(a, "resolved", now_ms))
            self.store.save(a)
            return out
        out += self._timers(a, lc, now_ms)
        self.store.save(a)
        return out

    def _enabled(self, a: Alert) -> bool:
        return a.kind in RULE_NAMES and getattr(self.config.resolve_rules(a.site, a.device), a.kind).enabled

    def _retire(self, a: Alert, now_ms: int) -> list[dict]:
        """An alert whose rule was disabled or removed in the config: resolve it (pending: drop it)."""
        if a.state == "pending":
            self.store.delete(a.id)
            return []
        a.state, a.resolved_ms, a.updated_ms = "resolved", now_ms, now_ms
        a.message = f"rule {a.kind} disabled or removed in the config; last: {a.message}"
        out = [self._emit(a, "resolved", now_ms)]
        self.store.save(a)
        return out

    def _timers(self, a: Alert, lc: Lifecycle, now_ms: int) -> list[dict]:
        """Escalation and reminders (also for alerts whose rule could not be evaluated this time)."""
        out = []
        if a.state == "open" and lc.escalate_after_s > 0 and now_ms - a.opened_ms >= lc.escalate_after_s * 1000:
            a.state, a.escalated_ms = "escalated", now_ms
            out.append(self._emit(a, "escalated", now_ms))
        elif a.state in ("open", "escalated") and lc.repeat_every_s > 0:
            last = a.last_notified_ms or a.opened_ms
            if now_ms - last >= reminder_wait_s(lc, (last - a.opened_ms) / 1000) * 1000:
                out.append(self._emit(a, "reminder", now_ms))
        if out:
            self.store.save(a)
        return out

    def acknowledge(self, alert_id_: str, by: str, now_ms: int) -> dict:
        """Acknowledge an open or escalated alert: no more escalation or reminders until it resolves."""
        if not by.strip():
            raise ValueError("acknowledge: --by must name who acknowledges")
        with self.store.transaction():
            a = self.store.get(alert_id_)
            if a.state not in ("open", "escalated"):
                raise ValueError(f"alert {a.id} is {a.state}: only open or escalated alerts can be acknowledged")
            a.state, a.acked_ms, a.acked_by, a.updated_ms = "acknowledged", now_ms, by.strip()[:100], now_ms
            body = self._emit(a, "acknowledged", now_ms)
            self.store.save(a)
        return body
