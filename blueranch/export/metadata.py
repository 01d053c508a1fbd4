"""The attributes of an exported file: CF 1.8, ACDD 1.3 and the IOOS Metadata Profile 1.2.

Global attributes come from the export config (who, licence, vocabularies), the catalog (stations,
positions) and the data written (time coverage, known once the file is complete). Variable attributes
come from the quantity table of the contract: CF ``standard_name`` and ``units``, the physical range as
``valid_min``/``valid_max``, and the QARTOD flag variable linked through ``ancillary_variables`` with the
``flag_values``/``flag_meanings`` of the IOOS profile.
"""

from __future__ import annotations

import re
import time

import numpy as np

from blueranch import __version__
from blueranch.contracts.qc import QcFlag
from blueranch.contracts.quantities import CF_STANDARD_NAME_TABLE_VERSION
from blueranch.export.catalog import Column, Selection, Station
from blueranch.export.config import ROLE_VOCABULARY, ExportConfig
from blueranch.export.times import iso_duration, iso_seconds

CONVENTIONS = "CF-1.8, ACDD-1.3, IOOS-1.2"
#: NC_FILL_DOUBLE of netCDF-C: outside every quantity's physical range (tests/export checks it).
FILL_VALUE = 9.969209968386869e36
#: QARTOD flag meanings in the IOOS Metadata Profile 1.2 ("Quality Control/QARTOD"), for flags 1, 2, 3, 4, 9.
FLAG_MEANINGS = {
    QcFlag.GOOD: "PASS",
    QcFlag.NOT_EVALUATED: "NOT_EVALUATED",
    QcFlag.SUSPECT: "SUSPECT",
    QcFlag.FAIL: "FAIL",
    QcFlag.MISSING: "MISSING",
}
QARTOD_REFERENCE = "https://ioos.github.io/ioos-manuals-qartod/"
STANDARD_NAME_URL = "https://vocab.nerc.ac.uk/standard_name/{}/"
PLATFORM_VOCABULARY = "https://mmisw.org/ont/ioos/platform"
#: The CF ``coordinates`` of a data variable, besides depth (present only when the station depth is known).
COORDINATES = ("time", "latitude", "longitude")
#: Scalar coordinate of ``sp_cond_us_cm`` (CF: the reference temperature of a conductivity "at reference
#: temperature" goes in a coordinate named temperature_of_analysis_of_sea_water); 25 degC is in the quantity's
#: definition in the contract ("Specific conductance at 25 degC").
REFERENCE_TEMPERATURE = ("sp_cond_us_cm", "conductivity_reference_temperature", 25.0)


def platform_id(device: str) -> str:
    """The device id with only letters and digits (IOOS 1.2 ``platform_id``)."""
    return re.sub(r"[^A-Za-z0-9]", "", device) or "station"


def global_attributes(
    config: ExportConfig, selection: Selection, stations: list[Station], multi: bool
) -> dict[str, str | float]:
    """Every global attribute known before the data is written (:func:`coverage` adds the time coverage)."""
    now = iso_seconds(int(time.time() * 1000))
    device = "all stations" if multi else stations[0].device
    lat = [v for s in stations for v in (s.position.lat_min, s.position.lat_max)]
    lon = [v for s in stations for v in (s.position.lon_min, s.position.lon_max)]
    command = "blueranch export netcdf --site {} --from {} --to {}{}".format(
        selection.site,
        iso_seconds(selection.start_ms),
        iso_seconds(selection.end_ms),
        " --multi-station" if multi else f" --device {device}",
    )
    a: dict[str, str | float] = {
        "Conventions": CONVENTIONS,
        "featureType": "timeSeries",
        "cdm_data_type": "Station",
        "title": config.title.format(site=selection.site, device=device),
        "summary": config.summary,
        "keywords": ", ".join(config.keywords),
        "id": _dataset_id(selection, None if multi else device),
        "institution": config.institution,
        "project": config.project,
        "license": config.license,
        "references": config.references,
        "acknowledgement": config.acknowledgement,
        "comment": config.comment,
        "standard_name_vocabulary": f"CF Standard Name Table v{CF_STANDARD_NAME_TABLE_VERSION}",
        "source": f"In-situ sensors read by BlueRanch edge agents, written to InfluxDB by the BlueRanch ingest; "
        f"exported by blueranch {__version__}",
        "processing_level": "Values as measured by the sensors, with the QARTOD flags of the edge agents; "
        "not corrected, averaged or gap-filled",
        "history": f"{now} {command} (blueranch {__version__})",
        "date_created": now,
        "date_modified": now,
        "date_issued": now,
        "date_metadata_modified": now,
        "product_version": __version__,
        "platform": "platform",
        "platform_vocabulary": PLATFORM_VOCABULARY,
        "platform_name": device,
        "geospatial_lat_min": min(lat),
        "geospatial_lat_max": max(lat),
        "geospatial_lat_units": "degrees_north",
        "geospatial_lon_min": min(lon),
        "geospatial_lon_max": max(lon),
        "geospatial_lon_units": "degrees_east",
        "geospatial_bounds_crs": "EPSG:4326",
        "geospatial_bounds": _bounds(stations),
        "blueranch_site": selection.site,
    }
    if not multi:
        a["platform_id"] = platform_id(device)
    depths = [s.depth_m for s in stations]
    if all(d is not None for d in depths):
        a.update(
            geospatial_vertical_min=float(min(depths)),
            geospatial_vertical_max=float(max(depths)),
            geospatial_vertical_units="m",
            geospatial_vertical_positive="down",
            geospatial_bounds_vertical_crs="EPSG:5831",  # instantaneous depth below sea level
        )
    optional = {
        "naming_authority": config.naming_authority,
        "infoUrl": config.info_url,
        "metadata_link": config.info_url,
        "program": config.program,
        "instrument": config.instrument,
        "instrument_vocabulary": config.instrument_vocabulary if config.instrument else None,
    }
    a.update({k: v for k, v in optional.items() if v is not None})
    for prefix, party in (("creator", config.creator), ("publisher", config.publisher)):
        if party is not None:
            a.update({f"{prefix}_{k}": v for k, v in party.model_dump().items() if v is not None})
    if config.contributor is not None:
        c = config.contributor
        a.update(contributor_name=c.name, contributor_role=c.role, contributor_role_vocabulary=ROLE_VOCABULARY)
        a.update({f"contributor_{k}": v for k, v in (("email", c.email), ("url", c.url)) if v is not None})
    return a


