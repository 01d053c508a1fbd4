"""What the platform measures: one row per quantity, with its unit and the measurement it lands in.

A quantity's name is also its InfluxDB field name, and carries its unit (``do_mg_l``), as the style
guide asks. A telemetry sample must give exactly the unit listed here; the ingest rejects others
rather than guess a conversion. ``gross_min``/``gross_max`` are sensor-agnostic physical limits used
as the widest QARTOD gross-range test and by the contract to reject impossible values; narrower,
per-sensor ranges live in the edge QC config.

``standard_name`` and ``cf_units`` are what an open-data export (``blueranch export``, docs/export.md)
writes: the quantity's CF standard name (None where the CF table has no name for it) and its unit spelled
for UDUNITS, as CF ``units`` attributes carry it. The values are exported as measured, in ``unit``, so
``cf_units`` names the same unit (``mg/L`` -> ``mg L-1``) and only has to be convertible to the standard
name's canonical unit (``mg L-1`` to ``kg m-3``). The names were checked against the CF Standard Name
Table version 93 (CEDA, 2026-03-17; the copy bundled with the IOOS compliance-checker 6.1);
``tests/export/test_quantities_cf.py`` checks every name and unit against the table the installed checker
bundles. Where the table describes a quantity in words rather than a unit, ``cf_units`` follows it:
practical salinity, pH and turbidity (NTU) are dimensionless (``1``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Quantity:
    name: str
    unit: str
    measurement: str
    description: str
    gross_min: float
    gross_max: float
    #: CF standard name (CF Standard Name Table), or None where the table has none for the quantity
    standard_name: str | None
    #: ``unit`` in UDUNITS spelling: the CF ``units`` attribute of an exported variable
    cf_units: str
    #: True for counters that only grow (meters); the carbon worker takes differences.
    cumulative: bool = False


#: The version of the CF Standard Name Table the standard names were checked against.
CF_STANDARD_NAME_TABLE_VERSION = 93

_Q = Quantity

QUANTITIES: dict[str, Quantity] = {
    q.name: q
    for q in [
        # Water quality (sondes: YSI EXO, In-Situ Aqua TROLL).
        _Q("temp_c", "degC", "water_quality", "Water temperature", -5, 45, "sea_water_temperature", "degree_Celsius"),
        _Q(
            "sp_cond_us_cm",
            "uS/cm",
            "water_quality",
            "Specific conductance at 25 degC",
            0,
            100_000,
            "sea_water_electrical_conductivity_at_reference_temperature",
            "uS cm-1",
        ),
        _Q("salinity_psu", "PSU", "water_quality", "Practical salinity", 0, 50, "sea_water_practical_salinity", "1"),
        _Q("depth_m", "m", "water_quality", "Sensor depth below surface", -1, 200, "depth", "m"),
        _Q(
            "do_mg_l",
            "mg/L",
            "water_quality",
            "Dissolved oxygen concentration",
            0,
            30,
            "mass_concentration_of_oxygen_in_sea_water",
            "mg L-1",
        ),
        _Q(
            "do_sat_pct",
            "%",
            "water_quality",
            "Dissolved oxygen saturation",
            0,
            300,
            "fractional_saturation_of_oxygen_in_sea_water",
            "percent",
        ),
        _Q("ph", "pH", "water_quality", "pH (total scale)", 0, 14, "sea_water_ph_reported_on_total_scale", "1"),
        _Q(
            "chl_ug_l",
            "ug/L",
            "water_quality",
            "Chlorophyll a (fluorescence)",
            0,
            500,
            "mass_concentration_of_chlorophyll_a_in_sea_water",
            "ug L-1",
        ),
        _Q("turbidity_ntu", "NTU", "water_quality", "Turbidity", 0, 4000, "sea_water_turbidity", "1"),
        _Q("orp_mv", "mV", "water_quality", "Oxidation-reduction potential", -1000, 1000, None, "mV"),
        # Weather and sea state (NMEA 0183 weather stations, wave sensors).
        _Q("wind_speed_m_s", "m/s", "weather", "Wind speed", 0, 90, "wind_speed", "m s-1"),
        _Q("wind_dir_deg", "deg", "weather", "Wind direction (from, true)", 0, 360, "wind_from_direction", "degree"),
        _Q("air_pressure_hpa", "hPa", "weather", "Barometric pressure", 850, 1100, "air_pressure", "hPa"),
        _Q("air_temp_c", "degC", "weather", "Air temperature", -40, 60, "air_temperature", "degree_Celsius"),
        _Q(
            "wave_height_m",
            "m",
            "weather",
            "Significant wave height",
            0,
            30,
            "sea_surface_wave_significant_height",
            "m",
        ),
        # Position (NMEA GGA/RMC). Latitude and longitude also come as the payload's position.
        _Q("lat_deg", "deg", "position", "Latitude, WGS84", -90, 90, "latitude", "degree_north"),
        _Q("lon_deg", "deg", "position", "Longitude, WGS84", -180, 180, "longitude", "degree_east"),
        _Q("speed_kn", "kn", "position", "Speed over ground", 0, 100, "platform_speed_wrt_ground", "knot"),
        _Q("course_deg", "deg", "position", "Course over ground", 0, 360, "platform_course", "degree"),
        _Q("gps_sats", "count", "position", "Satellites in use", 0, 64, None, "1"),
        _Q("hdop", "1", "position", "Horizontal dilution of precision", 0, 100, None, "1"),
        # Biomass: load cells on longline droppers and kelp raft lines (Modbus RTU).
        _Q("load_kg", "kg", "biomass_load", "Submerged load on a line", -1000, 100_000, None, "kg"),
        # Island energy (Modbus RTU meters). Counters: the carbon worker differences them.
        _Q("grid_kwh_total", "kWh", "energy", "Grid energy imported (meter register)", 0, 1e12, None, "kW h", True),
        _Q("diesel_l_total", "L", "energy", "Diesel burned (flow meter register)", 0, 1e12, None, "L", True),
        _Q("power_kw", "kW", "energy", "Instantaneous power", -1e6, 1e6, None, "kW"),
        # Artificial reef monitor (echosounder and camera fish counter over LoRa/MQTT).
        _Q("fish_density_m3", "1/m3", "reef", "Echosounder fish density", 0, 10_000, None, "m-3"),
        _Q(
            "nasc_m2_nmi2",
            "m2/nmi2",
            "reef",
            "Nautical area scattering coefficient",
            0,
            1e7,
            None,
            "m2 nautical_mile-2",
        ),
        _Q("fish_count", "count", "reef", "Fish counted by camera in the interval", 0, 1e6, None, "1"),
        _Q("fish_length_cm", "cm", "reef", "Mean fish length seen by camera", 0, 300, None, "cm"),
        # Device health and housekeeping.
        _Q("battery_v", "V", "device_health", "Battery voltage", 0, 60, None, "V"),
        _Q("solar_a", "A", "device_health", "Solar charge current", -5, 50, None, "A"),
        _Q("enclosure_rh_pct", "%", "device_health", "Enclosure relative humidity", 0, 100, None, "percent"),
        _Q("rssi_dbm", "dBm", "device_health", "Modem signal strength", -150, 0, None, "dBm"),
        _Q("buffer_depth", "count", "device_health", "Readings waiting in the edge buffer", 0, 1e9, None, "1"),
        _Q(
            "buffer_dropped_total",
            "count",
            "device_health",
            "Readings evicted from the edge buffer",
            0,
            1e12,
            None,
            "1",
            True,
        ),
        _Q("uptime_s", "s", "device_health", "Seconds since the agent started", 0, 1e10, None, "s"),
    ]
}


def quantity(name: str) -> Quantity:
    """Look a quantity up; an unknown name is an error that lists the known ones."""
    try:
        return QUANTITIES[name]
    except KeyError:
        raise KeyError(f"unknown quantity {name!r}; known: {', '.join(sorted(QUANTITIES))}") from None
