"""Validator policies (no services): size, clock (reject or flag), unknown devices, topics."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from blueranch.contracts import mqtt as contract
from blueranch.contracts.errors import ContractError
from blueranch.ingest.config import IngestConfig, load_config
from blueranch.ingest.validate import ErrorClock, Validator
from blueranch.testing.loadgen import payload

NOW = datetime(2026, 11, 21, 14, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)
TOPIC = contract.telemetry_topic("dachen", "buoy-01")


def _reason(validator, topic, body) -> str:
    with pytest.raises(ContractError) as exc:
        validator.accept(topic, body, NOW)
    return exc.value.reason


def test_a_valid_message_becomes_one_line_per_sample():
    acc = Validator(IngestConfig()).accept(TOPIC, payload("buoy-01", 3, NOW_MS - 60_000, samples=5), NOW)
    assert acc.points == 5 and acc.body.count(b"\n") == 4 and acc.device == "buoy-01" and acc.seq == 3
    assert acc.body.startswith(b"water_quality,device=buoy-01,sensor=sonde-1,site=dachen do_mg_l=7.25,do_mg_l_qc=1i ")
    assert acc.flags == ()


def test_size_limit_of_the_config_applies_before_parsing():
    v = Validator(IngestConfig(max_payload_bytes=100))
    body = payload("buoy-01", 1, NOW_MS, samples=3)
    with pytest.raises(ContractError) as exc:
        v.accept(TOPIC, body, NOW)
    assert exc.value.reason == "oversize" and f"{len(body)} bytes" in str(exc.value) and "100" in str(exc.value)


@pytest.mark.parametrize(
    "topic",
    [
        "blueranch/v1/dachen/buoy-01\nx/telemetry",
        "blueranch/v1/dachen/buoy-01/status",
        "blueranch/v1/dachen/+/telemetry",
        "blueranch/v2/dachen/buoy-01/telemetry",
        "blueranch/v1/da chen/buoy-01/telemetry",
    ],
)
def test_bad_topics_are_rejected(topic):
    assert _reason(Validator(IngestConfig()), topic, payload("buoy-01", 1, NOW_MS)) == "bad_topic"


def test_far_future_is_rejected_by_default_and_flagged_by_policy():
    future = NOW_MS + 3600_000
    assert _reason(Validator(IngestConfig()), TOPIC, payload("buoy-01", 1, future)) == "clock_future"
    year_2200 = int(datetime(2200, 1, 1, tzinfo=UTC).timestamp() * 1000)
    assert _reason(Validator(IngestConfig()), TOPIC, payload("buoy-01", 1, year_2200)) == "clock_future"
    flagging = Validator(IngestConfig.model_validate({"clock": {"future": "flag"}}))
    acc = flagging.accept(TOPIC, payload("buoy-01", 1, future, samples=2), NOW)
    assert acc.flags == ("clock_future",) and acc.points == 2
    assert acc.body.count(b"do_mg_l_qc=3i") == 2  # QARTOD SUSPECT


def test_far_past_is_rejected_or_flagged_by_policy():
    old = NOW_MS - 500 * 86400_000
    assert _reason(Validator(IngestConfig()), TOPIC, payload("buoy-01", 1, old)) == "clock_past"
    acc = Validator(IngestConfig.model_validate({"clock": {"past": "flag"}})).accept(
        TOPIC, payload("buoy-01", 1, old), NOW
    )
    assert acc.flags == ("clock_past",) and b"do_mg_l_qc=3i" in acc.body


def test_unknown_devices_by_policy():
    cfg = IngestConfig.model_validate({"devices": {"unknown": "reject", "known": ["buoy-02"]}})
    assert _reason(Validator(cfg), TOPIC, payload("buoy-01", 1, NOW_MS)) == "unknown_device"
    assert Validator(cfg).accept(contract.telemetry_topic("dachen", "buoy-02"), payload("buoy-02", 1, NOW_MS), NOW)


def test_config_errors_name_the_key(tmp_path):
    f = tmp_path / "ingest.yaml"
    f.write_text("batch:\n  max_pointz: 10\n")
    with pytest.raises(ContractError) as exc:
        load_config(f)
    assert "batch.max_pointz" in str(exc.value)
    f.write_text("devices:\n  unknown: reject\n")
    with pytest.raises(ContractError, match="known devices"):
        load_config(f)
    f.write_text("devices:\n  unknown: reject\n  known: ['bad id']\n")
    with pytest.raises(ContractError, match="devices.known"):
        load_config(f)


def test_error_clock_never_repeats_a_millisecond():
    clock = ErrorClock()
    stamps = [clock.next_ms() for _ in range(1000)]
    assert len(set(stamps)) == 1000 and stamps == sorted(stamps)


def test_rejection_logs_are_rate_limited_per_reason():
    from blueranch.ingest.worker import _LogLimit

    limit = _LogLimit(per_window=3, window_s=3600)
    assert [limit.allow("schema") for _ in range(5)] == [True, True, True, False, False]
    assert limit.allow("oversize")


def test_no_reading_is_refused_for_its_value_and_the_database_keeps_value_and_flag(influx):
    """Out of the physical range: written with its value and flag 4 (the device said 1); no value: only the
    flag 9 is written, and a query of the value does not see it."""
    t = "2026-11-21T13:59:00Z"
    base = {"time": t, "sensor": "sonde-1", "unit": "mg/L"}
    body = json.dumps(
        {
            "device": "buoy-01",
            "seq": 1,
            "samples": [
                {**base, "quantity": "do_mg_l", "value": 1e6, "qc": 1},
                {**base, "quantity": "do_sat_pct", "unit": "%", "qc": 1},
                {**base, "quantity": "temp_c", "unit": "degC", "value": 18.5, "qc": 1},
            ],
        }
    ).encode()
    acc = Validator(IngestConfig()).accept(TOPIC, body, NOW)
    assert acc.points == 3
    lines = acc.body.decode().splitlines()
    assert lines[0].endswith(f" do_mg_l=1000000.0,do_mg_l_qc=4i {NOW_MS - 60_000}")
    assert lines[1].endswith(f" do_sat_pct_qc=9i {NOW_MS - 60_000}")
    influx.write(acc.body)
    (s,) = influx.query("SELECT do_mg_l, do_mg_l_qc, do_sat_pct, do_sat_pct_qc, temp_c FROM raw.water_quality")
    (row,) = s.rows()
    assert (row["do_mg_l"], row["do_mg_l_qc"], row["do_sat_pct"], row["do_sat_pct_qc"]) == (1e6, 4, None, 9)
    assert row["temp_c"] == 18.5
