"""Driver registry: one module per driver, registered by name (as Telegraf's plugins are).

Each driver module defines ``Config`` (its typed sensor config, ``driver: Literal[name]``), ``SAMPLE``
(a commented YAML snippet that validates) and the driver class (a
:class:`blueranch.edge.drivers.base.DriverBase`), decorated with :func:`register`. What a driver supports
beyond reading (probing, raw commands) it declares by implementing the optional hooks of ``DriverBase``.
"""

from __future__ import annotations

from collections.abc import Callable

from blueranch.edge.drivers.base import DriverBase, supports

REGISTRY: dict[str, type[DriverBase]] = {}
#: every driver module (module name = driver name); a test checks each is registered and has a sample config
#: that validates. The order is also the order ``edge probe --protocol auto`` tries the drivers that can probe:
#: SDI-12 first (it only answers when asked), then listening for NMEA talkers, then scanning Modbus ids.
MODULES = ("sdi12", "nmea0183", "modbus_rtu", "mqtt_node")


def register(name: str) -> Callable[[type[DriverBase]], type[DriverBase]]:
    def deco(cls: type[DriverBase]) -> type[DriverBase]:
        if not issubclass(cls, DriverBase):
            raise TypeError(f"driver {name!r}: {cls.__name__} must subclass DriverBase")
        if name in REGISTRY and REGISTRY[name] is not cls:
            raise ValueError(f"driver {name!r} registered twice")
        REGISTRY[name] = cls
        cls.name = name
        return cls

    return deco


def get(name: str) -> type[DriverBase]:
    load_all()
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown driver {name!r}; known: {', '.join(sorted(REGISTRY))}") from None


def load_all() -> dict[str, type[DriverBase]]:
    """Import every driver module so that each registers itself; the drivers in :data:`MODULES` order."""
    import importlib

    for module in MODULES:
        importlib.import_module(f"blueranch.edge.drivers.{module}")
    return {name: REGISTRY[name] for name in MODULES if name in REGISTRY} | REGISTRY


def supporting(hook: str) -> dict[str, type[DriverBase]]:
    """The drivers that implement an optional hook (``probe``, ``raw``), in :data:`MODULES` order."""
    return {name: cls for name, cls in load_all().items() if supports(cls, hook)}
