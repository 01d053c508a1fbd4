"""QARTOD quality tests as pure functions over arrays, returning flags (1 good, 3 suspect, 4 fail, 2 not
evaluated, 9 missing), with the semantics and argument names of ioos_qc's ``ioos_qc.qartod`` module.

Why not ioos_qc itself: v3 works on whole arrays or pandas/xarray streams and pulls in pandas and
friends (tens of MB on a Raspberry Pi with a 60 MB RSS target); the agent needs the same tests on a
short rolling window per quantity. Sources: U.S. IOOS, "Manual for Real-Time Quality Control of
Dissolved Oxygen Observations" v2.0 (2018) and "... In-Situ Temperature and Salinity Data" v2.1 (2020):
gross range (test 8/10), spike (9/11), rate of change (10/12), flat line (11/13), attenuated signal
(in the currents/waves manuals, 2019). Thresholds are per sensor and site; the config supplies them.
"""

from __future__ import annotations

import numpy as np

from blueranch.contracts.qc import QcFlag

# Plain ints for numpy's uint8 flag arrays.
GOOD, NOT_EVALUATED, SUSPECT, FAIL, MISSING = (
    int(QcFlag.GOOD),
    int(QcFlag.NOT_EVALUATED),
    int(QcFlag.SUSPECT),
    int(QcFlag.FAIL),
    int(QcFlag.MISSING),
)


def _prep(inp) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(inp, dtype=float)
    flags = np.full(x.shape, GOOD, dtype=np.uint8)
    missing = ~np.isfinite(x)
    flags[missing] = MISSING
    return x, flags


def gross_range_test(inp, fail_span, suspect_span=None) -> np.ndarray:
    """Fail outside ``fail_span`` (sensor limits), suspect outside ``suspect_span`` (local climatology)."""
    x, flags = _prep(inp)
    ok = np.isfinite(x)
    if suspect_span is not None:
        flags[ok & ((x < suspect_span[0]) | (x > suspect_span[1]))] = SUSPECT
    flags[ok & ((x < fail_span[0]) | (x > fail_span[1]))] = FAIL
    return flags


def spike_test(inp, suspect_threshold: float, fail_threshold: float) -> np.ndarray:
    """|x[n] - (x[n-1] + x[n+1]) / 2| above the thresholds; the first point is not evaluated.

    Real-time adaptation (the agent cannot wait for x[n+1] before publishing x[n]): the newest point is
    compared with its predecessor, the reference a one-sided series has.
    """
    x, flags = _prep(inp)
    n = len(x)
    if n == 0:
        return flags
    ref = np.full(n, np.nan)
    if n >= 3:
        ref[1:-1] = (x[:-2] + x[2:]) / 2
    if n >= 2:
        ref[-1] = x[-2]
    dev = np.abs(x - ref)
    with np.errstate(invalid="ignore"):
        flags[np.isnan(ref) & np.isfinite(x)] = NOT_EVALUATED
        flags[dev > suspect_threshold] = SUSPECT
        flags[dev > fail_threshold] = FAIL
    return flags


def rate_of_change_test(inp, tinp, threshold: float) -> np.ndarray:
    """Suspect where |dx/dt| (per second) exceeds ``threshold``; the first point is not evaluated."""
    x, flags = _prep(inp)
    t = np.asarray(tinp, dtype=float)
    if len(x) == 0:
        return flags
    flags[0] = NOT_EVALUATED if np.isfinite(x[0]) else MISSING
    if len(x) > 1:
        dt = np.diff(t)
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = np.abs(np.diff(x)) / np.where(dt > 0, dt, np.nan)
        flags[1:][rate > threshold] = SUSPECT
    return flags


def _evaluated(n: int, last_only: bool) -> range:
    """Which points to evaluate: all, or (streaming) only the newest; the others keep flag 2."""
    return range(n - 1, n) if last_only and n else range(n)


def flat_line_test(
    inp, tinp, suspect_threshold: float, fail_threshold: float, tolerance: float, last_only: bool = False
) -> np.ndarray:
    """Suspect/fail when the value has stayed within ``tolerance`` of itself for at least the threshold
    seconds looking back; points whose history is shorter than ``suspect_threshold`` are not evaluated.
    ``last_only`` evaluates just the newest point (the streaming case; O(n) instead of O(n^2))."""
    x, flags = _prep(inp)
    t = np.asarray(tinp, dtype=float)
    if last_only:
        flags[:-1] = NOT_EVALUATED
    for i in _evaluated(len(x), last_only):
        if not np.isfinite(x[i]):
            continue
        away = np.flatnonzero(~(np.abs(x[: i + 1] - x[i]) <= tolerance))
        j = int(away[-1]) + 1 if len(away) else 0
        flat_s = t[i] - t[j]
        if t[i] - t[0] < suspect_threshold:
            flags[i] = NOT_EVALUATED
        elif flat_s >= fail_threshold:
            flags[i] = FAIL
        elif flat_s >= suspect_threshold:
            flags[i] = SUSPECT
    return flags


def attenuated_signal_test(
    inp,
    tinp,
    suspect_threshold: float,
    fail_threshold: float,
    test_period: float,
    check_type: str = "std",
    min_count: int = 3,
    last_only: bool = False,
) -> np.ndarray:
    """Suspect/fail when the signal's std (or range) over the trailing ``test_period`` seconds is below
    the thresholds (a fouled or stuck sensor); windows with fewer than ``min_count`` points are not evaluated."""
    x, flags = _prep(inp)
    t = np.asarray(tinp, dtype=float)
    if check_type not in ("std", "range"):
        raise ValueError(f"check_type {check_type!r} must be 'std' or 'range'")
    if last_only:
        flags[:-1] = NOT_EVALUATED
    for i in _evaluated(len(x), last_only):
        if not np.isfinite(x[i]):
            continue
        window = x[(t > t[i] - test_period) & (t <= t[i])]
        window = window[np.isfinite(window)]
        if len(window) < min_count:
            flags[i] = NOT_EVALUATED
            continue
        spread = float(np.std(window)) if check_type == "std" else float(np.ptp(window))
        if spread < fail_threshold:
            flags[i] = FAIL
        elif spread < suspect_threshold:
            flags[i] = SUSPECT
    return flags


def aggregate(results: list[np.ndarray]) -> np.ndarray:
    """The QARTOD primary flag (ioos_qc ``qartod_compare``): 9 if missing, else the worst of 4 > 3 > 1,
    and 2 only when no test could evaluate the point."""
    if not results:
        raise ValueError("aggregate needs at least one result")
    stack = np.vstack([np.asarray(r, dtype=np.uint8) for r in results])
    out = np.full(stack.shape[1], NOT_EVALUATED, dtype=np.uint8)
    for flag in (GOOD, SUSPECT, FAIL):
        out[(stack == flag).any(axis=0)] = flag
    out[(stack == MISSING).any(axis=0)] = MISSING
    return out
