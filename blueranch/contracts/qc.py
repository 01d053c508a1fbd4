"""QARTOD quality flags: the one definition every package uses (the payload's ``qc``, the ``*_qc`` fields).

Values as in the U.S. IOOS QARTOD manuals and ioos_qc: 1 good, 2 not evaluated, 3 suspect, 4 fail, 9 missing.
"""

from __future__ import annotations

from enum import IntEnum


class QcFlag(IntEnum):
    GOOD = 1
    NOT_EVALUATED = 2
    SUSPECT = 3
    FAIL = 4
    MISSING = 9
