"""Differential test: the streaming QC engine (edge/qc.py, reading by reading, revisions included) against
ioos_qc 3.0's batch functions (``ioos_qc.qartod``) on the same generated series.

Series: regular (60 s) and irregular (30-120 s, with outages) sampling; random walks with NaN gaps
(single and runs), constant runs (exact, and within the tolerance), spikes and steps. Thresholds are drawn
per series. Every test the engine implements is compared; flags must agree except at the documented edge
points (edge/qartod.py's module docstring), counted separately:

- rate of change: the first reading and a reading after a missing one (ioos_qc 1, engine 2);
- flat line: readings before the stream lasted ``fail_s`` (ioos_qc 1 before its first full window, engine
  2; and ioos_qc's count of readings vs the engine's seconds when the threshold is not a whole number of
  intervals); on irregular sampling, readings whose count window (ioos_qc: ``threshold`` / median
  interval readings) is not the engine's time window.

The counts are printed.
"""

from __future__ import annotations

import warnings
from collections import Counter
from datetime import UTC, datetime

import numpy as np
import pytest
from ioos_qc import qartod as ref

from blueranch.edge.qc import QcEngine, QuantityQc
from blueranch.edge.reading import Reading

N_SERIES = 1200
SEED = 20261121


def make_series(rng: np.random.Generator, regular: bool) -> tuple[np.ndarray, np.ndarray]:
    n = int(rng.integers(40, 260))
    if regular:
        dt = np.full(n - 1, 60)
    else:
        dt = rng.integers(30, 121, n - 1)
        outages = rng.random(n - 1) < 0.02
        dt[outages] = rng.integers(600, 7200, outages.sum())
    t = 1_790_000_000 + np.concatenate([[0], np.cumsum(dt)]).astype(float)
    x = 10 + np.cumsum(rng.normal(0, rng.choice([0.001, 0.05, 0.5]), n))
    for _ in range(int(rng.integers(0, 4))):  # constant runs, exact or within a small tolerance
        a = int(rng.integers(0, n))
        b = min(n, a + int(rng.integers(5, 120)))
        x[a:b] = x[a] + (rng.normal(0, 1e-4, b - a) if rng.random() < 0.5 else 0)
    for _ in range(int(rng.integers(0, 6))):  # spikes
        i = int(rng.integers(0, n))
        x[i] += rng.choice([-1, 1]) * rng.uniform(0.5, 20)
    if rng.random() < 0.3:  # a step
        x[int(rng.integers(0, n)) :] += rng.uniform(-5, 5)
    nan = rng.random(n) < rng.choice([0, 0.02, 0.08])
    x[nan] = np.nan
    if rng.random() < 0.3:  # a run of missing values
        a = int(rng.integers(0, n))
        x[a : a + int(rng.integers(2, 10))] = np.nan
    return t, x


