"""Every panel target and annotation of every dashboard returns data from a simulated day in real InfluxDB,
with Grafana's macros and template variables substituted as Grafana does (All, one value, several values)."""

from __future__ import annotations

import pytest

from blueranch.dashboards.build import build_languages
from blueranch.dashboards.check import resolve_variables, run
from blueranch.dashboards.sample_day import SITE

pytestmark = pytest.mark.integration
#: Every language: the series names (column aliases) are translated, so the queries differ.
DASHBOARDS = {d.uid: d.to_json() for _, d in build_languages()}


def _failures(results) -> list[str]:
    return [f"{r.panel} [{r.ref}]: {r.error or 'no rows'}\n    {r.query}" for r in results if not r.ok]


@pytest.mark.parametrize("uid", sorted(DASHBOARDS))
def test_every_query_returns_data_with_all_selected(shared_day, uid):
    influx, day = shared_day
    results = run(influx, DASHBOARDS[uid], day.from_ms, day.to_ms)
    assert results and not _failures(results)
    assert all("$" not in r.query.replace("$/", "") for r in results), "a macro or variable was left in a query"


@pytest.mark.parametrize(
    "chosen",
    [
        {"site": (SITE,), "farm": ("m1", "k1"), "device": ("buoy-01", "buoy-02")},  # several values: /^(a|b)$/
        {"site": (SITE,), "farm": ("m1",), "device": ("buoy-01",)},  # one value each
        {"site": (SITE,), "method": ("deduct",)},
    ],
    ids=["multi", "single", "deduct"],
)
def test_every_query_returns_data_with_values_selected(shared_day, chosen):
    influx, day = shared_day
    for uid, d in DASHBOARDS.items():
        names = {v["name"] for v in d["templating"]["list"]}
        failures = _failures(run(influx, d, day.from_ms, day.to_ms, {k: v for k, v in chosen.items() if k in names}))
        assert not failures, f"{uid}:\n" + "\n".join(failures)


def test_chained_variables_list_what_exists(shared_day):
    influx, day = shared_day
    farm = DASHBOARDS["blueranch-farm-operations"]
    v = resolve_variables(influx, farm, day.from_ms, day.to_ms, {"farm": ("m1",)})
    assert v["site"].options == (SITE,)
    assert v["farm"].options == ("k1", "m1")
    assert v["device"].options == ("buoy-01",)  # the devices of farm m1 only
    fleet = resolve_variables(influx, DASHBOARDS["blueranch-fleet-health"], day.from_ms, day.to_ms)
    assert fleet["device"].options == ("buoy-01", "buoy-02", "buoy-03")


def test_a_tag_value_with_regex_characters_cannot_widen_the_selection(shared_day):
    """A selected value is regex-escaped: 'buoy.01' must not match 'buoy-01'."""
    influx, day = shared_day
    d = DASHBOARDS["blueranch-fleet-health"]
    results = run(influx, d, day.from_ms, day.to_ms, {"site": (SITE,), "device": ("buoy.01",)})
    device_panels = [r for r in results if '"device" =~' in r.query]
    assert device_panels and all(r.error is None and r.rows == 0 for r in device_panels)


def test_event_only_panels_are_named_in_the_model_left_out_of_the_json_and_not_failures(influx):
    """On a database without rejections or harvests only the event-only panels may be empty and still pass."""
    from blueranch.dashboards.build import build_all
    from blueranch.dashboards.common import Settings

    boards = {d.uid: d for _, d in build_all(Settings())}
    named = {uid: d.event_only() for uid, d in boards.items()}
    assert named["blueranch-fleet-health"] == {"Rejected messages per interval, by reason", "Latest rejected messages"}
    assert named["blueranch-farm-operations"] == {"annotation Harvests"}
    assert all("event_only" not in str(d.to_json()) for d in boards.values()), "not a Grafana field"
    d = boards["blueranch-fleet-health"]
    results = run(influx, d.to_json(), 0, 1000, event_only=d.event_only())
    events = {r.panel for r in results if r.status == "event"}
    assert events == named["blueranch-fleet-health"] and all(r.ok for r in results if r.panel in events)
    assert all(r.status == "EMPTY" and not r.ok for r in results if r.panel not in events)
