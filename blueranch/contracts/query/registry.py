"""Where the platform's queries are found again: the registry behind the storage compatibility gate.

- Stored queries: every query rendered for storage (:attr:`Query.text <blueranch.contracts.query.Query.text>`,
  what a generated dashboard, variable, annotation or alert rule carries) is kept here by its text, so a
  stored text can be rendered again in another :class:`~blueranch.contracts.query.naming.Naming`
  (:func:`source_of`): the dashboards' queries run in the ``db/rp`` naming without a second build.
- Queries run: while a :class:`Recorder` is installed (:func:`recording`), :class:`blueranch.reader.Reader`
  records each query it runs under the module that ran it, one per shape (the text with its times masked),
  so a test can run the workers', the demo's and the dashboards' reads and list every query they make.
  Production installs none and pays nothing.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from blueranch.contracts.query.builder import Query

_STORED: dict[str, Query] = {}
#: Stored texts kept at most: a build's dashboards and rules hold a few hundred; ``str()`` of a query with
#: time bounds in a long-running process must not grow the registry without end (past the bound, texts
#: are not kept and :func:`source_of` returns None for them).
STORED_MAX = 10_000
_LOCK = threading.Lock()
_TIMES = re.compile(r"-?\d+ms\b")


def remember(text: str, query: Query) -> None:
    """Keep ``query`` as the source of its stored ``text``."""
    with _LOCK:
        if len(_STORED) < STORED_MAX:
            _STORED.setdefault(text, query)


def source_of(text: str) -> Query | None:
    """The query a stored text was rendered from (built in this process), or None."""
    return _STORED.get(text)


def shape(text: str) -> str:
    """``text`` with its epoch times masked: queries that differ only in their time bounds share a shape."""
    return _TIMES.sub("<t>ms", text)


@dataclass
class Run:
    module: str
    text: str
    database: str
    query: Query | None


@dataclass
class Recorder:
    """Every query run while installed, one per (module, shape)."""

    runs: dict[tuple[str, str], Run] = field(default_factory=dict)

    def record(self, module: str, text: str, database: str, query: Query | None) -> None:
        with _LOCK:
            self.runs.setdefault((module, shape(text)), Run(module, text, database, query))

    @property
    def modules(self) -> set[str]:
        return {m for m, _ in self.runs}


RECORDER: Recorder | None = None


@contextmanager
def recording() -> Iterator[Recorder]:
    """Install a :class:`Recorder` for the duration of the block."""
    global RECORDER
    previous, RECORDER = RECORDER, Recorder()
    try:
        yield RECORDER
    finally:
        RECORDER = previous
