"""The MRV report from a real InfluxDB, opened in headless Chromium: it shows the totals, in English and in
Chinese in the site's zone; bad options exit 2. (Screenshots and layout: test_report_screens.py.)"""

from __future__ import annotations

import json
import re
import shlex
import subprocess

import pytest
import yaml

from blueranch.testing.carbon_synthetic import write_scenario


@pytest.fixture
def config_file(scenario, tmp_path):
    cfg, _ = scenario
    path = tmp_path / "carbon.yaml"
    path.write_text(yaml.safe_dump(cfg.model_dump(mode="json", exclude_defaults=True)))
    return path


def _report(blueranch_bin, influxdb, influx, config_file, date_from, date_to, out) -> list[str]:
    return [
        blueranch_bin,
        "carbon",
        "report",
        "--influx",
        influxdb.url,
        "--database",
        influx.database,
        "--site",
        "dachen",
        "--config",
        str(config_file),
        "--from",
        date_from,
        "--to",
        date_to,
        "--out",
        str(out),
    ]


@pytest.mark.slow
def test_report_renders_in_chromium_with_the_totals(
    influx, influxdb, scenario, config_file, tmp_path, blueranch_bin, chromium
):
    cfg, synth = scenario
    write_scenario(influx, cfg, synth)
    out = tmp_path / "out"
    cmd = [
        *_report(blueranch_bin, influxdb, influx, config_file, "2026-03-01", "2026-04-09", out),
        "--price-per-t-co2e",
        "45.2",
        "--draws",
        "1000",
    ]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    figures = json.loads(open(summary["json"]).read())
    site = next(t for t in figures["totals"] if t["scope"] == "site")
    html = open(summary["html"]).read()
    # Self-contained: no scripts, no links, no external resources.
    assert not re.search(r"<script|<link|\bsrc=|\bhref=|url\(|@import", html)

    dom = chromium(f"file://{summary['html']}", tmp_path, "--dump-dom")
    assert dom.returncode == 0, dom.stderr
    text = dom.stdout
    shown = {
        k: float(re.search(rf'id="{k}">([-0-9.]+)<', text).group(1))
        for k in ("sinks-t-c", "sinks-t-co2e", "sources-t-co2e", "net-t-co2e", "value")
    }
    assert shown["sinks-t-co2e"] == pytest.approx(site["sinks_t_co2e"], abs=0.001)
    assert shown["sinks-t-c"] == pytest.approx(site["sinks_t_c"], abs=0.001)
    assert shown["sources-t-co2e"] == pytest.approx(site["sources_t_co2e"], abs=0.001)
    assert shown["net-t-co2e"] == pytest.approx(site["net_emissions_t_co2e"], abs=0.001)
    assert shown["value"] == pytest.approx(site["creditable_t_co2e"] * 45.2, abs=0.01)
    assert shown["sinks-t-co2e"] > 0
    credits = {
        k: number(re.search(rf'id="credits-{k}">([-0-9.,]+)<', text).group(1))
        for k in ("gross", "deduction", "buffer", "net", "issuable")
    }
    assert credits["gross"] - credits["deduction"] - credits["buffer"] == pytest.approx(credits["net"], abs=0.002)
    assert credits["net"] == pytest.approx(0.9 * site["sinks_lo95_t_co2e"], abs=0.001)
    assert credits["issuable"] == 0 and "project description incomplete" in text  # no project configured
    assert "Data status: measured" in text and summary["status"] == "measured"
    for words in (
        "95% confidence interval",
        "Sun Kang et al. 2020",
        "IPCC",
        "HY/T 0305-2021",
        "Share of expected readings",
        summary["data_sha256"],
        summary["parameters_sha256"],
        "blueranch carbon report",
        "blueranch carbon verify",
        summary["package_sha256"],
        "What drives the interval",
        "Credits after deductions",
        "farm-a",
        "macroalgae",
        "<svg",
    ):
        assert words in text, words
    shot = chromium(
        f"file://{summary['html']}", tmp_path, f"--screenshot={tmp_path / 'report.png'}", "--window-size=1100,2000"
    )
    assert shot.returncode == 0 and (tmp_path / "report.png").stat().st_size > 10_000

    # The printed command reproduces the same digests and figures.
    again = subprocess.run(
        [blueranch_bin, *shlex.split(figures["command"])[1:]], capture_output=True, text=True, timeout=240
    )
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["data_sha256"] == summary["data_sha256"]
    assert json.loads(again.stdout)["sinks_t_co2e"] == summary["sinks_t_co2e"]
    # The package is deterministic: the same readings and config give the same digest.
    assert json.loads(again.stdout)["package_sha256"] == summary["package_sha256"]

    # The package recomputes offline (no InfluxDB): match.
    ok = subprocess.run(
        [blueranch_bin, "carbon", "verify", summary["package"]], capture_output=True, text=True, timeout=240
    )
    assert ok.returncode == 0 and "match" in ok.stdout, ok.stdout + ok.stderr

    # In Chinese, days cut at midnight in Asia/Shanghai: the package records the zone and still recomputes.
    zh = subprocess.run([*cmd, "--lang", "zh", "--tz", "Asia/Shanghai"], capture_output=True, text=True, timeout=240)
    assert zh.returncode == 0, zh.stderr
    zh_summary = json.loads(zh.stdout)
    assert zh_summary["timezone"] == "Asia/Shanghai" and zh_summary["html"].endswith(".zh.html")
    zh_figures = json.loads(open(zh_summary["json"]).read())
    assert zh_figures["period"]["from"] == "2026-03-01T00:00:00+08:00"
    assert zh_figures["period"]["start_ms"] == figures["period"]["start_ms"] - 8 * 3_600_000
    assert [m["month"] for m in zh_figures["months"]] == ["2026-03", "2026-04"]
    zh_html = open(zh_summary["html"]).read()
    assert '<html lang="zh-Hans">' in zh_html and "核算期：2026年3月1日至2026年4月9日" in zh_html
    assert zh_figures["command"].endswith("--tz Asia/Shanghai") and "--lang" not in zh_figures["command"]
    assert zh_figures["command"] + " --lang zh</td>" in zh_html  # the language is the HTML's, not the package's
    ok = subprocess.run(
        [blueranch_bin, "carbon", "verify", zh_summary["package"]], capture_output=True, text=True, timeout=240
    )
    assert ok.returncode == 0 and "match" in ok.stdout, ok.stdout + ok.stderr


