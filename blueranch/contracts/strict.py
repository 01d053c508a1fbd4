"""The one base of every typed config and document: unknown keys are errors.

A misspelt key (``intervl_s``) is refused with its dotted path instead of being ignored, as Telegraf and
every config here promise. :class:`FrozenStrictModel` also makes instances immutable, for configs shared
between threads or used as dictionary keys.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FrozenStrictModel(StrictModel):
    model_config = ConfigDict(frozen=True)
