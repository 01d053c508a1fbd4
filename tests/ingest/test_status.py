"""Edge agents' status messages (retained status and Last Will) become ``device_status`` points."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from blueranch.contracts import mqtt as contract
from blueranch.mqttc import make_client, parse_url
from blueranch.testing.ingest_checks import error_rows
from blueranch.testing.wait import wait_until

pytestmark = pytest.mark.integration


def _rows(influx, site):
    s = influx.query(f'SELECT * FROM "raw"."device_status" WHERE "site" = \'{site}\'')
    return s[0].rows() if s else []


def test_online_status_and_last_will_are_written(mosquitto, influx, start_worker, unique):
    site = unique
    start_worker()
    url = parse_url(mosquitto.url)
    agent = make_client(f"{unique}-agent", clean=True)
    offline = contract.Status(device="buoy-01", state="offline", sw_version="1.2.3")
    agent.will_set(contract.status_topic(site, "buoy-01"), offline.to_json(), qos=1, retain=True)
    agent.connect(url.host, url.port, keepalive=5)
    agent.loop_start()
    online = contract.Status(
        device="buoy-01",
        state="online",
        time=datetime(2026, 11, 21, 14, tzinfo=UTC),
        sw_version="1.2.3",
        config_version="abc",
        buffer_depth=12,
        buffer_dropped_total=3,
    )
    agent.publish(contract.status_topic(site, "buoy-01"), online.to_json(), qos=1, retain=True).wait_for_publish(10)
    rows = wait_until(lambda: _rows(influx, site), 30, 0.1, message="online status written")
    assert rows[0]["online"] == 1 and rows[0]["buffer_depth"] == 12 and rows[0]["buffer_dropped_total"] == 3
    assert rows[0]["sw_version"] == "1.2.3" and rows[0]["config_version"] == "abc"
    assert rows[0]["time"] == 1795269600000  # the status's own time
    # The agent dies without DISCONNECT: the broker publishes its Last Will.
    agent.loop_stop()
    agent.socket().close()
    rows = wait_until(
        lambda: len(_rows(influx, site)) == 2 and _rows(influx, site), 60, 0.1, message="Last Will written"
    )
    assert rows[-1]["online"] == 0
    # Clearing the retained status (zero-length payload) writes nothing and is no error.
    clear = make_client(f"{unique}-clear", clean=True)
    clear.connect(url.host, url.port)
    clear.loop_start()
    clear.publish(contract.status_topic(site, "buoy-01"), b"", qos=1, retain=True).wait_for_publish(10)
    clear.loop_stop()
    clear.disconnect()


def test_bad_status_is_rejected_with_its_reason(mosquitto, influx, start_worker, unique):
    site = unique
    worker = start_worker()
    url = parse_url(mosquitto.url)
    pub = make_client(f"{unique}-pub", clean=True)
    pub.connect(url.host, url.port)
    pub.loop_start()
    bad = [
        (contract.status_topic(site, "buoy-01"), b'{"device": "buoy-01", "state": "sleeping"}'),
        (contract.status_topic(site, "buoy-01"), contract.Status(device="buoy-02", state="online").to_json()),
        (contract.status_topic(site, "buoy-01"), b"\xff not json"),
    ]
    for topic, body in bad:
        pub.publish(topic, body, qos=1).wait_for_publish(10)
    pub.publish(
        contract.status_topic(site, "buoy-01"), contract.Status(device="buoy-01", state="online").to_json(), qos=1
    ).wait_for_publish(10)
    pub.loop_stop()
    pub.disconnect()

    def mine():
        return [r for r in error_rows(influx) if site in r["topic"] and r["worker"] == worker.worker_id]

    rows = wait_until(lambda: len(mine()) == 3 and mine(), 30, 0.1, message="three rejections")
    assert sorted(r["reason"] for r in rows) == ["device_mismatch", "invalid_json", "schema"]
    assert "state" in next(r for r in rows if r["reason"] == "schema")["detail"]
    wait_until(lambda: _rows(influx, site), 30, 0.1, message="the good status after the bad ones")