def coverage(first_ms: int, last_ms: int, spacing_ms: int | None) -> dict[str, str]:
    """The ACDD time coverage of the readings written; ``spacing_ms`` is the typical time between readings."""
    out = {
        "time_coverage_start": iso_seconds(first_ms),
        "time_coverage_end": iso_seconds(last_ms),
        "time_coverage_duration": iso_duration(last_ms - first_ms),
    }
    if spacing_ms:
        out["time_coverage_resolution"] = iso_duration(spacing_ms)
    return out


def _dataset_id(selection: Selection, device: str | None) -> str:
    from blueranch.export.times import file_stamp

    parts = [selection.site, device or "stations", file_stamp(selection.start_ms), file_stamp(selection.end_ms)]
    return "_".join(parts)


def file_name(selection: Selection, device: str | None, suffix: str) -> str:
    """``{site}_{device}_{from}_{to}{suffix}`` (``stations`` for a multi-station file)."""
    return _dataset_id(selection, device) + suffix


def _bounds(stations: list[Station]) -> str:
    """WKT of the positions (EPSG:4326 axis order: latitude, longitude)."""
    lats = sorted({s.position.lat_min for s in stations} | {s.position.lat_max for s in stations})
    lons = sorted({s.position.lon_min for s in stations} | {s.position.lon_max for s in stations})
    if len(lats) == 1 and len(lons) == 1:
        return f"POINT ({lats[0]} {lons[0]})"
    s, n, w, e = lats[0], lats[-1], lons[0], lons[-1]
    return f"POLYGON (({s} {w}, {n} {w}, {n} {e}, {s} {e}, {s} {w}))"


def platform_attributes(config: ExportConfig, device: str) -> dict[str, str]:
    """The IOOS platform variable's attributes (its ``ioos_code`` is a station URN of the naming authority)."""
    authority = config.naming_authority or "blueranch"
    return {
        "long_name": f"{device} ({config.institution})",
        "short_name": device,
        "ioos_code": f"urn:ioos:station:{authority}:{platform_id(device)}",
        "type": config.platform,
        "comment": f"BlueRanch device {device}",
    }


def variable_attributes(
    col: Column, config: ExportConfig, coordinates: str, multi: bool
) -> tuple[dict[str, object], dict[str, object]]:
    """The attributes of a data variable and of its flag variable (``<name>_qc``)."""
    q = col.quantity
    long_name = q.description + ("" if col.name == q.name else f" (sensor {col.sensor})")
    data: dict[str, object] = {
        "_FillValue": FILL_VALUE,
        "missing_value": FILL_VALUE,
        "long_name": long_name,
        "units": q.cf_units,
    }
    if q.standard_name:
        data["standard_name"] = q.standard_name
        data["standard_name_url"] = STANDARD_NAME_URL.format(q.standard_name)
    if q.standard_name == "depth":  # CF 4.3: a vertical coordinate says which way is positive; depth grows down
        data["positive"] = "down"
    if q.name == REFERENCE_TEMPERATURE[0]:
        coordinates += " " + REFERENCE_TEMPERATURE[1]
    data.update(
        {
            "valid_min": float(q.gross_min),
            "valid_max": float(q.gross_max),
            "coordinates": coordinates,
            "ancillary_variables": col.name + "_qc",
            "platform": "platform",
            "coverage_content_type": "physicalMeasurement",
            "blueranch_quantity": q.name,
            "blueranch_unit": q.unit,
        }
    )
    if not multi:
        data["blueranch_sensor"] = col.sensor
    meta = config.variables.get(q.name)
    if meta is not None:
        data.update({k: v for k, v in meta.model_dump().items() if v is not None})
    flag = {
        "standard_name": "aggregate_quality_flag",
        "long_name": f"QARTOD aggregate flag of {col.name}",
        "flag_values": np.array([int(f) for f in FLAG_MEANINGS], dtype=np.int8),
        "flag_meanings": " ".join(FLAG_MEANINGS.values()),
        "references": QARTOD_REFERENCE,
        "coordinates": coordinates,
        "coverage_content_type": "qualityInformation",
        "comment": "Set by the edge agent's QARTOD checks (blueranch edge QC); MISSING where the station has "
        "no reading of the variable at that time",
    }
    return data, flag
