"""What a rule sees and what it returns.

A rule is a function ``evaluate(ctx) -> list[Observation]``. It reports every subject it could evaluate,
triggered or not, so the lifecycle can both open and clear alerts. ``triggered`` and ``cleared`` are
separate because of hysteresis: between the trigger and the clear threshold an open alert stays open
and a closed one stays closed. A subject the rule could not evaluate (too little data) is left out,
and its alert keeps its state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from blueranch.models.alerts.config import AlertsConfig, Rules
from blueranch.models.alerts.series import Frames

HOUR_MS = 3_600_000
DAY_MS = 86_400_000


@dataclass(frozen=True)
class Observation:
    site: str
    device: str
    kind: str
    subject: str
    severity: str
    triggered: bool
    cleared: bool
    value: float
    threshold: float
    message: str

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.site, self.device, self.kind, self.subject)


@dataclass
class DeviceRecord:
    """What the state store knows about a sensor of a device (``sensor`` "" is the edge agent itself,
    from its status messages): last reading, reporting interval, learned anchor."""

    site: str
    device: str
    sensor: str
    last_seen_ms: int
    interval_s: float | None
    anchor: tuple[float, float] | None = None


@dataclass
class Context:
    now_ms: int
    frames: Frames
    config: AlertsConfig
    devices: dict[tuple[str, str, str], DeviceRecord] = field(default_factory=dict)
    #: (asset, start_ms, end_ms) of recorded harvests.
    harvests: list[tuple[str, int, int]] = field(default_factory=list)
    #: (site, device) -> (366 daily p90 values (index = day of year - 1), what they come from), or None.
    climatology: Callable[[str, str], tuple[np.ndarray, str] | None] = lambda site, device: None
    _rules: dict[tuple[str, str], Rules] = field(default_factory=dict)

    def rules(self, site: str, device: str) -> Rules:
        key = (site, device)
        if key not in self._rules:
            self._rules[key] = self.config.resolve_rules(site, device)
        return self._rules[key]


def finite(t_ms: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ok = np.isfinite(v)
    return t_ms[ok], v[ok]
