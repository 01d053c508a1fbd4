"""The export's metadata config: who made and publishes the data, under which licence (YAML, unknown keys
are errors).

Everything here ends up in the files' global attributes (ACDD 1.3 and the IOOS Metadata Profile 1.2
names, docs/export.md lists them). Only ``title``-like text has defaults; the contacts have none, because
a made-up contact is worse than none: without ``creator`` and ``publisher`` the files still pass the CF and
ACDD checks, and the IOOS 1.2 check fails exactly the contact attributes (docs/export.md, "Compliance").
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator

from blueranch.contracts.errors import ContractError, Violation, from_pydantic
from blueranch.contracts.quantities import QUANTITIES
from blueranch.contracts.strict import StrictModel

#: IOOS Metadata Profile 1.2: creator_sector values; creator_type/publisher_type values (ACDD 1.3).
Sector = Literal[
    "academic", "gov_federal", "gov_municipal", "gov_state", "industry", "nonprofit", "other", "tribal", "unknown"
]
PartyType = Literal["person", "group", "institution", "position"]
#: The roles of the NERC G04 vocabulary (ISO 19115 CI_RoleCode), which IOOS 1.2 recommends for contributor_role.
Role = Literal[
    "author",
    "coAuthor",
    "collaborator",
    "contributor",
    "custodian",
    "distributor",
    "editor",
    "funder",
    "mediator",
    "originator",
    "owner",
    "pointOfContact",
    "principalInvestigator",
    "processor",
    "publisher",
    "resourceProvider",
    "rightsHolder",
    "sponsor",
    "stakeholder",
    "user",
]
ROLE_VOCABULARY = "https://vocab.nerc.ac.uk/collection/G04/current/"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_URL = re.compile(r"^https?://[^\s]+$")
#: ACDD naming_authority: a reversed domain name (org.example) or a URL.
_AUTHORITY = re.compile(r"^([a-z0-9-]+(\.[a-z0-9-]+)+|https?://\S+)$", re.IGNORECASE)


class _Contact(StrictModel):
    name: str | None = None
    email: str | None = None
    url: str | None = None
    institution: str | None = None
    type: PartyType | None = None
    country: str | None = None
    address: str | None = None
    city: str | None = None
    state: str | None = None
    postalcode: str | None = None
    phone: str | None = None

    @field_validator("email")
    @classmethod
    def _email(cls, v: str | None) -> str | None:
        if v is not None and not _EMAIL.match(v):
            raise ValueError("must be an e-mail address (name@domain)")
        return v

    @field_validator("url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None and not _URL.match(v):
            raise ValueError("must be an http:// or https:// URL")
        return v


class Creator(_Contact):
    """Who collected the data (ACDD ``creator_*``; IOOS 1.2 asks for the sector too)."""

    sector: Sector | None = None


class Publisher(_Contact):
    """Who distributes the data (ACDD ``publisher_*``)."""


class Contributor(StrictModel):
    name: str
    role: Role = "contributor"
    email: str | None = None
    url: str | None = None


class VariableMeta(StrictModel):
    """Datasheet figures of the sensors that measure one quantity, in the quantity's unit (the IOOS 1.2
    profile recommends them on every variable; only the operator knows them)."""

    accuracy: float | None = Field(None, ge=0, allow_inf_nan=False)
    precision: float | None = Field(None, ge=0, allow_inf_nan=False)
    resolution: float | None = Field(None, ge=0, allow_inf_nan=False)
    comment: str | None = None


class ExportConfig(StrictModel):
    #: ``{site}`` and ``{device}`` are filled in (``{device}`` is "all stations" in a multi-station file).
    title: str = "BlueRanch marine ranch observations, site {site}, station {device}"
    summary: str = (
        "In-situ observations from the moored buoys and shore stations of a marine ranch (mussel longlines, "
        "kelp rafts, fish pens, artificial reefs), as measured by the sensors and quality-flagged (QARTOD) by "
        "the BlueRanch edge agents, exported from the platform's InfluxDB."
    )
    institution: str = "BlueRanch operator"
    project: str = "BlueRanch marine ranch monitoring"
    program: str | None = None
    #: SPDX id or text; the default is an open licence, the operator's to change.
    license: str = "CC-BY-4.0"
    keywords: list[str] = Field(
        default_factory=lambda: ["marine ranch", "aquaculture", "buoy", "water quality", "QARTOD", "time series"]
    )
    references: str = "https://ioos.github.io/ioos-manuals-qartod/"
    acknowledgement: str = "Data collected and quality-flagged with BlueRanch (open source)."
    comment: str = (
        "Times are the sensors' own clocks, in UTC. Each variable has a QARTOD aggregate flag variable "
        "(<name>_qc): 1 pass, 2 not evaluated, 3 suspect, 4 fail, 9 missing."
    )
    #: IOOS platform vocabulary term (https://mmisw.org/ont/ioos/platform) for every station.
    platform: str = "moored_surface_buoy"
    #: Reverse-DNS id of the naming authority (org.example) or a URL; with ``id`` it names each file uniquely.
    naming_authority: str | None = None
    #: A web page about the data set (IOOS ``infoUrl``).
    info_url: str | None = None
    creator: Creator | None = None
    publisher: Publisher | None = None
    contributor: Contributor | None = None
    #: The instruments, in words (ACDD/IOOS ``instrument``), and the vocabulary their names come from.
    instrument: str | None = None
    instrument_vocabulary: str = "GCMD Instrument Keywords"
    #: Per quantity (``temp_c``): the sensors' accuracy, precision and resolution.
    variables: dict[str, VariableMeta] = Field(default_factory=dict)
    #: The zone of ``blueranch export csv --time local`` (IANA name; the site's own clock, e.g. Asia/Shanghai).
    time_zone: str = "UTC"

    @field_validator("variables")
    @classmethod
    def _quantities(cls, v: dict[str, VariableMeta]) -> dict[str, VariableMeta]:
        unknown = sorted(set(v) - set(QUANTITIES))
        if unknown:
            raise ValueError(f"{unknown} are not quantities; known: {', '.join(QUANTITIES)}")
        return v

    @field_validator("naming_authority")
    @classmethod
    def _authority(cls, v: str | None) -> str | None:
        if v is not None and not _AUTHORITY.match(v):
            raise ValueError("must be a reversed domain name (org.example) or an http(s) URL")
        return v

    @field_validator("info_url")
    @classmethod
    def _info_url(cls, v: str | None) -> str | None:
        return _Contact._url(v)

    @field_validator("platform")
    @classmethod
    def _platform(cls, v: str) -> str:
        if not re.match(r"^\S+$", v):
            raise ValueError("must be one vocabulary term without blanks (e.g. moored_surface_buoy)")
        return v

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("is not an IANA time zone name (e.g. Asia/Shanghai, UTC)") from None
        return v


def parse_config(data: object, source: str = "export config") -> ExportConfig:
    try:
        return ExportConfig.model_validate(data if data is not None else {})
    except ValidationError as exc:
        err = from_pydantic("config", exc)
        raise ContractError(
            "config", [Violation(f"{source}: {v.field}", v.value, v.rule) for v in err.violations]
        ) from None


def load_config(path: Path | None) -> ExportConfig:
    """The config from a YAML file (None: the defaults); :class:`ContractError` (reason ``config``) otherwise."""
    if path is None:
        return ExportConfig()
    from blueranch.loader import load_yaml

    return parse_config(load_yaml(path), str(path))
