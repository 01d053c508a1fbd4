"""Contract 2: measurements, the telemetry mapping and line protocol, checked against real InfluxDB."""

import time
from datetime import UTC, datetime

import pytest

from blueranch.contracts import influx as ic
from blueranch.contracts import mqtt
from blueranch.contracts.errors import ContractError
from blueranch.contracts.lineprotocol import line, lines, telemetry_lines
from blueranch.contracts.quantities import QUANTITIES


def test_every_quantity_has_a_measurement_field_and_qc_field():
    for q in QUANTITIES.values():
        m = ic.MEASUREMENTS[q.measurement]
        assert m.field(q.name).unit == q.unit
        assert m.field(q.name + ic.QC_SUFFIX).type == "integer"


def test_measurements_are_well_formed():
    for m in ic.MEASUREMENTS.values():
        assert m.retention_policy in ic.RETENTION_POLICIES
        assert len({f.name for f in m.fields}) == len(m.fields)
        assert not set(m.tags) & {f.name for f in m.fields}, f"{m.name}: a tag and a field share a name"
        for bad in ("seq", "message", "detail", "value"):
            assert bad not in m.tags, f"{m.name}: {bad!r} would be an unbounded tag"
        assert set(m.optional_tags) <= set(m.tags)
    assert sum(rp.default for rp in ic.RETENTION_POLICIES.values()) == 1


def _sample(**over) -> mqtt.Sample:
    fields = dict(
        time=datetime(2026, 1, 1, tzinfo=UTC),
        sensor="sonde-1",
        quantity="do_mg_l",
        value=6.5,
        unit="mg/L",
        qc=3,
        farm="mussel-1",
    )
    fields.update(over)
    return mqtt.Sample(**fields)


def test_telemetry_maps_to_one_field_and_flag_per_sample():
    msg = mqtt.Telemetry(
        device="buoy-01",
        seq=1,
        position=mqtt.Position(lat_deg=28.4, lon_deg=121.9),
        samples=[
            _sample(),
            _sample(sensor="lc-1", quantity="load_kg", value=812.0, unit="kg", qc=2, farm=None, asset="ll-03"),
        ],
    )
    out = telemetry_lines("dachen", msg)
    assert out[0] == line(
        ic.Point(
            "water_quality",
            {"site": "dachen", "device": "buoy-01", "sensor": "sonde-1", "farm": "mussel-1"},
            {"do_mg_l": 6.5, "do_mg_l_qc": 3},
            1767225600000,
        )
    )
    assert out[1].startswith("biomass_load,asset=ll-03,") and "load_kg=812.0,load_kg_qc=2i" in out[1]
    # no GPS samples: the payload's position is the device's only fix, written once
    assert out[2] == "position,device=buoy-01,sensor=payload,site=dachen " + (
        "lat_deg=28.4,lon_deg=121.9,lat_deg_qc=2i,lon_deg_qc=2i 1767225600000"
    )
    assert len(out) == 3


def test_one_gps_fix_is_one_position_series():
    """An edge agent copies its GPS sensor's fix into the payload's position: it is written once, by the
    sensor's own samples, not again as a ``sensor=payload`` series."""
    fix = dict(sensor="gps-1", unit="deg", qc=1, farm=None)
    msg = mqtt.Telemetry(
        device="buoy-01",
        seq=1,
        position=mqtt.Position(lat_deg=28.4, lon_deg=121.9),
        samples=[_sample(quantity="lat_deg", value=28.4, **fix), _sample(quantity="lon_deg", value=121.9, **fix)],
    )
    assert ic.position_point("dachen", msg) is None
    series = {ln.split(" ", 1)[0] for ln in telemetry_lines("dachen", msg)}
    assert series == {"position,device=buoy-01,sensor=gps-1,site=dachen"}


def test_suspect_samples_are_raised_to_three_but_fail_and_missing_stay():
    msg = mqtt.Telemetry(device="b", seq=1, samples=[_sample(qc=q) for q in (1, 2, 3, 4, 9)] + [_sample(qc=1)])
    flags = [ln.split("do_mg_l_qc=")[1].split("i")[0] for ln in telemetry_lines("s", msg, {0, 1, 2, 3, 4})]
    assert flags == ["3", "3", "3", "4", "9", "1"]


def test_line_protocol_escapes_names_tags_and_strings():
    p = ic.Point("m x,y", {"t k": "a,b=c d"}, {"f=1": 'say "hi" \\ now', "n": 3, "b": True, "x": 1.5}, 5)
    assert line(p) == 'm\\ x\\,y,t\\ k=a\\,b\\=c\\ d f\\=1="say \\"hi\\" \\\\ now",n=3i,b=true,x=1.5 5'


@pytest.mark.parametrize("tags", [{"device": "a\nb"}, {"device": "a\rb"}, {"de\nvice": "x"}, {"device": "x\\"}])
def test_line_breaks_cannot_enter_names_or_tags(tags):
    with pytest.raises(ContractError):
        line(ic.Point("m", tags, {"v": 1.0}, 1))


def test_non_finite_floats_are_refused():
    with pytest.raises(ContractError):
        line(ic.Point("m", {}, {"v": float("nan")}, 1))


@pytest.mark.integration
def test_hostile_values_round_trip_through_real_influxdb(influx):
    db = influx
    now = int(time.time() * 1000)
    nasty = 'a,b=c d"e\\f\tg 海 🐟'
    body = lines(
        [
            ic.Point(
                "ingest_errors",
                {"reason": nasty, "worker": "w 1"},
                {"count": 1, "detail": nasty + "\nsecond line", "topic": "t"},
                now,
            ),
            ic.Point(
                "ingest_errors", {"reason": "ok", "worker": "w"}, {"count": 1, "detail": "x", "topic": "t"}, now + 1
            ),
        ]
    )
    db.write(body, retention_policy="ops")
    rows = db.query('SELECT * FROM "ops"."ingest_errors"')[0].rows()
    assert len(rows) == 2, "a line break must never create an extra point"
    assert rows[0]["reason"] == nasty and rows[0]["worker"] == "w 1"
    assert rows[0]["detail"] == nasty + "\\nsecond line"


@pytest.mark.integration
def test_rewriting_a_point_is_idempotent(influx):
    db = influx
    now = int(time.time() * 1000)
    p = ic.Point("water_quality", {"site": "s", "device": "d", "sensor": "x"}, {"do_mg_l": 7.0}, now)
    for _ in range(3):
        db.write(lines([p]))
    assert db.query("SELECT count(do_mg_l) FROM water_quality")[0].values[0][1] == 1


def test_status_maps_to_device_status():
    st = mqtt.Status(device="buoy-01", state="offline", buffer_depth=4)
    (p,) = ic.status_points("dachen", st, 1234)
    assert p == ic.Point(
        "device_status", {"site": "dachen", "device": "buoy-01"}, {"online": 0, "buffer_depth": 4}, 1234
    )
    for name in p.fields:
        ic.MEASUREMENTS["device_status"].field(name)
