"""Translations of what people read (the dashboards, the MRV report), from gettext catalogues.

English is the source language: a message id is the English text, and English needs no catalogue. Each
other language has one catalogue per domain (``dashboards``, ``carbon``, ...) in
``blueranch/locale/<lang>/LC_MESSAGES/<domain>.po``, read with Babel and compiled in memory when first
used (no compiled ``.mo`` is kept in the repository). A message missing from a catalogue, or still marked
fuzzy, falls back to English; the tests of each domain check that none is (``missing``), and
:func:`update_catalogue` adds new messages to a catalogue and drops unused ones.

Messages may hold ``str.format`` fields (``"Mean of {field}"``): :class:`Translator` fills them after
translating, so a translator moves the field, never concatenated pieces.
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Iterable
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal, get_args

Language = Literal["en", "zh"]
LANGUAGES: tuple[Language, ...] = get_args(Language)
SOURCE_LANGUAGE: Language = "en"
#: Babel locale of each language (number and date formats, the catalogue header).
LOCALES: dict[Language, str] = {"en": "en", "zh": "zh_Hans_CN"}


def catalogue_path(domain: str, lang: Language) -> Path:
    return Path(str(resources.files("blueranch") / "locale" / lang / "LC_MESSAGES" / f"{domain}.po"))


def _read(domain: str, lang: Language):
    from babel.messages.pofile import read_po

    path = catalogue_path(domain, lang)
    with path.open("rb") as f:
        return read_po(f, locale=LOCALES[lang], domain=domain)


@cache
def translations(domain: str, lang: Language) -> gettext.NullTranslations:
    """gettext translations of ``domain`` into ``lang`` (for Jinja2's ``install_gettext_translations`` too)."""
    if lang not in LANGUAGES:
        raise ValueError(f"language {lang!r} is not one of {LANGUAGES}")
    if lang == SOURCE_LANGUAGE:
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo

    buf = io.BytesIO()
    write_mo(buf, _read(domain, lang))  # fuzzy entries are left out, so they fall back to English
    buf.seek(0)
    return gettext.GNUTranslations(buf)


class Translator:
    """``tr("Wind speed")`` in one language; remembers every message it was asked for, in order."""

    def __init__(self, domain: str, lang: Language = SOURCE_LANGUAGE) -> None:
        self.domain, self.lang = domain, lang
        self._gettext = translations(domain, lang).gettext
        self.asked: dict[str, None] = {}

    def __call__(self, message: str, /, **fields: object) -> str:
        self.asked.setdefault(message)
        text = self._gettext(message)
        return text.format(**fields) if fields else text


def missing(domain: str, lang: Language, messages: Iterable[str]) -> list[str]:
    """The messages that ``lang``'s catalogue does not translate (absent, empty or fuzzy)."""
    catalogue = _read(domain, lang)
    out = []
    for m in messages:
        entry = catalogue.get(m)
        if entry is None or not entry.string or entry.fuzzy:
            out.append(m)
    return out


def unused(domain: str, lang: Language, messages: Iterable[str]) -> list[str]:
    """Catalogue entries no longer asked for."""
    asked = set(messages)
    return [e.id for e in _read(domain, lang) if e.id and e.id not in asked]


def update_catalogue(domain: str, lang: Language, messages: Iterable[str]) -> tuple[int, int]:
    """Make ``lang``'s catalogue hold exactly ``messages``, in that order: new ones untranslated, unused ones
    dropped, translations kept. Returns (added, dropped)."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po

    old = _read(domain, lang)
    new = Catalog(
        locale=LOCALES[lang],
        domain=domain,
        header_comment=old.header_comment,
        project="BlueRanch",
        version=domain,
        msgid_bugs_address="https://github.com/blueranch/blueranch/issues",
        last_translator="BlueRanch contributors",
        language_team="BlueRanch contributors",
        creation_date=old.creation_date,  # kept: no date that changes on every run
        revision_date=old.revision_date,
        fuzzy=False,
    )
    added = 0
    for m in dict.fromkeys(messages):
        entry = old.get(m)
        flags = ["python-brace-format"] if "{" in m else []
        if entry is None:
            added += 1
            new.add(m, "", flags=flags)
        else:
            new.add(
                m, entry.string, flags=[*flags, *(["fuzzy"] if entry.fuzzy else [])], user_comments=entry.user_comments
            )
    dropped = sum(1 for e in old if e.id and e.id not in new)
    with catalogue_path(domain, lang).open("wb") as f:
        write_po(f, new, width=0, omit_header=False, no_location=True)
    return added, dropped


def update_catalogues(domain: str, messages: Iterable[str]) -> list[str]:
    """:func:`update_catalogue` for every language but the source; one line per catalogue saying what changed
    and how many messages are left to translate (the ``python -m blueranch.<role>.i18n`` commands)."""
    asked = list(messages)
    lines = []
    for lang in LANGUAGES:
        if lang == SOURCE_LANGUAGE:
            continue
        added, dropped = update_catalogue(domain, lang, asked)
        todo = missing(domain, lang, asked)
        lines.append(
            f"{catalogue_path(domain, lang)}: {len(asked)} messages, {added} new, {dropped} dropped, "
            f"{len(todo)} to translate"
        )
    return lines
