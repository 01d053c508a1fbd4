"""The MRV report: its figures as data (JSON), one self-contained HTML file rendered from them, and beside it
a package a verifier recomputes offline (:mod:`blueranch.models.carbon.package`, ``carbon verify``).

:func:`build_figures` computes every figure from the readings with the worker's code and returns them as a
JSON-able document, language-neutral: codes and epoch milliseconds, no words. Its days and months are cut
at local midnight in the config's ``timezone`` (so the package's config fixes the periods ``carbon verify``
recomputes). :mod:`blueranch.models.carbon.report_html` renders them in a language and zone.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from blueranch import reference
from blueranch.i18n import SOURCE_LANGUAGE, Language
from blueranch.models.carbon import project as project_mod
from blueranch.models.carbon.budget import Budget, Inputs, Total, compute_budget
from blueranch.models.carbon.coefficients import COEFFICIENTS_FILE, EMISSION_FACTORS_FILE
from blueranch.models.carbon.config import CarbonConfig
from blueranch.models.carbon.periods import Period, local, periods_between
from blueranch.models.carbon.report_html import CODES, render_html

SCHEMA = "blueranch.carbon.report/3"
TABLES = (COEFFICIENTS_FILE, EMISSION_FACTORS_FILE)


def digest_inputs(inputs: Inputs) -> str:
    """SHA-256 over every reading used (sorted by series, little-endian int64 times, float64 values, qc)."""
    h = hashlib.sha256()
    for name, group in (
        ("biomass", {k: (s.all_times_ms, None, s.qc) for k, s in inputs.assets.items()}),
        ("meters", {k: (m.times_ms, m.values, m.qc) for k, m in inputs.meters.items()}),
        ("reef_density", {k: (m.times_ms, m.values, m.qc) for k, m in inputs.reef_density.items()}),
        ("reef_length", {k: (m.times_ms, m.values, m.qc) for k, m in inputs.reef_length.items()}),
    ):
        for key in sorted(group):
            t, v, q = group[key]
            h.update(f"{name}/{key}\n".encode())
            h.update(np.asarray(t, dtype="<i8").tobytes())
            if v is not None:
                h.update(np.asarray(v, dtype="<f8").tobytes())
            h.update(np.asarray(q, dtype="<i8").tobytes())
        if name == "biomass":
            for key in sorted(inputs.assets):
                h.update(np.asarray(inputs.assets[key].raw_load_kg, dtype="<f8").tobytes())
    return h.hexdigest()


def table_texts(tables: dict[str, str] | None = None) -> dict[str, str]:
    """The reference tables in force, as text (the packaged files unless a package brings its own)."""
    return {name: (tables or {}).get(name) or reference.text(name) for name in TABLES}


def digest_parameters(cfg: CarbonConfig, tables: dict[str, str] | None = None) -> str:
    """SHA-256 over the canonical JSON of the config and of the coefficient and factor tables in force."""
    doc = {
        "config": cfg.model_dump(mode="json"),
        "coefficients": {g: asdict(c) for g, c in sorted(cfg.coefficients(tables).items())},
        "emission_factors": {k: asdict(f) for k, f in sorted(cfg.emission_factors(tables).items())},
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


@dataclass
class ReportResult:
    html_path: Path
    json_path: Path
    package_path: Path
    package_sha256: str
    figures: dict
    budget: Budget
    period: Period
    data_sha256: str
    parameters_sha256: str


def iso(t_ms: int, cfg: CarbonConfig) -> str:
    """RFC 3339 time in the site's zone (``2026-03-01T00:00:00+08:00``)."""
    return local(t_ms, cfg.zone).isoformat(timespec="seconds")


def not_issuable_text(figures: dict) -> list[str]:
    """The reasons a report issues nothing (``credits.not_issuable`` holds their codes), in English for the
    ledger's and the command line's messages, the project's missing parts named."""
    missing = figures["project"].get("missing") or []
    return [
        CODES["not_issuable"][c] + (": " + ", ".join(missing) if c == "project_incomplete" and missing else "")
        for c in figures["credits"]["not_issuable"]
    ]


