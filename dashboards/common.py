"""Build settings and what every BlueRanch dashboard shares: variables, annotations, links, languages."""

from __future__ import annotations

from functools import cached_property

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
from blueranch.i18n import SOURCE_LANGUAGE, Language, Translator

#: The provisioned data source (dashboards/provisioning/datasources/influxdb.yaml) has this uid.
DATASOURCE_UID = "blueranch-influxdb"
#: The data source's minimum interval (``timeInterval`` in the provisioning file): ``$__interval`` never
#: goes below it. Ingest statistics come every 10 s; sensor readings every 1 to 10 min.
MIN_INTERVAL_MS = 10_000
#: Every dashboard carries this tag and its language's; the links between dashboards follow both.
TAG = "blueranch"
#: gettext domain of the dashboards' text (blueranch/locale/<lang>/LC_MESSAGES/dashboards.po).
DOMAIN = "dashboards"


def localised_uid(uid: str, lang: Language) -> str:
    """English keeps the uids of the first release (bookmarks); another language adds ``-<lang>``."""
    return uid if lang == SOURCE_LANGUAGE else f"{uid}-{lang}"


class Settings(StrictModel):
    """What a deployment may change when building the dashboards."""

    datasource_uid: str = Field(default=DATASOURCE_UID, pattern=r"^[A-Za-z0-9_-]{1,40}$")
    #: ISO 4217 code of the carbon price the carbon worker values sinks at. Dachen's 2023 auction was
    #: in RMB (shared/reference/README.md), hence CNY.
    currency: str = Field(default="CNY", pattern=r"^[A-Z]{3}$")
    #: Language of every title, description, label and series name (the queries are the same).
    lang: Language = SOURCE_LANGUAGE

    @property
    def datasource(self) -> DatasourceRef:
        return DatasourceRef(uid=self.datasource_uid)

    def in_language(self, lang: Language) -> Settings:
        """The same settings in ``lang`` (a new object: ``model_copy`` would keep this one's translator)."""
        return Settings(**{**self.model_dump(), "lang": lang})

    @cached_property
    def tr(self) -> Translator:
        """Translates the dashboards' English text into :attr:`lang` (and records what was asked)."""
        return Translator(DOMAIN, self.lang)


def tag_variable(
    s: Settings,
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
    points where an optional tag (farm) is absent. ``label`` and ``description`` are translated.
    """
    q = show_tag_values(measurement, key or name, where).text
    ds, label, description = s.datasource, s.tr(label), s.tr(description) if description else ""
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
        current=VariableOption(text=[s.tr("All")], value=["$__all"], selected=True),
    )


def builtin_annotation(s: Settings) -> Annotation:
    """Grafana's own annotations and alert state changes (every new dashboard has it)."""
    return Annotation(
        builtIn=1,
        name=s.tr("Annotations & Alerts"),
        type="dashboard",
        enable=True,
        hide=True,
        iconColor="rgba(0, 211, 255, 1)",
        datasource={"type": "grafana", "uid": "-- Grafana --"},
    )


def dashboard(
    s: Settings,
    uid: str,
    title: str,
    description: str,
    audience_tag: str,
    board: Board,
    variables: list[Variable],
    annotations: list[Annotation] = (),
    time_from: str = "now-24h",
) -> Dashboard:
    """The dashboard in ``s.lang``: ``title`` and ``description`` are translated, the uid localised."""
    return Dashboard(
        uid=localised_uid(uid, s.lang),
        title=s.tr(title),
        description=s.tr(description),
        tags=[TAG, s.lang, audience_tag],
        time=TimeRange(**{"from": time_from, "to": "now"}),
        templating=Templating(list=variables),
        annotations=Annotations(list=[builtin_annotation(s), *annotations]),
        panels=board.panels,
        links=[Link(title="BlueRanch", tags=[TAG, s.lang], asDropdown=True)],
    )


def rename_columns(tr, headings: dict[str, str]) -> dict:
    """Grafana's "organize" transformation naming a table's columns: ``{column: English heading}``, each
    heading translated; columns whose heading is their name are left alone."""
    renames = {column: tr(heading) for column, heading in headings.items()}
    return {
        "id": "organize",
        "options": {
            "excludeByName": {},
            "indexByName": {},
            "renameByName": {c: h for c, h in renames.items() if h != c},
        },
    }
