"""The MRV report in Chinese: every message translated, nothing left in English, the catalogue in step.

The messages are the template's ``t()`` calls and the words behind the figures' codes
(``blueranch.models.carbon.i18n.messages``); the catalogue is ``blueranch/locale/zh/LC_MESSAGES/carbon.po``.
"""

from __future__ import annotations

import re
import shutil
from html.parser import HTMLParser

import pytest

from blueranch import i18n
from blueranch.models.carbon import i18n as report_i18n
from blueranch.models.carbon import kinds
from blueranch.models.carbon.coefficients import load_coefficients
from blueranch.models.carbon.project import REQUIRED
from blueranch.models.carbon.report import build_figures
from blueranch.models.carbon.report_html import CODES, DOMAIN, Words, render_html
from blueranch.testing.carbon_synthetic import START_MS
from blueranch.testing.i18n_checks import catalogue_problems

MESSAGES = report_i18n.messages()
UPDATE = "run `.venv/bin/python -m blueranch.models.carbon.i18n`, then translate"
_CJK = re.compile(r"[\u4e00-\u9fff]")
#: Two English words in a row (a sentence or a label left untranslated).
_ENGLISH = re.compile(r"[A-Za-z]{2,}(?:[ -][A-Za-z]{2,})+")
#: Latin words a Chinese MRV report keeps as they are: standards, bodies, units and names.
KEPT = {"Monte Carlo"}
DAY = 86_400_000


def test_the_chinese_catalogue_translates_every_message_and_keeps_its_fields():
    assert len(MESSAGES) > 200
    problems = catalogue_problems(DOMAIN, MESSAGES)
    assert not problems, f"{len(problems)} problems ({UPDATE}):\n" + "\n".join(problems)


def test_the_update_is_deterministic(tmp_path, monkeypatch):
    copy = tmp_path / "carbon.po"
    shutil.copy2(i18n.catalogue_path(DOMAIN, "zh"), copy)
    monkeypatch.setattr(i18n, "catalogue_path", lambda domain, lang: copy)
    before = copy.read_bytes()
    assert i18n.update_catalogue(DOMAIN, "zh", MESSAGES) == (0, 0)
    assert copy.read_bytes() == before, "an update without changes rewrote the catalogue"


def test_a_message_that_is_not_a_literal_is_refused(monkeypatch):
    monkeypatch.setattr(report_i18n, "template_source", lambda: '{{ t("fine") }} {{ t(some_variable) }}')
    with pytest.raises(report_i18n.TemplateMessageError, match="line 1: t\\(\\) needs one literal string"):
        report_i18n.template_messages()


def test_every_code_has_words():
    """Sink kinds, species groups, coefficients and project parts all have words (a new one needs a row)."""
    assert set(kinds.names()) <= set(CODES["category"])
    coeffs = load_coefficients()
    assert set(coeffs) <= set(CODES["group"])
    assert set(REQUIRED) <= set(CODES["project_part"])
    fields = {k for c in coeffs.values() for k in ("dry_wet_ratio", "tissue_fraction", "shell_fraction")}
    assert fields | {"tissue_c", "shell_c", "algae_c"} <= set(CODES["coefficient"])


def _zh_figures(scenario, deduct: bool):
    from blueranch.models.carbon.budget import Inputs, asset_series

    cfg, synth = scenario
    if deduct:
        cfg = cfg.model_copy(update={"calcification": "deduct", "losses": "include", "timezone": "Asia/Shanghai"})
    inputs = Inputs(
        {
            a.asset: asset_series(cfg, a, *(getattr(synth[a.asset], k) for k in ("times_ms", "load_kg", "qc")))
            for a in cfg.assets
        }
    )
    latest = max(int(s.times_ms[-1]) for s in synth.values())
    figures, _, _ = build_figures(cfg, inputs, START_MS, START_MS + 30 * DAY, latest, "test", draws=200)
    return figures


class _Text(HTMLParser):
    """Text a reader sees, outside data from the config or tables (class data), code, ids and digests."""

    SKIP_CLASSES = {"data", "mono", "id"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[bool] = []
        self.texts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("br", "meta", "rect", "path", "line"):
            return
        classes = set((dict(attrs).get("class") or "").split())
        skip = tag in ("code", "style") or bool(classes & self.SKIP_CLASSES) or (self.stack and self.stack[-1])
        self.stack.append(bool(skip))

    def handle_endtag(self, tag):
        if tag in ("br", "meta", "rect", "path", "line"):
            return
        if self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if data.strip() and not (self.stack and self.stack[-1]):
            self.texts.append(data.strip())


@pytest.fixture(scope="module")
def dachen_figures():
    """The dachen config (project, meters, reef, pens) over three simulated days."""
    from bench.bench_carbon import dachen_year_inputs

    cfg, inputs, start = dachen_year_inputs(days=3)
    latest = max(int(s.all_times_ms[-1]) for s in inputs.assets.values())
    return build_figures(cfg, inputs, start, start + 3 * DAY, latest, "test", draws=200)[0]


@pytest.mark.parametrize("case", ["scenario", "scenario-deduct", "dachen"])
def test_nothing_is_left_in_english(scenario, dachen_figures, case):
    """The Chinese report: every heading, label, unit and sentence in Chinese (ids, codes and citations apart)."""
    figures = dachen_figures if case == "dachen" else _zh_figures(scenario, case.endswith("deduct"))
    html = render_html(figures, "p.zip", "0" * 64, START_MS, "zh")
    parser = _Text()
    parser.feed(html)
    english = sorted({m for t in parser.texts for m in _ENGLISH.findall(t) if m not in KEPT})
    assert not english, english
    assert _CJK.search(" ".join(parser.texts))
    # The variance attribution's inputs are all in words.
    words = Words("zh", "UTC")
    labels = [k for k, _ in figures["site_total"]["attribution_sinks"] + figures["site_total"]["attribution_net"]]
    assert labels and all(words.input_label(k) != k for k in labels), labels


def test_english_report_and_missing_figures():
    w = Words("en", "Asia/Shanghai")
    assert w.number(None) == "no data" and w.number(float("nan")) == "no data" and w.percent(None) == "no data"
    assert w.number(12345.678, 1) == "12,345.7" and w.percent(0.987) == "98.7%"
    assert w.zone_text(START_MS) == "China Standard Time (Asia/Shanghai, UTC+08:00)"
    assert Words("zh", "Asia/Shanghai").when(START_MS) == "2026年3月1日 08:00"  # 00:00 UTC
    assert Words("en", "UTC").zone_text(START_MS) == "Coordinated Universal Time (UTC)"
    assert w.input_label("mussel shell_c") == "mussels: carbon content of shell"
    assert Words("zh", "UTC").input_label("emission factor diesel") == "排放因子 diesel"
    assert w.input_label("something new") == "something new"  # shown as it is
    assert Words("zh", "UTC").project_missing("use_rights: farm f-1") == "海域使用权：养殖场 f-1"
