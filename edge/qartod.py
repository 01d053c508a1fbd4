"""QARTOD quality tests as streams with the semantics of ioos_qc 3.0's ``ioos_qc.qartod`` module, and the
same tests as pure functions over arrays (``gross_range_test(inp, ...)``: feed the stream, collect the flags).

Flags: 1 good, 2 not evaluated, 3 suspect, 4 fail, 9 missing (a value that is not finite). Sources: U.S.
IOOS, "Manual for Real-Time Quality Control of Dissolved Oxygen Observations" v2.0 (2018) and "... In-Situ
Temperature and Salinity Data" v2.1 (2020): gross range (tests 8/10), spike (9/11), rate of change (10/12),
flat line (11/13); attenuated signal from the currents and waves manuals (2019). Thresholds are per
sensor and site: the config supplies them.

Each test keeps only the state its definition needs, bounded by time (never by a count a fast sensor can
exceed): spike the two readings before, rate of change one, flat line the running minimum and maximum of
its windows (monotonic queues: a constant or noisy signal keeps a handful of entries), attenuated signal
the readings of its ``test_period``. One reading costs O(1) amortised; no numpy (13 MB resident on a buoy).

Where the stream and ioos_qc's batch functions differ (``tests/edge/test_qc_vs_ioos_qc.py`` counts it):

- Spike flags the middle reading of three, so its flag is final one reading later (``delay = 1``);
  until then the newest reading has 2, as ioos_qc gives the last point of a series.
- Rate of change gives 2 to the first reading and to a reading after a missing one (ioos_qc: 1, although
  nothing was compared), and uses the exact interval (ioos_qc truncates it to whole seconds).
- Flat line and attenuated signal use time windows. ioos_qc's flat line turns ``suspect_threshold`` into
  a count of readings with the series' median interval (whole seconds), so on irregular sampling its
  window is a number of readings, here it is always the last ``threshold`` seconds; and it gives 1
  before the first full window, here that is 2 (not evaluated: the stream has not lasted that long).
- The aggregate ranks 9 above 4 > 3 > 1 > 2 (ioos_qc's ``qartod_compare`` ranks 9 lowest); they agree
  whenever the 9 comes from the value, since every test flags a non-finite value 9.
"""

from __future__ import annotations

import math
from array import array
from collections import deque
from collections.abc import Iterable, Sequence

from blueranch.contracts.qc import QcFlag

GOOD, NOT_EVALUATED, SUSPECT, FAIL, MISSING = (
    int(QcFlag.GOOD),
    int(QcFlag.NOT_EVALUATED),
    int(QcFlag.SUSPECT),
    int(QcFlag.FAIL),
    int(QcFlag.MISSING),
)


def _finite(x: float) -> bool:
    return math.isfinite(x)


class StreamTest:
    """One QARTOD test over one series. ``push(t_s, x)`` returns the final flag of the reading pushed
    ``delay`` pushes ago (``None`` while there is none); ``pending()`` the flags the last ``delay``
    readings carry until then."""

    delay = 0

    def push(self, t_s: float, x: float) -> int | None:
        raise NotImplementedError

    def pending(self) -> list[int]:
        return []


class GrossRange(StreamTest):
    """Fail outside ``fail_span`` (the sensor's range), suspect outside ``suspect_span`` (local climatology)."""

    def __init__(self, fail_span: Sequence[float], suspect_span: Sequence[float] | None = None):
        self.fail = (min(fail_span), max(fail_span))
        self.suspect = (min(suspect_span), max(suspect_span)) if suspect_span is not None else None

    def push(self, t_s: float, x: float) -> int:
        if not _finite(x):
            return MISSING
        if not self.fail[0] <= x <= self.fail[1]:
            return FAIL
        if self.suspect is not None and not self.suspect[0] <= x <= self.suspect[1]:
            return SUSPECT
        return GOOD


class Spike(StreamTest):
    """The middle reading of three against the thresholds, flagged once its successor arrives; the first
    reading, and one next to a missing value, is not evaluated (2). ``method`` as in ioos_qc 3.0:

    - ``average`` (QARTOD's, ioos_qc's default): |x[n-1] - (x[n-2] + x[n]) / 2|. A spike of height h also
      gives each neighbour h / 2, so a spike above twice the threshold flags its neighbours too.
    - ``differential``: min(|x[n-1] - x[n-2]|, |x[n] - x[n-1]|) when the two steps go opposite ways, else 0:
      only the reading that jumps away and back is flagged.
    """

    delay = 1

    def __init__(self, suspect_threshold: float, fail_threshold: float, method: str = "average"):
        if method not in ("average", "differential"):
            raise ValueError(f"method {method!r} must be 'average' or 'differential'")
        self.suspect_threshold, self.fail_threshold, self.method = suspect_threshold, fail_threshold, method
        self._before: float | None = None  # x[n-2]; None: x[n-1] is the first reading
        self._middle: float | None = None  # x[n-1]; None: nothing pushed yet

    def push(self, t_s: float, x: float) -> int | None:
        before, middle = self._before, self._middle
        self._before, self._middle = middle, x
        if middle is None:
            return None
        if not _finite(middle):
            return MISSING
        if before is None or not _finite(before) or not _finite(x):
            return NOT_EVALUATED
        if self.method == "average":
            dev = abs(middle - (before + x) / 2)
        else:
            up, down = middle - before, x - middle
            dev = min(abs(up), abs(down)) if up * down < 0 else 0.0
        flag = GOOD
        if dev > self.suspect_threshold:
            flag = SUSPECT
        if dev > self.fail_threshold:
            flag = FAIL
        return flag

    def pending(self) -> list[int]:
        if self._middle is None:
            return []
        return [MISSING if not _finite(self._middle) else NOT_EVALUATED]


