"""The done-when replay of issue 20: simulator scenarios -> InfluxDB -> ``Worker.replay`` -> scored against
the simulator's truth (:mod:`blueranch.models.alerts.score`): hits, misses, false alarms and lead times.

Four runs, each on its own site name so that they share one database: the storm (typhoon fall-off), the
mooring break, seven hypoxia nights of which four are near misses (lowest true DO 3.4-3.8 mg/L), and a
part of the dachen year (simulated from June, replayed from 5 July to mid-August with its heatwave and
hypoxic night; sonde-1 and the drifting,
fouled sonde-3, whose faults accumulate from 1 January as in the year's run). Sonde-3's readings carry
the QC flag a drift check against the neighbouring sonde-1 would set (suspect, 3, once their 24 h median
difference exceeds 0.5 degC or 0.5 mg/L), as the edge would write them.
"""

from __future__ import annotations

import json
from datetime import datetime

import numpy as np
import pytest

from blueranch.models.alerts.score import combine, score
from blueranch.testing.alerts_truth import config_from_truth_meta
from blueranch.testing.forecast_tuning import nights_scenario

alerts_sim = pytest.importorskip("blueranch.testing.alerts_sim")
scenario_mod = pytest.importorskip("blueranch.sim.scenario")
water = pytest.importorskip("blueranch.sim.physics.water")

pytestmark = pytest.mark.integration
HOUR_MS = 3_600_000


def ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def dachen_part():
    """June to mid-August of the dachen year: sonde-1 and sonde-3 (with its faults), at 30 min."""
    sc = scenario_mod.load_scenario("dachen").model_dump(mode="json")
    start = datetime.fromisoformat("2026-06-01T00:00:00+00:00")
    shift_h = (start - datetime.fromisoformat(sc["start"].replace("Z", "+00:00"))).total_seconds() / 3600
    sc.update(start=start.isoformat(), days=75, step_s=1800, random_storms_per_year=0.0, meters=[])
    sc["devices"] = [d for d in sc["devices"] if d["id"] in ("sonde-1", "sonde-3")]
    sc["events"] = [{**e, "at_h": e["at_h"] - shift_h} for e in sc["events"]]
    return scenario_mod.parse_scenario(sc)


def neighbour_qc(readings, sensor="sonde-3", ref="sonde-1", tol={"temp_c": 0.5, "do_mg_l": 0.5}):  # noqa: B006
    """QC flags of ``sensor``: suspect (3) once the 24 h median of its difference from ``ref`` exceeds
    the tolerance (a drift check; QARTOD's single-sensor tests do not see a slow drift)."""
    by_t = {r.time_s: r.values for r in readings if r.device == ref}
    flags: dict[tuple[float, str], int] = {}
    for q, limit in tol.items():
        mine = [
            (r.time_s, r.values[q] - by_t[r.time_s][q]) for r in readings if r.device == sensor and r.time_s in by_t
        ]
        d = np.array([x for _, x in mine])
        for i, (t, _) in enumerate(mine):
            flags[(t, q)] = 3 if abs(np.median(d[max(0, i - 47) : i + 1])) > limit else 1
    return lambda r, q: flags.get((r.time_s, q), 2) if r.device == sensor else 2


def run(influx, make_worker, tmp_path, site, sc, step_s, fault_start=None, qc_of=None, clim=None, replay_from=None):
    readings, truth = alerts_sim.simulate(sc, fault_start=fault_start)
    qc = qc_of(readings) if qc_of else None
    alerts_sim.write(influx, alerts_sim.to_points(site, readings, qc))
    truth[0]["site"] = site
    path = tmp_path / f"{site}.jsonl"
    path.write_text("".join(json.dumps(t) + "\n" for t in truth))
    cfg = config_from_truth_meta(truth[0], path)
    if clim:
        cfg["rules"] = {"heatwave": {"climatology": clim}}
    meta = truth[0]
    start = ms(replay_from) if replay_from else ms(meta["start"]) + 2 * HOUR_MS
    out = make_worker(cfg, state=f"{site}.sqlite").replay(start, ms(meta["end"]) - 1, step_s)
    return readings, truth, out, qc


def test_replay_against_the_simulators_truth(influx, make_worker, tmp_path):
    sst = tmp_path / "sst.csv"
    c = scenario_mod.load_scenario("dachen").climate
    mid = [datetime(2026, m, 15).timestamp() for m in range(1, 13)]
    p90 = [float(water.seasonal(t, c.sst_mean_c, c.sst_amp_c, c.sst_peak_doy)) + 1.0 for t in mid]
    sst.write_text("month,p90_c\n" + "".join(f"{m},{v:.2f}\n" for m, v in enumerate(p90, 1)))
    clim = {"file": str(sst), "file_source": "test only: the simulator's seasonal SST + 1 degC"}
    runs = {
        "storm": (scenario_mod.load_scenario("storm"), 1200, {}),
        "mooring": (scenario_mod.load_scenario("mooring-break"), 600, {}),
        "hypoxia": (nights_scenario(), 1200, {}),
        "dachen": (
            dachen_part(),
            3600,
            {
                "fault_start": "2026-01-01T00:00:00Z",
                "qc_of": neighbour_qc,
                "clim": clim,
                "replay_from": "2026-07-05T00:00:00Z",
            },
        ),
    }
    scores, got = {}, {}
    for site, (sc, step_s, kw) in runs.items():
        readings, truth, alerts, qc = run(influx, make_worker, tmp_path, site, sc, step_s, **kw)
        got[site] = (readings, truth, alerts, qc)
        scores[site] = score(alerts, truth)
        print(f"\n== {site} ==\n{scores[site].table()}")
        for k in scores[site].kinds.values():
            print(*(f"  miss {k.kind}: {m}" for m in k.missed), *(f"  false {k.kind}: {f}" for f in k.false), sep="\n")
    print(f"\n== all ==\n{combine(scores.values()).table()}")

    # The storm's fall-off (>= 10 % of each line) is caught within hours of being reached.
    bio = scores["storm"].kinds["biomass_loss"]
    assert bio.targets == 2 and bio.hits == 2 and bio.false_alarms == 0, bio
    assert all(-12 <= lead <= 2 for lead in bio.leads_h), bio.leads_h  # measured drop >= 10 %, truth ~9-10 %
    # One mooring alert per buoy.
    moor = [a for a in got["mooring"][2] if a["kind"] == "mooring" and a["event"] == "open"]
    assert len(moor) == 1 and scores["mooring"].kinds["mooring"].hits == 1
    # Every crossing night: do_low at the crossing, the forecast ahead of it.
    hyp = scores["hypoxia"]
    assert hyp.near_misses == 4 and hyp.kinds["do_low"].hits == hyp.kinds["do_low"].targets == 3
    assert hyp.kinds["do_low"].false_alarms == 0
    assert hyp.kinds["do_forecast"].hits == 3 and min(hyp.kinds["do_forecast"].leads_h) > 0
    # No alert from sonde-3's faults once its QC flags them.
    readings, truth, alerts, qc = got["dachen"]
    flagged = min(r.time_s for r in readings if r.device == "sonde-3" and 3 in (qc(r, "temp_c"), qc(r, "do_mg_l")))
    late = [a for a in alerts if a["device"] == "buoy-03" and a["event"] == "open" and a["time_ms"] > flagged * 1000]
    assert late == [], late
    # ... while sonde-1 catches the year's heatwave and hypoxic night.
    d = scores["dachen"].kinds
    assert d["heatwave"].hits == d["heatwave"].targets == 1 and d["do_low"].hits >= 1
