"""The MRV report: one self-contained HTML file (inline CSS and SVG, no scripts, nothing fetched).

The figures are recomputed from the raw readings with the same code as the worker, and the report carries
SHA-256 digests of exactly those readings and of every parameter, plus the command that reproduces them:
a verifier who runs the command against the same database and config gets the same digests and figures.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import jinja2
import numpy as np

from blueranch import reference
from blueranch.models.carbon.budget import Budget, Inputs, compute_budget
from blueranch.models.carbon.coefficients import COEFFICIENTS_FILE, EMISSION_FACTORS_FILE
from blueranch.models.carbon.config import CarbonConfig
from blueranch.models.carbon.method import to_t_co2e
from blueranch.models.carbon.periods import Period, periods_between, utc
from blueranch.models.carbon.svg import bar_chart, column_chart

QC_NAMES = {1: "good", 2: "not evaluated", 3: "suspect", 4: "fail", 9: "missing"}


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


def digest_parameters(cfg: CarbonConfig) -> str:
    """SHA-256 over the canonical JSON of the config and of the coefficient and factor tables in force."""
    doc = {
        "config": cfg.model_dump(mode="json"),
        "coefficients": {g: asdict(c) for g, c in sorted(cfg.coefficients().items())},
        "emission_factors": {k: asdict(f) for k, f in sorted(cfg.emission_factors().items())},
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


@dataclass
class ReportResult:
    html_path: Path
    json_path: Path
    budget: Budget
    period: Period
    data_sha256: str
    parameters_sha256: str


def _fmt_ms(t: int) -> str:
    return utc(t).strftime("%Y-%m-%d %H:%M UTC")


def _completeness(cfg: CarbonConfig, inputs: Inputs, p: Period, end_ms: int) -> list[dict]:
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
                "qc": {QC_NAMES.get(k, str(k)): v for k, v in sorted(s.qc_counts(p.start_ms, end_ms).items())},
                "gaps": [(_fmt_ms(g0), _fmt_ms(g1), (g1 - g0) / 3_600_000) for g0, g1 in gaps],
                "missing": False,
            }
        )
    return rows


def render(
    cfg: CarbonConfig,
    inputs: Inputs,
    start_ms: int,
    end_ms: int,
    latest_ms: int,
    command: str,
    draws: int | None = None,
) -> tuple[str, dict, Budget, Period]:
    """The report's HTML and its figures as a JSON-able dict."""
    period = Period("custom", start_ms, end_ms)
    months = [
        Period("custom", max(m.start_ms, start_ms), min(m.end_ms, end_ms))
        for m in periods_between(start_ms, end_ms - 1, ("month",))
    ]
    last = min(end_ms - 1, latest_ms)
    budget = compute_budget(cfg, inputs, [period] + months, last, draws=draws)
    site = budget.total("site", cfg.site, period)
    scoped = [t for t in budget.totals if t.period == period]
    cats = [t for t in scoped if t.scope == "category"]
    farms = [t for t in scoped if t.scope == "farm"]
    charts = {
        "category": bar_chart(
            "Creditable sinks by category",
            "t CO2e, 95 % interval",
            [(t.key, t.sinks_t_co2e, t.sinks_lo95_t_co2e, t.sinks_hi95_t_co2e) for t in cats if t.key != "source"]
            + [
                ("sources", -t.sources_t_co2e, -t.sources_hi95_t_co2e, -t.sources_lo95_t_co2e)
                for t in cats
                if t.key == "source"
            ],
        ),
        "farm": bar_chart(
            "Net balance by farm (sinks positive, sources negative)",
            "t CO2e",
            [(t.key, -t.net_emissions_t_co2e, -t.net_hi95_t_co2e, -t.net_lo95_t_co2e) for t in farms],
        ),
        "monthly": column_chart(
            "Sinks and sources by month",
            "t CO2e",
            [utc(m.start_ms).strftime("%Y-%m") for m in months],
            {
                "sinks": [budget.total("site", cfg.site, m).sinks_t_co2e for m in months],
                "sources": [budget.total("site", cfg.site, m).sources_t_co2e for m in months],
            },
            {"sinks": "#2e7d6b", "sources": "#b5523b"},
        ),
    }
    coeffs = cfg.coefficients()
    factors = cfg.emission_factors()
    data_sha, param_sha = digest_inputs(inputs), digest_parameters(cfg)
    ctx = {
        "cfg": cfg,
        "site": site,
        "period": period,
        "start": _fmt_ms(start_ms),
        "end": _fmt_ms(end_ms),
        "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "latest": _fmt_ms(latest_ms),
        "cats": cats,
        "farms": farms,
        "charts": charts,
        "sinks": [r for r in budget.sinks if r.period == period],
        "sources": [r for r in budget.sources if r.period == period],
        "reefs": [r for r in budget.reefs if r.period == period],
        "completeness": _completeness(cfg, inputs, period, min(end_ms, latest_ms + 1)),
        "groups": {g: coeffs[g] for g in sorted({a.group for a in cfg.assets})},
        "factors": {m.factor: factors[m.factor] for m in cfg.meters},
        "coeff_notes": reference.comments(COEFFICIENTS_FILE),
        "factor_notes": reference.comments(EMISSION_FACTORS_FILE),
        "data_sha256": data_sha,
        "parameters_sha256": param_sha,
        "command": command,
        "draws": draws or cfg.uncertainty.draws,
        "to_co2e": lambda x: float(to_t_co2e(x)),
    }
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    template = env.from_string(
        resources.files("blueranch.models.carbon").joinpath("data", "report.html.j2").read_text(encoding="utf-8")
    )
    html = template.render(**ctx)
    figures = {
        "site": cfg.site,
        "from": _fmt_ms(start_ms),
        "to": _fmt_ms(end_ms),
        "totals": [{k: v for k, v in asdict(t).items() if k != "period"} for t in scoped],
        "data_sha256": data_sha,
        "parameters_sha256": param_sha,
        "command": command,
    }
    return html, figures, budget, period


def write_report(
    out_dir: Path,
    cfg: CarbonConfig,
    inputs: Inputs,
    start_ms: int,
    end_ms: int,
    latest_ms: int,
    command: str,
    draws: int | None = None,
) -> ReportResult:
    html, figures, budget, period = render(cfg, inputs, start_ms, end_ms, latest_ms, command, draws)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"carbon-report-{cfg.site}-{utc(start_ms):%Y%m%d}-{utc(end_ms):%Y%m%d}"
    html_path, json_path = out_dir / f"{stem}.html", out_dir / f"{stem}.json"
    html_path.write_text(html, encoding="utf-8")
    json_path.write_text(json.dumps(_finite(figures), indent=2, allow_nan=False), encoding="utf-8")
    return ReportResult(html_path, json_path, budget, period, figures["data_sha256"], figures["parameters_sha256"])


def _finite(x: object) -> object:
    """NaN (a missing figure) becomes null in the JSON."""
    if isinstance(x, float) and not np.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_finite(v) for v in x]
    return x