class RateOfChange(StreamTest):
    """|dx/dt| per second against ``threshold`` (3) and the optional ``fail_threshold`` (4)."""

    def __init__(self, threshold: float, fail_threshold: float | None = None):
        self.threshold, self.fail_threshold = threshold, fail_threshold
        self._prev: tuple[float, float] | None = None

    def push(self, t_s: float, x: float) -> int:
        prev, self._prev = self._prev, (t_s, x)
        if not _finite(x):
            return MISSING
        if prev is None or not _finite(prev[1]) or t_s <= prev[0]:
            return NOT_EVALUATED
        rate = abs(x - prev[1]) / (t_s - prev[0])
        flag = GOOD
        if rate > self.threshold:
            flag = SUSPECT
        if self.fail_threshold is not None and rate > self.fail_threshold:
            flag = FAIL
        return flag


class _WindowExtremes:
    """Minimum and maximum of the finite values of the last ``span_s`` seconds (``t >= now - span_s``, or
    ``t > now - span_s`` when ``open_left``), by monotonic queues: amortised O(1) per value."""

    def __init__(self, span_s: float, open_left: bool = False):
        self.span_s, self.open_left = span_s, open_left
        self._lo: deque[tuple[float, float]] = deque()
        self._hi: deque[tuple[float, float]] = deque()

    def add(self, t_s: float, x: float) -> None:
        while self._lo and self._lo[-1][1] >= x:
            self._lo.pop()
        self._lo.append((t_s, x))
        while self._hi and self._hi[-1][1] <= x:
            self._hi.pop()
        self._hi.append((t_s, x))

    def expire(self, now_s: float) -> None:
        edge = now_s - self.span_s
        for q in (self._lo, self._hi):
            while q and (q[0][0] <= edge if self.open_left else q[0][0] < edge):
                q.popleft()

    def range(self) -> float | None:
        return self._hi[0][1] - self._lo[0][1] if self._lo else None

    def __len__(self) -> int:
        return len(self._lo) + len(self._hi)


class FlatLine(StreamTest):
    """Suspect (3) when the finite values of the last ``suspect_threshold`` seconds span less than
    ``tolerance``, fail (4) when those of the last ``fail_threshold`` seconds do (ioos_qc: the window's
    range below the tolerance; a missing value inside the window is skipped, it does not restart the run).
    Readings before the stream has lasted ``suspect_threshold`` seconds are not evaluated (2)."""

    def __init__(self, suspect_threshold: float, fail_threshold: float, tolerance: float):
        self.tolerance = tolerance
        self.suspect_threshold, self.fail_threshold = suspect_threshold, fail_threshold
        self._suspect = _WindowExtremes(suspect_threshold)
        self._fail = _WindowExtremes(fail_threshold)
        self._start_s: float | None = None

    def push(self, t_s: float, x: float) -> int:
        if self._start_s is None:
            self._start_s = t_s
        for w in (self._suspect, self._fail):
            if _finite(x):
                w.add(t_s, x)
            w.expire(t_s)
        if not _finite(x):
            return MISSING
        lasted = t_s - self._start_s
        if lasted < self.suspect_threshold:
            return NOT_EVALUATED
        if lasted >= self.fail_threshold and self._fail.range() < self.tolerance:
            return FAIL
        return SUSPECT if self._suspect.range() < self.tolerance else GOOD

    def held(self) -> int:
        """Entries held (for the status and the memory bench)."""
        return len(self._suspect) + len(self._fail)


