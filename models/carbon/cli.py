"""``blueranch carbon``: the carbon calculator, the live worker and the MRV report.

Exit codes: 0 ok, 2 bad input or config (the message names the field, the value and what is allowed),
1 a runtime failure (InfluxDB unreachable and not retried, ...).
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import click
from pydantic import ValidationError

log = logging.getLogger("blueranch.carbon")


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
    from models.carbon.config import load_config
    try:
        return load_config(path)
    except ValidationError as exc:
        _fail(format_validation_error(exc, f"config {path}"))
    except (OSError, ValueError) as exc:
        _fail(f"config {path}: {exc}")


@click.group("carbon")
def group() -> None:
    """Carbon stocks, island budget, uncertainty and MRV reports."""


@group.command("compute")
@click.option("--input", "input_path", required=True, type=click.Path(dir_okay=False, allow_dash=True),
              help="JSON input (see docs/carbon.md); '-' reads stdin.")
@click.option("--draws", default=10_000, show_default=True, type=click.IntRange(100, 1_000_000),
              help="Monte Carlo draws.")
@click.option("--seed", default=20231031, show_default=True, type=int, help="Monte Carlo seed.")
def compute_cmd(input_path: str, draws: int, seed: int) -> None:
    """Budget of reported tonnages and fuel/energy figures; prints JSON (units in every key)."""
    from models.carbon.compute import ComputeInput, compute
    try:
        text = sys.stdin.read() if input_path == "-" else Path(input_path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        _fail(f"input {input_path}: cannot read: {exc}")
    if len(text) > 50_000_000:
        _fail(f"input {input_path}: {len(text)} bytes, at most 50000000 allowed")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        _fail(f"input {input_path}: not JSON: {exc}")
    try:
        inp = ComputeInput.model_validate(doc)
    except ValidationError as exc:
        _fail(format_validation_error(exc, f"input {input_path}"))
    click.echo(json.dumps(compute(inp, draws=draws, seed=seed), indent=2))
