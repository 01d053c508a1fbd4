"""Typed edge agent configuration. Unknown keys are errors; every error names its dotted path."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from blueranch.contracts.errors import ContractError, from_pydantic
from blueranch.contracts.mqtt import SafeId


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MqttConfig(Strict):
    url: str = Field(default="mqtt://127.0.0.1:1883", pattern=r"^mqtts?://[^/\s]+(:\d+)?/?$")
    username: str | None = None
    #: read the password from this environment variable or file, never from the config itself
    password_env: str | None = None
    password_file: Path | None = None
    keepalive_s: int = Field(default=60, ge=5, le=3600)


class SensorConfig(Strict):
    id: SafeId
    driver: str
    port: str
    address: str = Field(default="0", pattern=r"^[0-9A-Za-z]$")
    interval_s: float = Field(default=60.0, gt=0, le=86400)
    quantities: list[str] = Field(min_length=1)
    farm: SafeId | None = None
    asset: SafeId | None = None


class EdgeConfig(Strict):
    site: SafeId
    device: SafeId
    mqtt: MqttConfig = MqttConfig()
    sensors: list[SensorConfig] = Field(min_length=1)


def load_config(path: Path) -> EdgeConfig:
    """Read and validate a YAML config; raise :class:`ContractError` listing every problem."""
    try:
        data = yaml.safe_load(Path(path).read_text())
    except yaml.YAMLError as exc:
        raise ContractError.single("bad_config", "(file)", str(path), f"is not valid YAML: {exc}") from None
    try:
        return EdgeConfig.model_validate(data)
    except ValidationError as exc:
        raise from_pydantic("bad_config", exc) from None
