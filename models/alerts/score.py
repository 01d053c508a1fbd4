"""Alerts scored against a simulator truth file: hits, misses, false alarms and lead times.

The truth file (JSON Lines, docs/simulator.md 'Truth file') has the ``meta`` line (devices and their edge
devices), ``event`` records (kind, time, until, device or asset), and hourly ``water`` (per sonde) and
``biomass`` (per asset) records. Each event becomes one or more *targets*: an alert kind that should open,
a reference time, and the device/subject it should name:

- ``hypoxia`` -> ``do_forecast`` and ``do_low`` on every sonde whose true DO fell below the ``do_low``
  threshold during the event; the reference is its first such record (lead time = how long before the
  crossing). A hypoxia event where no sonde crossed is a *near miss*: it has no target, so an alert there
  is a false alarm.
- ``storm`` -> ``storm`` (reference: the onset) and, for every line that lost >= ``falloff_pct`` % of its
  biomass by the end of the storm + 1 day, ``biomass_loss`` on it (reference: when that fraction was gone).
- ``mooring_break`` -> ``mooring`` on the buoy, ``biomass_loss`` -> ``biomass_loss`` on the asset,
  ``heatwave`` -> ``heatwave``, ``silent_device`` -> ``silent`` on the sensor (reference: the event's time).

An opened alert of a scored kind is a hit when it opens within ``[event time - before_h, max(until,
reference) + after_h]`` of a target of its kind (and names its device and subject, when the target
names them); an opened alert of a scored kind matching no target is a false alarm. Lead time is
reference - first matching alert (positive: ahead).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from blueranch.loader import Limits, decode, parse_json, read_bytes

HOUR_MS = 3_600_000
#: A simulated year's truth file is ~100 MB of JSON Lines.
TRUTH_LIMITS = Limits(max_bytes=1024 * 1024 * 1024)
SCORED = ("do_forecast", "do_low", "storm", "biomass_loss", "mooring", "heatwave", "silent")


def _ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


@dataclass(frozen=True)
class Target:
    kind: str
    label: str
    ref_ms: int
    start_ms: int
    end_ms: int
    device: str | None = None
    subject: str | None = None

    def matches(self, alert: dict) -> bool:
        return (
            alert["kind"] == self.kind
            and self.start_ms <= alert["time_ms"] <= self.end_ms
            and (self.device is None or alert["device"] == self.device)
            and (self.subject is None or alert["subject"] == self.subject)
        )


@dataclass
class KindScore:
    kind: str
    targets: int = 0
    hits: int = 0
    false_alarms: int = 0
    leads_h: list[float] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    false: list[str] = field(default_factory=list)

    @property
    def misses(self) -> int:
        return self.targets - self.hits


@dataclass
class Score:
    kinds: dict[str, KindScore]
    near_misses: int  # hypoxia events in which no sonde crossed the threshold

    def table(self) -> str:
        rows = ["kind             targets hits misses false-alarms lead h (min / median / max; + = ahead)"]
        for k in self.kinds.values():
            leads = sorted(k.leads_h)
            lead = f"{leads[0]:+.1f} / {leads[len(leads) // 2]:+.1f} / {leads[-1]:+.1f}" if leads else "-"
            rows.append(f"{k.kind:<16} {k.targets:>7} {k.hits:>4} {k.misses:>6} {k.false_alarms:>12} {lead}")
        rows.append(f"near-miss hypoxia events (no sonde below the do_low threshold): {self.near_misses}")
        return "\n".join(rows)


def read_truth(path: str | Path) -> list[dict]:
    """The records of a truth file (JSON Lines); the first must be its ``meta`` line."""
    out = []
    for n, raw in enumerate(decode(read_bytes(path, TRUTH_LIMITS), str(path)).splitlines(), 1):
        if raw.strip():
            out.append(parse_json(raw, f"{path}:{n}"))
    if not out or out[0].get("type") != "meta":
        raise ValueError(f"{path}: not a truth file: the first line must be the 'meta' record")
    return out


def targets(truth: list[dict], do_low_mg_l: float = 3.0, falloff_pct: float = 10.0, before_h=12.0, after_h=12.0):
    """(targets, number of near-miss hypoxia events) of a truth file's records."""
    meta = truth[0]
    edge = {d["device"]: d["edge_device"] for d in meta["devices"]}
    water: dict[str, list[tuple[int, float]]] = {}
    biomass: dict[str, list[tuple[int, float]]] = {}
    for r in truth:
        if r["type"] == "water" and "do_mg_l" in r:
            water.setdefault(r["device"], []).append((_ms(r["time"]), r["do_mg_l"]))
        elif r["type"] == "biomass":
            biomass.setdefault(r["asset"], []).append((_ms(r["time"]), r["wet_t"]))
    out: list[Target] = []
    near = 0
    for ev in (r for r in truth if r["type"] == "event"):
        t0, t1 = _ms(ev["time"]), _ms(ev.get("until") or ev["time"])
        label = f"{ev['kind']} {ev['time'][:16]}"

        lo, end = t0 - int(before_h * HOUR_MS), t1 + int(after_h * HOUR_MS)

        def target(kind: str, ref: int, device=None, subject=None, lab=label, lo=lo, end=end) -> Target:
            return Target(kind, lab, ref, lo, max(end, ref + int(after_h * HOUR_MS)), device, subject)

        if ev["kind"] == "hypoxia":
            crossed = False
            for sonde, rows in water.items():
                ref = next((t for t, v in rows if t0 <= t <= t1 and v < do_low_mg_l), None)
                if ref is not None:
                    crossed = True
                    out += [target(k, ref, edge[sonde], sonde, f"{label} {sonde}") for k in ("do_forecast", "do_low")]
            near += not crossed
        elif ev["kind"] == "storm":
            out.append(target("storm", t0))
            for asset, rows in biomass.items():
                w0 = next((v for t, v in rows if t >= t0), None)
                ref = next(
                    (t for t, v in rows if t0 <= t <= t1 + 24 * HOUR_MS and w0 and v <= w0 * (1 - falloff_pct / 100)),
                    None,
                )
                if ref is not None:
                    out.append(target("biomass_loss", ref, None, asset, f"{label} fall-off {asset}"))
        elif ev["kind"] == "mooring_break":
            out.append(target("mooring", t0, edge.get(ev.get("device", ""))))
        elif ev["kind"] == "biomass_loss":
            out.append(target("biomass_loss", t0, None, ev.get("asset")))
        elif ev["kind"] == "heatwave":
            out.append(target("heatwave", t0))
        elif ev["kind"] == "silent_device":
            out.append(target("silent", t0, edge.get(ev.get("device", "")), ev.get("device")))
    return out, near


