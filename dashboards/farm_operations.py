"""Farm operations: what an operator watches — water quality, alarms, biomass, harvests, wind and waves.

One water-quality panel per quantity of the ``water_quality`` measurement (taken from the contract, so a
new sonde quantity gets a panel), dissolved oxygen first and with the reference thresholds as bands.
"""

from __future__ import annotations

from blueranch.contracts.influx import MEASUREMENTS, QC_SUFFIX
from blueranch.contracts.quantities import QUANTITIES
from blueranch.contracts.query import Col, FieldCmp, TagCol, VarMatch, select, select_from
from blueranch.dashboards import thresholds
from blueranch.dashboards.common import Settings, dashboard, tag_variable
from blueranch.dashboards.model import Annotation, AnnotationTarget, Dashboard, ThresholdStep
from blueranch.dashboards.panels import Board, T

UID = "blueranch-farm-operations"
SITE = VarMatch("site", "site")
FARM = VarMatch("farm", "farm")
DEVICE = VarMatch("device", "device")
EVERY = "$__interval"


def _water_quality(b: Board) -> None:
    wq = MEASUREMENTS["water_quality"]
    names = [f.name for f in wq.fields if not f.name.endswith(QC_SUFFIX)]
    names.sort(key=lambda n: n != "do_mg_l")  # dissolved oxygen first
    for name in names:
        q = QUANTITIES[name]
        query = select(
            "water_quality",
            Col(name, "mean"),
            where=(SITE, FARM, DEVICE),
            time=EVERY,
            group_by=("farm", "device"),
            fill="none",
        )
        if name == "do_mg_l":
            bands = thresholds.do_bands()
            b.add(
                "timeseries",
                f"{q.description} per farm and buoy",
                T(query, "$tag_farm $tag_device"),
                w=24,
                h=9,
                thresholds=bands,
                bands=True,
                description="Mean per interval. Bands: " + "; ".join(s.source for s in bands if s.source) + ".",
            )
        else:
            b.add(
                "timeseries",
                q.description,
                T(query, "$tag_farm $tag_device"),
                w=8,
                h=7,
                description="Mean per interval, per farm and buoy.",
            )
    flagged = select(
        "water_quality",
        Col("do_mg_l" + QC_SUFFIX, "max"),
        where=(SITE, FARM, DEVICE),
        time=EVERY,
        group_by=("device",),
        fill="none",
    )
    b.add(
        "timeseries",
        "Dissolved oxygen QC flag (QARTOD, worst per interval)",
        T(flagged, "$tag_device"),
        w=8,
        h=7,
        unit="none",
        thresholds=[
            ThresholdStep(color="green", value=None),
            ThresholdStep(color="yellow", value=3),
            ThresholdStep(color="red", value=4),
        ],
        bands=True,
        description="QARTOD flags: 1 pass, 2 not evaluated, 3 suspect, 4 fail, 9 missing (IOOS QARTOD manual).",
    )


def _alarms(b: Board) -> None:
    per_alert = select("alerts", Col("open", "last", "open"), where=(SITE,), group_by=("device", "kind"))
    b.add(
        "stat",
        "Open alarms",
        T(select_from(per_alert, Col("open", "sum", "open"))),
        w=4,
        h=8,
        unit="short",
        time_from="7d",
        thresholds=[ThresholdStep(color="green", value=None), ThresholdStep(color="red", value=1)],
        description="Alarms whose latest event in the last 7 days is open, acknowledged or escalated.",
    )
    table = select(
        "alerts",
        Col("open", "last", "open"),
        Col("message"),
        Col("value"),
        Col("threshold"),
        Col("alert_id"),
        TagCol("state"),
        where=(SITE,),
        group_by=("device", "kind", "severity"),
    )
    b.add(
        "table",
        "Alarms (latest event per device and kind)",
        T(table, format="table"),
        w=20,
        h=8,
        unit="none",
        time_from="7d",
        description="open = 1 while the alarm is open, acknowledged or escalated.",
        transformations=[
            {
                "id": "organize",
                "options": {
                    "excludeByName": {"Time": False},
                    "indexByName": {},
                    "renameByName": {"Time": "last event"},
                },
            }
        ],
    )


def _biomass(b: Board) -> None:
    load = select(
        "biomass_load", Col("load_kg", "mean"), where=(SITE, FARM), time=EVERY, group_by=("farm", "asset"), fill="none"
    )
    b.add(
        "timeseries",
        "Load per longline and raft",
        T(load, "$tag_farm/$tag_asset"),
        description="Submerged load from the load cells (mean per interval).",
    )
    stock = select(
        "carbon_stock", Col("wet_t", "last"), where=(SITE, FARM), time=EVERY, group_by=("farm", "asset"), fill="none"
    )
    b.add(
        "timeseries",
        "Standing wet biomass per longline and raft",
        T(stock, "$tag_farm/$tag_asset"),
        description="Whole-asset wet biomass from the carbon worker (load cell x lines per sensor).",
    )
    co2e = select("carbon_stock", Col("t_co2e", "last"), where=(SITE, FARM), group_by=("farm", "asset"))
    b.add("bargauge", "Carbon in standing stock per asset", T(co2e, "$tag_farm/$tag_asset"), w=24, h=7)


def _weather(b: Board) -> None:
    wind = select(
        "weather",
        Col("wind_speed_m_s", "mean", "mean"),
        Col("wind_speed_m_s", "max", "gust"),
        where=(SITE,),
        time=EVERY,
        group_by=("device",),
        fill="none",
    )
    b.add("timeseries", "Wind speed", T(wind, "$tag_device $col"), description="Mean and maximum per interval.")
    waves = select("weather", Col("wave_height_m", "max"), where=(SITE,), time=EVERY, group_by=("device",), fill="none")
    b.add("timeseries", "Significant wave height", T(waves, "$tag_device"), description="Maximum per interval.")


def harvest_annotation(s: Settings) -> Annotation:
    q = select(
        "carbon_stock",
        Col("harvested_wet_t"),
        TagCol("farm"),
        TagCol("asset"),
        where=(SITE, FieldCmp("harvested_wet_t", ">", 0)),
    )
    return Annotation(
        name="Harvests",
        datasource=s.datasource,
        iconColor="purple",
        target=AnnotationTarget(
            refId="Harvests",
            datasource=s.datasource,
            query=q.text,
            textColumn="harvested_wet_t",
            tagsColumn="farm,asset",
        ),
    )


def build(s: Settings) -> Dashboard:
    b = Board(s.datasource, s.currency)
    _alarms(b)
    _water_quality(b)
    _biomass(b)
    _weather(b)
    ds = s.datasource
    variables = [
        tag_variable(ds, "site", "Site", "water_quality"),
        tag_variable(
            ds,
            "farm",
            "Farm",
            "water_quality",
            (SITE,),
            all_value=".*",
            description="All also shows buoys that belong to no farm.",
        ),
        tag_variable(ds, "device", "Buoy", "water_quality", (SITE, FARM)),
    ]
    return dashboard(
        UID,
        "Farm operations",
        "Water quality, alarms, biomass, harvests, wind and waves per farm.",
        "operators",
        b,
        variables,
        [harvest_annotation(s)],
    )
