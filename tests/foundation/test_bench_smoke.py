"""Every bench module runs, at a tiny size, in the suite: a change to the harness that breaks ``make bench``
fails CI. The figures of a tiny run mean nothing and are not kept (``bench/results.json`` is written by a full
``make bench`` only)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MODULES = sorted(p.stem for p in (REPO / "bench").glob("bench_*.py"))

pytestmark = [pytest.mark.integration, pytest.mark.bench]


def test_every_bench_module_is_smoke_tested():
    assert MODULES and {"bench_ingest", "bench_edge", "bench_carbon"} <= set(MODULES)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", MODULES)
def test_bench_module_runs_at_a_tiny_size(name, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(REPO))
    from bench.__main__ import RESULTS, BenchContext

    before = RESULTS.read_bytes() if RESULTS.exists() else None
    module = importlib.import_module(f"bench.{name}")
    figures = module.run(BenchContext(tmp_path, {}, quick=True, tiny=True))
    assert figures and all(isinstance(v, int | float | str) for v in figures.values()), figures
    assert (RESULTS.read_bytes() if RESULTS.exists() else None) == before
    sys.modules.pop(f"bench.{name}", None)
