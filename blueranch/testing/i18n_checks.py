"""Checks of a gettext catalogue against the messages its domain asks for (the tests of every domain).

One line per problem, in every language but the source: a message without a translation (absent, empty or
fuzzy), an entry no longer asked for, a translation that lost or gained a ``{field}``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from blueranch import i18n

_FIELD = re.compile(r"\{\w+\}")


def catalogue_problems(domain: str, messages: Iterable[str]) -> list[str]:
    asked = list(messages)
    out: list[str] = []
    for lang in i18n.LANGUAGES:
        if lang == i18n.SOURCE_LANGUAGE:
            continue
        out += [f"{lang}: not translated: {m}" for m in i18n.missing(domain, lang, asked)]
        out += [f"{lang}: no longer used: {m}" for m in i18n.unused(domain, lang, asked)]
        tr = i18n.translations(domain, lang)
        out += [
            f"{lang}: fields differ: {m}"
            for m in asked
            if sorted(_FIELD.findall(tr.gettext(m))) != sorted(_FIELD.findall(m))
        ]
    return out
