"""The MRV report's HTML in one language and the site's zone, rendered from its figures (``figures.json``).

The template (``data/report.html.j2``) holds the text: every word goes through ``t("English source text",
field=value)``, translated from the ``carbon`` gettext catalogue
(``blueranch/locale/<lang>/LC_MESSAGES/carbon.po``, :mod:`blueranch.i18n`) and filled with
``str.format`` fields, so a translator moves a field and never meets a concatenated sentence. The few
words that come with the figures as codes (a status, a QC flag, a category, a coefficient, an input of
the variance attribution) are looked up here in :data:`CODES`; ``python -m blueranch.models.carbon.i18n``
collects both into the catalogue. Numbers and dates are formatted by Babel for the language, times in the
zone of the figures (``period.timezone``). A missing figure reads "no data", never ``nan``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from importlib import resources

import jinja2
from babel.dates import format_date, format_skeleton, format_time, get_timezone_name
from babel.lists import format_list
from babel.numbers import format_decimal, format_percent
from markupsafe import Markup

from blueranch.i18n import LOCALES, SOURCE_LANGUAGE, Language, translations
from blueranch.models.carbon import svg
from blueranch.models.carbon.periods import local, zone

DOMAIN = "carbon"
TEMPLATE = ("data", "report.html.j2")

#: The words behind the codes of the figures, by kind of code (English source text; translated in the
#: template's language). A code without an entry is shown as it is.
CODES: dict[str, dict[str, str]] = {
    "status": {"measured": "measured", "insufficient data": "insufficient data"},
    "not_issuable": {
        "insufficient_data": "insufficient data",
        "project_incomplete": "project description incomplete",
        "no_creditable_sinks": "no creditable sinks after the deductions",
    },
    # QARTOD flags (blueranch.contracts.qc)
    "qc": {"1": "passed", "2": "not evaluated", "3": "suspect", "4": "failed", "9": "missing"},
    "category": {
        "bivalve": "shellfish (bivalves)",
        "macroalgae": "seaweed (macroalgae)",
        "reef": "artificial reefs",
        "source": "energy",
    },
    "scope": {"site": "site", "farm": "farm", "category": "category", "asset": "asset"},
    "group": {
        "clam": "clams",
        "scallop": "scallops",
        "oyster": "oysters",
        "mussel": "mussels",
        "other_bivalve": "other bivalves",
        "kelp": "kelp",
        "undaria": "wakame (Undaria)",
        "porphyra": "laver (Porphyra)",
        "gracilaria": "Gracilaria",
        "other_algae": "other seaweed",
    },
    "coefficient": {
        "dry_wet_ratio": "dry/wet ratio",
        "tissue_fraction": "soft tissue share of dry weight",
        "shell_fraction": "shell share of dry weight",
        "tissue_c": "carbon content of soft tissue",
        "shell_c": "carbon content of shell",
        "algae_c": "carbon content of seaweed",
    },
    # inputs of the variance attribution (blueranch.models.carbon.calculator labels)
    "input": {
        "psi (calcification)": "psi (calcification)",
        "calibration: lines per sensor": "calibration: lines per instrumented line",
        "calibration: wet/submerged": "calibration: wet/submerged weight",
        "measured stock change (load-cell noise)": "measured stock change (load-cell noise)",
        "reported tonnages": "reported tonnages",
        "meter registers": "meter registers",
        "fed pens: production": "fed pens: production",
        "fed pens: feed conversion ratio": "fed pens: feed conversion ratio",
        "fed pens: feed carbon": "fed pens: carbon in feed",
        "fed pens: fish carbon": "fed pens: carbon in fish",
    },
    "source_kind": {"diesel": "diesel", "electricity": "grid electricity"},
    "factor_kind": {"diesel": "diesel", "grid": "grid electricity"},
    "unit": {"litre": "L", "kWh": "kWh"},
    "meter_event": {"reset": "register reset", "jump": "rejected jump", "outlier": "rejected reading"},
    # parts of the project description (blueranch.models.carbon.project.REQUIRED)
    "project_part": {
        "project_id": "project id",
        "proponent": "proponent",
        "boundary": "boundary",
        "use_rights": "sea-area use rights",
        "monitoring_plan": "monitoring plan",
        "baseline": "baseline",
        "additionality": "additionality",
        "method_version": "method version",
    },
    "feed_rule": {"net_of_retention": "feed carbon not retained in the fish", "gross": "all feed carbon"},
}
#: Inputs written "GROUP COEFFICIENT" or "emission factor KEY" by the calculator (English source text).
INPUT_GROUP_COEFFICIENT = "{group}: {coefficient}"
INPUT_FACTOR = "emission factor {key}"
#: A time zone: its name in the language, its IANA name, its UTC offset.
ZONE = "{name} ({zone}, UTC{offset})"
#: A creditable farm outside the boundary or without a use right (project.missing: "PART: farm FARM").
PROJECT_FARM = "{part}: farm {farm}"
ZONE_UTC = "{name} (UTC)"
NO_DATA = "no data"


def code_messages() -> list[str]:
    """Every message this module asks for itself: the words behind the codes, inputs, zones (for the catalogue)."""
    words = [m for kind in CODES.values() for m in kind.values()]
    return [*words, INPUT_GROUP_COEFFICIENT, INPUT_FACTOR, ZONE, ZONE_UTC, PROJECT_FARM, NO_DATA]


class Words:
    """Translation, numbers, dates and zones in one language; the template's ``t``, filters and charts."""

    def __init__(self, lang: Language, tz_name: str) -> None:
        self.lang, self.locale = lang, LOCALES[lang]
        self.tz_name, self.tz = tz_name, zone(tz_name)
        self._gettext = translations(DOMAIN, lang).gettext

    def t(self, message: str, /, **fields: object) -> Markup:
        """``message`` translated, its ``{fields}`` filled in (escaped unless already markup)."""
        return Markup(self._gettext(message)).format(**fields) if fields else Markup(self._gettext(message))

    def code(self, kind: str, value: object) -> str:
        """The words for a code of the figures (a code without words is shown as it is)."""
        message = CODES[kind].get(str(value))
        return str(value) if message is None else self._gettext(message)

    def input_label(self, label: str) -> str:
        """A variance attribution input (the calculator's English label) in words."""
        if label in CODES["input"]:
            return self.code("input", label)
        if label.startswith("emission factor "):
            return str(self.t(INPUT_FACTOR, key=label.removeprefix("emission factor ")))
        group, _, coefficient = label.partition(" ")
        if group in CODES["group"] and coefficient in CODES["coefficient"]:
            return str(
                self.t(
                    INPUT_GROUP_COEFFICIENT,
                    group=self.code("group", group),
                    coefficient=self.code("coefficient", coefficient),
                )
            )
        return label

    def project_missing(self, item: str) -> str:
        """A missing part of the project description (``use_rights`` or ``use_rights: farm F``) in words."""
        part, _, farm = item.partition(": farm ")
        if farm:
            return str(self.t(PROJECT_FARM, part=self.code("project_part", part), farm=farm))
        return self.code("project_part", part)

    # numbers --------------------------------------------------------------------------------------
    def number(self, x: float | None, decimals: int = 3) -> str:
        """A plain number (``12,345.678``); "no data" for a missing figure."""
        if x is None or (isinstance(x, float) and not math.isfinite(x)):
            return self._gettext(NO_DATA)
        pattern = "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
        return format_decimal(x, format=pattern, locale=self.locale)

    def percent(self, share: float | None, decimals: int = 1) -> str:
        """A share 0..1 as a percentage (``99.8%``); "no data" for a missing figure."""
        if share is None or (isinstance(share, float) and not math.isfinite(share)):
            return self._gettext(NO_DATA)
        pattern = "#,##0" + ("." + "0" * decimals if decimals > 0 else "") + "%"
        return format_percent(share, format=pattern, locale=self.locale)

    # times ----------------------------------------------------------------------------------------
    def local(self, t_ms: int) -> datetime:
        return local(t_ms, self.tz)

    def date(self, t_ms: int) -> str:
        return format_date(self.local(t_ms), "long", locale=self.locale)

    def when(self, t_ms: int) -> str:
        """Date and local time (``March 1, 2026 00:00`` / ``2026年3月1日 00:00``)."""
        d = self.local(t_ms)
        return f"{format_date(d, 'long', locale=self.locale)} {format_time(d, 'HH:mm', locale=self.locale)}"

    def month(self, t_ms: int, with_year: bool = True) -> str:
        return format_skeleton("yMMM" if with_year else "MMM", self.local(t_ms), locale=self.locale)

    def zone_text(self, t_ms: int) -> str:
        """The zone in words, its IANA name and its UTC offset at ``t_ms``: ``China Time (Asia/Shanghai,
        UTC+08:00)``."""
        d = self.local(t_ms)
        minutes = int(d.utcoffset().total_seconds() // 60)
        offset = f"{'-' if minutes < 0 else '+'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
        name = get_timezone_name(d, width="long", uncommon=False, locale=self.locale)
        if self.tz_name == "UTC":
            return str(self.t(ZONE_UTC, name=name))
        return str(self.t(ZONE, name=name, zone=self.tz_name, offset=offset))

    def words_list(self, items: list[str]) -> str:
        """``a, b, and c`` / ``a、b和c``."""
        return format_list([str(i) for i in items], locale=self.locale) if items else ""

    def is_midnight(self, t_ms: int) -> bool:
        d = self.local(t_ms)
        return (d.hour, d.minute, d.second, d.microsecond) == (0, 0, 0, 0)

    # charts ---------------------------------------------------------------------------------------
    def chart_number(self, x: float, decimals: int) -> str:
        return self.number(x, decimals)

    def bar_chart(self, title: str, unit: str, bars: list, color: str = "#2e7d6b") -> Markup:
        return Markup(svg.bar_chart(str(title), str(unit), bars, self.chart_number, color))

    def column_chart(self, title: str, unit: str, months: list[dict], field: str, color: str, interval: str = ""):
        years = {self.local(m["start_ms"]).year for m in months}
        labels = [self.month(m["start_ms"], with_year=len(years) > 1) for m in months]
        lo = [m[f"{interval}_lo95_t_co2e"] for m in months] if interval else None
        hi = [m[f"{interval}_hi95_t_co2e"] for m in months] if interval else None
        values = [m[field] for m in months]
        return Markup(
            svg.column_chart(str(title), str(unit), labels, values, self.chart_number, color, lo95=lo, hi95=hi)
        )

    def sink_bars(self, totals: list[dict], scope: str) -> list[svg.Bar]:
        """Sinks with their 95 % interval per category (sink kinds only) or farm (farms with sinks)."""
        return [
            (
                self.code("category", t["key"]) if scope == "category" else t["key"],
                t["sinks_t_co2e"],
                t["sinks_lo95_t_co2e"],
                t["sinks_hi95_t_co2e"],
            )
            for t in totals
            if t["scope"] == scope
            and t["key"] not in ("source", "reef")
            and t["sinks_t_co2e"] is not None
            and (scope == "category" or t["sinks_t_co2e"] != 0)
        ]


def environment(words: Words) -> jinja2.Environment:
    """The template's environment: ``t`` and the formatting filters of ``words``."""
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    filters: dict[str, Callable] = {
        "num": words.number,
        "pct": words.percent,
        "when": words.when,
        "date": words.date,
        "input_label": words.input_label,
        "words_list": words.words_list,
        "project_missing": words.project_missing,
        "codes": lambda values, kind: [words.code(kind, v) for v in values],
    }
    env.filters.update(filters)
    env.globals.update(t=words.t, code=words.code, w=words)
    return env


def template_source() -> str:
    return resources.files("blueranch.models.carbon").joinpath(*TEMPLATE).read_text(encoding="utf-8")


def render_html(
    figures: dict,
    package_name: str,
    package_sha256: str,
    generated_ms: int | None = None,
    lang: Language = SOURCE_LANGUAGE,
) -> str:
    """The report's HTML in ``lang``, times in the figures' zone."""
    words = Words(lang, figures["period"].get("timezone", "UTC"))
    template = environment(words).from_string(template_source())
    return template.render(
        f=figures,
        lang=lang,
        package_name=package_name,
        package_sha256=package_sha256,
        generated_ms=generated_ms,
    )
