"""The rule registry: one evaluator per rule name in :class:`blueranch.models.alerts.config.Rules`.

A test checks that every configurable rule has an evaluator and the other way round, so a rule cannot
be configured without being evaluated (nor evaluated without a config and a source)."""

from __future__ import annotations

from collections.abc import Callable

from blueranch.models.alerts.rules import biomass, devices, forecast, heatwave, mooring, oxygen, storm
from blueranch.models.alerts.rules.base import Context, Observation

Evaluator = Callable[[Context], list[Observation]]

REGISTRY: dict[str, Evaluator] = {
    "do_low": oxygen.evaluate_low,
    "do_daily": oxygen.evaluate_daily,
    "do_mussel_byssus": oxygen.evaluate_mussel_byssus,
    "do_mussel_lethal": oxygen.evaluate_mussel_lethal,
    "do_forecast": forecast.evaluate,
    "heatwave": heatwave.evaluate,
    "storm": storm.evaluate,
    "biomass_loss": biomass.evaluate,
    "mooring": mooring.evaluate,
    "silent": devices.evaluate_silent,
    "buffer_drops": devices.evaluate_buffer_drops,
}


#: The reading each sensor-subject rule judges: an alert of these kinds on a sensor whose newest reading
#: of it is QC-flagged suspect is held back (``qc_suspect: hold``).
JUDGED_FIELD: dict[str, str] = {
    "do_low": "do_mg_l",
    "do_daily": "do_mg_l",
    "do_mussel_byssus": "do_mg_l",
    "do_mussel_lethal": "do_mg_l",
    "do_forecast": "do_mg_l",
    "heatwave": "temp_c",
}


def evaluate_all(ctx: Context) -> list[Observation]:
    out: list[Observation] = []
    for fn in REGISTRY.values():
        out.extend(fn(ctx))
    return out
