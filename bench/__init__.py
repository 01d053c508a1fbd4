"""Benchmarks. ``make bench`` (``python -m bench``) runs every ``bench/bench_*.py``.

Each module defines ``run(ctx: BenchContext) -> dict[str, float | int | str]``: its figures, with keys
that carry their units (``ingest_single_msgs_per_s``). Figures are merged into ``bench/results.json`` and
printed as a table. Ratios compare against raw limits measured in the same run, never fixed numbers.
"""