def score(alerts: Iterable[dict], truth: list[dict], do_low_mg_l: float = 3.0) -> Score:
    """Hits, misses, false alarms and lead times of replayed alerts (notification dicts) against truth
    (alerts of other sites than the truth's are left out)."""
    tg, near = targets(truth, do_low_mg_l)
    site = truth[0]["site"]
    opened = [a for a in alerts if a["event"] == "open" and a["kind"] in SCORED and a["site"] == site]
    kinds = {k: KindScore(k) for k in SCORED if any(t.kind == k for t in tg) or any(a["kind"] == k for a in opened)}
    for t in tg:
        ks = kinds[t.kind]
        ks.targets += 1
        hit = [a["time_ms"] for a in opened if t.matches(a)]
        if hit:
            ks.hits += 1
            ks.leads_h.append((t.ref_ms - min(hit)) / HOUR_MS)
        else:
            ks.missed.append(t.label)
    for a in opened:
        if not any(t.matches(a) for t in tg):
            ks = kinds[a["kind"]]
            ks.false_alarms += 1
            ks.false.append(f"{a['time']} {a['device']}/{a['subject']}")
    return Score(kinds, near)


def combine(scores: Iterable[Score]) -> Score:
    """The sum of several scores (one per scenario or replay)."""
    kinds: dict[str, KindScore] = {}
    near = 0
    for sc in scores:
        near += sc.near_misses
        for k, ks in sc.kinds.items():
            acc = kinds.setdefault(k, KindScore(k))
            acc.targets += ks.targets
            acc.hits += ks.hits
            acc.false_alarms += ks.false_alarms
            acc.leads_h += ks.leads_h
            acc.missed += ks.missed
            acc.false += ks.false
    return Score(dict(sorted(kinds.items(), key=lambda kv: SCORED.index(kv[0]))), near)
