"""BlueRanch: marine ranch monitoring and a live island carbon budget.

This package holds what every role shares: the two contracts (:mod:`blueranch.contracts`), the
command-line entry point and the helpers that start real Mosquitto and InfluxDB processes.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("blueranch")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"
