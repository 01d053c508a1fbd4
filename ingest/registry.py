"""The shore's device registry: the only source of the ``site``, ``farm`` and ``asset`` tags.

A device's credentials say who it is; the registry says where it is and what it weighs. The ingest binds
every message to the registry (:meth:`Registry.bind`): the topic's site must be the device's site, and each
sample's ``farm``/``asset`` claims (which an edge config may repeat for the operator's convenience) must be
the ones the registry gives its sensor; a missing claim is filled in from the registry. A disagreement is a
:class:`ContractError` with reason ``registry_mismatch`` (the ingest dead-letters it); a device the registry
does not list follows :attr:`RegistryConfig.unknown`. ``blueranch deploy init`` builds the broker's
per-device roles from the same file, so the broker pins each device to its own site as well.

The file (YAML; unknown keys are errors)::

    unknown: reject          # or "unbound": written under the topic's site, without farm/asset tags
    devices:
      buoy-01:
        site: dachen
        farm: mussel-1       # the default of its sensors
        sensors:
          sonde-1: {asset: m1-ll-01}
          lc-m1-02: {asset: m1-ll-02}

A sensor not listed under ``sensors`` gets the device's ``farm`` and ``asset``.

A device may also say where it is moored, for the open-data export's station coordinates
(``blueranch export``, docs/export.md: used when the device has no GPS fix in the exported period), and
the nominal depth of its sensors below the surface; the ingest does not use them::

      buoy-03:
        site: dachen
        lat_deg: 28.452        # WGS84; both or neither
        lon_deg: 121.897
        depth_m: 2.5

A device on an island whose buoys talk to a local broker bridged to the shore names that island's gateway
(``gateway: island-a``); ``blueranch deploy bridge --gateway island-a`` bridges exactly those devices' topics.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, model_validator

from blueranch.contracts import mqtt as contract
from blueranch.contracts.errors import ContractError, Violation, from_pydantic
from blueranch.contracts.quantities import QUANTITIES
from blueranch.contracts.strict import StrictModel
from blueranch.loader import load_yaml

#: ContractError reasons raised here (the ingest counts and dead-letters under them).
MISMATCH = "registry_mismatch"
UNKNOWN = "unknown_device"


class SensorBinding(StrictModel):
    """Overrides of the device's tags for one sensor (a load-cell gateway weighs several assets)."""

    farm: contract.SafeId | None = None
    asset: contract.SafeId | None = None


_LAT, _LON, _DEPTH = QUANTITIES["lat_deg"], QUANTITIES["lon_deg"], QUANTITIES["depth_m"]


class DeviceEntry(StrictModel):
    site: contract.SafeId
    farm: contract.SafeId | None = None
    asset: contract.SafeId | None = None
    sensors: dict[contract.SafeId, SensorBinding] = Field(default_factory=dict)
    #: Mooring position (WGS84) and nominal sensor depth; limits are the contract's physical ranges.
    lat_deg: float | None = Field(None, ge=_LAT.gross_min, le=_LAT.gross_max)
    lon_deg: float | None = Field(None, ge=_LON.gross_min, le=_LON.gross_max)
    depth_m: float | None = Field(None, ge=_DEPTH.gross_min, le=_DEPTH.gross_max)
    #: the island gateway whose broker the device connects to, bridged to the shore (``blueranch deploy bridge``,
    #: docs/scale-out-drill.md); none: the device talks to the shore broker. The ingest does not use it.
    gateway: contract.SafeId | None = None

    @model_validator(mode="after")
    def _position_pair(self) -> DeviceEntry:
        if (self.lat_deg is None) != (self.lon_deg is None):
            raise ValueError("lat_deg and lon_deg go together: give both or neither")
        return self

    def binding(self, sensor: str) -> tuple[str | None, str | None]:
        """The (farm, asset) the shore gives ``sensor`` of this device."""
        s = self.sensors.get(sensor)
        if s is None:
            return self.farm, self.asset
        return (s.farm if s.farm is not None else self.farm), (s.asset if s.asset is not None else self.asset)


class RegistryConfig(StrictModel):
    #: a device not listed: ``reject`` (dead-lettered, reason ``unknown_device``) or ``unbound`` (written under
    #: the topic's site with no farm/asset tag: its claims are dropped, so it cannot weigh on any farm)
    unknown: Literal["reject", "unbound"] = "reject"
    devices: dict[contract.SafeId, DeviceEntry] = Field(default_factory=dict)


@dataclass(frozen=True)
class Registry:
    """A loaded registry. ``Registry.open()`` (no file) trusts topics and payloads: the ingest's behaviour
    before registries, for tests and labs; the ingest logs a warning when it runs that way."""

    config: RegistryConfig | None = None

    @classmethod
    def open(cls) -> Registry:
        return cls(None)

    @property
    def is_open(self) -> bool:
        return self.config is None

    def entry(self, device: str) -> DeviceEntry | None:
        return None if self.config is None else self.config.devices.get(device)

    def check_site(self, site: str, device: str) -> DeviceEntry | None:
        """The device's entry after checking that ``site`` (the topic's) is its site; None when it is not
        listed and the policy lets it through (or the registry is open)."""
        if self.config is None:
            return None
        entry = self.config.devices.get(device)
        if entry is None:
            if self.config.unknown == "reject":
                raise ContractError.single(UNKNOWN, "device", device, "is not in the shore's device registry")
            return None
        if site != entry.site:
            raise ContractError.single(
                MISMATCH, "topic.site", site, f"is not the site of {device!r} in the shore's registry ({entry.site!r})"
            )
        return entry

    def bind(self, site: str, msg: contract.Telemetry) -> tuple[str, contract.Telemetry]:
        """The site and the message to write: tags from the registry, claims checked against it.

        Returns ``msg`` itself when every claim is already the registry's (the common case, no copy).
        """
        if self.config is None:
            return site, msg
        entry = self.check_site(site, msg.device)
        bad: list[Violation] = []
        samples = list(msg.samples)
        changed = False
        for i, s in enumerate(samples):
            farm, asset = entry.binding(s.sensor) if entry is not None else (None, None)
            if entry is not None:
                if s.farm is not None and s.farm != farm:
                    bad.append(Violation(f"samples[{i}].farm", s.farm, _rule(msg.device, s.sensor, "farm", farm)))
                if s.asset is not None and s.asset != asset:
                    bad.append(Violation(f"samples[{i}].asset", s.asset, _rule(msg.device, s.sensor, "asset", asset)))
            if s.farm != farm or s.asset != asset:
                samples[i] = s.model_copy(update={"farm": farm, "asset": asset})
                changed = True
        if bad:
            raise ContractError(MISMATCH, bad)
        return site, (msg.model_copy(update={"samples": samples}) if changed else msg)


def _rule(device: str, sensor: str, tag: str, value: str | None) -> str:
    given = f"gives {value!r}" if value is not None else "gives none"
    return f"disagrees with the shore's registry, which {given} as the {tag} of {device}/{sensor}"


def parse_registry(data: object, source: str = "registry") -> Registry:
    try:
        return Registry(RegistryConfig.model_validate(data if data is not None else {}))
    except ValidationError as exc:
        err = from_pydantic("config", exc)
        violations = [Violation(f"{source}: {v.field}", v.value, v.rule) for v in err.violations]
        raise ContractError("config", violations) from None


def load_registry(path: Path | None) -> Registry:
    """Read the registry YAML (None: an open registry); raise :class:`ContractError` (reason ``config``; the
    file's own problems, duplicate keys among them, are the loader's ``bad_file``)."""
    if path is None:
        return Registry.open()
    return parse_registry(load_yaml(path), str(path))