def number(text: str) -> float:
    return float(text.replace(",", ""))


def test_report_for_a_period_without_data_says_so_and_issues_nothing(
    influx, influxdb, scenario, config_file, tmp_path, blueranch_bin
):
    cfg, synth = scenario
    write_scenario(influx, cfg, synth)  # readings from 1 March to 9 April 2026
    out = tmp_path / "out"
    r = subprocess.run(
        [
            *_report(blueranch_bin, influxdb, influx, config_file, "2026-06-01", "2026-06-30", out),
            "--draws",
            "200",
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["status"] == "insufficient data" and summary["issuable_t_co2e"] == 0
    assert summary["creditable_t_co2e"] == 0 and summary["completeness"] == 0
    html = open(summary["html"]).read()
    banner = re.search(r'<p class="banner warn" id="status">(.*?)</p>', html, re.S).group(1)
    assert "Insufficient data" in banner and "no credits are issued" in banner
    assert 'id="credits-issuable">0<' in html


@pytest.mark.parametrize(
    "args, words",
    [
        (["--from", "2026-13-01", "--to", "2026-04-01"], "--from: '2026-13-01' is not a date"),
        (["--from", "2026-04-01", "--to", "2026-03-01"], "--to: '2026-03-01' must be after"),
        (["--from", "2026-03-01T00:00:00", "--to", "2026-04-01"], "has no UTC offset (end it with Z or +08:00)"),
        (
            ["--from", "2026-03-01", "--to", "2026-04-01", "--tz", "Mars/Olympus"],
            "--tz: 'Mars/Olympus' is not a time zone",
        ),
        (["--from", "2026-03-01", "--to", "2026-04-01", "--lang", "fr"], "Invalid value for '--lang'"),
    ],
)
def test_report_bad_dates(config_file, tmp_path, blueranch_bin, args, words):
    r = subprocess.run(
        [
            blueranch_bin,
            "carbon",
            "report",
            "--site",
            "dachen",
            "--config",
            str(config_file),
            "--out",
            str(tmp_path),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2 and words in r.stderr, r.stderr


def test_report_wrong_site_and_empty_database(influx, influxdb, config_file, tmp_path, blueranch_bin):
    base = [
        blueranch_bin,
        "carbon",
        "report",
        "--influx",
        influxdb.url,
        "--database",
        influx.database,
        "--config",
        str(config_file),
        "--from",
        "2026-03-01",
        "--to",
        "2026-03-31",
        "--out",
        str(tmp_path),
    ]
    r = subprocess.run(base + ["--site", "other"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "--site: 'other' is not the config's site 'dachen'" in r.stderr
    r = subprocess.run(base + ["--site", "dachen"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "nothing to report" in r.stderr
