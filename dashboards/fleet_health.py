"""Fleet health: what a technician checks before going out on the boat.

Where each buoy is and whether its agent is online, when it was last heard, its battery and radio, how
full its store-and-forward buffer is and whether it dropped readings, and whether the shore ingest keeps
up (rate, lag, rejected messages).

The fleet is the set of edge agents, i.e. the devices with retained status messages (``device_status``,
published by each agent every ``status_interval_s`` and as its Last Will); buffer depth and drops come
from those messages too, battery and RSSI from the buoy's housekeeping telemetry (``device_health``).
"""

from __future__ import annotations

from blueranch.contracts.quantities import QUANTITIES
from blueranch.contracts.query import Col, TagCol, VarMatch, select
from blueranch.dashboards.common import Settings, dashboard, rename_columns, tag_variable
from blueranch.dashboards.model import Dashboard, ThresholdStep
from blueranch.dashboards.panels import Board, T, by_name

UID = "blueranch-fleet-health"
SITE = VarMatch("site", "site")
DEVICE = VarMatch("device", "device")
EVERY = "$__interval"
ONLINE_COLOURS = [ThresholdStep(color="red", value=None), ThresholdStep(color="green", value=1)]
#: The newest rejections table's columns and their headings.
REJECTION_COLUMNS = {"Time": "time", "topic": "topic", "detail": "detail", "reason": "reason", "worker": "worker"}


def online_mappings(tr) -> list[dict]:
    """``device_status.online`` as words: 0 offline (red), 1 online (green)."""
    return [
        {
            "type": "value",
            "options": {
                "0": {"text": tr("offline"), "color": "red", "index": 0},
                "1": {"text": tr("online"), "color": "green", "index": 1},
            },
        }
    ]


def _map_and_status(b: Board) -> None:
    tr = b.tr
    where = (SITE, DEVICE)
    pos = select(
        "position", Col("lat_deg", "last", "lat"), Col("lon_deg", "last", "lon"), where=where, group_by=("device",)
    )
    online = select("device_status", Col("online", "last", "online"), where=where, group_by=("device",))
    layer = {
        "type": "markers",
        "name": tr("Buoys"),
        "tooltip": True,
        "location": {"mode": "coords", "latitude": "lat", "longitude": "lon"},
        "config": {
            "showLegend": True,
            "style": {
                "size": {"fixed": 10},
                "color": {"field": "online", "fixed": "green"},
                "symbol": {"mode": "fixed", "fixed": "img/icons/marker/circle.svg"},
                "text": {"field": "device", "mode": "field", "fixed": ""},
                "textConfig": {"fontSize": 12, "offsetY": -14, "textAlign": "center"},
            },
        },
    }
    b.add(
        "geomap",
        tr("Buoys (last GPS position, colour = agent online)"),
        T(pos, format="table"),
        T(online, format="table"),
        w=14,
        h=12,
        unit="bool_on_off",
        thresholds=ONLINE_COLOURS,
        mappings=online_mappings(tr),
        description=tr("Last position in the time range; green: agent online, red: offline (MQTT Last Will)."),
        transformations=[{"id": "joinByField", "options": {"byField": "device", "mode": "outer"}}],
        options={
            "view": {"id": "fit", "lat": 0, "lon": 0, "zoom": 12, "allLayers": True},
            "controls": {"showZoom": True, "mouseWheelZoom": True, "showAttribution": True},
            "basemap": {"type": "default", "name": "Basemap"},
            "layers": [layer],
            "tooltip": {"mode": "details"},
        },
    )
    seen = select("device_health", Col("battery_v", "last", "battery_v"), where=where, group_by=("device",))
    b.add(
        "table",
        tr("Last seen"),
        T(online, format="table"),
        T(seen, format="table"),
        w=10,
        h=12,
        unit="none",
        description=tr(
            "Per device: time of the last agent status (sent every status_interval_s, 60 s by default) "
            "and of the last housekeeping reading, with the agent state and battery voltage."
        ),
        transformations=[{"id": "joinByField", "options": {"byField": "device", "mode": "outer"}}],
        overrides=[
            by_name("Time 1", unit="dateTimeFromNow", displayName=tr("last status")),
            by_name("Time 2", unit="dateTimeFromNow", displayName=tr("last reading")),
            by_name("online", unit="bool_on_off", mappings=online_mappings(tr), displayName=tr("agent")),
            by_name("battery_v", unit="volt", displayName=tr("battery")),
            by_name("device", displayName=tr("device")),
        ],
        options={"sortBy": [{"displayName": tr("last status"), "desc": False}]},
    )
    b.add(
        "stat",
        tr("Agent status"),
        T(online, "$tag_device"),
        w=24,
        h=4,
        thresholds=ONLINE_COLOURS,
        mappings=online_mappings(tr),
        options={"colorMode": "background", "graphMode": "none", "textMode": "value_and_name"},
        description=tr("Latest retained status per edge agent (offline = Last Will)."),
    )


