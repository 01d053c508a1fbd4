"""Contract 1: topics and telemetry payloads, including hostile input."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from blueranch.contracts import mqtt
from blueranch.contracts.errors import ContractError
from blueranch.contracts.qc import QcFlag

TOPIC = "blueranch/v1/dachen/buoy-01/telemetry"


def sample(**over):
    s = {
        "time": "2026-11-21T14:00:00.000Z",
        "sensor": "sonde-1",
        "quantity": "do_mg_l",
        "value": 7.2,
        "unit": "mg/L",
        "qc": 1,
    }
    s.update(over)
    return s


def payload(**over):
    p = {"schema": "blueranch.telemetry/v1", "device": "buoy-01", "seq": 7, "samples": [sample()]}
    p.update(over)
    return json.dumps(p).encode()


def reject(data: bytes, topic: str | None = TOPIC) -> ContractError:
    with pytest.raises(ContractError) as info:
        mqtt.parse_telemetry(data, topic)
    return info.value


def test_valid_payload_round_trips():
    msg = mqtt.parse_telemetry(payload(position={"lat_deg": 28.46, "lon_deg": 121.89}), TOPIC)
    assert msg.device == "buoy-01" and msg.seq == 7 and not msg.backfill
    assert msg.samples[0].time == datetime(2026, 11, 21, 14, tzinfo=UTC)
    assert msg.samples[0].qc == QcFlag.GOOD
    again = mqtt.parse_telemetry(msg.to_json(), TOPIC)
    assert again == msg


def test_topics_are_built_and_parsed():
    assert mqtt.telemetry_topic("dachen", "buoy-01") == TOPIC
    assert mqtt.parse_topic(TOPIC) == mqtt.TopicParts("dachen", "buoy-01", "telemetry")
    assert mqtt.shared_subscription("ingest", mqtt.TELEMETRY_FILTER) == "$share/ingest/blueranch/v1/+/+/telemetry"
    assert mqtt.alerts_topic("dachen") == "blueranch/v1/dachen/_alerts"


@pytest.mark.parametrize(
    "bad",
    ["a/b", "a+b", "#", "a b", "a\nb", "abc\n", "abc\r", "a\x00", "", "_reserved", "x" * 65, "é", "a,b", "a=b", 'a"b'],
)
def test_unsafe_ids_are_refused_in_topics(bad):
    with pytest.raises(ContractError) as info:
        mqtt.telemetry_topic("dachen", bad)
    assert info.value.violations[0].field == "device"
    assert info.value.violations[0].value == bad
    assert "must match" in info.value.violations[0].rule


@pytest.mark.parametrize(
    "topic",
    [
        "blueranch/v1/dachen/buoy-01",
        "blueranch/v2/dachen/buoy-01/telemetry",
        "blueranch/v1/dachen/buoy 01/telemetry",
        "blueranch/v1/dachen/b/telemetry/x",
        "blueranch/v1/dachen/buoy-01/firmware",
    ],
)
def test_bad_topics(topic):
    with pytest.raises(ContractError) as info:
        mqtt.parse_topic(topic)
    assert info.value.reason == "bad_topic"


@pytest.mark.parametrize(
    "data, field, rule_part",
    [
        (payload(seq="7"), "seq", "valid integer"),
        (payload(seq=-1), "seq", "greater than or equal to 0"),
        (payload(samples=[sample(value="7.2")]), "samples[0].value", "valid number"),
        (payload(samples=[sample(time="2026-11-21T14:00:00")]), "samples[0].time", "UTC"),
        (payload(samples=[sample(time="2026-11-21T14:00:00+08:00")]), "samples[0].time", "UTC"),
        (payload(samples=[sample(time="yesterday")]), "samples[0].time", "datetime"),
        (payload(samples=[sample(qc=5)]), "samples[0].qc", "1, 2, 3, 4 or 9"),
        (payload(samples=[sample(unit="mg/l")]), "samples[0]", "must be 'mg/L'"),
        (payload(samples=[sample(quantity="oxygen")]), "samples[0]", "not known"),
        (payload(samples=[sample(sensor="s\nq")]), "samples[0].sensor", "must match"),
        (payload(samples=[sample(farm="f,x=1 y")]), "samples[0].farm", "must match"),
        (payload(samples=[sample(asset="ll-03\n")]), "samples[0].asset", "must match"),
        (payload(device="buoy-01\n"), "device", "must match"),
        (payload(samples=[]), "samples", "at least 1"),
        (payload(extra="x"), "extra", "unknown keys are errors"),
        (payload(schema="blueranch.telemetry/v9"), "schema", "blueranch.telemetry/v1"),
        (payload(backfill="yes"), "backfill", "valid boolean"),
        (payload(position={"lat_deg": 91, "lon_deg": 0}), "position.lat_deg", "less than or equal to 90"),
    ],
)
def test_errors_name_field_value_and_rule(data, field, rule_part):
    err = reject(data)
    assert err.reason == "schema"
    v = err.violations[0]
    assert v.field == field, err
    assert rule_part in v.rule, err
    assert field in str(err)


@pytest.mark.parametrize(
    "value, qc, want_value, want_qc",
    [
        (1e9, 1, 1e9, 4),  # outside the physical range: kept with its value, flag FAIL whatever was claimed
        (-1.0, 2, -1.0, 4),
        (1e9, 4, 1e9, 4),
        (None, 1, None, 9),  # no value (the edge's NaN): flag MISSING
        (None, 9, None, 9),
        (7.2, 3, 7.2, 3),  # in range: the device's flag stands
    ],
)
def test_no_reading_is_refused_for_its_value(value, qc, want_value, want_qc):
    msg = mqtt.parse_telemetry(payload(samples=[sample(value=value, qc=qc)]), TOPIC)
    s = msg.samples[0]
    assert (s.value, s.qc) == (want_value, want_qc)
    assert mqtt.parse_telemetry(msg.to_json(), TOPIC).samples[0] == s


@pytest.mark.parametrize("text", ["1e400", "-1e400", "NaN", "Infinity"])
def test_a_value_json_cannot_hold_is_refused_with_its_field(text):
    body = payload(samples=[sample(value=123456.0)]).replace(b"123456.0", text.encode())
    err = reject(body)
    assert err.violations[0].field.startswith("samples[0]"), err


def test_missing_fields_are_named():
    err = reject(json.dumps({"device": "buoy-01"}).encode())
    fields = {v.field for v in err.violations}
    assert fields == {"seq", "samples"}
    assert all(v.rule == "is required" for v in err.violations)


@pytest.mark.parametrize("data", [b"", b"{", b"\xff\xfe", b"null", b"[1,2]", b'{"device": "buoy-01", "seq": 1'])
def test_garbage_is_rejected(data):
    err = reject(data)
    assert err.reason in ("invalid_json", "schema")


def test_nan_and_infinity_are_rejected():
    for text in (b"NaN", b"Infinity", b"-Infinity"):
        data = payload().replace(b'"value": 7.2', b'"value": ' + text)
        err = reject(data)
        assert err.violations[0].field.startswith("samples[0]")


def test_oversize_payload_is_rejected_before_parsing():
    data = b"{" + b" " * mqtt.MAX_PAYLOAD_BYTES + b"}"
    err = reject(data)
    assert err.reason == "oversize"
    assert str(mqtt.MAX_PAYLOAD_BYTES) in err.violations[0].rule


def test_too_many_samples():
    err = reject(payload(samples=[sample()] * (mqtt.MAX_SAMPLES + 1)))
    assert err.violations[0].field == "samples"


def test_a_lower_size_limit_and_parsed_topic_parts_are_taken():
    data = payload()
    err = reject_with(lambda: mqtt.parse_telemetry(data, TOPIC, max_bytes=len(data) - 1))
    assert err.reason == "oversize" and f"at most {len(data) - 1} bytes" in err.violations[0].rule
    parts = mqtt.parse_topic(TOPIC)
    assert mqtt.parse_telemetry(data, parts) == mqtt.parse_telemetry(data, TOPIC)
    status_parts = mqtt.parse_topic("blueranch/v1/dachen/buoy-01/status")
    assert reject_with(lambda: mqtt.parse_telemetry(data, status_parts)).reason == "bad_topic"
    other = mqtt.parse_topic("blueranch/v1/dachen/buoy-02/telemetry")
    assert reject_with(lambda: mqtt.parse_telemetry(data, other)).reason == "device_mismatch"


def reject_with(call) -> ContractError:
    with pytest.raises(ContractError) as info:
        call()
    return info.value


def test_device_must_match_topic():
    err = reject(payload(device="buoy-02"))
    assert err.reason == "device_mismatch"
    assert err.violations[0].value == "buoy-02"
    assert "buoy-01" in err.violations[0].rule


def test_clock_policy_flags_far_future_and_past():
    now = datetime(2026, 11, 21, 14, tzinfo=UTC)
    msg = mqtt.parse_telemetry(
        payload(samples=[sample(), sample(time="2200-01-01T00:00:00Z"), sample(time="2020-01-01T00:00:00Z")]), TOPIC
    )
    found = mqtt.check_clock(msg, now)
    assert [(s.index, s.direction, s.reason) for s in found] == [
        (1, "future", "clock_future"),
        (2, "past", "clock_past"),
    ]
    assert found[0].limit == mqtt.DEFAULT_MAX_FUTURE and found[1].time == datetime(2020, 1, 1, tzinfo=UTC)
    assert [v.field for v in (s.violation() for s in found)] == ["samples[1].time", "samples[2].time"]
    assert "future" in found[0].violation().rule and "past" in found[1].violation().rule
    assert mqtt.check_clock(msg, now, max_future=timedelta(days=100_000), max_past=timedelta(days=100_000)) == []


def test_status_payload():
    st = mqtt.Status(device="buoy-01", state="online", buffer_depth=3, buffer_dropped_total=0)
    assert mqtt.parse_status(st.to_json()) == st
    with pytest.raises(ContractError) as info:
        mqtt.parse_status(b'{"device": "buoy-01", "state": "sleeping"}')
    assert info.value.violations[0].field == "state"


def test_two_samples_of_one_sensor_and_quantity_in_one_millisecond_are_refused_not_merged():
    same = [sample(), sample(value=7.3, time="2026-11-21T14:00:00.0004Z")]  # the same millisecond
    err = reject(payload(samples=same))
    assert err.reason == "duplicate_sample" and err.violations[0].field == "samples[1]"
    assert "samples[0]" in err.violations[0].rule
    # another millisecond, another quantity or another sensor: distinct points
    ok = [sample(), sample(time="2026-11-21T14:00:00.001Z"), sample(quantity="ph", unit="pH", value=8.0)]
    ok.append(sample(sensor="sonde-2"))
    assert len(mqtt.parse_telemetry(payload(samples=ok), TOPIC).samples) == 4


def test_the_epoch_travels_in_telemetry_and_status_and_is_a_safe_short_id():
    msg = mqtt.parse_telemetry(payload(epoch="0123abcd4567ef89"), TOPIC)
    assert msg.epoch == "0123abcd4567ef89" and json.loads(msg.to_json())["epoch"] == "0123abcd4567ef89"
    assert mqtt.parse_telemetry(payload(), TOPIC).epoch is None  # agents older than epochs
    for bad in ("", "a/b", "a+b", "x" * 33, "a b"):
        assert reject(payload(epoch=bad)).violations[0].field == "epoch"
    assert mqtt.Status(device="buoy-01", state="online", epoch="e1", refused_total=3).epoch == "e1"


def test_commit_acknowledgements_round_trip_and_are_checked():
    topic = mqtt.ack_topic("dachen", "buoy-01")
    assert topic == "blueranch/v1/dachen/buoy-01/ack" and mqtt.parse_topic(topic).kind == "ack"
    ack = mqtt.Ack(
        device="buoy-01",
        epoch="e1",
        committed=mqtt.seq_ranges([5, 1, 2, 3, 7, 3]),
        rejected=[mqtt.Rejected(seq=4, reason="schema")],
        worker="ingest-1",
    )
    assert ack.committed == [(1, 3), (5, 5), (7, 7)] and ack.seqs() == 6
    assert mqtt.parse_ack(ack.to_json(), topic) == ack
    body = json.loads(ack.to_json())
    for bad, field in [
        ({**body, "committed": [[3, 1]]}, "committed"),
        ({**body, "committed": [[1, "2"]]}, "committed[0][1]"),
        ({**body, "epoch": "a/b"}, "epoch"),
        ({**body, "extra": 1}, "extra"),
        ({**body, "committed": [[i, i] for i in range(mqtt.MAX_ACK_ITEMS + 1)]}, "committed"),
    ]:
        with pytest.raises(ContractError) as info:
            mqtt.parse_ack(json.dumps(bad).encode(), topic)
        assert info.value.violations[0].field == field, info.value
    with pytest.raises(ContractError) as info:
        mqtt.parse_ack(ack.to_json(), mqtt.ack_topic("dachen", "buoy-02"))
    assert info.value.reason == "device_mismatch"


def test_times_in_different_milliseconds_stay_different_points():
    """0.1155 s and 0.1165 s rounded half to even were both 116 ms: one point. They are floored now."""
    from blueranch.contracts.influx import to_ms

    a, b = "2026-12-01T22:49:21.115500Z", "2026-12-01T22:49:21.116500Z"
    msg = mqtt.parse_telemetry(payload(samples=[sample(time=a), sample(time=b)]), TOPIC)
    assert [to_ms(s.time) for s in msg.samples] == [1796165361115, 1796165361116]
    assert to_ms(datetime(2026, 12, 1, 22, 49, 21, 116000, tzinfo=UTC)) == 1796165361116  # exact, not a float
