"""A scenario's devices as the shore's device registry (:mod:`blueranch.ingest.registry` format).

Each edge device (agent or gateway) of the scenario is one registry device at the scenario's site; each
simulated sensor it reads is listed with the farm and asset it belongs to. ``blueranch sim registry`` prints
it; deploy/blueranch/registry.yaml is the dachen scenario's (tests/deploy checks they agree).
"""

from __future__ import annotations

from blueranch.sim.scenario import Scenario


def registry_data(scenario: Scenario) -> dict:
    devices: dict[str, dict] = {}
    for d in scenario.devices:
        entry = devices.setdefault(d.edge_device, {"site": scenario.site, "sensors": {}})
        binding = {k: v for k, v in (("farm", d.farm), ("asset", d.asset)) if v is not None}
        entry["sensors"][d.id] = binding
    return {"unknown": "reject", "devices": dict(sorted(devices.items()))}
