"""A corpus of bad messages: each is rejected with its reason, the worker stays up, good ones are written."""

from __future__ import annotations

import json

import pytest

from blueranch.contracts import mqtt as contract
from blueranch.testing.ingest_checks import Collector, count_points, error_rows
from blueranch.testing.loadgen import Publisher, payload
from blueranch.testing.wait import wait_until

pytestmark = pytest.mark.integration


def _sample(**over):
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


def _msg(device="buoy-01", **over):
    m = {"schema": contract.TELEMETRY_SCHEMA, "device": device, "seq": 1, "samples": [_sample()]}
    m.update(over)
    return json.dumps(m).encode()


def corpus(site: str) -> list[tuple[str, str, bytes]]:
    """(expected reason, topic, payload)."""
    t = contract.telemetry_topic(site, "buoy-01")
    prefix = contract.PREFIX
    return [
        ("invalid_json", t, b'{"schema": "blueranch.telemetry/v1", "device": "buoy-01", '),
        ("invalid_json", t, b"\xff\xfe\x00garbage"),
        ("invalid_json", t, b""),
        ("schema", t, _msg(seq="12")),  # wrong type
        ("schema", t, _msg(samples=[_sample(value="7.2")])),  # wrong type
        (
            "schema",
            t,
            b'{"schema":"blueranch.telemetry/v1","device":"buoy-01","seq":1,'
            b'"samples":[{"time":"2026-11-21T14:00:00Z",'
            b'"sensor":"sonde-1","quantity":"do_mg_l","value":NaN,"unit":"mg/L"}]}',
        ),
        (
            "schema",
            t,
            json.dumps({"schema": contract.TELEMETRY_SCHEMA, "device": "buoy-01", "samples": [_sample()]}).encode(),
        ),  # missing seq
        ("schema", t, _msg(samples=[{k: v for k, v in _sample().items() if k != "time"}])),  # missing time
        ("schema", t, _msg(samples=[_sample(quantity="do_mg_l\nevil,x=1 y=2")])),  # injection
        ("schema", t, _msg(samples=[_sample(sensor='s" ,evil=1')])),  # injection
        ("schema", t, _msg(samples=[_sample(time="2026-11-21T14:00:00")])),  # naive time
        ("schema", t, _msg(extra_key=1)),  # unknown key
        ("oversize", t, b'{"pad": "' + b"x" * (contract.MAX_PAYLOAD_BYTES + 10) + b'"}'),
        ("device_mismatch", t, _msg(device="buoy-02")),
        # injection in the topic (control characters never reach us: Mosquitto closes the publisher's
        # connection; tests/ingest/test_validate.py checks the validator refuses them too)
        ("bad_topic", f"{prefix}/{site}/buoy 01,x=1/telemetry", _msg()),
        ("bad_topic", f"{prefix}/{site}/buoy-01=x\\/telemetry", _msg()),
        ("bad_topic", f"{prefix}/{site}/_system/telemetry", _msg()),
        ("clock_future", t, _msg(samples=[_sample(time="2200-01-01T00:00:00.000Z")])),
        ("clock_past", t, _msg(samples=[_sample(time="1999-01-01T00:00:00.000Z")])),
    ]


def test_bad_messages_are_rejected_with_reasons_and_good_ones_after_them_are_written(
    mosquitto, influx, start_worker, unique
):
    site = unique
    dead = Collector(mosquitto.url, contract.DEADLETTER_TOPIC, f"{unique}-dl")
    worker = start_worker()
    bad = corpus(site)
    good_topic = contract.telemetry_topic(site, "buoy-01")
    start_ms = 1_795_000_000_000  # 2026-11-19, inside the clock policy window of the test date
    pub = Publisher(mosquitto.url, f"{unique}-pub")
    try:
        # good, bad, good, bad, ...: every good message is behind a bad one
        msgs = []
        for i, (_, topic, body) in enumerate(bad):
            msgs.append((topic, body))
            msgs.append((good_topic, payload("buoy-01", i, start_ms)))
        pub.publish_all(msgs)
    finally:
        pub.close()
    wait_until(lambda: count_points(influx, site) == len(bad), 60, 0.1, message="good messages written")

    def mine():
        return [r for r in error_rows(influx) if site in r["topic"] and r["worker"] == worker.worker_id]

    rows = wait_until(lambda: len(mine()) == len(bad) and mine(), 60, 0.1, message="every rejection recorded")
    assert sorted(r["reason"] for r in rows) == sorted(reason for reason, _, _ in bad)
    for r in rows:
        assert r["count"] == 1 and r["detail"], r
    letters = wait_until(
        lambda: (
            [m for m in dead.messages if site in m["topic"]]
            if len([m for m in dead.messages if site in m["topic"]]) >= len(bad)
            else None
        ),
        60,
        0.1,
        message="dead letters",
    )
    dead.close()
    assert sorted(m["reason"] for m in letters) == sorted(reason for reason, _, _ in bad)
    by_reason = {m["reason"]: m for m in letters}
    assert by_reason["device_mismatch"]["violations"][0]["field"] == "device"
    assert "2200" in by_reason["clock_future"]["detail"]
    assert "bytes" in by_reason["oversize"]["detail"]
    # injection attempts created no extra series or measurement
    tags = influx.query('SHOW TAG VALUES FROM "raw"."water_quality" WITH KEY = "sensor"')
    assert [v[1] for v in tags[0].values] == ["sonde-1"]
    assert {s.values[0][0] for s in influx.query("SHOW MEASUREMENTS")} <= {
        "water_quality",
        "ingest_errors",
        "ingest_stats",
    }
    assert worker.metrics.totals["errors_total"] == len(bad)
