"""Grafana unit ids for the contract's units, so a panel's unit comes from the field it shows.

Grafana has built-in ids for most SI units; the rest use its custom-unit syntax (``suffix:``,
``currency:``). An unknown contract unit raises, so a new quantity cannot ship a unit-less panel.
"""

from __future__ import annotations

from blueranch.contracts.influx import FieldDef

GRAFANA_UNITS: dict[str, str] = {
    "degC": "celsius",
    "uS/cm": "suffix: µS/cm",
    "PSU": "suffix: PSU",
    "m": "lengthm",
    "mg/L": "suffix: mg/L",
    "%": "percent",
    "pH": "suffix: pH",
    "ug/L": "suffix: µg/L",
    "NTU": "suffix: NTU",
    "mV": "mvolt",
    "m/s": "velocityms",
    "deg": "degree",
    "hPa": "pressurehpa",
    "kn": "velocityknot",
    "count": "short",
    "1": "none",
    "kg": "masskg",
    "t": "masst",
    "t C": "suffix: t C",
    "t CO2e": "suffix: t CO2e",
    "kWh": "kwatth",
    "L": "litre",
    "kW": "kwatt",
    "1/m3": "suffix: /m³",
    "m2/nmi2": "suffix: m²/nmi²",
    "cm": "suffix: cm",
    "V": "volt",
    "A": "amp",
    "dBm": "dBm",
    "s": "s",
    "QARTOD": "none",
    "": "none",  # alerts.value/threshold: the unit is that of the quantity the alert is about
}

#: Fields whose contract unit "1" has a more precise meaning.
FIELD_UNITS: dict[str, str] = {
    "completeness": "percentunit",  # a share 0..1
    "online": "bool_on_off",  # 1 online, 0 offline
}


def grafana_unit(f: FieldDef, currency: str = "CNY") -> str:
    """The Grafana unit id for a contract field (``currency`` for money fields)."""
    if f.name in FIELD_UNITS:
        return FIELD_UNITS[f.name]
    if f.unit == "currency":
        return f"currency:{currency}"
    try:
        return GRAFANA_UNITS[f.unit]
    except KeyError:
        raise KeyError(f"field {f.name!r}: unit {f.unit!r} has no Grafana unit; add it to GRAFANA_UNITS") from None
