"""Default QARTOD tests per quantity, with their sources, for ``sample-config`` and the probe's snippets.

A config written from a snippet without ``qc:`` would send every reading with flag 2 (not evaluated).
These defaults are a start, not a site's thresholds: fail spans are the contract's physical limits of the
quantity (:mod:`blueranch.contracts.quantities`), suspect spans and spike thresholds are the Dachen ones
of ``deploy/blueranch/edge-buoy-01.yaml``, and the flat-line tolerance is half the last digit the sonde
reports. The IOOS QARTOD manuals (DO v2.0, 2018, tests 8-11; temperature and salinity v2.1, 2020, tests
10-13) leave every threshold to the operator, from local climatology and the sensor's data sheet.
"""

from __future__ import annotations

from collections.abc import Iterable

from blueranch.contracts.quantities import QUANTITIES

LIMITS = "fail: physical limits (contracts/quantities.py)"
DACHEN = "Dachen climatology and spike thresholds (deploy/blueranch/edge-buoy-01.yaml)"
#: a stuck sensor: readings within half the reported resolution for 3 h (suspect) or 6 h (fail)
FLAT = "flat: half the reported digit for 3 h / 6 h (QARTOD T/S v2.1 test 13: operator-set)"

#: Tests beyond the gross range, per quantity: (YAML flow mapping entries, source).
_EXTRA: dict[str, tuple[str, str]] = {
    "temp_c": (
        "spike: {suspect_threshold: 1.0, fail_threshold: 3.0, method: differential}, "
        "flat_line: {tolerance: 0.005, suspect_s: 10800, fail_s: 21600}",
        f"{DACHEN}; {FLAT}",
    ),
    "do_mg_l": (
        "spike: {suspect_threshold: 1.0, fail_threshold: 2.5, method: differential}, "
        "flat_line: {tolerance: 0.005, suspect_s: 10800, fail_s: 21600}",
        f"{DACHEN}; {FLAT}",
    ),
    "salinity_psu": ("flat_line: {tolerance: 0.005, suspect_s: 10800, fail_s: 21600}", FLAT),
    "sp_cond_us_cm": ("flat_line: {tolerance: 0.05, suspect_s: 10800, fail_s: 21600}", FLAT),
    "depth_m": ("flat_line: {tolerance: 0.0005, suspect_s: 10800, fail_s: 21600}", FLAT),
    "do_sat_pct": ("flat_line: {tolerance: 0.05, suspect_s: 10800, fail_s: 21600}", FLAT),
    "ph": ("flat_line: {tolerance: 0.005, suspect_s: 10800, fail_s: 21600}", FLAT),
    "chl_ug_l": ("flat_line: {tolerance: 0.005, suspect_s: 10800, fail_s: 21600}", FLAT),
    "turbidity_ntu": ("flat_line: {tolerance: 0.005, suspect_s: 10800, fail_s: 21600}", FLAT),
    "air_pressure_hpa": ("flat_line: {tolerance: 0.05, suspect_s: 10800, fail_s: 21600}", FLAT),
}

#: Suspect spans (local climatology), where the Dachen config has them.
_SUSPECT: dict[str, tuple[float, float]] = {
    "temp_c": (6, 32),
    "do_mg_l": (2, 14),
    "salinity_psu": (15, 36),
    "ph": (7.3, 8.6),
}

#: Suspect spans of the Modbus quantities (load cells, buoy power controllers), each with its source. A value
#: a misordered float32 pair decodes to (8.9e-35 kg, 1e30 kg) falls outside them or outside the fail span.
#: Counters (grid_kwh_total, diesel_l_total), power_kw and solar_a have none: 0 is a normal reading of each
#: (a new meter, no load, night), and their upper ends are the site's; the fail span and the driver's own
#: check of subnormal and below-resolution floats (edge/drivers/modbus_guess.py) cover them.
_DEVICE_SUSPECT: dict[str, tuple[tuple[float, float], str]] = {
    "load_kg": (
        (1, 10_000),
        "suspect: < 1 kg the cell lost its rigging (rope, floats, shackles; the simulator's tare: 25 kg) or "
        "the float is misordered; > 10 t beyond longline tension cells (assumed: use the cell's rated capacity)",
    ),
    "battery_v": (
        (2.0, 30.0),
        "suspect: < 2.0 V, the cut-off of 3.6 V Li-SOCl2 node cells (Saft LS 14500 data sheet); > 30 V, "
        "a 24 V lead-acid bank's top cyclic charge (2.50 V/cell, Yuasa NP data sheet)",
    ),
    "enclosure_rh_pct": (
        (1, 80),
        "suspect: > 80 % RH metal in the box counts as wet (ISO 9223:2012 time of wetness), the seal has "
        "failed; < 1 % capacitive RH sensors do not read in air",
    ),
    "rssi_dbm": (
        (-113, -51),
        "suspect: outside what AT+CSQ reports (3GPP TS 27.007, 8.5: -113 dBm or less .. -51 dBm or greater)",
    ),
}


def fail_span(quantity: str) -> tuple[float, float]:
    """The default fail span: the contract's physical limits of the quantity."""
    q = QUANTITIES[quantity]
    return q.gross_min, q.gross_max


def suspect_span(quantity: str) -> tuple[float, float] | None:
    """The default suspect span of the quantity, None where there is none."""
    if quantity in _DEVICE_SUSPECT:
        return _DEVICE_SUSPECT[quantity][0]
    return _SUSPECT.get(quantity)


def _num(x: float) -> str:
    """A YAML number PyYAML reads back as one (it takes ``1e+06`` for a string)."""
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def entry(quantity: str) -> str:
    """One ``qc:`` entry (two-space indented), after a comment that gives its sources."""
    lo, hi = fail_span(quantity)
    gross = f"fail_span: [{_num(lo)}, {_num(hi)}]"
    sources = [LIMITS]
    suspect = suspect_span(quantity)
    if suspect is not None:
        gross += f", suspect_span: [{_num(suspect[0])}, {_num(suspect[1])}]"
    if quantity in _DEVICE_SUSPECT:
        sources.append(_DEVICE_SUSPECT[quantity][1])
    tests = [f"gross_range: {{{gross}}}"]
    if quantity in _EXTRA:
        extra, source = _EXTRA[quantity]
        tests.append(extra)
        sources.append(source)
    return f"  # {'; '.join(sources)}\n  {quantity}: {{{', '.join(tests)}}}\n"


def qc_block(quantities: Iterable[str]) -> str:
    """A ``qc:`` section for these quantities (first-seen order, each once)."""
    seen = list(dict.fromkeys(q for q in quantities if q in QUANTITIES))
    if not seen:
        return ""
    head = (
        "# QARTOD tests per quantity: defaults to tune from local climatology and the sensor's data sheet\n"
        "# (IOOS QARTOD manuals; blueranch/edge/qc_defaults.py says where each number comes from).\n"
        "qc:\n"
    )
    return head + "".join(entry(q) for q in seen)


def sensor_quantities(sensor: dict) -> list[str]:
    """The quantities a sensor config (as loaded from YAML) will emit."""
    from blueranch.edge.drivers.nmea_framing import SENTENCE_QUANTITIES

    if sensor.get("driver") == "modbus_rtu":
        return [r.get("quantity") for r in sensor.get("registers") or [] if isinstance(r, dict)]
    if sensor.get("driver") == "nmea0183" and not sensor.get("quantities"):
        return [q for s in sensor.get("sentences") or ["GGA", "RMC"] for q in SENTENCE_QUANTITIES.get(s, ())]
    return list(sensor.get("quantities") or [])
