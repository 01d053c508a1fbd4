"""The ground-truth file (``--truth-out``): JSON Lines, the format documented in
docs/simulator.md. The first line is the ``meta`` record built here; the engine produces the rest.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import IO

from blueranch.sim.modbus_map import REGISTER_MAPS
from blueranch.sim.timeutil import iso

TRUTH_TYPES = ("meta", "biomass", "seeding", "harvest", "loss", "water", "weather", "energy", "fault", "event")


def link_name(device) -> str | None:
    """Serial devices get a pty symlink named by device id; MQTT nodes have none."""
    return device.id if device.protocol in ("sdi12", "nmea", "modbus") else None


def meta_record(sim) -> dict:
    sc = sim.scenario
    load_cells = {d.asset: d for d in sc.devices if d.kind == "load_cell"}
    assets = []
    for a in sc.assets:
        lc = load_cells.get(a.id)
        assets.append(
            {
                "asset": a.id,
                "farm": a.farm,
                "kind": a.kind,
                "group": a.group,
                "sensor": lc.id if lc else None,
                "device": lc.edge_device if lc else None,
                "tare_kg": a.tare_kg,
                "wet_per_submerged": a.wet_per_submerged,
                "lines_per_sensor": a.lines,
                "area_mu": a.area_mu,
            }
        )
    devices = []
    for d in sc.devices:
        rec = {
            "device": d.id,
            "protocol": d.protocol,
            "kind": d.kind,
            "address": d.address,
            "link": link_name(d),
            "edge_device": d.edge_device,
            "asset": d.asset,
            "farm": d.farm,
            "interval_s": d.interval_s,
        }
        if d.protocol == "modbus":
            rec["registers"] = [
                {"address": r.address, "quantity": r.quantity, "type": r.type} for r in REGISTER_MAPS[d.kind]
            ]
            rec["byte_order"], rec["word_order"] = d.byte_order, d.word_order
            rec.update({k: v for k, v in (("baudrate", d.baudrate), ("parity", d.parity)) if v is not None})
        if d.protocol == "mqtt_node":
            rec["topic"] = f"nodes/{d.id}/up"
        if d.faults.any():
            rec["faults"] = {k: v for k, v in d.faults.model_dump().items() if v}
        devices.append(rec)
    meters = [
        {
            "meter": d.id,
            "kind": d.kind,
            "device": d.edge_device,
            "quantity": "grid_kwh_total" if d.kind == "energy_meter" else "diesel_l_total",
        }
        for d in sc.devices
        if d.kind in ("energy_meter", "fuel_meter")
    ]
    events = [
        {
            "kind": e.kind,
            "start": iso(e.start_s),
            "until": iso(e.end_s),
            **({"device": e.spec.device} if e.spec.device else {}),
            **({"asset": e.spec.asset} if e.spec.asset else {}),
        }
        for e in sim.events
    ]
    return {
        "type": "meta",
        "scenario": sc.name,
        "seed": sim.seed,
        "start": iso(sim.start_s),
        "end": iso(sim.end_s),
        "site": sc.site,
        "step_s": sc.step_s,
        "location": sc.location.model_dump(),
        "assets": assets,
        "devices": devices,
        "meters": meters,
        "events": events,
        "format": "blueranch.sim.truth/v1",
    }


class TruthWriter:
    """Append truth records to a JSON Lines file; thread-safe (live devices emit from the I/O thread)."""

    def __init__(self, path: Path | None):
        self._f: IO[str] | None = open(path, "w", encoding="utf-8") if path else None
        self._lock = threading.Lock()
        self.count = 0

    def write(self, record: dict) -> None:
        if self._f is None:
            return
        line = json.dumps(record, separators=(",", ":"), allow_nan=False)
        with self._lock:
            self._f.write(line + "\n")
            self.count += 1

    def flush(self) -> None:
        if self._f is not None:
            with self._lock:
                self._f.flush()

    def close(self) -> None:
        if self._f is not None:
            with self._lock:
                self._f.close()
                self._f = None


def read_truth(path: Path) -> list[dict]:
    """Every record of a truth file (tests and the carbon worker's accuracy check use this)."""
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]
