"""The project description a verifier needs before credits are issued (site config ``project``).

Project id, proponent, boundary (GeoJSON of the farm areas), sea-area use rights, the monitoring plan
(sensors, intervals, calibration dates, sampling for the coefficients), baseline and additionality
statements, and the method version. Every part is optional in the schema so that a site can run the
worker before its paperwork is done, but :func:`missing` lists what is absent and no credits are issued
(the report says so, the ledger refuses) while anything is.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field, field_validator, model_validator

from blueranch.contracts.mqtt import SafeId
from blueranch.contracts.strict import FrozenStrictModel

Text = str


def _ring_ok(ring: list[tuple[float, float]]) -> list[tuple[float, float]]:
    if len(ring) < 4:
        raise ValueError(f"a linear ring needs at least 4 positions, got {len(ring)}")
    if tuple(ring[0]) != tuple(ring[-1]):
        raise ValueError("a linear ring must be closed (first position = last position, RFC 7946 3.1.6)")
    for lon, lat in ring:
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise ValueError(f"position [{lon}, {lat}] is not longitude, latitude in degrees (RFC 7946 3.1.1)")
    return ring


class Polygon(FrozenStrictModel):
    """RFC 7946 Polygon: rings of [longitude, latitude] (WGS 84), the first the exterior."""

    type: Literal["Polygon"]
    coordinates: list[list[tuple[float, float]]] = Field(min_length=1)

    @field_validator("coordinates")
    @classmethod
    def _rings(cls, v: list[list[tuple[float, float]]]) -> list[list[tuple[float, float]]]:
        return [_ring_ok(r) for r in v]


class FarmArea(FrozenStrictModel):
    """A GeoJSON Feature: one farm's area; ``properties.farm`` names the farm of the config."""

    type: Literal["Feature"]
    geometry: Polygon
    properties: dict[str, str | float | int]

    @field_validator("properties")
    @classmethod
    def _farm(cls, v: dict) -> dict:
        if not isinstance(v.get("farm"), str) or not v["farm"]:
            raise ValueError("properties.farm must name the farm")
        return v


class Boundary(FrozenStrictModel):
    """The project boundary: a GeoJSON FeatureCollection of the farm areas (RFC 7946)."""

    type: Literal["FeatureCollection"]
    features: list[FarmArea] = Field(min_length=1)

    def farms(self) -> set[str]:
        return {str(f.properties["farm"]) for f in self.features}


class UseRight(FrozenStrictModel):
    """A sea-area use right (海域使用权证书) covering farms of the project."""

    certificate: str = Field(min_length=1)
    holder: str = Field(min_length=1)
    farms: list[SafeId] = Field(min_length=1)
    area_ha: float = Field(gt=0)
    valid_from: date
    valid_to: date

    @model_validator(mode="after")
    def _dates(self) -> UseRight:
        if self.valid_to <= self.valid_from:
            raise ValueError(f"valid_to {self.valid_to} must be after valid_from {self.valid_from}")
        return self


class MonitoredSensor(FrozenStrictModel):
    """One instrument of the monitoring plan and its calibration record."""

    device: SafeId
    sensor: SafeId | None = None
    measures: str = Field(min_length=1)  # e.g. "load_kg of m1-ll-01"
    interval_s: float = Field(gt=0)
    calibrated: date
    calibration_method: str = Field(min_length=3)


class CoefficientSampling(FrozenStrictModel):
    """How the species coefficients in force are checked on site (the monitoring plan's sampling)."""

    groups: list[str] = Field(min_length=1)
    method: str = Field(min_length=3)
    frequency: str = Field(min_length=3)
    last_sampled: date | None = None


class MonitoringPlan(FrozenStrictModel):
    sensors: list[MonitoredSensor] = Field(min_length=1)
    coefficient_sampling: list[CoefficientSampling] = Field(min_length=1)
    qa_qc: str = Field(min_length=3)


class ProjectConfig(FrozenStrictModel):
    project_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    name: str | None = None
    proponent: str | None = None
    boundary: Boundary | None = None
    use_rights: list[UseRight] = Field(default_factory=list)
    monitoring_plan: MonitoringPlan | None = None
    baseline: Text | None = None
    additionality: Text | None = None
    method_version: str | None = None


#: What must be present before credits are issued, in the order the report lists them.
REQUIRED = (
    "project_id",
    "proponent",
    "boundary",
    "use_rights",
    "monitoring_plan",
    "baseline",
    "additionality",
    "method_version",
)


def missing(project: ProjectConfig | None, farms: set[str] | None = None) -> list[str]:
    """The parts of the description that are absent (empty: credits may be issued).

    With ``farms`` (the creditable farms of the config), a farm outside the boundary or without a use
    right is missing too.
    """
    if project is None:
        return list(REQUIRED)
    out = [k for k in REQUIRED if not getattr(project, k)]
    if farms:
        if project.boundary is not None:
            out += [f"boundary: farm {f}" for f in sorted(farms - project.boundary.farms())]
        if project.use_rights:
            covered = {f for r in project.use_rights for f in r.farms}
            out += [f"use_rights: farm {f}" for f in sorted(farms - covered)]
    return out
