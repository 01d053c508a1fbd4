"""The shore's device registry (ingest/registry.py): the only source of site, farm and asset tags."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from blueranch.contracts import mqtt as contract
from blueranch.contracts.errors import ContractError
from blueranch.contracts.lineprotocol import telemetry_lines
from blueranch.ingest.config import IngestConfig
from blueranch.ingest.registry import Registry, load_registry, parse_registry
from blueranch.ingest.validate import Validator

REGISTRY = {
    "unknown": "reject",
    "devices": {
        "buoy-01": {
            "site": "dachen",
            "farm": "mussel-1",
            "sensors": {"lc-m1-01": {"asset": "m1-ll-01"}, "lc-m1-02": {"asset": "m1-ll-02"}},
        },
        "gw-01": {"site": "dachen", "sensors": {"lc-m6-01": {"farm": "mussel-6", "asset": "m6-ll-01"}}},
    },
}
NOW = datetime(2026, 11, 17, tzinfo=UTC)


def _msg(device: str = "buoy-01", sensor: str = "lc-m1-01", **claims) -> contract.Telemetry:
    sample = {
        "time": "2026-11-17T00:00:00Z",
        "sensor": sensor,
        "quantity": "load_kg",
        "value": 800.0,
        "unit": "kg",
        "qc": 1,
        **claims,
    }
    return contract.Telemetry.model_validate({"device": device, "seq": 1, "samples": [sample]})


def _tags(registry: Registry, site: str, msg) -> dict:
    """The tags of the first line the ingest would write (ids are from the safe alphabet: no escapes)."""
    site, msg = registry.bind(site, msg)
    head = telemetry_lines(site, msg)[0].split(" ", 1)[0]
    return dict(kv.split("=", 1) for kv in head.split(",")[1:])


def test_tags_come_from_the_registry_when_the_payload_claims_nothing():
    r = parse_registry(REGISTRY)
    assert _tags(r, "dachen", _msg()) == {
        "site": "dachen",
        "device": "buoy-01",
        "sensor": "lc-m1-01",
        "farm": "mussel-1",
        "asset": "m1-ll-01",
    }
    # a sensor not listed: the device's farm, no asset (the carbon worker matches assets by tag)
    assert _tags(r, "dachen", _msg(sensor="agent")) == {
        "site": "dachen",
        "device": "buoy-01",
        "sensor": "agent",
        "farm": "mussel-1",
    }


def test_agreeing_claims_pass_unchanged_without_a_copy():
    r = parse_registry(REGISTRY)
    msg = _msg(farm="mussel-1", asset="m1-ll-01")
    assert r.bind("dachen", msg)[1] is msg


@pytest.mark.parametrize(
    "claims, field",
    [
        ({"farm": "mussel-6", "asset": "m6-ll-01"}, "samples[0].farm"),  # another farm's longline
        ({"asset": "m1-ll-02"}, "samples[0].asset"),  # the right farm, another longline of it
        ({"farm": "mussel-6"}, "samples[0].farm"),
    ],
)
def test_a_claim_that_disagrees_is_refused_naming_field_value_and_the_registry(claims, field):
    with pytest.raises(ContractError) as exc:
        parse_registry(REGISTRY).bind("dachen", _msg(**claims))
    assert exc.value.reason == "registry_mismatch"
    assert exc.value.violations[0].field == field
    assert "buoy-01/lc-m1-01" in str(exc.value) and "registry" in str(exc.value)


def test_a_claim_where_the_registry_gives_none_is_refused():
    with pytest.raises(ContractError, match="gives none"):
        parse_registry(REGISTRY).bind("dachen", _msg(sensor="agent", asset="m6-ll-01"))


def test_another_site_is_refused():
    with pytest.raises(ContractError) as exc:
        parse_registry(REGISTRY).bind("othersite", _msg())
    assert exc.value.reason == "registry_mismatch" and exc.value.violations[0].field == "topic.site"


def test_unknown_devices_follow_the_policy():
    with pytest.raises(ContractError) as exc:
        parse_registry(REGISTRY).bind("dachen", _msg(device="buoy-99", farm="mussel-6"))
    assert exc.value.reason == "unknown_device"
    unbound = parse_registry({**REGISTRY, "unknown": "unbound"})
    # written under the topic's site, its farm/asset claims dropped: it weighs on no farm
    assert _tags(unbound, "beiji", _msg(device="buoy-99", farm="mussel-6", asset="m6-ll-01")) == {
        "site": "beiji",
        "device": "buoy-99",
        "sensor": "lc-m1-01",
    }


def test_an_open_registry_trusts_topic_and_payload():
    r = Registry.open()
    msg = _msg(farm="mussel-6")
    assert r.is_open and r.bind("anywhere", msg) == ("anywhere", msg)


@given(
    farm=st.from_regex(contract.ID_PATTERN, fullmatch=True), asset=st.from_regex(contract.ID_PATTERN, fullmatch=True)
)
def test_no_claim_but_the_registry_s_is_ever_written(farm, asset):
    r = parse_registry(REGISTRY)
    try:
        site, msg = r.bind("dachen", _msg(sensor="lc-m1-02", farm=farm, asset=asset))
    except ContractError as exc:
        assert exc.reason == "registry_mismatch"
    else:
        assert (msg.samples[0].farm, msg.samples[0].asset) == ("mussel-1", "m1-ll-02")


def test_the_ingest_validator_applies_the_registry_to_telemetry_and_status(tmp_path):
    import yaml

    path = tmp_path / "registry.yaml"
    path.write_text(yaml.safe_dump(REGISTRY))
    v = Validator(IngestConfig(registry=path))
    topic = contract.telemetry_topic("dachen", "buoy-01")
    acc = v.accept(topic, _msg().to_json(), now=NOW)
    assert b"farm=mussel-1" in acc.body and b"asset=m1-ll-01" in acc.body
    with pytest.raises(ContractError, match="registry"):
        v.accept(topic, _msg(farm="mussel-6").to_json(), now=NOW)
    status = contract.Status(device="buoy-01", state="online").to_json()
    v.accept_status(contract.status_topic("dachen", "buoy-01"), status, now=NOW)
    with pytest.raises(ContractError) as exc:
        v.accept_status(contract.status_topic("othersite", "buoy-01"), status, now=NOW)
    assert exc.value.reason == "registry_mismatch"


@pytest.mark.parametrize(
    "text, expect",
    [
        ("devices:\n  buoy-01: {site: dachen}\n  buoy-01: {site: othersite}\n", "'buoy-01' is given twice"),
        ("devices:\n  buoy-01: {site: dachen, farn: mussel-1}\n", "devices.buoy-01.farn"),
        ("devices:\n  buoy-01: {farm: mussel-1}\n", "devices.buoy-01.site"),
        ("devices:\n  'bad/id': {site: dachen}\n", "must match"),
        ("unknown: maybe\n", "unknown"),
        ("devices: [1, 2\n", "not valid YAML"),
    ],
)
def test_bad_registries_are_refused_naming_the_key(tmp_path, text, expect):
    path = tmp_path / "registry.yaml"
    path.write_text(text)
    with pytest.raises(ContractError) as exc:
        load_registry(path)
    assert exc.value.reason in ("config", "bad_file") and expect in str(exc.value)


def test_the_ingest_cli_refuses_a_bad_registry_in_one_line(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "registry.yaml"
    path.write_text("devices:\n  buoy-01: {farm: mussel-1}\n")
    r = subprocess.run(
        [sys.executable, "-m", "blueranch", "ingest", "run", "--registry", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and "devices.buoy-01.site" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run(
        [sys.executable, "-m", "blueranch", "ingest", "run", "--registry", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and "cannot be read" in r.stderr
