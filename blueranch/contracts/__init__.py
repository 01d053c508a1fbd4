"""The platform's contracts. Every package imports them from here; nothing restates them.

- :mod:`blueranch.contracts.quantities`: what can be measured, its unit and its InfluxDB home.
- :mod:`blueranch.contracts.mqtt`: topic scheme and payload schema (``v1``).
- :mod:`blueranch.contracts.influx`: measurements, tags, fields and retention policies.
- :mod:`blueranch.contracts.errors`: the error every validation raises (field, value, rule).
"""
