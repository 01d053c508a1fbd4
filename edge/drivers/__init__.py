"""Driver registry: one module per driver, registered by name (as Telegraf's plugins are)."""

from __future__ import annotations

from typing import Callable

REGISTRY: dict[str, type] = {}


def register(name: str) -> Callable[[type], type]:
    def deco(cls: type) -> type:
        if name in REGISTRY:
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


def load_all() -> None:
    """Import every driver module so that each registers itself."""
    from edge.drivers import sdi12  # noqa: F401
