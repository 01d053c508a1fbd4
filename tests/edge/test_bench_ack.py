"""``bench/bench_ack.py`` at a tiny size: the commit-acknowledgement benchmark runs and loses nothing."""

from types import SimpleNamespace

import pytest

from bench import bench_ack

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_the_ack_cost_benchmark_runs_at_a_tiny_size(tmp_path):
    figures = bench_ack.run(SimpleNamespace(workdir=tmp_path, quick=True, size=300))
    assert figures["ack_puback_points"] == figures["ack_commit_points"] == 300 * bench_ack.SAMPLES
    assert figures["ack_commit_vs_puback"] > 0
