"""QARTOD tests as pure functions, the streaming engine, and config compilation."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from pydantic import ValidationError

from blueranch.edge import qartod
from blueranch.edge.qc import QcEngine, QuantityQc
from blueranch.edge.reading import Reading


def test_gross_range_flags_fail_and_suspect_and_missing():
    flags = qartod.gross_range_test([1, 5, 12, 30, np.nan], fail_span=(0, 20), suspect_span=(2, 10))
    assert flags.tolist() == [3, 1, 3, 4, 9]


def test_spike_centered_with_a_one_sided_newest_point():
    flags = qartod.spike_test([5, 5, 9, 5, 5, 5, 9], suspect_threshold=1, fail_threshold=3)
    assert flags.tolist() == [2, 3, 4, 3, 1, 3, 4]


def test_rate_of_change_is_per_second():
    flags = qartod.rate_of_change_test([1.0, 1.1, 3.0], [0, 10, 20], threshold=0.05)
    assert flags.tolist() == [2, 1, 3]


def test_flat_line_suspect_then_fail_and_last_only_agrees():
    t = np.arange(0, 100, 10.0)
    x = [1, 2, 3, 3, 3, 3, 3, 3, 3, 3]
    full = qartod.flat_line_test(x, t, suspect_threshold=30, fail_threshold=60, tolerance=0.01)
    assert full.tolist() == [2, 2, 2, 1, 1, 3, 3, 3, 4, 4]
    assert qartod.flat_line_test(x, t, 30, 60, 0.01, last_only=True)[-1] == full[-1]


def test_attenuated_signal_by_std_and_range():
    t = np.arange(10.0)
    assert qartod.attenuated_signal_test([5] * 10, t, 0.1, 0.01, 5)[-1] == 4
    assert qartod.attenuated_signal_test([5, 5.05] * 5, t, 0.1, 0.01, 5)[-1] == 3
    assert qartod.attenuated_signal_test([1, 3] * 5, t, 0.1, 0.01, 5, check_type="range")[-1] == 1
    with pytest.raises(ValueError, match="check_type"):
        qartod.attenuated_signal_test([1], [0], 1, 1, 1, check_type="iqr")


def test_aggregate_worst_flag_wins_and_2_only_when_nothing_evaluated():
    agg = qartod.aggregate([np.array([1, 2, 1, 2, 1]), np.array([2, 2, 3, 4, 9])])
    assert agg.tolist() == [1, 2, 3, 4, 9]


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
    out = [engine.flag(Reading("s", "do_mg_l", v, t0 + timedelta(seconds=10 * i))) for i, v in enumerate(values)]
    assert [r.value for r in out] == values
    flags = [int(r.qc) for r in out]
    assert flags[:6] == [1, 1, 1, 4, 4, 4]
    assert flags[-1] == 4 and 3 in flags[6:]  # flat for 60 s and more
    # A quantity without tests keeps its flag; a driver's own flag (3) is aggregated in.
    assert engine.flag(Reading("s", "ph", 8.0, t0)).qc == 2
    assert engine.flag(Reading("s2", "do_mg_l", 7.0, t0, qc=3)).qc == 3
