"""Small inline SVG charts for the MRV report (no JavaScript, no fonts or files fetched).

Each chart shows one quantity on its own scale (sinks and sources are never drawn against one axis), with
tick labels in plain numbers from the caller's formatter (the report's language: ``12,000``, never
``1.2e+04``). Charts scale to the width they are given (``viewBox``), text included. Words (titles, units,
labels) come translated from the caller.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Sequence
from html import escape

#: ``fmt(value, decimals)`` -> the number as the report's language writes it.
Formatter = Callable[[float, int], str]
Bar = tuple[str, float, float | None, float | None]  # label, value, lower and upper 95 % bound (or None)

FONT_PX = 12


def text_width(s: str, px: float = FONT_PX) -> float:
    """Rough rendered width of ``s``: full-width (CJK) characters are about 1 em, others about 0.6 em."""
    return sum(px if unicodedata.east_asian_width(c) in "WF" else 0.6 * px for c in s)


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round ticks (steps of 1, 2, 2.5 or 5 x 10^k) covering ``[lo, hi]`` and 0."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi - lo <= 0:
        return [0.0, 1.0]
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw * (1 - 1e-9))
    first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
    return [round(k * step, 12) for k in range(first, last + 1)]


def tick_decimals(ticks: Sequence[float]) -> int:
    """The fewest decimals that write the tick step exactly (2.5 -> 1, 0.25 -> 2, 500 -> 0)."""
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    return next((d for d in range(7) if abs(round(step, d) - step) < 1e-9 * max(1.0, abs(step))), 6)


def _finite(*xs: float | None) -> list[float]:
    return [x for x in xs if x is not None and math.isfinite(x)]


def _open(title: str, width: float, height: float) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" width="100%" '
        f'style="max-width:{width:.0f}px;font-size:{FONT_PX}px" role="img" aria-label="{escape(title)}">',
        f'<text x="0" y="16" font-weight="bold" font-size="{FONT_PX + 1}">{escape(title)}</text>',
    ]


def bar_chart(
    title: str, unit: str, bars: Sequence[Bar], fmt: Formatter, color: str = "#2e7d6b", width: int = 480
) -> str:
    """Horizontal bars with 95 % whiskers, one scale from 0 (negative values extend left), value at the end."""
    bar_h, top = 26, 34
    label_w = min(max((text_width(b[0]) for b in bars), default=40) + 10, width * 0.4)
    values = [x for b in bars for x in _finite(b[1], b[2], b[3])]
    ticks = nice_ticks(min(values, default=0.0), max(values, default=1.0), 4)
    dec = tick_decimals(ticks)
    value_w = max((text_width(fmt(b[1], 1)) for b in bars), default=30) + 12
    x0, x1 = label_w, width - value_w
    lo, hi = ticks[0], ticks[-1]
    x = lambda v: x0 + (v - lo) / (hi - lo) * (x1 - x0)  # noqa: E731
    axis_y = top + bar_h * len(bars)
    out = _open(title, width, axis_y + 40)
    out.append(f'<text x="{width:.0f}" y="16" text-anchor="end" fill="#555">{escape(unit)}</text>')
    for t in ticks:
        out.append(f'<line x1="{x(t):.1f}" y1="{top - 4}" x2="{x(t):.1f}" y2="{axis_y}" stroke="#ddd"/>')
        out.append(f'<text x="{x(t):.1f}" y="{axis_y + 16}" text-anchor="middle" fill="#555">{fmt(t, dec)}</text>')
    for i, (label, v, b_lo, b_hi) in enumerate(bars):
        y = top + i * bar_h
        ym = y + bar_h / 2
        a, b = sorted((x(0), x(v)))
        fill = color if v >= 0 else "#b5523b"
        out.append(
            f'<text x="{label_w - 8:.1f}" y="{ym + 4:.1f}" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{a:.1f}" y="{y + 5}" width="{max(b - a, 0.5):.1f}" height="{bar_h - 10}" fill="{fill}">'
            f"<title>{escape(label)}: {fmt(v, 2)} {escape(unit)}</title></rect>"
        )
        end = x(max(v, 0))
        if b_lo is not None and b_hi is not None and _finite(b_lo, b_hi) == [b_lo, b_hi]:
            wa, wb = x(b_lo), x(b_hi)
            out.append(
                f'<path d="M{wa:.1f},{ym:.1f}H{wb:.1f}M{wa:.1f},{ym - 5:.1f}V{ym + 5:.1f}'
                f'M{wb:.1f},{ym - 5:.1f}V{ym + 5:.1f}" stroke="#222" fill="none"/>'
            )
            end = max(end, wb)
        out.append(f'<text x="{end + 5:.1f}" y="{ym + 4:.1f}">{fmt(v, 1)}</text>')
    out.append(f'<line x1="{x(0):.1f}" y1="{top - 4}" x2="{x(0):.1f}" y2="{axis_y}" stroke="#555"/>')
    out.append("</svg>")
    return "\n".join(out)


def column_chart(
    title: str,
    unit: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    fmt: Formatter,
    color: str = "#2e7d6b",
    lo95: Sequence[float | None] | None = None,
    hi95: Sequence[float | None] | None = None,
    width: int = 480,
    height: int = 220,
) -> str:
    """One column per label (e.g. months) with optional 95 % whiskers; the y axis in plain numbers."""
    top, bottom = 34, 26
    bounds = [x for vs in (values, lo95 or [], hi95 or []) for x in _finite(*vs)]
    ticks = nice_ticks(min(bounds, default=0.0), max(bounds, default=1.0), 4)
    dec = tick_decimals(ticks)
    left = max(text_width(fmt(t, dec)) for t in ticks) + 10
    plot_h = height - top - bottom
    lo, hi = ticks[0], ticks[-1]
    y = lambda v: top + (hi - v) / (hi - lo) * plot_h  # noqa: E731
    n = max(len(labels), 1)
    slot = (width - left) / n
    out = _open(title, width, height)
    out.append(f'<text x="{width}" y="16" text-anchor="end" fill="#555">{escape(unit)}</text>')
    for t in ticks:
        out.append(f'<line x1="{left:.1f}" y1="{y(t):.1f}" x2="{width}" y2="{y(t):.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 6:.1f}" y="{y(t) + 4:.1f}" text-anchor="end" fill="#555">{fmt(t, dec)}</text>')
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        cx = left + (i + 0.5) * slot
        out.append(f'<text x="{cx:.1f}" y="{height - 8}" text-anchor="middle">{escape(label)}</text>')
        if v is None or not math.isfinite(v):
            continue
        a, b = sorted((y(0), y(v)))
        bw = min(slot * 0.6, 60)
        out.append(
            f'<rect x="{cx - bw / 2:.1f}" y="{a:.1f}" width="{bw:.1f}" height="{max(b - a, 0.5):.1f}" '
            f'fill="{color if v >= 0 else "#b5523b"}"><title>{escape(label)}: {fmt(v, 2)} {escape(unit)}</title></rect>'
        )
        w_lo, w_hi = (lo95[i] if lo95 else None), (hi95[i] if hi95 else None)
        if w_lo is not None and w_hi is not None and _finite(w_lo, w_hi) == [w_lo, w_hi]:
            out.append(
                f'<path d="M{cx:.1f},{y(w_lo):.1f}V{y(w_hi):.1f}M{cx - 5:.1f},{y(w_lo):.1f}H{cx + 5:.1f}'
                f'M{cx - 5:.1f},{y(w_hi):.1f}H{cx + 5:.1f}" stroke="#222" fill="none"/>'
            )
    out.append(f'<line x1="{left:.1f}" y1="{y(0):.1f}" x2="{width}" y2="{y(0):.1f}" stroke="#555"/>')
    out.append("</svg>")
    return "\n".join(out)
