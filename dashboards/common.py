"""Build settings and what every BlueRanch dashboard shares: variables, annotations, links."""

from __future__ import annotations

from pydantic import Field

from blueranch.contracts.query import TagEq, VarMatch, show_tag_values
from blueranch.contracts.strict import StrictModel
from blueranch.dashboards.model import (
    Annotation,
    Annotations,
    Dashboard,
    DatasourceRef,
    Link,
    Templating,
    TimeRange,
    Variable,
    VariableOption,
)
from blueranch.dashboards.panels import Board

#: The provisioned data source (dashboards/provisioning/datasources/influxdb.yaml) has this uid.
DATASOURCE_UID = "blueranch-influxdb"
#: The data source's minimum interval (``timeInterval`` in the provisioning file): ``$__interval`` never
#: goes below it. Ingest statistics come every 10 s; sensor readings every 1 to 10 min.
MIN_INTERVAL_MS = 10_000
#: Every dashboard carries this tag; the links between dashboards follow it.
TAG = "blueranch"


class Settings(StrictModel):
    """What a deployment may change when building the dashboards."""

    datasource_uid: str = Field(default=DATASOURCE_UID, pattern=r"^[A-Za-z0-9_-]{1,40}$")
    #: ISO 4217 code of the carbon price the carbon worker values sinks at. Dachen's 2023 auction was
    #: in RMB (shared/reference/README.md), hence CNY.
    currency: str = Field(default="CNY", pattern=r"^[A-Z]{3}$")

    @property
    def datasource(self) -> DatasourceRef:
        return DatasourceRef(uid=self.datasource_uid)


def tag_variable(
    ds: DatasourceRef,
    name: str,
    label: str,
    measurement: str,
    where: tuple[VarMatch | TagEq, ...] = (),
    description: str = "",
    all_value: str | None = None,
    key: str | None = None,
    single: bool = False,
) -> Variable:
    """A variable over a tag's values (``SHOW TAG VALUES``): multi-value with "All" selected, or with
    ``single`` one value at a time (Grafana selects the first listed value on load).

    ``all_value=None`` makes "All" expand to every listed value (``/^(a|b)$/``); ``".*"`` also matches
    points where an optional tag (farm) is absent.
    """
    q = show_tag_values(measurement, key or name, where).text
    if single:
        return Variable(
            type="query",
            name=name,
            label=label,
            description=description,
            query=q,
            datasource=ds,
            refresh=2,
        )
    return Variable(
        type="query",
        name=name,
        label=label,
        description=description,
        query=q,
        datasource=ds,
        multi=True,
        includeAll=True,
        allValue=all_value,
        refresh=2,
        current=VariableOption(text=["All"], value=["$__all"], selected=True),
    )


def builtin_annotation() -> Annotation:
    """Grafana's own annotations and alert state changes (every new dashboard has it)."""
    return Annotation(
        builtIn=1,
        name="Annotations & Alerts",
        type="dashboard",
        enable=True,
        hide=True,
        iconColor="rgba(0, 211, 255, 1)",
        datasource={"type": "grafana", "uid": "-- Grafana --"},
    )


def dashboard(
    uid: str,
    title: str,
    description: str,
    audience_tag: str,
    board: Board,
    variables: list[Variable],
    annotations: list[Annotation] = (),
    time_from: str = "now-24h",
) -> Dashboard:
    return Dashboard(
        uid=uid,
        title=title,
        description=description,
        tags=[TAG, audience_tag],
        time=TimeRange(**{"from": time_from, "to": "now"}),
        templating=Templating(list=variables),
        annotations=Annotations(list=[builtin_annotation(), *annotations]),
        panels=board.panels,
        links=[Link(title="BlueRanch", tags=[TAG], asDropdown=True)],
    )
