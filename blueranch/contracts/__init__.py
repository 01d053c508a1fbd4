"""The platform's contracts. Every package imports them from here; nothing restates them.

- :mod:`blueranch.contracts.quantities`: what can be measured, its unit and its InfluxDB home.
- :mod:`blueranch.contracts.mqtt`: topic scheme and payload schema (``v1``).
- :mod:`blueranch.contracts.influx`: measurements, tags, fields and retention policies.
- :mod:`blueranch.contracts.query`: every InfluxQL query, built from the InfluxDB contract.
- :mod:`blueranch.contracts.errors`: the error every validation raises (field, value, rule).
- :mod:`blueranch.contracts.qc`: the QARTOD flags.
- :mod:`blueranch.contracts.strict`: the base of every typed config (unknown keys are errors).
"""
