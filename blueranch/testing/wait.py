"""Wait for a condition, not for a time: poll ``predicate`` until it is true or a deadline passes."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class Timeout(AssertionError):
    pass


def wait_until(
    predicate: Callable[[], T], timeout_s: float = 30.0, interval_s: float = 0.05, message: str = "condition"
) -> T:
    """Return the first truthy value of ``predicate()``; raise :class:`Timeout` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    last: T | None = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise Timeout(f"{message} not met within {timeout_s} s (last value: {last!r})")
        time.sleep(interval_s)
