"""The report as a person sees it: headless Chromium draws it in Chinese and in English at a laptop's width.

Each language is checked on what Chromium laid out (a copy of the report with a measuring script,
``data/layout_probe.js``; the report itself runs no script): the first screen states the period in local
time with its zone and the three headline numbers (creditable sinks, energy emissions, net) with their units
in plain sentences; the page never scrolls sideways (wide tables scroll inside their own box, and at this
width none needs to); ids and numbers are not broken over two lines; no ``nan``. Screenshots of the first
screen and of the whole page are written beside (set ``BLUERANCH_REPORT_SCREENSHOTS=DIR`` to keep them).
"""

from __future__ import annotations

import html as html_mod
import json
import os
import re
import shutil
import struct
import subprocess
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from babel.dates import format_date

from blueranch.i18n import LOCALES
from blueranch.models.carbon.config import PenConfig, ReefConfig
from blueranch.models.carbon.periods import ms
from blueranch.testing.carbon_synthetic import START_MS

WIDTH, HEIGHT = 1280, 800  # a typical laptop screen
PROBE = Path(__file__).parent / "data" / "layout_probe.js"
ZONE = "Asia/Shanghai"
UNITS = {"en": "t CO2e", "zh": "吨二氧化碳当量"}
#: What a missing or broken figure would look like in the page.
BROKEN = re.compile(r"\b(nan|NaN|None|null|inf|Infinity|undefined)\b")


def _cjk_font() -> bool:
    r = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True)
    return r.returncode == 0 and bool(r.stdout.strip())


@pytest.fixture(scope="module")
def reports(scenario, tmp_path_factory, report_package):
    """The scenario's report in both languages, in Asia/Shanghai, with a reef and a pen without readings."""
    cfg, synth = scenario
    cfg = cfg.model_copy(
        update={
            "timezone": ZONE,
            "reefs": [ReefConfig(zone="reef-zone-1", farm="reef-1", volume_m3=105_000, volume_source="test survey")],
            "pens": [PenConfig(pen="pen-01", farm="pens-1", production_wet_t_per_year=3500, production_source="test")],
        }
    )
    from zoneinfo import ZoneInfo

    start = ms(datetime(2026, 3, 2, tzinfo=ZoneInfo(ZONE)))  # local midnights: 2 March to 8 April included
    end = ms(datetime(2026, 4, 9, tzinfo=ZoneInfo(ZONE)))
    assert start > START_MS
    out = tmp_path_factory.mktemp("screens")
    return {lang: report_package(cfg, synth, out, start, end, draws=300, lang=lang) for lang in ("zh", "en")}


def _layout(html: Path, tmp_path: Path, chromium) -> dict:
    """Chromium's layout of the report at WIDTH x HEIGHT, measured by the probe script."""
    page = html.read_text(encoding="utf-8")
    page = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page)
    page = page.replace("</body>", f"<script>{PROBE.read_text(encoding='utf-8')}</script></body>")
    probed = tmp_path / f"probed-{html.name}"
    probed.write_text(page, encoding="utf-8")
    r = chromium(f"file://{probed}", tmp_path, "--dump-dom", f"--window-size={WIDTH},{HEIGHT}")
    assert r.returncode == 0, r.stderr
    found = re.findall(r'<pre id="layout-probe">(.*?)</pre>', r.stdout, re.S)
    assert found, r.stdout[-2000:]
    return json.loads(html_mod.unescape(found[-1]))


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">II", head[16:24])


def _number(text: str) -> float:
    return float(text.replace(",", ""))


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_first_screen_says_the_three_numbers_in_plain_words(reports, lang, tmp_path, chromium):
    if lang == "zh" and not _cjk_font():
        pytest.fail("no Chinese font: install fonts-wqy-microhei (scripts/install-system-deps.sh)")
    result = reports[lang]
    site = result.figures["site_total"]
    got = _layout(result.html_path, tmp_path, chromium)
    assert got["lang"] == ("zh-Hans" if lang == "zh" else "en")

    # The period in local time, with its zone, and the three numbers with their units, on the first screen.
    boxes = got["boxes"]
    period = boxes["period"]["text"]
    locale = LOCALES[lang]
    first = format_date(datetime(2026, 3, 2), "long", locale=locale)
    last = format_date(datetime(2026, 4, 8), "long", locale=locale)
    assert first in period and last in period and ZONE in period and "UTC+08:00" in period, period
    for key, field in (("sinks", "sinks_t_co2e"), ("sources", "sources_t_co2e"), ("net", "net_emissions_t_co2e")):
        tile = boxes[f"brief-{key}"]
        assert _number(tile["text"]) == pytest.approx(round(site[field], 1), abs=0.051), (key, tile)
        sentence = boxes[f"brief-{key}-sentence"]
        assert tile["text"] in sentence["text"] and UNITS[lang] in sentence["text"], sentence
        for box in (tile, sentence):
            assert box["bottom"] <= got["innerHeight"], f"{key} below the first screen: {box}"
    assert boxes["period"]["bottom"] <= got["innerHeight"]
    if lang == "zh":
        assert "海岛的排放多于养殖场的吸收" in boxes["brief-net-sentence"]["text"]
    else:
        assert "the island emitted more than its farms absorbed" in boxes["brief-net-sentence"]["text"]

    # No sideways scrolling, no table that needs its own scrollbar at this width, nothing broken over lines.
    assert got["scrollWidth"] <= got["clientWidth"], got["outside"]
    assert got["outside"] == [] and got["scrolling"] == []
    assert got["wrapped"] == []
    # A missing figure says so in words; nothing reads nan.
    assert not BROKEN.search(got["text"]), BROKEN.search(got["text"])
    no_data = "无数据" if lang == "zh" else "no data"
    assert no_data in got["text"]  # the reef without readings

    first_screen, whole = tmp_path / f"report-{lang}-first-screen.png", tmp_path / f"report-{lang}.png"
    shot = chromium(
        f"file://{result.html_path}", tmp_path, f"--screenshot={first_screen}", f"--window-size={WIDTH},{HEIGHT}"
    )
    assert shot.returncode == 0, shot.stderr
    assert _png_size(first_screen) == (WIDTH, HEIGHT) and first_screen.stat().st_size > 20_000
    long = chromium(f"file://{result.html_path}", tmp_path, f"--screenshot={whole}", f"--window-size={WIDTH},9000")
    assert long.returncode == 0, long.stderr
    keep = os.environ.get("BLUERANCH_REPORT_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        for png in (first_screen, whole):
            shutil.copy2(png, Path(keep) / png.name)
        shutil.copy2(result.html_path, Path(keep) / result.html_path.name)


def test_both_languages_share_one_package(reports):
    """The language is presentation: the figures, the package and its digest are the same."""
    zh, en = reports["zh"], reports["en"]
    assert zh.package_sha256 == en.package_sha256 and zh.figures == en.figures
    assert zh.html_path.name.endswith(".zh.html") and en.html_path.suffixes == [".html"]
    assert zh.package_sha256 in zh.html_path.read_text(encoding="utf-8")
    assert np.isclose(zh.figures["site_total"]["sinks_t_co2e"], en.figures["site_total"]["sinks_t_co2e"])
