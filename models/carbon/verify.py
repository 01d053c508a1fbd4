"""``blueranch carbon verify PACKAGE``: recompute every figure of a report from its package alone.

No InfluxDB and no site config are read: the readings, the config, the reference tables and the request
(period, newest reading, draws) all come from the package. The check is in three steps, each naming what
differs: (1) every file against the manifest; (2) the digests of the readings and parameters recomputed
from the files against those in ``figures.json``; (3) every figure recomputed with the same code as the
worker and the report (:func:`blueranch.models.carbon.report.build_figures`) against ``figures.json``.
Floats are compared to a relative 1e-9 (a different numpy build may round the last digits differently).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from blueranch.models.carbon.package import Package, PackageError, read_package
from blueranch.models.carbon.report import build_figures

REL_TOL = 1e-9
ABS_TOL = 1e-9
#: At most this many differences are listed (the count is always given).
MAX_LISTED = 50


@dataclass
class VerifyResult:
    package: Path
    digest: str
    differences: list[str] = field(default_factory=list)
    total_differences: int = 0
    software: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.total_differences == 0


def compare(expected: object, got: object, path: str = "") -> list[str]:
    """Every place where two JSON documents differ (floats within REL_TOL/ABS_TOL are equal)."""
    out: list[str] = []
    where = path or "(document)"
    if isinstance(expected, dict) and isinstance(got, dict):
        for k in sorted(set(expected) | set(got), key=str):
            p = f"{path}.{k}" if path else str(k)
            if k not in got:
                out.append(f"{p}: in the package, not recomputed")
            elif k not in expected:
                out.append(f"{p}: recomputed, not in the package")
            else:
                out += compare(expected[k], got[k], p)
        return out
    if isinstance(expected, list) and isinstance(got, list):
        if len(expected) != len(got):
            return [f"{where}: {len(expected)} entries in the package, {len(got)} recomputed"]
        for i, (a, b) in enumerate(zip(expected, got, strict=True)):
            out += compare(a, b, f"{path}[{_label(a, i)}]")
        return out
    numbers = (int, float)
    if isinstance(expected, numbers) and isinstance(got, numbers) and not isinstance(expected, bool):
        if not math.isclose(float(expected), float(got), rel_tol=REL_TOL, abs_tol=ABS_TOL):
            return [f"{where}: package {expected!r}, recomputed {got!r}"]
        return []
    if expected != got:
        return [f"{where}: package {expected!r}, recomputed {got!r}"]
    return []


def _label(item: object, i: int) -> str:
    """A list entry named by its identity where it has one (``totals[site dachen]``), else its index."""
    if isinstance(item, dict):
        for keys in (("month",), ("scope", "key"), ("asset",), ("id",), ("pen",), ("zone",), ("meter", "time_ms")):
            if all(k in item for k in keys):
                return " ".join(str(item[k]) for k in keys)
    return str(i)


def verify(path: Path) -> VerifyResult:
    """Recompute a package; raises :class:`PackageError` when it cannot be read at all."""
    pkg: Package = read_package(path)
    result = VerifyResult(path, pkg.digest)
    diffs = list(pkg.problems)
    try:
        cfg = pkg.config()
    except ValidationError as exc:
        raise PackageError(f"config.json: not a valid carbon config: {exc.errors()[0]['msg']}") from None
    request = pkg.json("request.json")
    figures = pkg.json("figures.json")
    result.software = pkg.json("software.json")
    try:
        start_ms, end_ms, latest_ms = (int(request[k]) for k in ("start_ms", "end_ms", "latest_ms"))
        draws = request.get("draws")
        command = str(request["command"])
    except (KeyError, TypeError, ValueError) as exc:
        raise PackageError(f"request.json: {exc!r} missing or not a number") from None
    inputs = pkg.inputs(cfg)
    got, _, _ = build_figures(cfg, inputs, start_ms, end_ms, latest_ms, command, draws, tables=pkg.tables())
    for key in ("data_sha256", "parameters_sha256"):
        if figures.get(key) != got[key]:
            what = "readings" if key == "data_sha256" else "config and reference tables"
            diffs.append(f"{key}: the {what} in the package do not give the digest in figures.json")
    diffs += [d for d in compare(figures, got) if not d.startswith(("data_sha256", "parameters_sha256"))]
    result.total_differences = len(diffs)
    result.differences = diffs[:MAX_LISTED]
    return result
