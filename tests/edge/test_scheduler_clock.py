"""Scheduling: a slow sensor delays only its own bus; intervals and timestamps follow the simulator's clock."""

import json
import threading
import time

from blueranch.edge.bus import Buses
from blueranch.edge.clock import Clock, FileClock
from blueranch.edge.drivers.sdi12 import Config, Sdi12Driver
from blueranch.edge.scheduler import BusWorker, Polled
from blueranch.testing.wait import wait_until


def _polled(peer, address, wait_s, buses, clock, interval_s):
    cfg = Config(
        id=f"s-{peer.link.name}-{address}",
        driver="sdi12",
        port=str(peer.link),
        address=address,
        command="M",
        quantities=["ph"],
        interval_s=interval_s,
    )
    return Polled(cfg.id, cfg, Sdi12Driver(cfg, buses.get(cfg.port, cfg.line_settings()), clock), interval_s)


def test_a_slow_sensor_delays_only_its_own_bus(peer_factory, wire):
    slow_dev = wire.Sdi12Sensors("0", n_values=1, wait_s=30, sr_delay_s=2.5)  # announces 30 s, ready in 2.5 s
    fast_dev = wire.Sdi12Sensors("0", n_values=1, wait_s=0)
    slow, fast = peer_factory("slow", slow_dev), peer_factory("fast", fast_dev)
    buses, clock, stop = Buses(), Clock(), threading.Event()
    got: dict[str, list] = {"slow": [], "fast": []}
    ps = _polled(slow, "0", 30, buses, clock, 0.1)
    pf = _polled(fast, "0", 0, buses, clock, 0.1)
    workers = [
        BusWorker("slow", [ps], clock, stop, lambda p, r: got["slow"].append(r)),
        BusWorker("fast", [pf], clock, stop, lambda p, r: got["fast"].append(r)),
    ]
    for w in workers:
        w.start()
    try:
        # While the slow sonde is still measuring (no reading yet), the fast one has been read many times.
        wait_until(lambda: len(got["fast"]) >= 10, 30, 0.05, "fast sensor polled")
        assert got["slow"] == [] and slow_dev.served == []
        wait_until(lambda: got["slow"], 30, 0.05, "slow sensor's reading")
    finally:
        stop.set()
        for w in workers:
            w.join(10)
        buses.close()


def test_file_clock_follows_the_simulator_and_scales_intervals(tmp_path):
    path = tmp_path / "clock.json"
    wall = time.time()
    path.write_text(json.dumps({"wall_epoch_s": wall, "sim_epoch_s": 1_793_491_200.0, "speed": 60.0}))
    clock = FileClock(path)
    t = clock.time_s()
    assert 1_793_491_200.0 <= t <= 1_793_491_200.0 + (time.time() - wall) * 60 + 1e-6
    assert clock.wall_s(60.0) == 1.0 and clock.now().year == 2026
    path.write_text("{broken")  # a simulator rewriting its file: the last good clock is kept
    assert clock.time_s() >= t


def test_intervals_run_in_simulated_time(tmp_path, peer_factory, wire):
    """interval_s is simulated seconds: at speed 20, a 10 s interval is half a wall second."""
    path = tmp_path / "clock.json"
    path.write_text(json.dumps({"wall_epoch_s": time.time(), "sim_epoch_s": 1_793_491_200.0, "speed": 20.0}))
    clock = FileClock(path)
    peer = peer_factory("s", wire.Sdi12Sensors("0", n_values=1, wait_s=0))
    buses, stop, times = Buses(), threading.Event(), []
    p = _polled(peer, "0", 0, buses, clock, 10.0)
    w = BusWorker("s", [p], clock, stop, lambda p_, r: times.append(r[0].time))
    w.start()
    try:
        wait_until(lambda: len(times) >= 4, 30, 0.05, "four polls")
    finally:
        stop.set()
        w.join(10)
        buses.close()
    gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:], strict=False)]
    assert times[0].year == 2026 and times[0].month == 11 and times[0].day == 1  # stamped in simulated time
    # ~10 simulated s apart: never faster than the interval, and scaled by the speed (a 10 s interval taken
    # as wall time would put 200 simulated s between polls); the slack is for a loaded machine.
    assert all(g >= 8.0 for g in gaps[1:3]) and sum(gaps[:3]) / 3 <= 100.0, gaps


def test_a_dead_sensor_is_logged_on_new_reasons_and_at_doubling_repeats(caplog):
    from types import SimpleNamespace

    from blueranch.edge.drivers.base import DriverError

    class Dead:
        reason = "no reply"

        def read(self):
            raise DriverError(self.reason)

    drv = Dead()
    p = Polled("s1", SimpleNamespace(driver="sdi12", port="/dev/x"), drv, 1.0)
    w = BusWorker("x", [p], Clock(), threading.Event(), lambda *a: None)
    with caplog.at_level("WARNING"):
        for _ in range(20):
            w.poll(p)
        drv.reason = "CRC mismatch"
        w.poll(p)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 + 4 + 1  # first, then repeats 2, 4, 8, 16, then the new reason
    assert lines[0] == "sensor s1 (sdi12 on /dev/x): DriverError: no reply"
    assert lines[-2].endswith("(failed 16 polls in a row)") and lines[-1].endswith("CRC mismatch")
    assert p.health.errors == 21 and p.health.failing == 21
