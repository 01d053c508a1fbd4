"""``ledger verify``: the hash chain, and every issuance against its report package.

A package is looked for in ``--packages`` (by file name), at the path recorded at issuance, then beside the
ledger. Its manifest's SHA-256 must be the one recorded; its figures must name the same site, vintage and
period and allow the issued tonnes; and (unless ``recompute`` is off) ``carbon verify`` must recompute it.
"""

from __future__ import annotations

from pathlib import Path

from blueranch.models.carbon.ledger import Ledger, verify_chain
from blueranch.models.carbon.package import PackageError, read_package
from blueranch.models.carbon.verify import verify


def _find(recorded: str, packages: Path | None, ledger_dir: Path) -> Path | None:
    name = Path(recorded).name
    for p in ([packages / name] if packages else []) + [Path(recorded), ledger_dir / name]:
        if p.exists():
            return p
    return None


def check_ledger(ledger: Ledger, packages: Path | None, recompute: bool = True) -> list[str]:
    entries = ledger.entries()
    problems = verify_chain(entries)
    for e in entries:
        if e.kind != "issue" or "package" not in e.body:
            continue
        b = e.body
        serial = f"entry {e.seq} ({b.get('site')} {b.get('vintage')})"
        path = _find(b["package"]["file"], packages, ledger.path.parent)
        if path is None:
            problems.append(f"{serial}: package {Path(b['package']['file']).name} not found")
            continue
        try:
            pkg = read_package(path)
            figures = pkg.json("figures.json")
        except PackageError as exc:
            problems.append(f"{serial}: {exc}")
            continue
        if pkg.digest != b["package"]["sha256"]:
            problems.append(
                f"{serial}: package {path} has SHA-256 {pkg.digest}, the ledger recorded {b['package']['sha256']}"
            )
        cr, period = figures.get("credits", {}), figures.get("period", {})
        if (figures.get("site"), cr.get("vintage"), period.get("start_ms"), period.get("end_ms")) != (
            b["site"],
            b["vintage"],
            b["period"]["start_ms"],
            b["period"]["end_ms"],
        ):
            problems.append(f"{serial}: the package's site, vintage or period is not the issuance's")
        issued = int(b["last"]) - int(b["first"]) + 1
        if issued > int(cr.get("issuable_t_co2e", 0)):
            problems.append(f"{serial}: {issued} t issued, the package allows {cr.get('issuable_t_co2e')} t")
        if recompute:
            try:
                r = verify(path)
            except PackageError as exc:
                problems.append(f"{serial}: {exc}")
                continue
            problems += [f"{serial}: {d}" for d in r.differences]
    return problems
