"""``blueranch export``: the platform's readings as open ocean data (docs/export.md).

- :mod:`~blueranch.export.catalog`: what a selection (site, period, devices, quantities) holds: stations,
  their variables and positions;
- :mod:`~blueranch.export.frames`: a station's readings streamed in bounded pages;
- :mod:`~blueranch.export.netcdf`: CF 1.8 timeSeries NetCDF with ACDD 1.3 / IOOS 1.2 metadata
  (:mod:`~blueranch.export.metadata`) and QARTOD flag variables;
- :mod:`~blueranch.export.csvfile`: CSV for a spreadsheet;
- :mod:`~blueranch.export.erddap`: an ERDDAP ``datasets.xml`` fragment for the exported files;
- :mod:`~blueranch.export.config`: who made and publishes the data (the files' metadata).

It reads InfluxDB only through :class:`blueranch.reader.Reader` and positions devices without GPS from the
shore's registry (:mod:`blueranch.ingest.registry`), so it sits above the roles, beside ``deploy``.
"""
