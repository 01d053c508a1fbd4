"""``blueranch demo`` end to end: history up to now, every dashboard panel fed, the scripted oxygen crash's
alert opening, escalating and resolving, the budget line with its period and zone, and a clean Ctrl-C."""

import os
import re
import signal
import subprocess
import threading

import pytest

from blueranch.procs import blueranch_command
from blueranch.testing.wait import Timeout, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

#: Panels no simulated device feeds: the simulator's sondes have no ORP probe (docs/simulator.md).
UNFED = {"Oxidation-reduction potential"}


def test_the_demo_states_times_in_the_zone_the_carbon_worker_cuts_its_year_in():
    from blueranch.demo import CARBON_CONFIG, ZONE
    from blueranch.models.carbon.config import load_config

    assert ZONE.key == load_config(CARBON_CONFIG).timezone


def _dashboards_check(influx_url: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        blueranch_command("dashboards", "check", "--influx", influx_url, "--database", "blueranch"),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_demo_feeds_every_panel_raises_and_resolves_the_crash_alert_and_stops_cleanly(tmp_path):
    workdir = tmp_path / "demo"
    args = ["--dir", str(workdir), "--interval-s", "2", "--history-days", "1", "--budget-every-s", "5"]
    args += ["--crash-after-s", "5", "--crash-duration-s", "40"]
    proc = subprocess.Popen(
        blueranch_command("demo", *args),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    # A watchdog instead of a sleep: the demo must get there within this long or the test fails.
    watchdog = threading.Timer(150, lambda: os.killpg(proc.pid, signal.SIGKILL))
    watchdog.start()
    want = {
        "reading": lambda ln: "buoy-01/sonde-1" in ln,
        "history": lambda ln: ln.startswith("  HISTORY loaded at "),
        "budget": lambda ln: ln.startswith("  BUDGET dachen year to date, ") and "Asia/Shanghai" in ln,
        "budget after history": lambda ln: "history of 1 days loaded at" in ln,
        "open": lambda ln: re.match(r"  ALERT \S+ open critical do_low@buoy-01 ", ln) is not None,
        "escalated": lambda ln: re.match(r"  ALERT \S+ escalated critical do_low@buoy-01 ", ln) is not None,
        "resolved": lambda ln: re.match(r"  ALERT \S+ resolved critical do_low@buoy-01 ", ln) is not None,
    }
    seen: set[str] = set()
    try:
        for line in proc.stdout:
            lines.append(line)
            seen |= {k for k, f in want.items() if f(line)}
            if seen == set(want):
                break
        else:
            pytest.fail(f"demo ended without {set(want) - seen}:\n" + "".join(lines))
        assert "completeness 0.0" not in "".join(lines)
        influx_url = next(m[1] for ln in lines if (m := re.match(r"\s+InfluxDB\s+(\S+)", ln)))
        runs: list[str] = []

        def fed() -> bool:
            # rates (ingest rate, buffer drops per interval) need a second self-metrics point: ask again
            runs.append(_dashboards_check(influx_url).stdout)
            return {m[1] for m in re.finditer(r"^(?:EMPTY|ERROR) \S+ \| (.+?) \[", runs[-1], re.M)} <= UNFED

        try:
            wait_until(fed, timeout_s=60, interval_s=2, message="every panel fed")
        except Timeout:
            pytest.fail(runs[-1])
        assert re.search(r"^event ", runs[-1], re.M), "the event-only panels are reported as such"
        os.kill(proc.pid, signal.SIGINT)
        rest, _ = proc.communicate(timeout=90)
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, "".join(lines) + rest
    # Every stopped child exited by itself (0) after SIGTERM: none needed SIGKILL (-9).
    stopped = rest.split("stopped:", 1)[1]
    assert "(-9)" not in stopped and "(None)" not in stopped, stopped
    # Nothing the demo started is left: every process it starts names the demo folder, the broker or the database.
    ports = [
        m
        for ln in lines
        if ln.strip().startswith(("MQTT broker", "InfluxDB"))
        for m in re.findall(r"127\.0\.0\.1:(\d+)", ln)
    ]
    assert len(ports) == 2, lines[:5]
    for needle in [str(workdir)] + [f"127.0.0.1:{p}" for p in ports]:
        leftover = subprocess.run(["pgrep", "-af", needle], capture_output=True, text=True).stdout
        assert leftover.strip() == "", leftover
