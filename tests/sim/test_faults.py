"""Value faults, each kind on its own, and their truth records; node brownout and clock skew."""

import numpy as np
import pytest
import yaml

from blueranch.sim.engine import Reading, Simulation
from blueranch.sim.faults import FaultInjector, FaultRates
from blueranch.sim.scenario import SCENARIO_DIR, parse_scenario

T0 = 1.8e9
VALS = {"do_mg_l": 7.0, "temp_c": 20.0, "chl_ug_l": 3.0}


class Clock:
    t = T0

    def __call__(self):
        return self.t


def injector(**rates):
    truth, clock = [], Clock()
    return (
        FaultInjector("sonde-1", FaultRates(**rates), np.random.default_rng(5), clock, truth.append, T0),
        truth,
        clock,
    )


def test_no_faults_by_default():
    inj, truth, _ = injector()
    assert inj.apply_values("s", VALS) == VALS and truth == []


def test_drift_grows_per_day_and_is_announced_once():
    inj, truth, clock = injector(drift=0.01)
    clock.t = T0 + 10 * 86400
    out = inj.apply_values("s", VALS)
    assert out["temp_c"] == pytest.approx(22.0)
    inj.apply_values("s", VALS)
    assert [t["kind"] for t in truth] == ["drift"] and truth[0]["device"] == "sonde-1"


def test_biofouling_attenuates_only_fouling_quantities():
    inj, truth, clock = injector(biofouling=0.02)
    clock.t = T0 + 10 * 86400
    out = inj.apply_values("s", VALS)
    assert out["do_mg_l"] == pytest.approx(7.0 * 0.8) and out["chl_ug_l"] == pytest.approx(3.0 * 0.8)
    assert out["temp_c"] == 20.0 and truth[0]["kind"] == "biofouling"


def test_spike_dropout_and_stuck():
    inj, truth, _ = injector(spike=1.0, spike_factor=5.0)
    out = inj.apply_values("s", VALS)
    changed = [k for k in VALS if out[k] != VALS[k]]
    assert len(changed) == 1 and abs(out[changed[0]] / VALS[changed[0]]) in (pytest.approx(6.0), pytest.approx(4.0))
    assert truth[0]["kind"] == "spike" and changed[0] in truth[0]["detail"]
    inj, truth, _ = injector(dropout=1.0)
    assert inj.apply_values("s", VALS) == {} and truth[0]["kind"] == "dropout"
    inj, truth, clock = injector(stuck=1.0, stuck_s=3600)
    first = inj.apply_values("s", VALS)
    clock.t += 600
    assert inj.apply_values("s", {k: v + 1 for k, v in VALS.items()}) == first
    assert truth[0]["kind"] == "stuck"


def test_brownout_counts_resets():
    inj, truth, _ = injector(brownout=1.0)
    inj.apply_values("s", VALS)
    assert inj.resets == 1 and truth[0]["kind"] == "brownout"


def test_fault_rates_validate():
    with pytest.raises(ValueError):
        FaultRates(spike=1.5)
    with pytest.raises(ValueError):
        FaultRates(unknown=0.1)


def _scenario_with_faults(**faults):
    data = yaml.safe_load((SCENARIO_DIR / "single-buoy.yaml").read_text())
    data["days"] = 1
    data["devices"].append(
        {
            "id": "lc-n1",
            "protocol": "mqtt_node",
            "kind": "load_cell",
            "asset": "m1-ll-01",
            "edge_device": "gw-01",
            "faults": faults,
        }
    )
    return parse_scenario(data)


def test_node_brownout_restarts_frame_counter_and_is_in_truth():
    sim = Simulation(_scenario_with_faults(brownout=0.05), seed=3)
    recs = list(sim.run())
    fcnts = [r.fcnt for r in recs if isinstance(r, Reading) and r.device == "lc-n1"]
    assert 1 in fcnts[1:], "frame counter never restarted"
    assert any(
        r["type"] == "fault" and r["kind"] == "brownout" and r["device"] == "lc-n1" for r in recs if isinstance(r, dict)
    )


def test_node_clock_skew_shifts_its_timestamps():
    sim = Simulation(_scenario_with_faults(clock_skew_s_per_day=120.0), seed=3)
    node = [r for r in sim.run() if isinstance(r, Reading) and r.device == "lc-n1"]
    assert node[0].node_time_s == node[0].time_s
    assert node[-1].node_time_s - node[-1].time_s == pytest.approx(120.0 * (node[-1].time_s - node[0].time_s) / 86400)


def test_garbled_node_frames_are_flagged_and_truncated():
    import json

    from blueranch.sim.nodes import node_payload

    sim = Simulation(_scenario_with_faults(garbled=1.0), seed=3)
    node = [r for r in sim.run() if isinstance(r, Reading) and r.device == "lc-n1"]
    assert all(r.garbled for r in node)
    with pytest.raises(json.JSONDecodeError):
        json.loads(node_payload(node[0]))
