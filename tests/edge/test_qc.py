"""QARTOD tests as pure functions, the streaming engine, and config compilation."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from blueranch.edge import qartod
from blueranch.edge.qc import QcEngine, QuantityQc
from blueranch.edge.reading import Reading


def test_gross_range_flags_fail_and_suspect_and_missing():
    flags = qartod.gross_range_test([1, 5, 12, 30, np.nan], fail_span=(0, 20), suspect_span=(2, 10))
    assert flags.tolist() == [3, 1, 3, 4, 9]


def test_spike_flags_the_middle_of_three_and_leaves_both_ends_unevaluated():
    flags = qartod.spike_test([5, 5, 9, 5, 5, 5, 9], suspect_threshold=1, fail_threshold=3)
    assert flags.tolist() == [2, 3, 4, 3, 1, 3, 2]  # average: the neighbours of a 4-high spike deviate by 2
    flags = qartod.spike_test([5, 5, 9, 5, 5, 5, 9], 1, 3, method="differential")
    assert flags.tolist() == [2, 1, 4, 1, 1, 1, 2]  # differential: only the reading that jumps away and back
    assert qartod.spike_test([5, np.nan, 5, 9, 5], 1, 3).tolist() == [2, 9, 2, 4, 2]


def test_rate_of_change_is_per_second_and_needs_a_predecessor():
    flags = qartod.rate_of_change_test([1.0, 1.1, 3.0, np.nan, 3.0], [0, 10, 20, 30, 40], threshold=0.05)
    assert flags.tolist() == [2, 1, 3, 9, 2]
    assert qartod.rate_of_change_test([1.0, 3.0, 9.0], [0, 10, 20], 0.05, fail_threshold=0.5).tolist() == [2, 3, 4]


def test_flat_line_uses_the_window_range_and_skips_missing_values():
    t = np.arange(0, 100, 10.0)
    x = [1, 2, 3, 3.004, 3, np.nan, 3.002, 3, 3, 3]
    full = qartod.flat_line_test(x, t, suspect_threshold=30, fail_threshold=60, tolerance=0.01)
    # not evaluated before 30 s; then the range of the last 30 s (60 s for fail) below 0.01; NaN is skipped
    assert full.tolist() == [2, 2, 2, 1, 1, 9, 3, 3, 4, 4]


def test_flat_line_reaches_fail_at_1_hz_with_a_three_hour_fail_threshold_and_odd_intervals():
    t = np.arange(0, 4 * 3600, 1.0)
    flags = qartod.flat_line_test(np.full(len(t), 7.0), t, 3600, 10800, 0.001)
    assert (flags[t >= 10800] == 4).all() and (flags[(t >= 3600) & (t < 10800)] == 3).all()
    t = np.arange(0, 20 * 60, 60.0)  # fail_s 150 is not a whole number of 60 s intervals
    assert qartod.flat_line_test(np.full(len(t), 7.0), t, 90, 150, 0.001)[-1] == 4


def test_a_stuck_sensor_costs_the_flat_line_test_a_handful_of_entries():
    test = qartod.FlatLine(3600, 10800, 0.001)
    for i in range(20000):
        test.push(float(i), 7.0 + (i % 7) * 1e-5)
    assert test.held() < 40


def test_attenuated_signal_by_std_and_range():
    t = np.arange(10.0)
    assert qartod.attenuated_signal_test([5] * 10, t, 0.1, 0.01, 5)[-1] == 4
    assert qartod.attenuated_signal_test([5, 5.05] * 5, t, 0.1, 0.01, 5)[-1] == 3
    assert qartod.attenuated_signal_test([1, 3] * 5, t, 0.1, 0.01, 5, check_type="range")[-1] == 1
    with pytest.raises(ValueError, match="check_type"):
        qartod.attenuated_signal_test([1], [0], 1, 1, 1, check_type="iqr")


def test_attenuated_signal_running_sums_stay_exact_over_a_long_stream():
    test = qartod.AttenuatedSignal(0.02, 0.005, 600, min_count=3)
    rng = np.random.default_rng(1)
    flags = [test.push(float(i), 46012.3 + rng.normal(0, 0.01)) for i in range(3 * test.RESUM_EVERY)]
    assert set(flags[10:]) == {3}  # std 0.01 sits between fail 0.005 and suspect 0.02, however long it runs


def test_aggregate_worst_flag_wins_and_2_only_when_nothing_evaluated():
    assert [qartod.aggregate(f) for f in ([1, 2], [2, 2], [1, 3], [2, 4], [1, 9], [])] == [1, 2, 3, 4, 9, 2]


def test_unknown_check_or_field_is_a_config_error():
    with pytest.raises(ValidationError, match="spikey"):
        QuantityQc.model_validate({"spikey": {}})
    with pytest.raises(ValidationError, match="threshold"):
        QuantityQc.model_validate({"spike": {"suspect": 1}})


def test_engine_flags_a_stream_and_never_drops_a_reading():
    engine = QcEngine(
        {
            "do_mg_l": QuantityQc.model_validate(
                {
                    "gross_range": {"fail_span": [0, 20], "suspect_span": [2, 15]},
                    "spike": {"suspect_threshold": 1.0, "fail_threshold": 2.5},
                    "flat_line": {"tolerance": 0.001, "suspect_s": 30, "fail_s": 60},
                }
            )
        }
    )
    t0 = datetime(2026, 11, 21, tzinfo=UTC)
    values = [7.0, 7.2, 7.1, 12.0, 7.0, 25.0] + [7.0] * 8
    final: dict[datetime, int] = {}
    sent = []
    for i, v in enumerate(values):
        for r in engine.push(Reading("s", "do_mg_l", v, t0 + timedelta(seconds=10 * i))):
            final[r.time] = int(r.qc)
            sent.append(r.value)
    assert [final[t0 + timedelta(seconds=10 * i)] for i in range(len(values))][:7] == [1, 1, 3, 4, 4, 4, 4]
    assert set(values) == set(sent)  # revisions repeat a value; none is dropped
    assert final[t0 + timedelta(seconds=130)] == 4  # flat for 60 s and more
    assert engine.revisions_total >= 3
    # A quantity without tests keeps its flag; a driver's own flag (3) is aggregated in.
    assert [int(r.qc) for r in engine.push(Reading("s", "ph", 8.0, t0))] == [2]
    assert [int(r.qc) for r in engine.push(Reading("s2", "do_mg_l", 7.0, t0, qc=3))] == [3]


def test_deploy_config_flags_a_15_degc_spike_at_60_s_on_the_spike_not_its_neighbours():
    from blueranch.edge.config import load_config
    from blueranch.edge.status import render

    cfg = load_config(Path(__file__).resolve().parents[2] / "deploy/blueranch/edge-buoy-01.yaml")
    spike_only = QcEngine({"temp_c": QuantityQc(spike=cfg.qc["temp_c"].spike)})
    engine = QcEngine(cfg.qc)
    t0 = datetime(2026, 7, 1, tzinfo=UTC)
    values = [20.0, 20.1, 20.05, 35.05, 20.1, 20.0, 20.1]
    spike_flags: dict[int, int] = {}
    all_flags: dict[int, int] = {}
    for i, v in enumerate(values):
        r = Reading("sonde-1", "temp_c", v, t0 + timedelta(seconds=60 * i))
        for out in spike_only.push(r):
            spike_flags[int((out.time - t0).total_seconds()) // 60] = int(out.qc)
        for out in engine.push(r):
            all_flags[int((out.time - t0).total_seconds()) // 60] = int(out.qc)
    assert [spike_flags[i] for i in range(7)] == [2, 1, 1, 4, 1, 1, 2]
    assert all_flags[3] == 4  # the spike; the reading after it is 3 from rate of change, not from the spike test
    status = {"running": True, "age_s": 0, "qc": engine.status(), "sensors": {}}
    assert "sonde-1 (temp_c: 60.0 s)" in render(status) and "revisions sent" in render(status)


def test_flat_line_tolerance_must_be_positive_and_thresholds_ordered():
    with pytest.raises(ValidationError, match="greater than 0"):
        QuantityQc.model_validate({"flat_line": {"tolerance": 0, "suspect_s": 10, "fail_s": 20}})
    with pytest.raises(ValidationError, match="shorter than suspect_s"):
        QuantityQc.model_validate({"flat_line": {"tolerance": 1, "suspect_s": 30, "fail_s": 20}})
    with pytest.raises(ValidationError, match="within fail_span"):
        QuantityQc.model_validate({"gross_range": {"fail_span": [0, 10], "suspect_span": [-1, 5]}})
