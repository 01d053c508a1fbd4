"""Driver registry: one module per driver, registered by name (as Telegraf's plugins are).

Each driver module defines ``Config`` (its typed sensor config, ``driver: Literal[name]``), ``SAMPLE``
(a commented YAML snippet that validates) and the driver class, decorated with :func:`register`.
"""

from __future__ import annotations

from collections.abc import Callable

REGISTRY: dict[str, type] = {}
#: every driver module; a test checks each is registered and has a sample config that validates
MODULES = ("sdi12", "nmea0183", "modbus_rtu", "mqtt_node")


def register(name: str) -> Callable[[type], type]:
    def deco(cls: type) -> type:
        if name in REGISTRY and REGISTRY[name] is not cls:
            raise ValueError(f"driver {name!r} registered twice")
        REGISTRY[name] = cls
        cls.name = name
        return cls

    return deco


def get(name: str) -> type:
    load_all()
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown driver {name!r}; known: {', '.join(sorted(REGISTRY))}") from None


def load_all() -> dict[str, type]:
    """Import every driver module so that each registers itself."""
    import importlib

    for module in MODULES:
        importlib.import_module(f"blueranch.edge.drivers.{module}")
    return REGISTRY
