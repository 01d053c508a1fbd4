"""Farmed bivalves (mussel, oyster, scallop, clam): soft tissue and shell carbon; the shell is subject to the
calcification rule (HY/T 0305-2021; reference README, "Method notes")."""

from blueranch.models.carbon.kinds import SinkKind, register
from blueranch.models.carbon.method import bivalve_shell_t_c, bivalve_t_c

KIND = register(SinkKind("bivalve", bivalve_t_c, bivalve_shell_t_c, "tissue and shell carbon of farmed bivalves"))
