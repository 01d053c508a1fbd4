"""The carbon tests' synthetic scenario (helpers live in :mod:`blueranch.testing.carbon_synthetic`)."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from blueranch.models.carbon.config import AssetConfig, CarbonConfig, MeterConfig
from blueranch.testing.carbon_synthetic import START_MS, make_asset


@pytest.fixture(scope="module")
def scenario():
    """Two mussel lines and one kelp raft, 40 days from 1 March 2026, a harvest, a storm loss and a gap."""
    rng = np.random.default_rng(2026)
    specs = [
        ("m-01", "farm-a", "bivalve", "mussel", dict(harvest_days=(30.3,), loss_days=((12.5, 0.2),))),
        ("m-02", "farm-a", "bivalve", "mussel", dict(gaps=((20.0, 22.5),))),
        ("k-01", "farm-b", "macroalgae", "kelp", dict(harvest_days=(35.6,), seed_wet_t=5.0)),
    ]
    assets, synth = [], {}
    for asset, farm, kind, group, extra in specs:
        s = make_asset(rng, START_MS, 40, **extra)
        synth[asset] = s
        assets.append(
            AssetConfig(
                asset=asset,
                farm=farm,
                kind=kind,
                group=group,
                sensor=f"lc-{asset}",
                device=f"node-{asset}",
                calibration=s.calibration,
            )
        )
    cfg = CarbonConfig(
        site="dachen",
        assets=assets,
        price_per_t_co2e=45.2,
        meters=[
            MeterConfig(
                device="meter-1", sensor="fuel", quantity="diesel_l_total", factor="diesel", expected_interval_s=3600
            )
        ],
    )
    return cfg, synth


@pytest.fixture(scope="session")
def report_package():
    """A function writing the report (HTML, JSON, package) of a scenario's readings in memory."""
    return _report_package


def _report_package(cfg, synth, out, start_ms: int, end_ms: int, draws: int = 300, lang: str = "en"):
    """The report (HTML, JSON, package) of the scenario's readings and an hourly diesel meter, in memory."""
    from blueranch.models.carbon.budget import Inputs, asset_series
    from blueranch.models.carbon.report import write_report
    from blueranch.models.carbon.sources import MeterSeries

    t = START_MS + np.arange(900, dtype=np.int64) * 3_600_000
    inputs = Inputs(
        {
            a.asset: asset_series(cfg, a, *(getattr(synth[a.asset], k) for k in ("times_ms", "load_kg", "qc")))
            for a in cfg.assets
        },
        {"meter-1.fuel": MeterSeries(t, 1000.0 + 12.5 * np.arange(900), np.ones(900, dtype=np.int64))},
    )
    latest = max(int(s.times_ms[-1]) for s in inputs.assets.values())
    return write_report(out, cfg, inputs, start_ms, end_ms, latest, "blueranch carbon report ...", draws, lang)


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _chromium(url: str, tmp_path, *args: str) -> subprocess.CompletedProcess:
    """Headless Chromium on ``url`` (``--dump-dom``, ``--screenshot=FILE``, ``--window-size=W,H``, ...)."""
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            f"--user-data-dir={tmp_path / 'chromium-profile'}",
            *args,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.fixture(scope="session")
def chromium():
    """Run headless Chromium (Debian's, scripts/install-system-deps.sh)."""
    return _chromium
