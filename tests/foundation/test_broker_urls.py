"""Broker URLs say what they carry: credentials in one are refused, clearly, and never echoed."""

from __future__ import annotations

import subprocess
import sys

import pytest

from blueranch.contracts.errors import ContractError
from blueranch.edge.config import parse_config
from blueranch.mqttc import parse_url, redact_url

SECRET = "hunter2"
SENSOR = {
    "id": "sonde-1",
    "driver": "sdi12",
    "port": "/dev/null",
    "address": "0",
    "interval_s": 5,
    "quantities": ["temp_c"],
}


@pytest.mark.parametrize("url", [f"mqtt://buoy-01:{SECRET}@broker:1883", f"mqtts://buoy-01:{SECRET}@b", "mqtt://u@b"])
def test_credentials_in_a_url_are_refused_and_not_repeated(url):
    with pytest.raises(ValueError) as exc:
        parse_url(url)
    assert "carries credentials" in str(exc.value) and SECRET not in str(exc.value)
    with pytest.raises(ContractError) as cexc:
        parse_config({"site": "s", "device": "d", "mqtt": {"url": url}, "sensors": [SENSOR]})
    assert "mqtt.url" in str(cexc.value) and SECRET not in str(cexc.value)


def test_plain_urls_parse():
    assert parse_url("mqtts://h").port == 8883 and parse_url("mqtt://h").port == 1883
    assert redact_url("mqtt://a:b@h:1/x") == "mqtt://***@h:1/x" and redact_url("mqtt://h") == "mqtt://h"
    with pytest.raises(ValueError, match="Port"):
        parse_url("mqtt://h:99999")


@pytest.mark.parametrize(
    "args",
    [
        ["ingest", "run", "--mqtt", f"mqtt://ingest:{SECRET}@127.0.0.1:1"],
        ["sim", "feed", "--mqtt", f"mqtt://sim:{SECRET}@127.0.0.1:1", "--days", "0.01", "--truth-out", "/dev/null"],
    ],
)
def test_commands_refuse_a_url_with_credentials_in_one_line(args):
    r = subprocess.run([sys.executable, "-m", "blueranch", *args], capture_output=True, text=True, timeout=60)
    assert r.returncode in (1, 2), r
    assert "carries credentials" in r.stderr and SECRET not in r.stderr + r.stdout and "Traceback" not in r.stderr


def test_edge_client_certificate_needs_its_key_and_tls():
    base = {"site": "s", "device": "d", "sensors": [SENSOR]}
    with pytest.raises(ContractError, match="together"):
        parse_config({**base, "mqtt": {"url": "mqtts://h", "cert_file": "/c"}})
    with pytest.raises(ContractError, match="mqtts"):
        parse_config({**base, "mqtt": {"url": "mqtt://h", "cert_file": "/c", "key_file": "/k"}})
