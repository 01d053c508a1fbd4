"""``blueranch carbon``: the carbon calculator, the live worker and the MRV report.

Exit codes: 0 ok, 2 bad input or config (the message names the field, the value and what is allowed),
1 a runtime failure (InfluxDB unreachable and not retried, ...).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC
from pathlib import Path

import click
from pydantic import ValidationError

from blueranch.cliapp import Group
from blueranch.cliopts import influx_options, influx_username_option, log_options, setup_logging
from blueranch.signals import on_stop_signals

log = logging.getLogger("blueranch.carbon")

#: ``carbon compute --input``: the largest input file (100,000 sinks and 100,000 sources, the schema's maximum,
#: take about 30 MB of JSON)
INPUT_MAX_BYTES = 50_000_000


def format_validation_error(exc: ValidationError, what: str) -> str:
    """One line per problem: ``field: rule (got value)``."""
    lines = [f"{what}: {exc.error_count()} problem(s)"]
    for e in exc.errors():
        loc = ".".join(str(x) for x in e["loc"]) or "(document)"
        got = e.get("input")
        shown = json.dumps(got, default=str)[:120] if not isinstance(got, dict) else "{...}"
        lines.append(f"  {loc}: {e['msg']} (got {shown})")
    return "\n".join(lines)


def _fail(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(2)


def load_config_or_exit(path: str):
    from blueranch.models.carbon.config import load_config

    try:
        return load_config(path)
    except ValidationError as exc:
        _fail(format_validation_error(exc, f"config {path}"))
    except (OSError, ValueError) as exc:
        _fail(f"config {path}: {exc}")


@click.group("carbon", cls=Group)
def group() -> None:
    """Carbon stocks, island budget, uncertainty and MRV reports."""


@group.command("compute")
@click.option(
    "--input",
    "input_path",
    required=True,
    type=click.Path(dir_okay=False, allow_dash=True),
    help="JSON input (see docs/carbon.md); '-' reads stdin.",
)
@click.option(
    "--draws", default=10_000, show_default=True, type=click.IntRange(100, 1_000_000), help="Monte Carlo draws."
)
@click.option("--seed", default=20231031, show_default=True, type=int, help="Monte Carlo seed.")
def compute_cmd(input_path: str, draws: int, seed: int) -> None:
    """Budget of reported tonnages and fuel/energy figures; prints JSON (units in every key)."""
    from blueranch.loader import Limits, parse_json, read_bytes
    from blueranch.models.carbon.compute import ComputeInput, compute

    limits = Limits(max_bytes=INPUT_MAX_BYTES)
    if input_path == "-":
        doc = parse_json(sys.stdin.buffer.read(limits.max_bytes + 1), "stdin", limits)
    else:
        doc = parse_json(read_bytes(input_path, limits), input_path, limits)
    try:
        inp = ComputeInput.model_validate(doc)
    except ValidationError as exc:
        _fail(format_validation_error(exc, f"input {input_path}"))
    click.echo(json.dumps(compute(inp, draws=draws, seed=seed), indent=2))


@group.command("worker")
@influx_options
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    required=True,
    help="Carbon config YAML (deploy/blueranch/carbon.yaml); unknown keys are errors.",
)
@click.option(
    "--interval-s", default=300.0, show_default=True, type=click.FloatRange(1, 86400), help="Seconds between cycles."
)
@click.option("--once", is_flag=True, help="Run one cycle and exit.")
@influx_username_option
@log_options
def worker_cmd(
    influx_url: str,
    database: str,
    config_path: str,
    interval_s: float,
    once: bool,
    influx_username: str | None,
    log_level: str,
) -> None:
    """Live stocks and budget per asset, farm, category and site (day, month, year to date)."""
    import os
    import threading

    from blueranch.influxdb import InfluxClient, InfluxError
    from blueranch.models.carbon.worker import CarbonWorker

    setup_logging(log_level)
    cfg = load_config_or_exit(config_path)
    client = InfluxClient(
        influx_url, database, username=influx_username, password=os.environ.get("BLUERANCH_INFLUX_PASSWORD")
    )
    worker = CarbonWorker(client, cfg)
    if once:
        try:
            stats = worker.cycle()
        except InfluxError as exc:
            click.echo(f"carbon worker: {exc}", err=True)
            sys.exit(1)
        click.echo(json.dumps(stats.__dict__))
        return
    stop = threading.Event()
    on_stop_signals(stop.set)
    log.info(
        "carbon worker: site=%s assets=%d influx=%s database=%s interval=%.0fs",
        cfg.site,
        len(cfg.assets),
        influx_url,
        database,
        interval_s,
    )
    worker.run(interval_s, stop)


def _date(value: str, option: str, end: bool, tz=UTC) -> int:
    """``YYYY-MM-DD`` (local midnight in ``tz``; as ``--to`` the whole day is included) or an RFC 3339 time
    with its offset -> ms."""
    from datetime import datetime, timedelta

    try:
        if len(value) == 10:
            d = datetime.strptime(value, "%Y-%m-%d")
            if end:
                d += timedelta(days=1)
            return int(d.replace(tzinfo=tz).timestamp() * 1000)
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        _fail(f"{option}: {value!r} is not a date (YYYY-MM-DD) or an RFC 3339 time")
    if t.tzinfo is None:
        _fail(f"{option}: {value!r} has no UTC offset (end it with Z or +08:00)")
    return int(t.timestamp() * 1000)


@group.command("report")
@influx_options
@click.option("--site", required=True, help="Site id; must be the config's site.")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    envvar="BLUERANCH_CARBON_CONFIG",
    show_envvar=True,
    required=True,
    help="Carbon config YAML.",
)
@click.option("--from", "date_from", required=True, help="First day (YYYY-MM-DD, local in --tz) or RFC 3339 time.")
@click.option("--to", "date_to", required=True, help="Last day, included (YYYY-MM-DD) or RFC 3339 end (excluded).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output directory.")
@click.option("--price-per-t-co2e", type=click.FloatRange(0, 1e6), help="Price per t CO2e (overrides the config).")
@click.option("--draws", type=click.IntRange(100, 1_000_000), help="Monte Carlo draws (default: the config's).")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True, help="Language of the HTML.")
@click.option(
    "--tz",
    "tz_name",
    help="Time zone (IANA name) in which days start and times are stated; default: the config's timezone.",
)
@influx_username_option
def report_cmd(
    influx_url: str,
    database: str,
    site: str,
    config_path: str,
    date_from: str,
    date_to: str,
    out_dir: str,
    price_per_t_co2e: float | None,
    draws: int | None,
    lang: str,
    tz_name: str | None,
    influx_username: str | None,
) -> None:
    """Self-contained HTML MRV report (and a JSON of its figures) for a site and period."""
    import os
    import shlex

    from blueranch.influxdb import InfluxClient, InfluxError
    from blueranch.models.carbon.report import write_report
    from blueranch.models.carbon.worker import CarbonWorker

    cfg = load_config_or_exit(config_path)
    if site != cfg.site:
        _fail(f"--site: {site!r} is not the config's site {cfg.site!r}")
    if price_per_t_co2e is not None:
        cfg = cfg.model_copy(
            update={
                "price_per_t_co2e": price_per_t_co2e,
                "price_source": "given on the command line (--price-per-t-co2e)",
            }
        )
    if tz_name is not None:
        from blueranch.models.carbon.periods import zone

        try:
            zone(tz_name)
        except ValueError as exc:
            _fail(f"--tz: {exc}")
        cfg = cfg.model_copy(update={"timezone": tz_name})  # the package's config records the zone in force
    start_ms, end_ms = _date(date_from, "--from", False, cfg.zone), _date(date_to, "--to", True, cfg.zone)
    if end_ms <= start_ms:
        _fail(f"--to: {date_to!r} must be after --from {date_from!r}")
    args = ["blueranch", "carbon", "report", "--influx", influx_url, "--database", database, "--site", site]
    args += ["--config", str(Path(config_path).resolve())]
    args += ["--from", date_from, "--to", date_to, "--out", out_dir]
    args += ["--price-per-t-co2e", f"{price_per_t_co2e:g}"] if price_per_t_co2e is not None else []
    args += ["--draws", str(draws)] if draws else []
    args += ["--tz", tz_name] if tz_name else []  # the language is presentation: not in the package
    client = InfluxClient(
        influx_url, database, username=influx_username, password=os.environ.get("BLUERANCH_INFLUX_PASSWORD")
    )
    try:
        inputs, latest, _ = CarbonWorker(client, cfg).inputs(start_ms, end_ms)
    except InfluxError as exc:
        click.echo(f"carbon report: {exc}", err=True)
        sys.exit(1)
    if latest is None:
        _fail(f"no load-cell readings for site {site!r} in database {database!r}: nothing to report")
    result = write_report(Path(out_dir), cfg, inputs, start_ms, end_ms, latest, shlex.join(args), draws, lang)
    site_total = result.budget.total("site", cfg.site, result.period)
    click.echo(
        json.dumps(
            {
                "status": site_total.status,
                "timezone": cfg.timezone,
                "html": str(result.html_path),
                "json": str(result.json_path),
                "package": str(result.package_path),
                "package_sha256": result.package_sha256,
                "sinks_t_co2e": round(site_total.sinks_t_co2e, 6),
                "sources_t_co2e": round(site_total.sources_t_co2e, 6),
                "feed_t_co2e": round(site_total.feed_t_co2e, 6),
                "net_emissions_t_co2e": round(site_total.net_emissions_t_co2e, 6),
                "creditable_t_co2e": round(site_total.creditable_t_co2e, 6),
                "issuable_t_co2e": result.figures["credits"]["issuable_t_co2e"],
                "completeness": round(site_total.completeness, 6),
                "data_sha256": result.data_sha256,
                "parameters_sha256": result.parameters_sha256,
            }
        )
    )


@group.command("verify")
@click.argument("package", type=click.Path(exists=True, path_type=Path))
def verify_cmd(package: Path) -> None:
    """Recompute every figure of a report package offline (no InfluxDB) and say match or what differs.

    Exit 0: every figure matches; 1: something differs (listed); 2: not a readable package.
    """
    from blueranch.models.carbon.package import PackageError
    from blueranch.models.carbon.verify import verify

    try:
        r = verify(package)
    except PackageError as exc:
        _fail(f"carbon verify: {exc}")
    sw = r.software
    click.echo(
        f"package {package} sha256 {r.digest} (made by blueranch {sw.get('blueranch')} commit {sw.get('git_commit')})"
    )
    if r.ok:
        click.echo("match: every figure recomputed from the package equals the report's")
        return
    click.echo(f"DIFFERS: {r.total_differences} difference(s)")
    for d in r.differences:
        click.echo(f"  {d}")
    if r.total_differences > len(r.differences):
        click.echo(f"  ... and {r.total_differences - len(r.differences)} more")
    sys.exit(1)


@group.group("ledger")
@click.option(
    "--ledger",
    "ledger_path",
    required=True,
    envvar="BLUERANCH_CARBON_LEDGER",
    show_envvar=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The ledger file (SQLite, append-only, hash-chained; docs/carbon.md 'Ledger').",
)
@click.pass_context
def ledger_group(ctx: click.Context, ledger_path: Path) -> None:
    """Serial-numbered credits: issue per site and vintage, transfer (auction lots), retire, list, verify."""
    ctx.obj = ledger_path


def _open_ledger(path: Path, create: bool = False):
    from blueranch.models.carbon.ledger import Ledger, LedgerError

    try:
        return Ledger(path, create=create)
    except LedgerError as exc:
        _fail(str(exc))


def _ledger_call(fn, *args):
    from blueranch.models.carbon.ledger import LedgerError

    try:
        return fn(*args)
    except LedgerError as exc:
        _fail(f"refused: {exc}")


def _day(value: str, option: str):
    from datetime import date

    try:
        return date.fromisoformat(value)
    except ValueError:
        _fail(f"{option}: {value!r} is not a date (YYYY-MM-DD)")


@ledger_group.command("issue")
@click.argument("package", type=click.Path(exists=True, path_type=Path))
@click.option("--t-co2e", type=click.IntRange(1), help="Tonnes to issue (default: all issuable tonnes).")
@click.pass_obj
def ledger_issue(ledger_path: Path, package: Path, t_co2e: int | None) -> None:
    """Issue a serial-numbered block from a report package (recomputed first; refused if anything differs)."""
    from blueranch.models.carbon.package import PackageError, read_package
    from blueranch.models.carbon.verify import verify

    try:
        r = verify(package)
        pkg = read_package(package)
        figures, config = pkg.json("figures.json"), pkg.json("config.json")
    except PackageError as exc:
        _fail(f"refused: {exc}")
    if not r.ok:
        _fail(f"refused: package {package} does not verify ({r.total_differences} difference(s); run carbon verify)")
    ledger = _open_ledger(ledger_path, create=True)
    block = _ledger_call(ledger.issue, str(package.resolve()), pkg.digest, figures, config, t_co2e)
    click.echo(
        json.dumps(
            {"issued": block.serial, "t_co2e": block.t_co2e, "holder": block.holder, "package_sha256": pkg.digest}
        )
    )


@ledger_group.command("transfer")
@click.argument("serial")
@click.option("--t-co2e", type=click.IntRange(1), help="Tonnes (the first of the block; default: all).")
@click.option("--buyer", required=True, help="Who bought the tonnes.")
@click.option("--lot", required=True, help="Auction lot or contract id.")
@click.option(
    "--price-per-t-co2e", "price", required=True, type=click.FloatRange(0, 1e6), help="Price paid per t CO2e."
)
@click.option("--currency", default="CNY", show_default=True, help="ISO 4217 code of the price.")
@click.option("--date", "on", required=True, help="Date of the sale (YYYY-MM-DD).")
@click.pass_obj
def ledger_transfer(
    ledger_path: Path, serial: str, t_co2e: int | None, buyer: str, lot: str, price: float, currency: str, on: str
) -> None:
    """Transfer (sell) the first tonnes of a block to a buyer; the block is split."""
    ledger = _open_ledger(ledger_path)
    b = _ledger_call(ledger.transfer, serial, t_co2e, buyer, lot, price, currency, _day(on, "--date"))
    click.echo(json.dumps({"transferred": b.serial, "t_co2e": b.t_co2e, "to": b.holder}))


@ledger_group.command("retire")
@click.argument("serial")
@click.option("--t-co2e", type=click.IntRange(1), help="Tonnes (the first of the block; default: all).")
@click.option("--beneficiary", required=True, help="Who claims the retired tonnes.")
@click.option("--reason", required=True, help="Why the tonnes are retired (as the registry records it).")
@click.option("--date", "on", required=True, help="Date of the retirement (YYYY-MM-DD).")
@click.pass_obj
def ledger_retire(ledger_path: Path, serial: str, t_co2e: int | None, beneficiary: str, reason: str, on: str) -> None:
    """Retire the first tonnes of a block for good."""
    ledger = _open_ledger(ledger_path)
    b = _ledger_call(ledger.retire, serial, t_co2e, beneficiary, reason, _day(on, "--date"))
    click.echo(json.dumps({"retired": b.serial, "t_co2e": b.t_co2e}))


@ledger_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON document instead of a table.")
@click.pass_obj
def ledger_list(ledger_path: Path, as_json: bool) -> None:
    """The current blocks (holder, state) and the ledger's entries."""
    ledger = _open_ledger(ledger_path)
    state = _ledger_call(ledger.state)
    entries = ledger.entries()
    if as_json:
        doc = {
            "ledger": str(ledger_path),
            "blocks": [
                {"serial": b.serial, "t_co2e": b.t_co2e, "holder": b.holder, "retired": b.retired}
                for b in sorted(state.blocks.values(), key=lambda b: (b.site, b.vintage, b.first))
            ],
            "entries": [{"seq": e.seq, "recorded_at": e.recorded_at, "kind": e.kind, **e.body} for e in entries],
        }
        click.echo(json.dumps(doc, indent=2))
        return
    click.echo(f"ledger {ledger_path}: {len(entries)} entries")
    for b in sorted(state.blocks.values(), key=lambda b: (b.site, b.vintage, b.first)):
        click.echo(f"  {b.serial}  {b.t_co2e:>8} t CO2e  {'retired' if b.retired else 'held by'}  {b.holder}")


@ledger_group.command("verify")
@click.option("--packages", type=click.Path(file_okay=False, path_type=Path), help="Folder of the report packages.")
@click.option("--no-recompute", is_flag=True, help="Check the packages' digests only, do not recompute them.")
@click.pass_obj
def ledger_verify(ledger_path: Path, packages: Path | None, no_recompute: bool) -> None:
    """Recompute the hash chain and check every issuance against its report package.

    Exit 0: intact; 1: a problem (listed); 2: no ledger.
    """
    from blueranch.models.carbon.ledger_check import check_ledger

    ledger = _open_ledger(ledger_path)
    problems = check_ledger(ledger, packages, recompute=not no_recompute)
    n = len(ledger.entries())
    if not problems:
        click.echo(f"ledger {ledger_path}: {n} entries, chain intact, every issuance matches its package")
        return
    click.echo(f"ledger {ledger_path}: {len(problems)} problem(s)")
    for p in problems:
        click.echo(f"  {p}")
    sys.exit(1)
