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
    devices: dict[str, dict[str, Any]] = {}
    for d in meta["devices"]:
        dev = devices.setdefault(d["edge_device"], {"sensor_intervals_s": {}})
        dev["sensor_intervals_s"][d["device"]] = float(d["interval_s"])
    assets = {
        a["asset"]: {"tare_kg": float(a["tare_kg"]), "source": f"simulator truth meta ({meta['scenario']})"}
        for a in meta["assets"]
        if a.get("sensor")
    }
    # Species per farm: the farm's group (its assets') and the edge devices of its instruments; a device
    # serving several farms (a LoRa gateway) takes none.
    profile = {"mussel": "mytilus_coruscus", "croaker": "larimichthys_crocea"}
    farm_group = {a["farm"]: a["group"] for a in meta["assets"] if a.get("farm")}
    farms_of: dict[str, set[str]] = {}
    for d in meta["devices"]:
        if d.get("farm"):
            farms_of.setdefault(d["edge_device"], set()).add(d["farm"])
    farms: dict[str, dict[str, Any]] = {}
    for edge, fs in sorted(farms_of.items()):
        (farm,) = fs if len(fs) == 1 else (None,)
        if farm is not None and profile.get(farm_group.get(farm, "")):
            farms.setdefault(farm, {"species": [profile[farm_group[farm]]], "devices": []})["devices"].append(edge)
    site = {"species": [], "farms": farms, "assets": assets, "devices": devices}
    cfg: dict[str, Any] = {"sites": {meta["site"]: site}}
    if truth_path is not None:
        cfg["harvest_log"] = str(truth_path)
    return cfg
