"""Island carbon budget: what a town government reads before a carbon-sink auction.

Everything comes from the carbon worker's ``carbon_budget`` and ``carbon_stock`` points. Sinks follow
HY/T 0305-2021 (stock change plus harvest), shown in t CO2e (t C x 44/12) and t C; the 95 % interval is
the worker's (IPCC 2006 Vol. 1 Ch. 3); ``method`` chooses how shell carbon counts (``count`` or
``deduct``). See shared/reference/README.md for the method notes.
"""

from __future__ import annotations

from blueranch.contracts.query import Col, TagEq, TagNe, VarMatch, select
from blueranch.dashboards.common import Settings, dashboard, tag_variable
from blueranch.dashboards.model import Dashboard, ThresholdStep
from blueranch.dashboards.panels import Board, T, by_name

UID = "blueranch-island-carbon-budget"
SITE = VarMatch("site", "site")
METHOD = VarMatch("method", "method")
EVERY = "$__interval"
#: The carbon worker stamps a budget point with the start of its period (day, month, or the accounting
#: start for year to date) and rewrites it in place, so year-to-date panels look back a year whatever the
#: dashboard's time range (panel relative time), and time series use the day and month points.
YEAR = "1y"
#: Display bands for data completeness; a presentation choice (not a domain threshold): below 80 %
#: of expected readings the budget is shown red, below 95 % orange.
COMPLETENESS_COLOURS = [
    ThresholdStep(color="red", value=None),
    ThresholdStep(color="orange", value=0.8),
    ThresholdStep(color="green", value=0.95),
]


def _budget(
    scope: str, period: str, *cols: Col, time: str | None = None, group_by: tuple[str, ...] = (), where: tuple = ()
):
    return select(
        "carbon_budget",
        *cols,
        where=(SITE, METHOD, TagEq("scope", scope), TagEq("period", period), *where),
        time=time,
        group_by=group_by,
        fill="none" if time else None,
    )


def _headline(b: Board) -> None:
    tr = b.tr
    stats = [
        (
            "sinks_t_co2e",
            "Sinks year to date, CO2 equivalent",
            None,
            "Creditable sinks of the farmed shellfish and seaweed since the accounting start (stock change plus "
            "harvest, HY/T 0305-2021), before the deductions for credits.",
        ),
        ("sinks_t_c", "Sinks year to date, carbon", None, "The creditable sinks as tonnes of carbon (t CO2e x 12/44)."),
        (
            "sources_t_co2e",
            "Energy sources year to date",
            None,
            "CO2 of the diesel burnt on the island (scope 1) and of the grid electricity (scope 2). The feed of "
            "the fed pens is apart.",
        ),
        (
            "net_emissions_t_co2e",
            "Net emissions year to date",
            [ThresholdStep(color="green", value=None), ThresholdStep(color="red", value=0)],
            "Energy sources minus creditable sinks. Negative: the island is a net sink.",
        ),
        (
            "value",
            "Value of the net creditable tonnes",
            None,
            "The net creditable t CO2e (sinks after the uncertainty deduction and the buffer for reversals) at "
            "the configured price; 0 while the data are insufficient.",
        ),
    ]
    for field, title, steps, description in stats:
        b.add(
            "stat",
            tr(title),
            T(_budget("site", "ytd", Col(field, "last"))),
            w=4,
            h=5,
            thresholds=steps,
            options={"graphMode": "none"},
            time_from=YEAR,
            description=tr(description),
        )
    b.add(
        "stat",
        tr("Data completeness"),
        T(_budget("site", "ytd", Col("completeness", "last"))),
        w=4,
        h=5,
        thresholds=COMPLETENESS_COLOURS,
        min=0,
        max=1,
        options={"graphMode": "none"},
        time_from=YEAR,
        description=tr(
            "The lower of the shares of expected load-cell and meter readings behind the year-to-date budget; "
            "below 80 % it is insufficient data and no credits are counted."
        ),
    )


def _band_overrides(tr) -> list:
    return [
        by_name(
            tr("hi95"),
            **{
                "custom.fillBelowTo": tr("lo95"),
                "custom.lineWidth": 0,
                "custom.fillOpacity": 25,
                "color": {"mode": "fixed", "fixedColor": "green"},
            },
        ),
        by_name(tr("lo95"), **{"custom.lineWidth": 0, "color": {"mode": "fixed", "fixedColor": "green"}}),
        by_name(tr("sinks"), **{"custom.lineWidth": 2, "color": {"mode": "fixed", "fixedColor": "dark-green"}}),
    ]


