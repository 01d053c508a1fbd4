"""Small inline SVG charts for the MRV report (no JavaScript, no fonts or files fetched)."""

from __future__ import annotations

import math
from html import escape


def _nice_max(v: float) -> float:
    if v <= 0 or not math.isfinite(v):
        return 1.0
    exp = 10 ** math.floor(math.log10(v))
    for m in (1, 2, 2.5, 5, 10):
        if m * exp >= v:
            return m * exp
    return 10 * exp


def bar_chart(
    title: str, unit: str, bars: list[tuple[str, float, float | None, float | None]], width: int = 640, bar_h: int = 26
) -> str:
    """Horizontal bars ``(label, value, lo95, hi95)`` with 95 % whiskers; negative values extend left."""
    label_w, pad = 170, 10
    vals = [abs(v) for _, v, _, _ in bars] + [abs(x) for _, _, lo, hi in bars for x in (lo, hi) if x is not None]
    vmax = _nice_max(max(vals, default=1.0))
    has_neg = any((v < 0) or (lo is not None and lo < 0) for _, v, lo, _ in bars)
    plot_w = width - label_w - 2 * pad - 90
    zero = label_w + pad + (plot_w / 2 if has_neg else 0)
    scale = (plot_w / 2 if has_neg else plot_w) / vmax
    height = 40 + bar_h * len(bars) + 24
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(title)}" style="font-family:sans-serif;font-size:12px">',
        f'<text x="{pad}" y="18" font-weight="bold">{escape(title)} ({escape(unit)})</text>',
    ]
    for i, (label, v, lo, hi) in enumerate(bars):
        y = 32 + i * bar_h
        x0, x1 = sorted((zero, zero + v * scale))
        color = "#2e7d6b" if v >= 0 else "#b5523b"
        out.append(f'<text x="{label_w}" y="{y + bar_h * 0.65:.1f}" text-anchor="end">{escape(label)}</text>')
        out.append(
            f'<rect x="{x0:.1f}" y="{y + 4}" width="{max(x1 - x0, 0.5):.1f}" height="{bar_h - 8}" fill="{color}"/>'
        )
        if lo is not None and hi is not None and math.isfinite(lo) and math.isfinite(hi):
            a, b = zero + lo * scale, zero + hi * scale
            ym = y + bar_h / 2
            out.append(
                f'<path d="M{a:.1f},{ym:.1f}H{b:.1f}M{a:.1f},{ym - 5:.1f}V{ym + 5:.1f}'
                f'M{b:.1f},{ym - 5:.1f}V{ym + 5:.1f}" stroke="#222" fill="none"/>'
            )
        out.append(
            f'<text x="{max(x1, zero) + 6 + (0 if hi is None else max(0, (zero + hi * scale) - x1)):.1f}" '
            f'y="{y + bar_h * 0.65:.1f}">{v:,.2f}</text>'
        )
    axis_y = 32 + bar_h * len(bars) + 4
    out.append(f'<line x1="{zero:.1f}" y1="28" x2="{zero:.1f}" y2="{axis_y}" stroke="#555"/>')
    out.append(f'<text x="{zero:.1f}" y="{axis_y + 14}" text-anchor="middle">0</text>')
    out.append(f'<text x="{zero + vmax * scale:.1f}" y="{axis_y + 14}" text-anchor="end">{vmax:,.4g}</text>')
    out.append("</svg>")
    return "\n".join(out)


def column_chart(
    title: str,
    unit: str,
    labels: list[str],
    series: dict[str, list[float]],
    colors: dict[str, str],
    width: int = 640,
    height: int = 240,
) -> str:
    """Grouped columns per label (e.g. months) for a few named series (sinks, sources)."""
    pad_l, pad_b, pad_t = 60, 30, 30
    n, k = len(labels), max(len(series), 1)
    vmax = _nice_max(max((abs(v) for vs in series.values() for v in vs if math.isfinite(v)), default=1.0))
    plot_w, plot_h = width - pad_l - 10, height - pad_b - pad_t
    slot = plot_w / max(n, 1)
    bw = slot * 0.8 / k
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(title)}" style="font-family:sans-serif;font-size:11px">',
        f'<text x="10" y="18" font-weight="bold">{escape(title)} ({escape(unit)})</text>',
        f'<line x1="{pad_l}" y1="{pad_t + plot_h}" x2="{width - 10}" y2="{pad_t + plot_h}" stroke="#555"/>',
        f'<text x="{pad_l - 4}" y="{pad_t + 4}" text-anchor="end">{vmax:,.4g}</text>',
        f'<text x="{pad_l - 4}" y="{pad_t + plot_h}" text-anchor="end">0</text>',
    ]
    for j, (name, values) in enumerate(series.items()):
        for i, v in enumerate(values):
            if not math.isfinite(v):
                continue
            h = abs(v) / vmax * plot_h
            x = pad_l + i * slot + slot * 0.1 + j * bw
            out.append(
                f'<rect x="{x:.1f}" y="{pad_t + plot_h - h:.1f}" width="{bw:.1f}" height="{h:.1f}" '
                f'fill="{colors.get(name, "#777")}"><title>{escape(name)} {escape(labels[i])}: '
                f"{v:,.3f}</title></rect>"
            )
    for i, label in enumerate(labels):
        out.append(
            f'<text x="{pad_l + (i + 0.5) * slot:.1f}" y="{height - 12}" text-anchor="middle">{escape(label)}</text>'
        )
    for j, name in enumerate(series):
        out.append(
            f'<rect x="{width - 200 + j * 100}" y="8" width="10" height="10" '
            f'fill="{colors.get(name, "#777")}"/><text x="{width - 186 + j * 100}" y="17">{escape(name)}</text>'
        )
    out.append("</svg>")
    return "\n".join(out)
