"""The dashboards in Chinese: every message translated, nothing left in English, the catalogue in step.

The messages are those the English build asks for (``blueranch.dashboards.i18n.messages``); the Chinese
catalogue is ``blueranch/locale/zh/LC_MESSAGES/dashboards.po``.
"""

from __future__ import annotations

import re
import shutil

import pytest

from blueranch import i18n
from blueranch.dashboards.build import build_languages
from blueranch.dashboards.common import DOMAIN
from blueranch.dashboards.i18n import messages
from blueranch.testing.i18n_checks import catalogue_problems

MESSAGES = messages()
_CJK = re.compile(r"[\u4e00-\u9fff]")
UPDATE = "run `.venv/bin/python -m blueranch.dashboards.i18n`, then translate"


def test_the_chinese_catalogue_translates_every_message_and_keeps_its_fields():
    assert len(MESSAGES) > 100
    problems = catalogue_problems(DOMAIN, MESSAGES)
    assert not problems, f"{len(problems)} problems ({UPDATE}):\n" + "\n".join(problems)


def _texts(d: dict) -> list[str]:
    """What a reader sees: the dashboard's, panels', variables' and annotations' names and descriptions."""
    out = [d["title"], d["description"]]
    for p in d["panels"]:
        out += [p["title"], p["description"]]
    for v in d["templating"]["list"]:
        out += [v["label"], v["description"]]
    out += [a["name"] for a in d["annotations"]["list"]]
    return [t for t in out if t]


@pytest.mark.parametrize("lang", ["zh"])
def test_nothing_is_left_in_english(lang):
    built = [(a, d.to_json()) for a, d in build_languages(langs=[lang])]
    assert built
    for a, d in built:
        assert _CJK.search(a.folder_title), a.folder_title
        english = [t for t in _texts(d) if not _CJK.search(t)]
        assert not english, f"{d['uid']}: {english}"


def test_english_is_the_source_text():
    tr = i18n.Translator(DOMAIN, "en")
    assert (
        tr("Wind speed") == "Wind speed" and tr("{quantity} per farm and buoy", quantity="pH") == "pH per farm and buoy"
    )
    assert list(tr.asked) == ["Wind speed", "{quantity} per farm and buoy"]
    with pytest.raises(ValueError, match="'fr' is not one of"):
        i18n.translations(DOMAIN, "fr")


def test_update_adds_new_messages_untranslated_and_is_deterministic(tmp_path, monkeypatch):
    copy = tmp_path / "dashboards.po"
    shutil.copy2(i18n.catalogue_path(DOMAIN, "zh"), copy)
    monkeypatch.setattr(i18n, "catalogue_path", lambda domain, lang: copy)
    before = copy.read_bytes()
    assert i18n.update_catalogue(DOMAIN, "zh", MESSAGES) == (0, 0)
    assert copy.read_bytes() == before, "an update without changes rewrote the catalogue"
    assert i18n.update_catalogue(DOMAIN, "zh", [*MESSAGES[1:], "A new panel"]) == (1, 1)
    assert i18n.missing(DOMAIN, "zh", ["A new panel", MESSAGES[0], MESSAGES[2]]) == ["A new panel", MESSAGES[0]]
