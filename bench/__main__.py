"""Run the benchmarks: ``python -m bench [NAME ...] [--quick]`` (names without the ``bench_`` prefix).

Figures go to ``bench/results.json`` (``make bench``). The test suite runs every module at a tiny size
(``tests/foundation/test_bench_smoke.py``, :attr:`BenchContext.tiny`), so a change that breaks the bench
fails CI; those figures mean nothing and are not kept.
"""

from __future__ import annotations

import importlib
import json
import platform
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results.json"


@dataclass
class BenchContext:
    workdir: Path
    #: figures from modules that already ran in this run (raw limits first)
    results: dict[str, float | int | str] = field(default_factory=dict)
    quick: bool = False
    #: the test suite's smoke run: the smallest sizes that still go through every code path
    tiny: bool = False

    def size(self, full, quick, tiny):
        """The size of a run: ``full`` (``make bench``), ``quick`` (``--quick``) or ``tiny`` (the test suite)."""
        return tiny if self.tiny else quick if self.quick else full


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    names = [a for a in argv if not a.startswith("-")]
    modules = sorted(p.stem for p in HERE.glob("bench_*.py"))
    if names:
        modules = [m for m in modules if m.removeprefix("bench_") in names]
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results: dict = {}
    failed = []
    with tempfile.TemporaryDirectory(prefix="blueranch-bench-") as tmp:
        ctx = BenchContext(Path(tmp), results, quick)
        for name in modules:
            print(f"== {name}", flush=True)
            t0 = time.perf_counter()
            try:
                mod = importlib.import_module(f"bench.{name}")
                figures = mod.run(ctx)
            except Exception:
                traceback.print_exc()
                failed.append(name)
                continue
            results.update(figures)
            print(f"   ({time.perf_counter() - t0:.1f} s)")
    merged = {
        **previous,
        **results,
        "_machine": f"{platform.node()} {platform.machine()} cpus={__import__('os').cpu_count()}",
        "_run_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    RESULTS.write_text(json.dumps(merged, indent=2, sort_keys=True) + "\n")
    width = max((len(k) for k in results), default=10)
    print("\n" + "figure".ljust(width) + "  value")
    for k in sorted(results):
        v = results[k]
        print(k.ljust(width) + "  " + (f"{v:,.3f}" if isinstance(v, float) else str(v)))
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
