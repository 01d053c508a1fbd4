"""Island brokers bridged to the shore (issue 19, item 2): ``blueranch deploy bridge`` and the topology run.

Two island Mosquittos, each with the bridge config ``blueranch deploy bridge`` generated (QoS 1, persistent
session, TLS with a client certificate and a password of its own), bridged through a loopback link that can
be cut to the shore Mosquitto as ``blueranch deploy init`` configures it; buoys (edge agents) on the islands,
the ingest and InfluxDB on the shore. Commit acknowledgements come back over the bridges. One island's link is
cut for ``BRIDGE_CUT_S`` (5 s in the suite; the 60 s variant is marked slow): every sample of both islands
arrives, each once.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from blueranch.cli import main
from blueranch.deploy.bridge import BridgeOptions, render, role_acls
from blueranch.ingest.registry import load_registry
from blueranch.procs import Supervisor
from blueranch.testing.fleet import (
    AckLedger,
    Buoy,
    IngestWorkers,
    NodeFeed,
    TelemetryWatch,
    check_counts,
    drain_and_count,
    recover_s,
)
from blueranch.testing.islands import Islands, island_registry
from blueranch.testing.wait import wait_until

REPO = Path(__file__).resolve().parents[2]
REGISTRY = REPO / "deploy" / "blueranch" / "registry.yaml"
CUT_S = float(os.environ.get("BRIDGE_CUT_S", "5"))
#: how the link fails (blueranch.testing.linkproxy): ``silent`` drops every packet, as a radio link that is down
CUT_MODE = os.environ.get("BRIDGE_CUT_MODE", "silent")


@pytest.fixture
def registry_file(tmp_path) -> Path:
    return island_registry(REGISTRY, tmp_path / "registry.yaml")


def test_the_bridge_names_only_the_islands_devices_both_ways(registry_file):
    reg = load_registry(registry_file).config
    island = {d: e for d, e in reg.devices.items() if e.gateway == "island-a"}
    conf = render(BridgeOptions(reg, "island-a", "shore.example.org", 8883), island, "pw", Path("/etc/b"))
    topics = [line.split()[1:] for line in conf.splitlines() if line.startswith("topic ")]
    assert sorted(t for t, d, q in topics if d == "out") == sorted(
        f"blueranch/v1/dachen/{dev}/{k}" for dev in ("buoy-01", "buoy-02") for k in ("telemetry", "status", "events")
    )
    assert sorted(t for t, d, q in topics if d == "in") == sorted(
        f"blueranch/v1/dachen/{dev}/{k}" for dev in ("buoy-01", "buoy-02") for k in ("ack", "cmd")
    )
    assert {q for *_, q in topics} == {"1"} and not any("+" in t or "#" in t for t, *_ in topics)
    for line in ("cleansession false", "address shore.example.org:8883", "remote_clientid bridge-island-a"):
        assert line in conf.splitlines()
    assert "bridge_certfile /etc/b/client.crt" in conf and "bridge_insecure false" in conf
    acl = role_acls(island)
    sends = {a["topic"] for a in acl if a["acltype"] == "publishClientSend"}
    assert sends == {t for t, d, _ in topics if d == "out"}


def test_deploy_bridge_writes_the_island_files_and_the_shore_user(tmp_path, registry_file):
    d = tmp_path / "deploy"
    runner = CliRunner()
    assert runner.invoke(main, ["deploy", "init", str(d), "--registry", str(registry_file)]).exit_code == 0
    args = ["deploy", "bridge", str(d), "--registry", str(registry_file), "--gateway", "island-b"]
    out = runner.invoke(main, [*args, "--shore", "shore.example.org:8883"])
    assert out.exit_code == 0, out.output
    assert "added client bridge-island-b" in out.output and "added role bridge-island-b" in out.output
    conf = d / "bridges" / "island-b" / "bridge.conf"
    assert conf.stat().st_mode & 0o077 == 0  # it holds the bridge's password
    assert (d / "passwords" / "bridge-island-b").read_text().strip() in conf.read_text()
    again = runner.invoke(main, [*args, "--shore", "shore.example.org:8883"])
    assert again.exit_code == 0 and "0 files created" in again.output and "added" not in again.output
    bad = runner.invoke(main, [*args[:-1], "island-z", "--shore", "h:1"])
    assert bad.exit_code == 2 and "no device of the registry has gateway 'island-z'" in bad.output


def _run_islands(tmp_path: Path, influx, registry_file: Path, cut_s: float) -> None:
    isl = Islands(tmp_path, registry_file, ingest_workers=1).start()
    with Supervisor(tmp_path / "logs") as sup:
        try:
            workers = IngestWorkers(
                sup, tmp_path, isl.shore.url, influx.url, influx.database, registry=str(registry_file)
            )
            workers.credentials("ingest", isl.password_file("ingest"))
            workers.start(1)
            ledger = AckLedger(isl.shore.url, username="operator", password=isl.secret("operator"))
            watches = [TelemetryWatch(b.url, f"watch-{g}") for g, b in isl.brokers.items()]
            assert ledger.subscribed.wait(30) and all(w.subscribed.wait(30) for w in watches)
            # one buoy per island in the suite (the drill in bench/ runs every device of the registry)
            buoys = [Buoy(tmp_path, "dachen", isl.devices(g)[0], b.url) for g, b in isl.brokers.items()]
            feeds = [
                NodeFeed(b.url, [x.node for x in buoys if x.url == b.url], 0.05, f"feed-{g}")
                for g, b in isl.brokers.items()
            ]
            for b in buoys:
                b.start(sup)
            logs = lambda: "\n".join(f"--- {n}\n{sup.log(n)[-3000:]}" for n in sup.procs)  # noqa: E731
            for b in buoys:
                wait_until(lambda b=b: b.status().get("committed", 0) >= 5, 60, 0.1, f"{b.device} commits: {logs()}")

            cut_island = buoys[0]  # island-a's first buoy
            isl.links["island-a"].cut(CUT_MODE)
            wait_until(lambda: cut_island.status()["uncommitted"] > 5, 30, 0.1, "island-a waiting for commits")
            before = cut_island.status()["committed"]
            threading.Event().wait(cut_s)  # the link stays down (the fault under test)
            assert cut_island.status()["committed"] == before  # nothing crossed the cut link
            isl.links["island-a"].restore()
            restored = time.monotonic()
            recovered = recover_s(ledger, watches, restored, 120)

            counts = drain_and_count(sup, buoys, feeds, influx, ledger)
            print(
                f"\nisland bridges: island-a link cut ({CUT_MODE}) for {cut_s:g} s; every message published so far "
                f"committed {recovered:.1f} s after the link was back; per device {counts}; messages written "
                f"twice: {ledger.duplicates}"
            )
            check_counts(counts)
            ledger.close()
            for w in watches:
                w.close()
        finally:
            sup.stop_all()
            isl.stop()


@pytest.mark.integration
@pytest.mark.parametrize("cut_s", [CUT_S, pytest.param(60.0, marks=pytest.mark.slow, id="60s")])
def test_two_islands_bridged_to_the_shore_deliver_every_sample_once_through_a_link_cut(
    tmp_path, influx, registry_file, cut_s
):
    _run_islands(tmp_path, influx, registry_file, cut_s)
