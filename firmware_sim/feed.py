"""The simulator -> MQTT hop of the accuracy test and benchmark: a direct contract publisher.

Readings of the simulator's load cells (or of every device, ``measurements=None``;
``blueranch.sim.engine.Simulation.run``) are published as contract telemetry
(``blueranch/v1/{site}/{edge_device}/telemetry``, QoS 1), batched per edge device, timestamped with the
device's own clock (clock skew included), as an edge gateway would forward them. Frames the
simulator garbled on the radio are dropped (the gateway's parser rejects them) and counted; values outside
the contract's physical range are dropped and counted (the edge's gross-range QC would fail them).
The truth records go to a JSON Lines file (docs/simulator.md, 'Truth file'). The rest of the path -
Mosquitto, ``blueranch ingest run``, InfluxDB, the carbon worker - is the real one.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from blueranch.contracts.mqtt import Sample, Telemetry, telemetry_topic
from blueranch.contracts.qc import QcFlag
from blueranch.contracts.quantities import QUANTITIES
from blueranch.mqttc import make_client, parse_url

log = logging.getLogger("blueranch.carbon.simbridge")
BATCH = 500


@dataclass
class BridgeStats:
    readings: int = 0
    samples_published: int = 0
    messages: int = 0
    garbled_dropped: int = 0
    out_of_range_dropped: int = 0
    truth_records: int = 0
    by_sensor: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def _utc(t_s: float) -> datetime:
    return datetime.fromtimestamp(t_s, UTC)


class ContractPublisher:
    def __init__(
        self,
        mqtt_url: str,
        site: str,
        client_id: str = "carbon-simbridge",
        username: str | None = None,
        password: str | None = None,
        measurements: frozenset[str] | None = frozenset({"biomass_load"}),
    ):
        u = parse_url(mqtt_url)
        self.site = site
        self.measurements = measurements
        self.client = make_client(client_id, clean=True, tls=u.tls, username=username, password=password)
        self.client.connect(u.host, u.port, keepalive=60)
        self.client.loop_start()
        self.seq: dict[str, int] = defaultdict(int)
        self.pending: dict[str, list[Sample]] = defaultdict(list)
        self.infos = []
        self.stats = BridgeStats()

    def add(self, r) -> None:
        """Queue one ``blueranch.sim.engine.Reading``."""
        self.stats.readings += 1
        if r.garbled:
            self.stats.garbled_dropped += 1
            return
        for quantity, value in r.values.items():
            q = QUANTITIES.get(quantity)
            if q is None or (self.measurements is not None and q.measurement not in self.measurements):
                continue
            if not (q.gross_min <= value <= q.gross_max):
                self.stats.out_of_range_dropped += 1
                continue
            self.pending[r.edge_device].append(
                Sample(
                    time=_utc(r.node_time_s or r.time_s),
                    sensor=r.device,
                    quantity=quantity,
                    value=float(value),
                    unit=q.unit,
                    qc=QcFlag.NOT_EVALUATED,
                    farm=r.farm,
                    asset=r.asset,
                )
            )
            self.stats.by_sensor[r.device] += 1
        if len(self.pending[r.edge_device]) >= BATCH:
            self._send(r.edge_device)

    def _send(self, device: str) -> None:
        samples = self.pending.pop(device, [])
        if not samples:
            return
        msg = Telemetry(device=device, seq=self.seq[device], samples=samples)
        self.seq[device] += 1
        self.infos.append(self.client.publish(telemetry_topic(self.site, device), msg.to_json(), qos=1))
        self.stats.messages += 1
        self.stats.samples_published += len(samples)

    def close(self, timeout_s: float = 120.0) -> BridgeStats:
        for device in list(self.pending):
            self._send(device)
        for info in self.infos:
            info.wait_for_publish(timeout=timeout_s)
        self.client.disconnect()
        self.client.loop_stop()
        return self.stats


def run_simulation(
    sim, publisher: ContractPublisher, truth_path: Path, progress: Callable[[float], None] | None = None
) -> BridgeStats:
    """Drive a ``Simulation`` to its end: readings to the publisher, truth records to ``truth_path``;
    ``progress`` is called with the simulated days done after each simulated day."""
    from blueranch.sim.engine import Reading

    next_day_s = sim.start_s + 86400.0
    with open(truth_path, "w", encoding="utf-8") as truth:
        for item in sim.run():
            if isinstance(item, Reading):
                if progress is not None and item.time_s >= next_day_s:
                    progress((item.time_s - sim.start_s) / 86400.0)
                    next_day_s += 86400.0
                if publisher.measurements is None or item.kind == "load_cell":
                    publisher.add(item)
            else:
                truth.write(json.dumps(item, separators=(",", ":")) + "\n")
                publisher.stats.truth_records += 1
    return publisher.close()


def count_by_sensor(stats: BridgeStats) -> Iterable[tuple[str, int]]:
    return sorted(stats.by_sensor.items())
