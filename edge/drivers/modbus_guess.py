"""What a Modbus slave's registers probably hold: each 32-bit pair in the four orders, how plausible a value
is for a quantity, and which known register map (a template) fits. Pure functions, no I/O.

The standard leaves the order of a 32-bit value's two registers to the vendor (modbus_framing.py), and a
wrong order does not fail: it decodes to another number. That number is rarely a believable reading: the
low bytes of the true value land where the exponent belongs, so it comes out subnormal (a low word of zero,
as in every round value), tiny (8.9e-35 kg), huge (1e30) or of the wrong sign. A value is judged against the
quantity's physical range (the contract) and the default QC's suspect span (edge/qc_defaults.py).

The templates are the register maps of the simulator's slaves (docs/simulator.md, 'Modbus RTU slaves'). A
real device's map is in its manual; ``edge probe`` says so next to every template it offers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from blueranch.edge.drivers.modbus_framing import ORDERS, float32_orders, is_subnormal
from blueranch.edge.qc_defaults import fail_span, suspect_span

#: A nonzero reading smaller than this, in its quantity's unit, is below any field instrument's resolution:
#: the contract's units are the instruments' own scale (kg, V, A, %, dBm, kWh, L; a load cell resolves grams),
#: while a misordered pair lands far below it (8.9e-35 kg, 1.1e-19 kg for 812.5 kg sent CDAB read ABCD).
BELOW_RESOLUTION = 1e-9


@dataclass(frozen=True)
class Template:
    """A known register map: float32 values on register pairs, (address, quantity) each."""

    kind: str
    registers: tuple[tuple[int, str], ...]

    @property
    def pairs(self) -> int:
        return max(a for a, _ in self.registers) // 2 + 1


#: The simulator's register maps (docs/simulator.md, 'Modbus RTU slaves'; a test holds them equal to
#: firmware_sim/modbus_map.py), in the order offered when two fit equally well.
TEMPLATES: tuple[Template, ...] = (
    Template("load_cell", ((0, "load_kg"),)),
    Template("energy_meter", ((0, "grid_kwh_total"), (2, "power_kw"))),
    Template("fuel_meter", ((0, "diesel_l_total"),)),
    Template("buoy_power", ((0, "battery_v"), (2, "solar_a"), (4, "enclosure_rh_pct"), (6, "rssi_dbm"))),
)


def misordered(quantity: str, value: float) -> str | None:
    """Why a float32 register's ``value`` (scaled, before any offset) cannot be a reading of ``quantity``
    whatever the device, or None: subnormal, or nonzero below any instrument's resolution."""
    if is_subnormal(value):
        return f"{value:.3g} is a subnormal float32"
    if value != 0 and abs(value) < BELOW_RESOLUTION:
        return f"{value:.3g} is below any instrument's resolution for {quantity}"
    return None


def plausibility(quantity: str, value: float) -> int:
    """0: not a reading of ``quantity`` (not finite, :func:`misordered`, outside its physical range);
    2: typical (inside the default suspect span); 1: possible."""
    if not math.isfinite(value) or misordered(quantity, value):
        return 0
    lo, hi = fail_span(quantity)
    if not lo <= value <= hi:
        return 0
    span = suspect_span(quantity)
    return 2 if span is not None and span[0] <= value <= span[1] else 1


def pairs(registers: list[int]) -> list[dict[str, float]]:
    """Every whole register pair from address 0, read as float32 in the four orders."""
    return [float32_orders(registers[i : i + 2]) for i in range(0, len(registers) - 1, 2)]


@dataclass(frozen=True)
class Fit:
    """A template read in one order: its values and how well they fit."""

    template: Template
    order: str
    values: tuple[float, ...]
    #: mean :func:`plausibility` of the values (1 possible .. 2 typical)
    score: float
    #: the template covers every pair read (the device's map ended where the template's does)
    exact: bool

    @property
    def byte_order(self) -> str:
        return ORDERS[self.order][0]

    @property
    def word_order(self) -> str:
        return ORDERS[self.order][1]


def fits(registers: list[int]) -> list[Fit]:
    """Every (template, order) whose values read from ``registers`` (from address 0) are all plausible, best
    first: the templates that cover exactly the pairs read, then the more typical values, then the orders
    of :data:`ORDERS` and the templates of :data:`TEMPLATES` in their order."""
    decoded = pairs(registers)
    out: list[tuple[tuple, Fit]] = []
    for ti, t in enumerate(TEMPLATES):
        if t.pairs > len(decoded):
            continue
        for oi, order in enumerate(ORDERS):
            values = tuple(decoded[a // 2][order] for a, _ in t.registers)
            scores = [plausibility(q, v) for (_, q), v in zip(t.registers, values, strict=True)]
            if min(scores) == 0:
                continue
            fit = Fit(t, order, values, sum(scores) / len(scores), t.pairs == len(decoded))
            out.append(((not fit.exact, -fit.score, oi, ti), fit))
    return [f for _, f in sorted(out, key=lambda kv: kv[0])]


def rivals(best: Fit, others: list[Fit]) -> list[Fit]:
    """Other orders of the best template that fit as well with other values: the order is ambiguous (the
    technician compares with the device's display or manual)."""
    return [
        f
        for f in others
        if f.template == best.template and f.order != best.order and f.score == best.score and f.values != best.values
    ]


def describe(value: float) -> str:
    """A decoded value as a technician reads it (six significant digits)."""
    return f"{value:.6g}"
