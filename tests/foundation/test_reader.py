"""Every typed read (blueranch.contracts.query) run by the one reader against real InfluxDB, on data
written through the contract (telemetry serialised by ``telemetry_lines``, derived points as the workers
write them). The expected answers are worked out from the data written, not from another query."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from blueranch.contracts import mqtt
from blueranch.contracts.influx import MEASUREMENTS, TELEMETRY_RETENTION_POLICY, Point, status_points, to_ms
from blueranch.contracts.lineprotocol import line, telemetry_lines
from blueranch.contracts.qc import QcFlag
from blueranch.contracts.query import (
    Between,
    Col,
    FieldCmp,
    Naming,
    Recent,
    TagEq,
    aggregate,
    latest,
    qc_fields,
    select,
    show_tag_values,
    window,
)
from blueranch.influxdb import InfluxClient, InfluxError
from blueranch.reader import Reader

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 1, tzinfo=UTC)
T0_MS = to_ms(T0)
MIN_MS = 60_000
DAY_MS = 86_400_000


def write(client: InfluxClient, points: list[Point | str]) -> None:
    """Points (derived, status) and telemetry lines (``telemetry_lines``, retention policy raw)."""
    by_rp: dict[str, list[str]] = {}
    for p in points:
        if isinstance(p, str):
            by_rp.setdefault(TELEMETRY_RETENTION_POLICY, []).append(p)
        else:
            by_rp.setdefault(MEASUREMENTS[p.measurement].retention_policy, []).append(line(p))
    for rp, ls in by_rp.items():
        client.write("\n".join(ls).encode(), retention_policy=rp)


def sonde(site: str, device: str, seq: int, t: datetime, do: float, temp: float, qc: int = 1) -> list[str]:
    msg = mqtt.Telemetry(
        device=device,
        seq=seq,
        samples=[
            mqtt.Sample(time=t, sensor="sonde", quantity="do_mg_l", value=do, unit="mg/L", qc=qc),
            mqtt.Sample(time=t, sensor="sonde", quantity="temp_c", value=temp, unit="degC", qc=1),
        ],
    )
    return telemetry_lines(site, msg)


def load(site: str, device: str, seq: int, t: datetime, kg: float, asset: str) -> list[str]:
    msg = mqtt.Telemetry(
        device=device,
        seq=seq,
        samples=[mqtt.Sample(time=t, sensor="lc1", quantity="load_kg", value=kg, unit="kg", asset=asset)],
    )
    return telemetry_lines(site, msg)


@pytest.fixture
def reader(influx) -> Reader:
    """Two sites; buoy-01 and buoy-02 at dachen report every 10 min for two days, one reading flagged."""
    points: list[Point | str] = []
    for i in range(2 * 144):
        t = T0 + timedelta(minutes=10 * i)
        qc = QcFlag.FAIL if i == 5 else QcFlag.GOOD
        points += sonde("dachen", "buoy-01", i, t, 6.0 + (i % 6) / 10, 20.0, qc)
        points += sonde("dachen", "buoy-02", i, t, 8.0, 21.0)
        points += load("dachen", "gw-01", i, t, 100.0 + i, "line-a")
    points += sonde("other", "buoy-01", 0, T0 + timedelta(days=5), 1.0, 30.0)
    points += status_points("dachen", mqtt.Status(device="buoy-01", state="online", time=T0), 0)
    points += status_points("dachen", mqtt.Status(device="buoy-01", state="offline", time=T0 + timedelta(hours=1)), 0)
    write(influx, points)
    return Reader(influx)


def test_latest_per_device_before_a_bound(reader):
    bound = T0_MS + 3 * 10 * MIN_MS
    q = latest(
        "water_quality", ("do_mg_l",), span=Between(None, bound), where=(TagEq("site", "dachen"),), group_by=("device",)
    )
    got = {s.tags["device"]: s.rows()[0] for s in reader.run(q)}
    assert got == {
        "buoy-01": {"time": bound, "do_mg_l": 6.3},
        "buoy-02": {"time": bound, "do_mg_l": 8.0},
    }
    newest = reader.run(latest("biomass_load", ("load_kg",), where=(TagEq("site", "dachen"),)))
    assert newest[0].rows() == [{"time": T0_MS + 287 * 10 * MIN_MS, "load_kg": 387.0}]
    assert reader.run(latest("biomass_load", ("load_kg",), where=(TagEq("site", "nowhere"),))) == []


def test_latest_of_several_fields_in_a_recent_span(reader, influx):
    now_ms = to_ms(datetime.now(UTC))
    budget = Point(
        "carbon_budget",
        {"site": "dachen", "scope": "site", "key": "dachen", "period": "ytd", "method": "count"},
        {"sinks_t_c": 12.5, "sinks_t_co2e": 45.8, "completeness": 0.9},
        now_ms - DAY_MS,
    )
    old = Point(
        budget.measurement,
        budget.tags,
        {"sinks_t_c": 1.0, "sinks_t_co2e": 3.7, "completeness": 1.0},
        now_ms - 900 * DAY_MS,
    )
    write(influx, [budget, old])
    q = latest(
        "carbon_budget",
        ("sinks_t_c", "sinks_t_co2e", "completeness"),
        span=Recent("800d"),
        where=(TagEq("scope", "site"), TagEq("period", "ytd"), TagEq("method", "count")),
    )
    (row,) = reader.run(q)[0].rows()
    assert (row["sinks_t_c"], row["sinks_t_co2e"], row["completeness"]) == (12.5, 45.8, 0.9)
    assert reader.run(latest("carbon_budget", ("sinks_t_c",), span=Recent("1d"), where=(TagEq("scope", "farm"),))) == []


def test_window_per_series_with_bounds_and_flags(reader):
    start, end = T0_MS, T0_MS + 6 * 10 * MIN_MS
    q = window("water_quality", ("do_mg_l",), Between(start, end), group_by=("site", "device", "sensor"))
    got = {s.tags["device"]: [r[0] for r in s.values] for s in reader.run(q)}
    times = [start + k * 10 * MIN_MS for k in range(7)]
    assert got == {"buoy-01": times, "buoy-02": times}
    good = window(
        "water_quality",
        ("do_mg_l",),
        Between(start, end, end_inclusive=False),
        where=(TagEq("site", "dachen"), TagEq("device", "buoy-01")),
        exclude_qc=(QcFlag.FAIL, QcFlag.MISSING),
    )
    (s,) = reader.run(good)
    assert [r[0] for r in s.values] == [t for t in times[:-1] if t != start + 5 * 10 * MIN_MS]
    assert s.columns == ["time", "do_mg_l"]


def test_window_of_flags_and_of_status_signs_of_life(reader):
    span = Between(T0_MS, T0_MS + DAY_MS)
    for name, m in MEASUREMENTS.items():
        if "sensor" in m.tags:  # every telemetry measurement's flag fields are valid names on the server
            reader.run(window(name, qc_fields(name), span, group_by=("site", "device", "sensor")))
    (s,) = reader.run(window("water_quality", qc_fields("water_quality"), span, where=(TagEq("device", "buoy-02"),)))
    assert len(s.values) == 145 and s.columns[:3] == ["time", "temp_c_qc", "sp_cond_us_cm_qc"]
    online = window("device_status", ("online",), span, where=(FieldCmp("online", "=", 1),), group_by=("device",))
    assert [(x.tags["device"], x.values) for x in reader.run(online)] == [("buoy-01", [[T0_MS, 1]])]


def test_window_of_records_with_tag_columns(reader, influx):
    t = to_ms(datetime.now(UTC)) - 3_600_000  # the ops policy keeps 30 days
    fields = {"count": 1, "topic": "t", "detail": "d"}
    write(influx, [Point("ingest_errors", {"reason": "bad_json", "worker": "w1"}, fields, t)])
    q = window("ingest_errors", ("count", "topic", "detail"), None, tag_columns=("reason", "worker"))
    assert reader.run(q)[0].rows() == [{"time": t, **fields, "reason": "bad_json", "worker": "w1"}]


def test_aggregates_per_day_and_over_a_period(reader):
    per_day = aggregate(
        "biomass_load",
        "count",
        "load_kg",
        Between(T0_MS, T0_MS + 3 * DAY_MS, end_inclusive=False),
        every="1d",
        where=(TagEq("site", "dachen"),),
        group_by=("asset", "device", "sensor"),
    )
    (s,) = reader.run(per_day)
    assert s.tags == {"asset": "line-a", "device": "gw-01", "sensor": "lc1"}
    assert s.values == [[T0_MS, 144], [T0_MS + DAY_MS, 144]]  # fill(none): the empty third day gives no row
    means = aggregate(
        "water_quality",
        "mean",
        "do_mg_l",
        Between(T0_MS, T0_MS + 2 * DAY_MS - 1),
        every="1d",
        group_by=("site", "device"),
        exclude_qc=(QcFlag.FAIL,),
    )
    by = {(x.tags["site"], x.tags["device"]): x.values for x in reader.run(means)}
    assert by[("dachen", "buoy-02")] == [[T0_MS, 8.0], [T0_MS + DAY_MS, 8.0]]
    day0 = [6.0 + (i % 6) / 10 for i in range(144) if i != 5]  # the reading flagged fail is left out
    assert by[("dachen", "buoy-01")][0][1] == pytest.approx(sum(day0) / len(day0))
    assert ("other", "buoy-01") not in by
    everything = reader.run(aggregate("water_quality", "count", "do_mg_l", None, where=(TagEq("site", "dachen"),)))
    assert everything[0].values[0][1] == 2 * 2 * 144


def test_tag_values(reader):
    assert reader.tag_values(show_tag_values("water_quality", "site")) == ("dachen", "other")
    q = show_tag_values("water_quality", "device", (TagEq("site", "dachen"),))
    assert reader.tag_values(q) == ("buoy-01", "buoy-02")
    with pytest.raises(ValueError, match="not a tag-values query"):
        reader.tag_values(select("water_quality", Col("do_mg_l"), span=None))


def test_a_hostile_tag_written_through_the_contract_is_never_matched_by_a_built_query(reader, influx):
    """Line protocol stores any device id; a query can only name plain ids, so no literal can break out."""
    hostile = "x' OR 'a'='a"
    write(
        influx,
        [
            Point(
                "alerts",
                {"site": "dachen", "device": hostile, "kind": "k", "severity": "info", "state": "open"},
                {"open": 1},
                T0_MS,
            )
        ],
    )
    with pytest.raises(ValueError, match="must match"):
        latest("alerts", ("open",), where=(TagEq("device", hostile),))
    # Selecting by a plain id still sees only that id's series.
    assert reader.run(latest("alerts", ("open",), where=(TagEq("device", "x"),))) == []
    assert [s.tags["device"] for s in reader.run(latest("alerts", ("open",), group_by=("device",)))] == [hostile]


def test_the_reader_sends_each_query_to_the_database_its_naming_gives(influx, influxdb):
    v3 = Reader(InfluxClient(influxdb.url, influx.database, naming=Naming("db/rp")))
    with pytest.raises(InfluxError, match=f"database not found: {influx.database}/raw"):
        v3.run(latest("water_quality", ("do_mg_l",)))
    influx.ensure_database()  # a second time: the policies exist and are altered to the contract's
    assert Reader(influx).run(latest("water_quality", ("do_mg_l",))) == []
