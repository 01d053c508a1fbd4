"""Panel builders: each panel's unit comes from the contract field it shows, the grid fills itself.

A :class:`Board` collects panels left to right, top to bottom on Grafana's 24-column grid and numbers
them; the panel kinds used by the BlueRanch dashboards (time series, stat, bar gauge, table, geomap)
get the options an operator expects (legend as a list, multi tooltip, last value for stats).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from blueranch.contracts.influx import MEASUREMENTS
from blueranch.contracts.query import Query
from blueranch.dashboards.model import (
    DatasourceRef,
    FieldConfig,
    FieldDefaults,
    GridPos,
    Override,
    Panel,
    Target,
    Thresholds,
    ThresholdStep,
)
from blueranch.dashboards.units import grafana_unit

PanelType = Literal["timeseries", "stat", "bargauge", "table", "geomap", "piechart"]
_REF_IDS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass(frozen=True)
class T:
    """A target: a query, its series alias (``$tag_device``, ``$col``) and Grafana result format."""

    query: Query
    alias: str | None = None
    format: Literal["time_series", "table"] = "time_series"


def unit_of(q: Query, currency: str) -> str:
    """The Grafana unit of the first field the query reads."""
    return grafana_unit(MEASUREMENTS[q.measurement].field(q.fields[0]), currency)


def _options(kind: PanelType) -> dict[str, Any]:
    reduce = {"calcs": ["lastNotNull"], "fields": "", "values": False}
    if kind == "timeseries":
        return {
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True, "calcs": []},
            "tooltip": {"mode": "multi", "sort": "desc"},
        }
    if kind == "stat":
        return {
            "reduceOptions": reduce,
            "colorMode": "value",
            "graphMode": "area",
            "textMode": "auto",
            "orientation": "auto",
            "justifyMode": "auto",
            "wideLayout": True,
            "showPercentChange": False,
        }
    if kind == "bargauge":
        return {
            "reduceOptions": reduce,
            "orientation": "horizontal",
            "displayMode": "gradient",
            "showUnfilled": True,
            "valueMode": "color",
            "namePlacement": "auto",
            "sizing": "auto",
        }
    if kind == "piechart":
        return {
            "reduceOptions": reduce,
            "pieType": "donut",
            "displayLabels": ["name", "percent"],
            "legend": {"displayMode": "table", "placement": "right", "showLegend": True, "values": ["value"]},
            "tooltip": {"mode": "single", "sort": "none"},
        }
    if kind == "table":
        return {
            "showHeader": True,
            "cellHeight": "sm",
            "footer": {"show": False, "reducer": ["sum"], "countRows": False, "fields": ""},
        }
    return {}


def _custom(kind: PanelType, bands: bool) -> dict[str, Any]:
    if kind != "timeseries":
        return {}
    return {
        "drawStyle": "line",
        "lineInterpolation": "linear",
        "lineWidth": 1,
        "fillOpacity": 0,
        "showPoints": "never",
        "spanNulls": False,
        "axisPlacement": "auto",
        "thresholdsStyle": {"mode": "line+area" if bands else "off"},
    }


def _untranslated(message: str, /, **fields: object) -> str:
    return message.format(**fields) if fields else message


@dataclass
class Board:
    """Panels of one dashboard, placed on the grid in the order they are added. ``tr`` is the dashboard's
    translator (``Settings.tr``), for the panel builders: titles and descriptions arrive translated."""

    datasource: DatasourceRef
    currency: str = "CNY"
    tr: Callable[..., str] = _untranslated
    panels: list[Panel] = field(default_factory=list)
    _x: int = 0
    _y: int = 0
    _row_h: int = 0

    def _place(self, w: int, h: int) -> GridPos:
        if self._x + w > 24:
            self._x, self._y, self._row_h = 0, self._y + self._row_h, 0
        pos = GridPos(x=self._x, y=self._y, w=w, h=h)
        self._x += w
        self._row_h = max(self._row_h, h)
        return pos

    def add(
        self,
        kind: PanelType,
        title: str,
        *targets: T,
        w: int = 12,
        h: int = 8,
        description: str = "",
        unit: str | None = None,
        thresholds: list[ThresholdStep] | None = None,
        bands: bool = False,
        overrides: list[Override] | None = None,
        options: dict[str, Any] | None = None,
        custom: dict[str, Any] | None = None,
        transformations: list[dict[str, Any]] | None = None,
        color: dict[str, Any] | None = None,
        time_from: str | None = None,
        event_only: bool = False,
        **defaults: Any,
    ) -> Panel:
        """Add a panel. ``unit`` defaults to the contract unit of the first target's first field."""
        if not targets:
            raise ValueError(f"panel {title!r} has no target")
        panel = Panel(
            id=len(self.panels) + 1,
            type=kind,
            title=title,
            description=description,
            gridPos=self._place(w, h),
            datasource=self.datasource,
            targets=[
                Target(
                    refId=_REF_IDS[i],
                    datasource=self.datasource,
                    query=t.query.text,
                    resultFormat=t.format,
                    alias=t.alias,
                )
                for i, t in enumerate(targets)
            ],
            fieldConfig=FieldConfig(
                defaults=FieldDefaults(
                    unit=unit or unit_of(targets[0].query, self.currency),
                    thresholds=Thresholds(steps=thresholds or [ThresholdStep(color="green", value=None)]),
                    color=color
                    or (
                        {"mode": "thresholds"}
                        if kind in ("stat", "bargauge", "geomap")
                        else {"mode": "palette-classic"}
                    ),
                    custom={**_custom(kind, bands), **(custom or {})},
                    **defaults,
                ),
                overrides=overrides or [],
            ),
            options={**_options(kind), **(options or {})},
            transformations=transformations or [],
            timeFrom=time_from,
            event_only=event_only,
        )
        self.panels.append(panel)
        return panel


def by_name(name: str, **props: Any) -> Override:
    """An override for the field called ``name``: ``by_name("hi95", **{"custom.fillBelowTo": "lo95"})``."""
    return Override(
        matcher={"id": "byName", "options": name}, properties=[{"id": k, "value": v} for k, v in props.items()]
    )
