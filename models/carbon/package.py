"""The verifier's package of a carbon report: everything needed to recompute every figure offline.

A zip file (or a folder with the same files) beside the report's HTML:

=============================== ================================================================
``readings/biomass_load.csv``   every load-cell reading used: ``asset,time_ms,load_kg,qc`` (QARTOD)
``readings/energy.csv``         every meter reading used: ``meter,quantity,time_ms,value,qc``
``readings/reef.csv``           every reef-monitor reading used: ``zone,quantity,time_ms,value,qc``
``config.json``                 the carbon config in force (schema ``models/carbon/config.py``)
``request.json``                period, newest reading, draws and the command that made the report
``reference/*.csv``             the coefficient and emission-factor tables in force, with their citations
``software.json``               BlueRanch version, git commit, Python and numpy versions
``figures.json``                every figure of the report (the HTML shows these)
``manifest.json``               SHA-256 and size of each file above
=============================== ================================================================

The report's digest is the SHA-256 of ``manifest.json``: it fixes every file, so one changed reading changes
the digest. Times are epoch milliseconds (UTC); values are written with Python's shortest round-trip repr,
so the readings read back are bit-identical. The zip is deterministic (fixed member times, sorted names).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import platform
import subprocess
import zipfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path, PurePosixPath

import numpy as np

from blueranch.models.carbon.budget import Inputs, asset_series
from blueranch.models.carbon.config import CarbonConfig
from blueranch.models.carbon.sources import MeterSeries, meter_id

PACKAGE_SCHEMA = "blueranch.carbon.package/1"
MANIFEST = "manifest.json"
BIOMASS, ENERGY, REEF = "readings/biomass_load.csv", "readings/energy.csv", "readings/reef.csv"
#: A package above these is refused before anything is decompressed (a zip bomb, not a year of readings).
MAX_FILE_BYTES = 2 * 1024**3
MAX_FILES = 64
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


class PackageError(ValueError):
    """The package cannot be read: the message names the file and what is wrong."""


def _csv(header: list[str], rows) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode()


def _series_rows(key: str, times, values, qc, *extra: str):
    for t, v, q in zip(
        np.asarray(times).tolist(), np.asarray(values, dtype=float).tolist(), np.asarray(qc).tolist(), strict=True
    ):
        yield (key, *extra, int(t), repr(float(v)), int(q))


def software() -> dict:
    """The software that made the package: version, git commit (when run from a checkout), runtimes."""
    here = Path(__file__).resolve().parent
    commit, dirty = "unknown", None
    try:
        commit = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
        dirty = bool(status.strip())
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        version = metadata.version("blueranch")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return {
        "blueranch": version,
        "git_commit": commit,
        "git_dirty": dirty,
        "python": platform.python_version(),
        "numpy": np.__version__,
    }


def package_files(
    cfg: CarbonConfig, inputs: Inputs, request: dict, figures: dict, tables: dict[str, str]
) -> dict[str, bytes]:
    """Every file of the package but the manifest, by name."""
    bio = [
        r
        for k in sorted(inputs.assets)
        for r in _series_rows(k, inputs.assets[k].all_times_ms, inputs.assets[k].raw_load_kg, inputs.assets[k].qc)
    ]
    quantity = {meter_id(m): m.quantity for m in cfg.meters}
    energy = [
        r
        for k in sorted(inputs.meters)
        for r in _series_rows(
            k, inputs.meters[k].times_ms, inputs.meters[k].values, inputs.meters[k].qc, quantity.get(k, "")
        )
    ]
    reef = [
        r
        for name, group in (("fish_density_m3", inputs.reef_density), ("fish_length_cm", inputs.reef_length))
        for k in sorted(group)
        for r in _series_rows(k, group[k].times_ms, group[k].values, group[k].qc, name)
    ]
    js = lambda d: (json.dumps(d, indent=2, sort_keys=True, allow_nan=False) + "\n").encode()  # noqa: E731
    files = {
        BIOMASS: _csv(["asset", "time_ms", "load_kg", "qc"], bio),
        ENERGY: _csv(["meter", "quantity", "time_ms", "value", "qc"], energy),
        REEF: _csv(["zone", "quantity", "time_ms", "value", "qc"], reef),
        "config.json": js(cfg.model_dump(mode="json")),
        "request.json": js(request),
        "software.json": js(software()),
        "figures.json": js(figures),
    }
    files.update({f"reference/{name}": text.encode() for name, text in tables.items()})
    return files


def manifest_bytes(files: dict[str, bytes]) -> bytes:
    doc = {
        "schema": PACKAGE_SCHEMA,
        "algorithm": "sha256",
        "files": {n: {"sha256": hashlib.sha256(b).hexdigest(), "bytes": len(b)} for n, b in sorted(files.items())},
    }
    return (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()


def write_package(
    path: Path, cfg: CarbonConfig, inputs: Inputs, request: dict, figures: dict, tables: dict[str, str]
) -> str:
    """Write the package (``.zip``: a zip file, else a folder); returns its digest (SHA-256 of the manifest)."""
    files = package_files(cfg, inputs, request, figures, tables)
    files[MANIFEST] = manifest_bytes(files)
    if path.suffix == ".zip":
        tmp = path.with_suffix(".zip.tmp")
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as z:
            for name in sorted(files):
                info = zipfile.ZipInfo(name, ZIP_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(info, files[name])
        tmp.replace(path)
    else:
        for name, body in files.items():
            (path / name).parent.mkdir(parents=True, exist_ok=True)
            (path / name).write_bytes(body)
    return hashlib.sha256(files[MANIFEST]).hexdigest()


@dataclass
class Package:
    files: dict[str, bytes]
    digest: str  # SHA-256 of manifest.json
    problems: list[str] = field(default_factory=list)  # files that differ from the manifest

    def json(self, name: str) -> dict:
        try:
            return json.loads(self.files[name], object_pairs_hook=_no_duplicates)
        except KeyError:
            raise PackageError(f"{name}: missing from the package") from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise PackageError(f"{name}: not JSON: {exc}") from None

    def text(self, name: str) -> str:
        try:
            return self.files[name].decode("utf-8")
        except KeyError:
            raise PackageError(f"{name}: missing from the package") from None
        except UnicodeDecodeError as exc:
            raise PackageError(f"{name}: not UTF-8: {exc}") from None

    def tables(self) -> dict[str, str]:
        return {PurePosixPath(n).name: self.text(n) for n in self.files if n.startswith("reference/")}

    def config(self) -> CarbonConfig:
        return CarbonConfig.model_validate(self.json("config.json"))

    def inputs(self, cfg: CarbonConfig) -> Inputs:
        """The readings of the package as the budget's inputs (the worker's code turns them into biomass)."""
        bio = _read_series(self.text(BIOMASS), BIOMASS, 1)
        assets = {}
        for a in cfg.assets:
            if a.asset in bio:
                t, v, q = bio[a.asset]
                assets[a.asset] = asset_series(cfg, a, t, v, q)
        meters = {k: MeterSeries(*s) for k, s in _read_series(self.text(ENERGY), ENERGY, 2).items()}
        reef = _read_series(self.text(REEF), REEF, 2)
        dens = {k[0]: MeterSeries(*s) for k, s in reef.items() if k[1] == "fish_density_m3"}
        length = {k[0]: MeterSeries(*s) for k, s in reef.items() if k[1] == "fish_length_cm"}
        return Inputs(assets, {k[0]: v for k, v in meters.items()}, dens, length)


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict:
    keys = [k for k, _ in pairs]
    dup = sorted({k for k in keys if keys.count(k) > 1})
    if dup:
        raise ValueError(f"duplicate keys {dup}")
    return dict(pairs)


def _read_series(text: str, name: str, key_cols: int) -> dict:
    """``key..., time_ms, value, qc`` rows -> {key: (times int64, values float64, qc int64)}, file order."""
    rows: dict = {}
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None or len(header) != key_cols + 3:
        raise PackageError(f"{name}: header {header!r} is not the package's")
    for line_no, row in enumerate(reader, start=2):
        if len(row) != key_cols + 3:
            raise PackageError(f"{name}: line {line_no} has {len(row)} columns, expected {key_cols + 3}")
        key = row[0] if key_cols == 1 else tuple(row[:key_cols])
        try:
            t, v, q = int(row[key_cols]), float(row[key_cols + 1]), int(row[key_cols + 2])
        except ValueError:
            raise PackageError(f"{name}: line {line_no}: {row[key_cols:]!r} is not time_ms,value,qc") from None
        rows.setdefault(key, ([], [], []))
        for col, x in zip(rows[key], (t, v, q), strict=True):
            col.append(x)
    return {
        k: (np.array(t, dtype=np.int64), np.array(v, dtype=float), np.array(q, dtype=np.int64))
        for k, (t, v, q) in rows.items()
    }


def read_package(path: Path) -> Package:
    """Read a package (zip or folder) and check every file against the manifest (``problems`` lists each
    file that differs, is missing or is not listed)."""
    files: dict[str, bytes] = {}
    if path.is_dir():
        names = [p for p in sorted(path.rglob("*")) if p.is_file()]
        if len(names) > MAX_FILES:
            raise PackageError(f"{path}: {len(names)} files, at most {MAX_FILES} allowed")
        for p in names:
            if p.stat().st_size > MAX_FILE_BYTES:
                raise PackageError(f"{p}: {p.stat().st_size} bytes, at most {MAX_FILE_BYTES} allowed")
            files[p.relative_to(path).as_posix()] = p.read_bytes()
    else:
        try:
            z = zipfile.ZipFile(path)
        except (OSError, zipfile.BadZipFile) as exc:
            raise PackageError(f"{path}: not a package (zip file or folder): {exc}") from None
        with z:
            infos = z.infolist()
            if len(infos) > MAX_FILES:
                raise PackageError(f"{path}: {len(infos)} files, at most {MAX_FILES} allowed")
            for info in infos:
                name = info.filename
                if name in files or name.startswith("/") or ".." in PurePosixPath(name).parts:
                    raise PackageError(f"{path}: member {name!r} is duplicated or not a relative path")
                if info.file_size > MAX_FILE_BYTES:
                    raise PackageError(f"{path}: {name} is {info.file_size} bytes, at most {MAX_FILE_BYTES}")
                if not info.is_dir():
                    files[name] = z.read(info)
    if MANIFEST not in files:
        raise PackageError(f"{path}: no {MANIFEST}: not a carbon report package")
    pkg = Package(files, hashlib.sha256(files[MANIFEST]).hexdigest())
    listed = pkg.json(MANIFEST).get("files", {})
    for name, entry in sorted(listed.items()):
        if name not in files:
            pkg.problems.append(f"{name}: listed in the manifest, missing from the package")
        elif hashlib.sha256(files[name]).hexdigest() != entry.get("sha256"):
            pkg.problems.append(f"{name}: SHA-256 differs from the manifest (the file was changed)")
    for name in sorted(set(files) - set(listed) - {MANIFEST}):
        pkg.problems.append(f"{name}: in the package but not in the manifest")
    return pkg