def _power_and_radio(b: Board) -> None:
    tr = b.tr
    where = (SITE, DEVICE)
    for field in ("battery_v", "rssi_dbm"):
        q = select("device_health", Col(field, "mean"), where=where, time=EVERY, group_by=("device",), fill="none")
        b.add(
            "timeseries", tr(QUANTITIES[field].description), T(q, "$tag_device"), description=tr("Mean per interval.")
        )
    depth = select(
        "device_status", Col("buffer_depth", "max"), where=where, time=EVERY, group_by=("device",), fill="none"
    )
    b.add(
        "timeseries",
        tr(QUANTITIES["buffer_depth"].description),
        T(depth, "$tag_device"),
        description=tr(
            "Readings stored on the buoy and not yet acknowledged by the broker (max per interval), "
            "from the agent's status messages."
        ),
    )
    drops = select(
        "device_status",
        Col("buffer_dropped_total", "max", wrap="non_negative_difference"),
        where=where,
        time=EVERY,
        group_by=("device",),
        fill="none",
    )
    b.add(
        "timeseries",
        tr("Edge buffer drops per interval"),
        T(drops, "$tag_device"),
        unit="short",
        custom={"drawStyle": "bars", "fillOpacity": 80},
        thresholds=[ThresholdStep(color="green", value=None), ThresholdStep(color="red", value=1)],
        description=tr("Readings evicted from a full edge buffer: lost data. Any bar here needs a visit."),
    )


def _ingest(b: Board) -> None:
    tr = b.tr
    rate = select(
        "ingest_stats",
        Col("messages_total", "max", tr("messages"), "non_negative_derivative", "1s"),
        Col("points_total", "max", tr("points"), "non_negative_derivative", "1s"),
        Col("errors_total", "max", tr("errors"), "non_negative_derivative", "1s"),
        time=EVERY,
        group_by=("worker",),
        fill="none",
    )
    b.add(
        "timeseries",
        tr("Ingest rate"),
        T(rate, "$tag_worker $col"),
        w=8,
        unit="cps",
        description=tr("Messages received, points written and messages rejected per second, per worker."),
    )
    lag = select(
        "ingest_stats",
        Col("lag_s", "max", tr("lag")),
        Col("batch_latency_s", "max", tr("batch latency")),
        time=EVERY,
        group_by=("worker",),
        fill="none",
    )
    b.add(
        "timeseries",
        tr("Ingest lag and batch latency"),
        T(lag, "$tag_worker $col"),
        w=8,
        description=tr("lag: server time minus the newest sample written; batch latency: one InfluxDB write."),
    )
    errors = select("ingest_errors", Col("count", "sum"), time=EVERY, group_by=("reason",), fill="none")
    b.add(
        "timeseries",
        tr("Rejected messages per interval, by reason"),
        T(errors, "$tag_reason"),
        w=8,
        custom={"drawStyle": "bars", "fillOpacity": 80, "stacking": {"mode": "normal", "group": "A"}},
        event_only=True,
    )
    recent = select("ingest_errors", Col("topic"), Col("detail"), TagCol("reason"), TagCol("worker"), limit=100)
    b.add(
        "table",
        tr("Latest rejected messages"),
        T(recent, format="table"),
        w=24,
        unit="none",
        description=tr("The newest 100 rejections: topic, what was wrong (field, value, rule), worker."),
        transformations=[rename_columns(tr, REJECTION_COLUMNS)],
        event_only=True,
    )


def build(s: Settings) -> Dashboard:
    b = Board(s.datasource, s.currency, s.tr)
    _map_and_status(b)
    _power_and_radio(b)
    _ingest(b)
    variables = [
        tag_variable(s, "site", "Site", "device_status"),
        tag_variable(s, "device", "Edge agent", "device_status", (SITE,)),
    ]
    return dashboard(
        s,
        UID,
        "Fleet health",
        "Buoys on the map, last seen, battery, radio, edge buffers, ingest.",
        "technicians",
        b,
        variables,
    )
