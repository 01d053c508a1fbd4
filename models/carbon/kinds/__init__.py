"""Sink kinds: one module per kind of farmed sink, registered by name. ``kind`` is routed only through here.

A kind is its carbon formula, taken from :mod:`blueranch.models.carbon.method`: ``t_c(wet_t, **coefficients)``
gives the total carbon of a biomass and ``shell_t_c`` the part of it that is shell (CaCO3) carbon, to which
the calcification rule applies (``None``: no shell). The coefficient columns a kind reads are the keyword
parameters of its ``t_c``, named as in ``carbon_coefficients.csv``. The point estimate, the Monte Carlo
(:mod:`blueranch.models.carbon.uncertainty`) and IPCC Approach 1 all evaluate these functions, so each
formula exists once. A new kind is one module here (listed in ``MODULES``) and its rows in the table.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from blueranch.models.carbon.method import ArrayLike, Calcification, calcification_adjusted_t_c

#: every kind module; a test checks each registers its kind and has rows in the coefficient table
MODULES = ("bivalve", "macroalgae")
REGISTRY: dict[str, SinkKind] = {}


@dataclass(frozen=True)
class SinkKind:
    name: str
    t_c: Callable[..., np.ndarray]
    shell_t_c: Callable[..., np.ndarray] | None = None
    description: str = ""

    @cached_property
    def fields(self) -> tuple[str, ...]:
        """The coefficient columns the formula reads (the parameters of ``t_c`` after ``wet_t``)."""
        return _coefficient_params(self.t_c)

    @cached_property
    def shell_fields(self) -> tuple[str, ...]:
        return () if self.shell_t_c is None else _coefficient_params(self.shell_t_c)

    def t_c_per_wet_t(self, c: Mapping[str, ArrayLike]) -> np.ndarray:
        """Total carbon per wet tonne; ``c`` maps column names to values or to arrays of draws."""
        return self.t_c(1.0, **{f: c[f] for f in self.fields})

    def shell_t_c_per_wet_t(self, c: Mapping[str, ArrayLike]) -> np.ndarray:
        """Shell carbon per wet tonne (zeros for a kind without shell)."""
        if self.shell_t_c is None:
            return np.zeros_like(np.asarray(c[self.fields[0]], dtype=float))
        return self.shell_t_c(1.0, **{f: c[f] for f in self.shell_fields})

    def creditable_t_c_per_wet_t(self, c: Mapping[str, ArrayLike], mode: Calcification, psi: ArrayLike) -> np.ndarray:
        """Carbon credited per wet tonne under the calcification rule (``count`` or ``deduct`` psi x shell)."""
        return calcification_adjusted_t_c(self.t_c_per_wet_t(c), self.shell_t_c_per_wet_t(c), mode, psi)


def _coefficient_params(f: Callable[..., np.ndarray]) -> tuple[str, ...]:
    return tuple(inspect.signature(f).parameters)[1:]


def register(kind: SinkKind) -> SinkKind:
    if kind.name in REGISTRY and REGISTRY[kind.name] != kind:
        raise ValueError(f"sink kind {kind.name!r} registered twice")
    REGISTRY[kind.name] = kind
    return kind


def load_all() -> dict[str, SinkKind]:
    """Import every kind module so that each registers itself."""
    for module in MODULES:
        importlib.import_module(f"{__name__}.{module}")
    return REGISTRY


def get(name: str) -> SinkKind:
    load_all()
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown sink kind {name!r}; known: {', '.join(sorted(REGISTRY))}") from None


def names() -> tuple[str, ...]:
    """The registered kinds, in ``MODULES`` order (the allowed values of every ``kind`` field)."""
    load_all()
    return tuple(m for m in MODULES if m in REGISTRY)
