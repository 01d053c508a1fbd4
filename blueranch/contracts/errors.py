"""Validation errors that name the field, the value and the rule that was broken."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

_MAX_VALUE_REPR = 80


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_VALUE_REPR else text[: _MAX_VALUE_REPR - 3] + "..."


#: The ``value`` of a :class:`Violation` about a place rather than a value (a file that is not valid JSON).
NO_VALUE: Any = type("NoValue", (), {"__repr__": lambda self: "NO_VALUE"})()


@dataclass(frozen=True)
class Violation:
    """One broken rule: ``field`` is a dotted path (``samples[3].value``)."""

    field: str
    value: Any
    rule: str

    def __str__(self) -> str:
        if self.value is NO_VALUE:
            return f"{self.field}: {self.rule}"
        return f"{self.field}: {_short(self.value)} {self.rule}"


class ContractError(ValueError):
    """Raised when a topic, payload or point breaks a contract.

    ``reason`` is a short, bounded identifier (it becomes an InfluxDB tag on ``ingest_errors``);
    ``violations`` says precisely what was wrong.
    """

    def __init__(self, reason: str, violations: Iterable[Violation]):
        self.reason = reason
        self.violations = list(violations)
        super().__init__("; ".join(str(v) for v in self.violations) or reason)

    @classmethod
    def single(cls, reason: str, field: str, value: Any, rule: str) -> ContractError:
        return cls(reason, [Violation(field, value, rule)])


def dotted_path(loc: tuple[Any, ...]) -> str:
    """Turn a pydantic location ``('samples', 3, 'value')`` into ``samples[3].value``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(root)"


def from_pydantic(reason: str, exc: ValidationError) -> ContractError:
    violations = []
    for err in exc.errors(include_url=False):
        rule = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            rule = "is not a known field (unknown keys are errors)"
        elif err["type"] == "missing":
            rule = "is required"
        elif err["type"] == "string_pattern_mismatch":
            pattern = (err.get("ctx") or {}).get("pattern", "")
            rule = f"must match {pattern} (letters, digits, _ - .; no wildcards, '/', spaces or controls)"
        violations.append(Violation(dotted_path(err["loc"]), err.get("input"), rule))
    return ContractError(reason, violations)