def _completeness(cfg: CarbonConfig, inputs: Inputs, p: Period, end_ms: int) -> list[dict]:
    """Per asset: share of the expected readings, readings per QARTOD flag (keys are the flags), gaps (ms)."""
    rows = []
    for a in cfg.assets:
        s = inputs.assets.get(a.asset)
        if s is None:
            rows.append({"asset": a.asset, "share": 0.0, "qc": {}, "gaps": [], "missing": True})
            continue
        gaps = s.gaps(p.start_ms, end_ms)
        rows.append(
            {
                "asset": a.asset,
                "share": s.completeness(p.start_ms, end_ms),
                "qc": {str(k): v for k, v in sorted(s.qc_counts(p.start_ms, end_ms).items())},
                "gaps": [[g0, g1, (g1 - g0) / 3_600_000] for g0, g1 in gaps],
                "missing": False,
            }
        )
    return rows


def _total(t: Total) -> dict:
    d = {k: v for k, v in asdict(t).items() if k != "period"}
    d["status"] = t.status
    return d


def _rows(rows: list, period: Period) -> list[dict]:
    out = []
    for r in rows:
        if r.period == period:
            d = {k: v for k, v in asdict(r).items() if k != "period"}
            if hasattr(r, "t_co2e") and "t_co2e" not in d:
                d["t_co2e"] = r.t_co2e
            if hasattr(r, "stock_t_c"):
                d["stock_t_c"] = r.stock_t_c
            out.append(d)
    return out


def _parameters(cfg: CarbonConfig, tables: dict[str, str] | None) -> dict:
    coeffs = cfg.coefficients(tables)
    factors = cfg.emission_factors(tables)
    groups = sorted({a.group for a in cfg.assets})
    return {
        "rules": {
            "calcification": cfg.calcification,
            "psi": cfg.psi,
            "psi_source": cfg.psi_source,
            "losses": cfg.losses,
            "suspect": cfg.suspect,
            "credit_reef": cfg.credit_reef,
            "feed_in_net_method": cfg.feed_in_net_method,
            "min_completeness": cfg.min_completeness,
            "min_completeness_source": cfg.min_completeness_source,
        },
        "groups": {g: {**asdict(coeffs[g]), "t_c_per_wet_t": coeffs[g].t_c_per_wet_t} for g in groups},
        "factors": {m.factor: asdict(factors[m.factor]) for m in cfg.meters},
        "coefficient_notes": reference.comments(COEFFICIENTS_FILE, table_texts(tables)[COEFFICIENTS_FILE]),
        "factor_notes": reference.comments(EMISSION_FACTORS_FILE, table_texts(tables)[EMISSION_FACTORS_FILE]),
        "assets": [a.model_dump(mode="json") for a in cfg.assets],
        "meters": [m.model_dump(mode="json") for m in cfg.meters],
        "reefs": [r.model_dump(mode="json") for r in cfg.reefs],
        "pens": [p.model_dump(mode="json") for p in cfg.pens],
        "detection": cfg.detection.model_dump(mode="json"),
        "uncertainty": cfg.uncertainty.model_dump(mode="json"),
        "credits": cfg.credits.model_dump(mode="json"),
        "price": {"per_t_co2e": cfg.price_per_t_co2e, "currency": cfg.currency, "source": cfg.price_source},
    }


