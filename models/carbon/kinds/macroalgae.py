"""Farmed macroalgae (kelp, undaria, porphyra, gracilaria): thallus carbon, no shell (HY/T 0305-2021)."""

from blueranch.models.carbon.kinds import SinkKind, register
from blueranch.models.carbon.method import macroalgae_t_c

KIND = register(SinkKind("macroalgae", macroalgae_t_c, None, "thallus carbon of farmed macroalgae"))