class AttenuatedSignal(StreamTest):
    """Suspect/fail when the standard deviation (``check_type="std"``, population) or the range
    (``"range"``) of the readings of the last ``test_period`` seconds (``t > now - test_period``, as pandas'
    time-based rolling window that ioos_qc uses) is below the thresholds: a fouled or stuck sensor.
    Windows with fewer than ``min_count`` finite readings are not evaluated (2), and, as in ioos_qc (its
    ``np.ptp`` over a window holding NaN gives NaN), a range window that holds a missing value too."""

    #: Running sums are recomputed from the window after this many updates (bounds rounding drift).
    RESUM_EVERY = 4096

    def __init__(
        self,
        suspect_threshold: float,
        fail_threshold: float,
        test_period: float,
        check_type: str = "std",
        min_count: int = 3,
    ):
        if check_type not in ("std", "range"):
            raise ValueError(f"check_type {check_type!r} must be 'std' or 'range'")
        self.suspect_threshold, self.fail_threshold = suspect_threshold, fail_threshold
        self.test_period, self.check_type, self.min_count = test_period, check_type, min_count
        self._t = array("d")
        self._x = array("d")
        self._head = 0
        self._finite = 0
        self._missing = 0
        self._extremes = _WindowExtremes(test_period, open_left=True) if check_type == "range" else None
        self._shift = 0.0
        self._s1 = 0.0
        self._s2 = 0.0
        self._updates = 0

    def _account(self, x: float, sign: int) -> None:
        if _finite(x):
            self._finite += sign
            if self._extremes is None:
                d = x - self._shift
                self._s1 += sign * d
                self._s2 += sign * d * d
        else:
            self._missing += sign

    def _resum(self) -> None:
        window = [x for x in self._x[self._head :] if _finite(x)]
        self._shift = window[-1] if window else 0.0
        self._s1 = math.fsum(x - self._shift for x in window)
        self._s2 = math.fsum((x - self._shift) ** 2 for x in window)
        self._updates = 0

    def push(self, t_s: float, x: float) -> int:
        self._t.append(t_s)
        self._x.append(x)
        self._account(x, +1)
        if self._extremes is not None and _finite(x):
            self._extremes.add(t_s, x)
        edge = t_s - self.test_period
        while self._t[self._head] <= edge:
            self._account(self._x[self._head], -1)
            self._head += 1
        if self._extremes is not None:
            self._extremes.expire(t_s)
        if self._head >= 256 and self._head * 8 > len(self._t):  # at most 1/8 spent slots: 18 B per reading held
            del self._t[: self._head]
            del self._x[: self._head]
            self._head = 0
        self._updates += 1
        if self._extremes is None and self._updates >= self.RESUM_EVERY:
            self._resum()
        if not _finite(x):
            return MISSING
        if self._finite < self.min_count:
            return NOT_EVALUATED
        if self._extremes is not None:
            if self._missing:
                return NOT_EVALUATED
            spread = self._extremes.range()
        else:
            n = self._finite
            spread = math.sqrt(max(0.0, self._s2 / n - (self._s1 / n) ** 2))
        if spread < self.fail_threshold:
            return FAIL
        return SUSPECT if spread < self.suspect_threshold else GOOD

    def held(self) -> int:
        return len(self._t) - self._head


def aggregate(flags: Iterable[int]) -> int:
    """The QARTOD primary flag: 9 if any test says missing, else the worst of 4 > 3 > 1, and 2 only when no
    test could evaluate the reading (ioos_qc ``qartod_compare``, except that 9 ranks first; see above)."""
    seen = set(flags)
    for flag in (MISSING, FAIL, SUSPECT, GOOD):
        if flag in seen:
            return flag
    return NOT_EVALUATED


# ------------------------------------------------------------------ pure functions over arrays


def run(test: StreamTest, inp: Sequence[float], tinp: Sequence[float] | None = None):
    """Feed a whole series to a fresh ``test`` and return every reading's final flag (numpy uint8)."""
    import numpy as np

    x = np.asarray(inp, dtype=float).ravel()
    t = np.arange(len(x), dtype=float) if tinp is None else np.asarray(tinp, dtype=float).ravel()
    out = [f for ti, xi in zip(t.tolist(), x.tolist(), strict=True) if (f := test.push(ti, xi)) is not None]
    return np.array(out + test.pending(), dtype=np.uint8)


def gross_range_test(inp, fail_span, suspect_span=None):
    return run(GrossRange(fail_span, suspect_span), inp)


def spike_test(inp, suspect_threshold: float, fail_threshold: float, method: str = "average"):
    return run(Spike(suspect_threshold, fail_threshold, method), inp)


def rate_of_change_test(inp, tinp, threshold: float, fail_threshold: float | None = None):
    return run(RateOfChange(threshold, fail_threshold), inp, tinp)


def flat_line_test(inp, tinp, suspect_threshold: float, fail_threshold: float, tolerance: float):
    return run(FlatLine(suspect_threshold, fail_threshold, tolerance), inp, tinp)


def attenuated_signal_test(
    inp, tinp, suspect_threshold: float, fail_threshold: float, test_period: float, check_type="std", min_count=3
):
    return run(AttenuatedSignal(suspect_threshold, fail_threshold, test_period, check_type, min_count), inp, tinp)
