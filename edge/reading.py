"""One reading as a driver produces it, before QC and buffering."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from blueranch.contracts.qc import QcFlag


@dataclass(frozen=True)
class Reading:
    sensor: str
    quantity: str
    value: float
    time: datetime
    qc: QcFlag = QcFlag.NOT_EVALUATED