def engine_flags(cfg: dict, t: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Feed the series reading by reading; a reading's flag is the last one the engine sent for it."""
    engine = QcEngine({"temp_c": QuantityQc.model_validate(cfg)})
    final: dict[float, int] = {}
    for ti, xi in zip(t.tolist(), x.tolist(), strict=True):
        for r in engine.push(Reading("s", "temp_c", xi, datetime.fromtimestamp(ti, UTC))):
            final[r.time.timestamp()] = int(r.qc)
    return np.array([final[ti] for ti in t.tolist()], dtype=np.uint8)


def reference(name: str, p: dict, t: np.ndarray, x: np.ndarray) -> np.ndarray:
    tt = t.astype("datetime64[s]")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if name == "gross_range":
            out = ref.gross_range_test(x, p["fail_span"], p["suspect_span"])
        elif name == "spike":
            out = ref.spike_test(x, p["suspect_threshold"], p["fail_threshold"], method=p["method"])
        elif name == "rate_of_change":
            out = ref.rate_of_change_test(x, tt, p["threshold_per_s"], p.get("fail_threshold_per_s"))
        elif name == "flat_line":
            out = ref.flat_line_test(x, tt, p["suspect_s"], p["fail_s"], p["tolerance"])
        else:
            out = ref.attenuated_signal_test(
                x,
                tt,
                p["suspect_threshold"],
                p["fail_threshold"],
                test_period=p["test_period_s"],
                min_obs=p["min_count"],
                check_type=p["check_type"],
            )
    return np.asarray(out, dtype=np.uint8)


def draw_params(rng: np.random.Generator, x: np.ndarray) -> dict[str, dict]:
    finite = x[np.isfinite(x)] if np.isfinite(x).any() else np.array([0.0])
    f_lo, s_lo, s_hi, f_hi = np.percentile(finite, [2, 10, 90, 98]) + np.array([-2e-3, -1e-3, 1e-3, 2e-3])
    suspect = float(rng.uniform(0.1, 3))
    roc = float(rng.uniform(1e-4, 0.05))
    fs = int(rng.choice([60, 120, 300, 600, 90, 150, 1000]))
    period = int(rng.choice([300, 600, 1800, 3600]))
    att = float(rng.uniform(1e-4, 0.5))
    return {
        "gross_range": {
            "fail_span": [float(f_lo), float(f_hi)],
            "suspect_span": [float(s_lo), float(s_hi)],
        },
        "spike": {"suspect_threshold": suspect, "fail_threshold": suspect * float(rng.uniform(1, 4)), "method": ""},
        "rate_of_change": {"threshold_per_s": roc} | ({"fail_threshold_per_s": roc * 3} if rng.random() < 0.5 else {}),
        "flat_line": {
            "tolerance": float(rng.choice([1e-3, 1e-2, 0.1])),
            "suspect_s": fs,
            "fail_s": fs * int(rng.integers(1, 4)),
        },
        "attenuated_signal": {
            "suspect_threshold": att * 2,
            "fail_threshold": att,
            "test_period_s": period,
            "check_type": "",
            "min_count": int(rng.integers(2, 6)),
        },
    }


def flat_edges(p: dict, t: np.ndarray, regular: bool) -> np.ndarray:
    """Readings where the engine's flat line may differ from ioos_qc's by definition (see the docstring)."""
    lasted = t - t[0]
    edge = lasted < p["fail_s"]
    if not regular:
        interval = float(np.median(np.diff(t)).astype(int))
        for thr in (p["suspect_s"], p["fail_s"]):
            count = int(int(thr) / interval)
            idx = np.arange(len(t))
            first_in_time = np.searchsorted(t, t - thr, side="left")
            edge |= (idx < count) | (first_in_time != idx - count)
    return edge


def roc_edges(x: np.ndarray) -> np.ndarray:
    edge = np.zeros(len(x), dtype=bool)
    edge[0] = True
    edge[1:] = ~np.isfinite(x[:-1])
    return edge


@pytest.mark.slow
def test_streaming_engine_agrees_with_ioos_qc(capsys):
    rng = np.random.default_rng(SEED)
    counts: dict[str, Counter] = {}
    unexplained: list[str] = []
    for k in range(N_SERIES):
        regular = k % 2 == 0
        t, x = make_series(rng, regular)
        params = draw_params(rng, x)
        variants = [
            ("gross_range", params["gross_range"]),
            ("spike/average", params["spike"] | {"method": "average"}),
            ("spike/differential", params["spike"] | {"method": "differential"}),
            ("rate_of_change", params["rate_of_change"]),
            ("flat_line", params["flat_line"]),
            ("attenuated_signal/std", params["attenuated_signal"] | {"check_type": "std"}),
            ("attenuated_signal/range", params["attenuated_signal"] | {"check_type": "range"}),
            ("aggregate of all", None),
        ]
        for label, p in variants:
            name = label.split("/")[0]
            if p is None:  # every test at once: the engine's aggregate against ioos_qc's qartod_compare
                cfg = {n: q for n, q in variants[:-1] if n in ("gross_range", "rate_of_change", "flat_line")}
                cfg |= {"spike": variants[1][1], "attenuated_signal": variants[5][1]}
                ours = engine_flags(cfg, t, x)
                theirs = np.asarray(ref.qartod_compare([reference(n, q, t, x) for n, q in cfg.items()]))
                edge = roc_edges(x) | flat_edges(cfg["flat_line"], t, regular)
            else:
                ours = engine_flags({name: p}, t, x)
                theirs = reference(name, p, t, x)
                if name == "rate_of_change":
                    edge = roc_edges(x)
                elif name == "flat_line":
                    edge = flat_edges(p, t, regular)
                else:
                    edge = np.zeros(len(t), dtype=bool)
            differ = ours != theirs
            if name == "flat_line":
                label = f"flat_line/{'regular' if regular else 'irregular'}"
            c = counts.setdefault(label, Counter())
            c["series"] += 1
            c["readings"] += len(t)
            c["agree"] += int((~differ).sum())
            c["edge"] += int((differ & edge).sum())
            bad = differ & ~edge
            c["elsewhere"] += int(bad.sum())
            c["3/4 (ioos_qc)"] += int(np.isin(theirs, (3, 4)).sum())
            if bad.any() and len(unexplained) < 5:
                i = int(np.flatnonzero(bad)[0])
                unexplained.append(
                    f"{label} series {k} ({'regular' if regular else 'irregular'}) reading {i}: engine "
                    f"{ours[i]}, ioos_qc {theirs[i]}; params {p}; x[{max(i - 3, 0)}:{i + 2}]="
                    f"{x[max(i - 3, 0) : i + 2].tolist()} t={t[max(i - 3, 0) : i + 2].tolist()}"
                )
    with capsys.disabled():
        print(f"\nstreaming engine vs ioos_qc 3.0 on {N_SERIES} series (half regular, half irregular):")
        keys = ["series", "readings", "agree", "edge", "elsewhere", "3/4 (ioos_qc)"]
        print("  " + "test".ljust(26) + "".join(k.rjust(14) for k in keys) + "   (edge, elsewhere: flags that differ)")
        for label, c in counts.items():
            print("  " + label.ljust(26) + "".join(str(c[k]).rjust(14) for k in keys))
    assert not unexplained, "\n".join(unexplained)
    for label, c in counts.items():
        assert c["3/4 (ioos_qc)"] > 0, f"{label}: the generated series never exercised the test"


@pytest.mark.parametrize("method", ["average", "differential"])
def test_spike_flag_is_final_one_reading_later_and_matches_ioos_qc_at_both_ends(method):
    x = np.array([20.0, 20.1, 20.05, 35.05, 20.1, 20.0, 20.1])
    t = np.arange(len(x)) * 60.0 + 1_790_000_000
    p = {"suspect_threshold": 1.0, "fail_threshold": 3.0, "method": method}
    assert engine_flags({"spike": p}, t, x).tolist() == reference("spike", p, t, x).tolist()
