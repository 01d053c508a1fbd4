"""The dashboards per audience and language, and writing them as the JSON files Grafana provisions.

One folder per audience (operators, technicians, town government) and language; the folder uids and
dashboard uids are stable (English keeps the first release's, another language adds ``-<lang>``), so
provisioning and ``publish`` overwrite in place instead of duplicating.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from blueranch.dashboards import carbon_budget, farm_operations, fleet_health
from blueranch.dashboards.common import Settings, localised_uid
from blueranch.dashboards.model import Dashboard
from blueranch.i18n import LANGUAGES, SOURCE_LANGUAGE, Language, Translator


@dataclass(frozen=True)
class Audience:
    key: str  # sub-folder of a language's build directory, and provisioning provider name
    lang: Language
    folder_uid: str
    folder_title: str
    builders: tuple[Callable[[Settings], Dashboard], ...]


#: (key, folder uid, folder title in English, builders)
_AUDIENCES = (
    ("operators", "blueranch-operators", "BlueRanch - Farm operators", (farm_operations.build,)),
    ("technicians", "blueranch-technicians", "BlueRanch - Field technicians", (fleet_health.build,)),
    ("government", "blueranch-government", "BlueRanch - Town government", (carbon_budget.build,)),
)


def audiences(lang: Language = SOURCE_LANGUAGE, tr: Translator | None = None) -> tuple[Audience, ...]:
    """The audience folders in ``lang`` (``tr`` records the folder titles it translates)."""
    tr = tr or Settings(lang=lang).tr
    return tuple(Audience(key, lang, localised_uid(uid, lang), tr(title), b) for key, uid, title, b in _AUDIENCES)


#: The English folders; Grafana's alert rules live there.
AUDIENCES: tuple[Audience, ...] = audiences()


def build_all(settings: Settings | None = None) -> list[tuple[Audience, Dashboard]]:
    """Every dashboard in ``settings.lang``, with its audience folder."""
    s = settings or Settings()
    return [(a, build(s)) for a in audiences(s.lang, s.tr) for build in a.builders]


def build_languages(
    settings: Settings | None = None, langs: Iterable[Language] = LANGUAGES
) -> list[tuple[Audience, Dashboard]]:
    """Every dashboard in each of ``langs`` (the same queries, but for their series names)."""
    base = settings or Settings()
    return [item for lang in langs for item in build_all(base.in_language(lang))]


def render(d: Dashboard) -> str:
    """The file content: stable key order and a final newline, so a rebuild is byte-identical."""
    return json.dumps(d.to_json(), indent=2, ensure_ascii=False) + "\n"


def write(out_dir: Path, settings: Settings | None = None, langs: Iterable[Language] = LANGUAGES) -> list[Path]:
    """Write ``OUT/<lang>/<audience>/<uid>.json`` for every dashboard in each language; stale ``*.json`` in
    those folders go."""
    built = build_languages(settings, langs)
    for folder in {out_dir / a.lang / a.key for a, _ in built}:
        folder.mkdir(parents=True, exist_ok=True)
        keep = {f"{d.uid}.json" for a, d in built if out_dir / a.lang / a.key == folder}
        for stale in folder.glob("*.json"):
            if stale.name not in keep:
                stale.unlink()
    written: list[Path] = []
    for audience, d in built:
        path = out_dir / audience.lang / audience.key / f"{d.uid}.json"
        path.write_text(render(d), encoding="utf-8")
        written.append(path)
    return written