def build_figures(
    cfg: CarbonConfig,
    inputs: Inputs,
    start_ms: int,
    end_ms: int,
    latest_ms: int,
    command: str,
    draws: int | None = None,
    tables: dict[str, str] | None = None,
) -> tuple[dict, Budget, Period]:
    """Every figure of the report for ``[start_ms, end_ms)`` as a JSON-able document (NaN as null); months
    are the calendar months of the config's zone."""
    tz = cfg.zone
    period = Period("custom", start_ms, end_ms)
    months = [
        Period("custom", max(m.start_ms, start_ms), min(m.end_ms, end_ms))
        for m in periods_between(start_ms, end_ms - 1, ("month",), tz)
    ]
    # A period after the newest reading has had nothing yet: judge it over its whole length.
    last = min(end_ms - 1, latest_ms) if latest_ms >= start_ms else end_ms - 1
    # A period within one month is its own month: compute each distinct period once.
    budget = compute_budget(
        cfg, inputs, [period] + [m for m in months if m != period], last, draws=draws, tables=tables
    )
    site = budget.total("site", cfg.site, period)
    scoped = [t for t in budget.totals if t.period == period]
    missing = project_mod.missing(cfg.project, {a.farm for a in cfg.assets})
    reasons = []
    if not site.data_sufficient or site.completeness_biomass < cfg.min_completeness:
        reasons.append("insufficient_data")
    if missing:
        reasons.append("project_incomplete")
    if site.creditable_t_co2e <= 0 and not reasons:
        reasons.append("no_creditable_sinks")
    issuable = 0 if reasons else int(np.floor(site.creditable_t_co2e))
    figures = {
        "schema": SCHEMA,
        "site": cfg.site,
        "period": {
            "from": iso(start_ms, cfg),
            "to": iso(end_ms, cfg),
            "start_ms": start_ms,
            "end_ms": end_ms,
            "timezone": cfg.timezone,
        },
        "latest": iso(latest_ms, cfg),
        "latest_ms": latest_ms,
        "draws": draws or cfg.uncertainty.draws,
        "seed": cfg.uncertainty.seed,
        "status": site.status,
        "site_total": _total(site),
        "totals": [_total(t) for t in scoped],
        "months": [
            {
                "month": local(m.start_ms, tz).strftime("%Y-%m"),
                "start_ms": m.start_ms,
                "end_ms": m.end_ms,
                **_total(budget.total("site", cfg.site, m)),
            }
            for m in months
        ],
        "sinks": _rows(budget.sinks, period),
        "sources": _rows(budget.sources, period),
        "feed": _rows(budget.feed, period),
        "reefs": _rows(budget.reefs, period),
        "meter_events": [
            asdict(e) | {"time": iso(e.time_ms, cfg)} for e in budget.meter_events if start_ms <= e.time_ms < end_ms
        ],
        "completeness": _completeness(cfg, inputs, period, last + 1),
        "credits": {
            "gross_t_co2e": site.sinks_t_co2e,
            "uncertainty_deduction_t_co2e": site.uncertainty_deduction_t_co2e,
            "buffer_t_co2e": site.buffer_t_co2e,
            "creditable_t_co2e": site.creditable_t_co2e,
            "issuable_t_co2e": issuable,
            "value": site.value,
            "not_issuable": reasons,
            "vintage": local(start_ms, tz).year,
        },
        "project": {
            **(cfg.project or project_mod.ProjectConfig()).model_dump(mode="json"),
            "missing": missing,
        },
        "parameters": _parameters(cfg, tables),
        "data_sha256": digest_inputs(inputs),
        "parameters_sha256": digest_parameters(cfg, tables),
        "command": command,
    }
    return json.loads(json.dumps(finite(figures), allow_nan=False)), budget, period


def write_report(
    out_dir: Path,
    cfg: CarbonConfig,
    inputs: Inputs,
    start_ms: int,
    end_ms: int,
    latest_ms: int,
    command: str,
    draws: int | None = None,
    lang: Language = SOURCE_LANGUAGE,
) -> ReportResult:
    """``carbon-report-SITE-FROM-TO.html`` (``.zh.html`` in Chinese), its figures as ``.json`` and the
    verifier's package ``.zip``; FROM and TO are local dates (TO excluded). The JSON and the package are
    the same in every language."""
    import time

    from blueranch.models.carbon.package import write_package

    figures, budget, period = build_figures(cfg, inputs, start_ms, end_ms, latest_ms, command, draws)
    out_dir.mkdir(parents=True, exist_ok=True)
    tz = cfg.zone
    stem = f"carbon-report-{cfg.site}-{local(start_ms, tz):%Y%m%d}-{local(end_ms, tz):%Y%m%d}"
    html_path = out_dir / (f"{stem}.html" if lang == SOURCE_LANGUAGE else f"{stem}.{lang}.html")
    json_path, zip_path = out_dir / f"{stem}.json", out_dir / f"{stem}.zip"
    request = {"start_ms": start_ms, "end_ms": end_ms, "latest_ms": latest_ms, "draws": draws, "command": command}
    package_sha = write_package(zip_path, cfg, inputs, request, figures, table_texts())
    generated_ms = int(time.time() * 1000)
    html_path.write_text(render_html(figures, zip_path.name, package_sha, generated_ms, lang), encoding="utf-8")
    json_path.write_text(
        json.dumps({**figures, "package": zip_path.name, "package_sha256": package_sha}, indent=2), encoding="utf-8"
    )
    return ReportResult(
        html_path,
        json_path,
        zip_path,
        package_sha,
        figures,
        budget,
        period,
        figures["data_sha256"],
        figures["parameters_sha256"],
    )


def finite(x: object) -> object:
    """NaN (a missing figure) becomes null in the JSON; tuples become lists."""
    if isinstance(x, float) and not np.isfinite(x):
        return None
    if isinstance(x, np.floating | np.integer):
        return finite(x.item())
    if isinstance(x, dict):
        return {k: finite(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [finite(v) for v in x]
    return x
