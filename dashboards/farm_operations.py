"""Farm operations: what an operator watches — water quality, alarms, biomass, harvests, wind and waves.

One water-quality panel per quantity of the ``water_quality`` measurement (taken from the contract, so a
new sonde quantity gets a panel), dissolved oxygen first and with the reference thresholds as bands.
"""

from __future__ import annotations

from blueranch.contracts.influx import MEASUREMENTS, QC_SUFFIX
from blueranch.contracts.qc import QcFlag
from blueranch.contracts.quantities import QUANTITIES
from blueranch.contracts.query import Col, FieldCmp, TagCol, VarMatch, select, select_from
from blueranch.dashboards import thresholds
from blueranch.dashboards.common import Settings, dashboard, rename_columns, tag_variable
from blueranch.dashboards.model import Annotation, AnnotationTarget, Dashboard, ThresholdStep
from blueranch.dashboards.panels import Board, T

UID = "blueranch-farm-operations"
SITE = VarMatch("site", "site")
FARM = VarMatch("farm", "farm")
DEVICE = VarMatch("device", "device")
EVERY = "$__interval"


def _water_quality(b: Board) -> None:
    tr = b.tr
    wq = MEASUREMENTS["water_quality"]
    names = [f.name for f in wq.fields if not f.name.endswith(QC_SUFFIX)]
    names.sort(key=lambda n: n != "do_mg_l")  # dissolved oxygen first
    for name in names:
        q = QUANTITIES[name]
        query = select(
            "water_quality",
            Col(name, "mean"),
            where=(SITE, FARM, DEVICE, FieldCmp(name + QC_SUFFIX, "!=", int(QcFlag.FAIL))),
            time=EVERY,
            group_by=("farm", "device"),
            fill="none",
        )
        if name == "do_mg_l":
            bands = thresholds.do_bands()
            b.add(
                "timeseries",
                tr("{quantity} per farm and buoy", quantity=tr(q.description)),
                T(query, "$tag_farm $tag_device"),
                w=24,
                h=9,
                thresholds=bands,
                bands=True,
                description=tr(
                    "Mean per interval of the readings that passed QC (flag 4 left out). Bands: {bands}.",
                    bands="; ".join(tr(s.source) for s in bands),
                ),
            )
        else:
            b.add(
                "timeseries",
                tr(q.description),
                T(query, "$tag_farm $tag_device"),
                w=8,
                h=7,
                description=tr(
                    "Mean per interval, per farm and buoy, of the readings that passed QC (flag 4 left out)."
                ),
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
        tr("Dissolved oxygen QC flag (QARTOD, worst per interval)"),
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
        description=tr("QARTOD flags: 1 pass, 2 not evaluated, 3 suspect, 4 fail, 9 missing (IOOS QARTOD manual)."),
    )


#: The alarms table's columns and their headings (renamed in Grafana, so the query is the same in every language).
ALARM_COLUMNS = {
    "Time": "last event",
    "device": "device",
    "kind": "kind",
    "severity": "severity",
    "state": "state",
    "open": "open",
    "message": "message",
    "value": "value",
    "threshold": "threshold",
    "alert_id": "alert id",
}


def _alarms(b: Board) -> None:
    tr = b.tr
    per_alert = select("alerts", Col("open", "last", "open"), where=(SITE,), group_by=("device", "kind"))
    b.add(
        "stat",
        tr("Open alarms"),
        T(select_from(per_alert, Col("open", "sum", "open"))),
        w=4,
        h=8,
        unit="short",
        time_from="7d",
        thresholds=[ThresholdStep(color="green", value=None), ThresholdStep(color="red", value=1)],
        description=tr("Alarms whose latest event in the last 7 days is open, acknowledged or escalated."),
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
        tr("Alarms (latest event per device and kind)"),
        T(table, format="table"),
        w=20,
        h=8,
        unit="none",
        time_from="7d",
        description=tr("open = 1 while the alarm is open, acknowledged or escalated."),
        transformations=[rename_columns(tr, ALARM_COLUMNS)],
    )


def _biomass(b: Board) -> None:
    tr = b.tr
    load = select(
        "biomass_load", Col("load_kg", "mean"), where=(SITE, FARM), time=EVERY, group_by=("farm", "asset"), fill="none"
    )
    b.add(
        "timeseries",
        tr("Load per longline and raft"),
        T(load, "$tag_farm/$tag_asset"),
        description=tr("Submerged load from the load cells (mean per interval)."),
    )
    stock = select(
        "carbon_stock", Col("wet_t", "last"), where=(SITE, FARM), time=EVERY, group_by=("farm", "asset"), fill="none"
    )
    b.add(
        "timeseries",
        tr("Standing wet biomass per longline and raft"),
        T(stock, "$tag_farm/$tag_asset"),
        description=tr("Whole-asset wet biomass from the carbon worker (load cell x lines per sensor)."),
    )
    co2e = select("carbon_stock", Col("t_co2e", "last"), where=(SITE, FARM), group_by=("farm", "asset"))
    b.add("bargauge", tr("Carbon in standing stock per asset"), T(co2e, "$tag_farm/$tag_asset"), w=24, h=7)


def _weather(b: Board) -> None:
    tr = b.tr
    wind = select(
        "weather",
        Col("wind_speed_m_s", "mean", tr("mean")),
        Col("wind_speed_m_s", "max", tr("gust")),
        where=(SITE,),
        time=EVERY,
        group_by=("device",),
        fill="none",
    )
    b.add(
        "timeseries",
        tr(QUANTITIES["wind_speed_m_s"].description),
        T(wind, "$tag_device $col"),
        description=tr("Mean and maximum (gust) per interval."),
    )
    waves = select("weather", Col("wave_height_m", "max"), where=(SITE,), time=EVERY, group_by=("device",), fill="none")
    b.add(
        "timeseries",
        tr(QUANTITIES["wave_height_m"].description),
        T(waves, "$tag_device"),
        description=tr("Maximum per interval."),
    )


def harvest_annotation(s: Settings) -> Annotation:
    q = select(
        "carbon_stock",
        Col("harvested_wet_t"),
        TagCol("farm"),
        TagCol("asset"),
        where=(SITE, FieldCmp("harvested_wet_t", ">", 0)),
    )
    return Annotation(
        name=s.tr("Harvests"),
        datasource=s.datasource,
        iconColor="purple",
        target=AnnotationTarget(
            refId="Harvests",
            datasource=s.datasource,
            query=q.text,
            textColumn="harvested_wet_t",
            tagsColumn="farm,asset",
        ),
        event_only=True,
    )


def build(s: Settings) -> Dashboard:
    b = Board(s.datasource, s.currency, s.tr)
    _alarms(b)
    _water_quality(b)
    _biomass(b)
    _weather(b)
    variables = [
        tag_variable(s, "site", "Site", "water_quality"),
        tag_variable(
            s,
            "farm",
            "Farm",
            "water_quality",
            (SITE,),
            all_value=".*",
            description="All also shows buoys that belong to no farm.",
        ),
        tag_variable(s, "device", "Buoy", "water_quality", (SITE, FARM)),
    ]
    return dashboard(
        s,
        UID,
        "Farm operations",
        "Water quality, alarms, biomass, harvests, wind and waves per farm.",
        "operators",
        b,
        variables,
        [harvest_annotation(s)],
    )
