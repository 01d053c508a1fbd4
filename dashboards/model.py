"""Typed subset of the Grafana dashboard JSON model (schema version 39, Grafana 10.4 to 13.x).

Only what the BlueRanch dashboards use is modelled, with ``extra="forbid"`` so that a misspelt key is an
error here instead of a silently ignored option in Grafana. ``options`` and ``custom`` stay free-form
dicts because they are panel-plugin specific (each panel builder in this package fills them). Every
field is one of Grafana's own ``Dashboard`` type (``@grafana/schema``): tests/dashboards/test_grafana_schema.py
type-checks the built JSON against it with TypeScript.

Why not grafana-foundation-sdk: its Python package has no InfluxDB query type (an InfluxQL target would
be an untyped dict anyway), and it is versioned per Grafana release with PEP 440 epochs, which makes
pinning it next to the Grafana image awkward. This module is small, typed, and serialises to exactly
the JSON Grafana stores.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from blueranch.contracts.strict import StrictModel

SCHEMA_VERSION = 39


class _M(StrictModel):
    model_config = ConfigDict(populate_by_name=True)


class DatasourceRef(_M):
    type: str = "influxdb"
    uid: str


class GridPos(_M):
    h: int = Field(ge=1)
    w: int = Field(ge=1, le=24)
    x: int = Field(ge=0, le=23)
    y: int = Field(ge=0)


class Target(_M):
    """An InfluxQL query in raw mode, as the InfluxDB data source stores it."""

    refId: str
    datasource: DatasourceRef
    query: str
    rawQuery: Literal[True] = True
    resultFormat: Literal["time_series", "table", "logs"] = "time_series"
    #: Series name pattern: ``$tag_device``, ``$col`` ...
    alias: str | None = None


class AnnotationTarget(Target):
    """An InfluxQL annotation query, as Grafana's InfluxDB annotation editor stores it (Grafana >= 10)."""

    resultFormat: Literal["table"] = "table"
    #: Columns of the result that become the annotation's text and tags (comma-separated).
    textColumn: str | None = None
    tagsColumn: str | None = None
    #: Set by Grafana's annotation editor: raw InfluxQL, run as an annotation query.
    fromAnnotations: Literal[True] = True
    textEditor: Literal[True] = True


class ThresholdStep(_M):
    color: str
    value: float | None
    #: Not part of Grafana's model; dropped on export. Where the threshold comes from.
    source: str | None = Field(default=None, exclude=True)


class Thresholds(_M):
    mode: Literal["absolute", "percentage"] = "absolute"
    steps: list[ThresholdStep]


class FieldDefaults(_M):
    unit: str
    decimals: int | None = None
    min: float | None = None
    max: float | None = None
    displayName: str | None = None
    color: dict[str, Any] | None = None
    thresholds: Thresholds | None = None
    mappings: list[dict[str, Any]] = Field(default_factory=list)
    custom: dict[str, Any] = Field(default_factory=dict)


class Override(_M):
    matcher: dict[str, Any]
    properties: list[dict[str, Any]]


class FieldConfig(_M):
    defaults: FieldDefaults
    overrides: list[Override] = Field(default_factory=list)


class Panel(_M):
    id: int
    type: str
    title: str = Field(min_length=1)
    description: str = ""
    gridPos: GridPos
    datasource: DatasourceRef
    targets: list[Target] = Field(min_length=1)
    fieldConfig: FieldConfig
    options: dict[str, Any] = Field(default_factory=dict)
    transformations: list[dict[str, Any]] = Field(default_factory=list)
    #: Relative time override, e.g. ``7d`` (the panel looks further back than the dashboard).
    timeFrom: str | None = None
    interval: str | None = None
    maxDataPoints: int | None = None
    #: Not part of Grafana's model; dropped on export. The panel shows events (rejections, harvests) and is
    #: rightly empty while none happened: ``dashboards check`` reports it as "event", not as a failure.
    event_only: bool = Field(default=False, exclude=True)


class VariableOption(_M):
    text: str | list[str]
    value: str | list[str]
    selected: bool = False


class Variable(_M):
    type: Literal["query", "custom"]
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str
    description: str = ""
    query: str
    datasource: DatasourceRef | None = None
    multi: bool = False
    includeAll: bool = False
    #: Value used when "All" is selected; ``None`` makes Grafana expand to every option.
    allValue: str | None = None
    #: 1: on dashboard load, 2: on time range change.
    refresh: Literal[0, 1, 2] = 1
    sort: int = 1
    #: The saved selection; unset, Grafana selects "All" if offered, else the first option.
    current: VariableOption | None = None
    options: list[VariableOption] = Field(default_factory=list)
    hide: Literal[0, 1, 2] = 0


class Templating(_M):
    list: list[Variable]


class Annotation(_M):
    """An annotation query: Grafana's built-in one, or an InfluxQL query in ``target`` (the fields at the
    top level that Grafana < 10 read are not part of Grafana's schema and are not written)."""

    name: str
    datasource: DatasourceRef | dict[str, str]
    enable: bool = True
    hide: bool = False
    iconColor: str
    builtIn: int | None = None
    type: str | None = None
    target: AnnotationTarget | None = None
    #: Not part of Grafana's model; dropped on export. As :attr:`Panel.event_only`.
    event_only: bool = Field(default=False, exclude=True)


class Annotations(_M):
    list: list[Annotation]


class TimeRange(_M):
    from_: str = Field(alias="from")
    to: str


class Link(_M):
    """A dashboard link; every field Grafana's schema requires has a value (Grafana's defaults)."""

    title: str
    type: Literal["dashboards", "link"] = "dashboards"
    tags: list[str] = Field(default_factory=list)
    asDropdown: bool = False
    includeVars: bool = True
    keepTime: bool = True
    icon: str = "external link"
    targetBlank: bool = False
    tooltip: str = ""


class Dashboard(_M):
    uid: str = Field(pattern=r"^[a-z0-9-]{1,40}$")
    title: str
    description: str
    tags: list[str]
    timezone: str = "browser"
    editable: bool = False
    graphTooltip: Literal[0, 1, 2] = 1
    refresh: str = "1m"
    schemaVersion: int = SCHEMA_VERSION
    version: int = 1
    time: TimeRange
    templating: Templating
    annotations: Annotations
    panels: list[Panel]
    links: list[Link] = Field(default_factory=list)

    def event_only(self) -> frozenset[str]:
        """Titles of the event-only panels and annotations (``annotation NAME``), as ``dashboards check`` names
        them (:func:`blueranch.dashboards.check.queries`)."""
        return frozenset(
            [p.title for p in self.panels if p.event_only]
            + [f"annotation {a.name}" for a in self.annotations.list if a.event_only]
        )

    def to_json(self) -> dict[str, Any]:
        """The dashboard as Grafana's JSON model (no ``id``: Grafana assigns it; the ``uid`` is stable).

        Unset options are left out, except the base threshold step, whose ``"value": null`` Grafana keeps.
        """
        out = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        for p in out["panels"]:
            for step in p["fieldConfig"]["defaults"].get("thresholds", {}).get("steps", []):
                step.setdefault("value", None)
        return out
