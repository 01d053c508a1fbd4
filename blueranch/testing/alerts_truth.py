"""Alert config from a simulator truth file's ``meta`` line (docs/simulator.md, 'Truth file'), for
back-tests on simulated runs.

The simulator's devices are sensors of edge devices (``edge_device``), as the edge agent publishes
them: ``device`` = the edge agent, ``sensor`` = the simulator's device id. The truth file itself is a
valid ``harvest_log`` (its ``harvest`` lines), so recorded harvests are not reported as losses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def config_from_truth_meta(meta: dict[str, Any], truth_path: str | Path | None = None) -> dict[str, Any]:
    """An :class:`~blueranch.models.alerts.config.AlertsConfig` mapping for the simulated site: species profiles,
    load-cell tares, reporting intervals, and the truth file as harvest log."""
    if meta.get("type") != "meta":
        raise ValueError(f"not a truth meta record: type={meta.get('type')!r}")
    groups = {a["group"] for a in meta["assets"] if a["kind"] == "bivalve"}
    devices: dict[str, dict[str, Any]] = {}
    for d in meta["devices"]:
        dev = devices.setdefault(d["edge_device"], {"sensor_intervals_s": {}})
        dev["sensor_intervals_s"][d["device"]] = float(d["interval_s"])
    assets = {
        a["asset"]: {"tare_kg": float(a["tare_kg"]), "source": f"simulator truth meta ({meta['scenario']})"}
        for a in meta["assets"]
        if a.get("sensor")
    }
    site = {"species": ["mussel"] if "mussel" in groups else [], "assets": assets, "devices": devices}
    cfg: dict[str, Any] = {"sites": {meta["site"]: site}}
    if truth_path is not None:
        cfg["harvest_log"] = str(truth_path)
    return cfg
