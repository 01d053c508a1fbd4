"""Islands bridged to a shore, for tests and ``bench/``: the shore broker as ``blueranch deploy init`` configures
it, one Mosquitto per island gateway with the bridge ``blueranch deploy bridge`` generated, each island's link
to the shore through a :class:`~blueranch.testing.linkproxy.LinkProxy` that can be cut (docs/scale-out-drill.md).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from blueranch.deploy.bridge import BridgeOptions, bridge, island_devices
from blueranch.deploy.init import InitOptions, Layout, init
from blueranch.ingest.registry import RegistryConfig, load_registry
from blueranch.testing.linkproxy import LinkProxy
from blueranch.testing.services import DeployedMosquitto, Mosquitto

#: the dachen registry's devices, on two islands (a registry names each device's gateway)
GATEWAYS = {"island-a": ("buoy-01", "buoy-02"), "island-b": ("buoy-03", "gw-01")}


def island_registry(source: Path, target: Path, gateways: dict[str, tuple[str, ...]] = GATEWAYS) -> Path:
    """``source`` (a registry YAML) with ``gateway:`` set on the devices of ``gateways``, written to ``target``."""
    data = yaml.safe_load(source.read_text())
    for gateway, devices in gateways.items():
        for d in devices:
            data["devices"][d]["gateway"] = gateway
    target.write_text(yaml.safe_dump(data))
    return target


class Islands:
    """A shore broker (deployed security, TLS) and a bridged Mosquitto per gateway of the registry."""

    def __init__(self, workdir: Path, registry_file: Path, ingest_workers: int = 4, restart_s: tuple = (1, 2)):
        self.workdir = Path(workdir)
        self.registry_file = registry_file
        self.registry: RegistryConfig = load_registry(registry_file).config
        self.deploy = self.workdir / "deploy"
        init(self.deploy, InitOptions(self.registry, ingest_workers=ingest_workers))
        self.shore = DeployedMosquitto(self.workdir / "shore", self.deploy)
        gateways = sorted({e.gateway for e in self.registry.devices.values() if e.gateway})
        self.links: dict[str, LinkProxy] = {}
        self.brokers: dict[str, Mosquitto] = {}
        for g in gateways:
            self.links[g] = LinkProxy(self.shore.tls_port)
            bridge(self.deploy, BridgeOptions(self.registry, g, "127.0.0.1", self.links[g].port, None, 5, *restart_s))
            conf = (self.deploy / "bridges" / g / "bridge.conf").read_text()
            self.brokers[g] = Mosquitto(self.workdir / g, extra_config=conf)

    def devices(self, gateway: str) -> list[str]:
        return list(island_devices(self.registry, gateway))

    def secret(self, name: str) -> str:
        return Layout(self.deploy).password(name, frozenset(self.registry.devices)).read_text().strip()

    def password_file(self, name: str) -> Path:
        return Layout(self.deploy).password(name, frozenset(self.registry.devices))

    def start(self) -> Islands:
        self.shore.start()
        for b in self.brokers.values():
            b.start()
        return self

    def stop(self) -> None:
        for b in self.brokers.values():
            b.stop()
        for link in self.links.values():
            link.close()
        self.shore.stop()