def _intervals(b: Board) -> None:
    tr = b.tr
    band = (
        Col("sinks_lo95_t_co2e", "last", tr("lo95")),
        Col("sinks_t_co2e", "last", tr("sinks")),
        Col("sinks_hi95_t_co2e", "last", tr("hi95")),
    )
    b.add(
        "stat",
        tr("Sinks year to date with 95 % interval"),
        T(_budget("site", "ytd", *band), "$col"),
        w=8,
        h=9,
        time_from=YEAR,
        options={"graphMode": "none", "textMode": "value_and_name"},
        description=tr(
            "Creditable sinks since the accounting start (1 January unless configured) with the lower "
            "and upper bounds of the carbon worker's 95 % interval (IPCC 2006 Vol. 1 Ch. 3)."
        ),
    )
    b.add(
        "timeseries",
        tr("Daily sinks with 95 % interval"),
        T(_budget("site", "day", *band, time=EVERY), "$col"),
        w=16,
        h=9,
        overrides=_band_overrides(tr),
        custom={"drawStyle": "points", "pointSize": 6},
        description=tr("One point per day (at its start); the shaded band is the day's 95 % interval."),
    )


def _breakdown(b: Board) -> None:
    tr = b.tr
    for scope, title, where in (
        ("category", "Sinks year to date by category", (TagNe("key", "source"),)),
        ("farm", "Sinks year to date by farm", ()),
    ):
        q = _budget(scope, "ytd", Col("sinks_t_co2e", "last"), group_by=("key",), where=where)
        b.add("bargauge", tr(title), T(q, "$tag_key"), w=12, h=8, time_from=YEAR)
    cumulative = _budget(
        "site",
        "day",
        Col("sinks_t_co2e", "sum", tr("sinks"), "cumulative_sum"),
        Col("sources_t_co2e", "sum", tr("energy sources"), "cumulative_sum"),
        time=EVERY,
    )
    b.add(
        "timeseries",
        tr("Cumulative sinks and energy sources over the time range"),
        T(cumulative, "$col"),
        description=tr("Running sums of the daily budgets; from 1 January this is the year-to-date trajectory."),
    )
    monthly = _budget(
        "site",
        "month",
        Col("sinks_t_co2e", "last", tr("sinks")),
        Col("sources_t_co2e", "last", tr("energy sources")),
        Col("net_emissions_t_co2e", "last", tr("net")),
        time=EVERY,
    )
    b.add(
        "timeseries",
        tr("Monthly sinks, energy sources and net"),
        T(monthly, "$col"),
        time_from=YEAR,
        custom={"drawStyle": "bars", "fillOpacity": 70, "barAlignment": -1},
        description=tr(
            "One bar per calendar month (at its start); net = energy sources - sinks, negative is a net sink."
        ),
    )


def _assets(b: Board) -> None:
    tr = b.tr
    stock = select("carbon_stock", Col("t_co2e", "last"), where=(SITE,), group_by=("category", "farm", "asset"))
    b.add("bargauge", tr("Standing stock per asset"), T(stock, "$tag_category $tag_farm/$tag_asset"), w=8, h=9)
    complete = select("carbon_stock", Col("completeness", "last"), where=(SITE,), group_by=("asset",))
    b.add(
        "bargauge",
        tr("Data completeness per asset"),
        T(complete, "$tag_asset"),
        w=8,
        h=9,
        thresholds=COMPLETENESS_COLOURS,
        min=0,
        max=1,
    )
    apart = (
        (
            "reef_stock_t_c",
            "Reef standing stock (not creditable)",
            "Fish in reefs are a standing stock, reported but kept out of the creditable sinks.",
        ),
        (
            "feed_t_co2e",
            "Feed of the fed pens year to date (estimate)",
            "Carbon of the feed not retained in the fish, as CO2: biogenic carbon, its own account, estimated "
            "from the configured production and kept out of net emissions unless the carbon config cites a "
            "method that counts it.",
        ),
    )
    for field, title, description in apart:
        b.add(
            "stat",
            tr(title),
            T(_budget("site", "ytd", Col(field, "last"))),
            w=4,
            h=9,
            options={"graphMode": "none"},
            time_from=YEAR,
            description=tr(description),
        )


def build(s: Settings) -> Dashboard:
    b = Board(s.datasource, s.currency, s.tr)
    _headline(b)
    _intervals(b)
    _breakdown(b)
    _assets(b)
    variables = [
        tag_variable(s, "site", "Site", "carbon_budget"),
        tag_variable(
            s,
            "method",
            "Shell carbon",
            "carbon_budget",
            (SITE,),
            single=True,
            description="count: shell carbon is a sink (Chinese practice); deduct: net of calcification "
            "CO2. Lists the methods the carbon worker has written.",
        ),
    ]
    return dashboard(
        s,
        UID,
        "Island carbon budget",
        "Energy sources, creditable sinks and net emissions of the island, with uncertainty.",
        "government",
        b,
        variables,
        time_from="now-30d",
    )
