"""Push the dashboards to a running Grafana through its HTTP API (grafana-client), idempotently.

For a Grafana that is not provisioned from files (a hosted or shared instance): one folder per
audience and language (created, or renamed back, under its stable uid), every dashboard saved with
``overwrite: true`` under its stable uid, so publishing twice leaves one copy of each, at a new
version, and each alert rule group written whole (``PUT`` of the group: rules keep their uids).
The data source the dashboards query must exist first (uid ``blueranch-influxdb`` unless
``--datasource-uid`` says otherwise); publish stops with a clear error if it does not.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import niquests
from grafana_client import GrafanaApi
from grafana_client.client import GrafanaClientError, GrafanaException

from blueranch.dashboards.alerting import api_rule_groups
from blueranch.dashboards.build import Audience, build_languages
from blueranch.dashboards.common import Settings
from blueranch.i18n import LANGUAGES, Language

log = logging.getLogger(__name__)
MESSAGE = "blueranch dashboards publish"


class PublishError(RuntimeError):
    """Grafana refused or could not be reached; the message names the URL, object and reason."""


def _ensure_folder(api: GrafanaApi, a: Audience) -> str:
    try:
        folder = api.folder.get_folder(a.folder_uid)
    except GrafanaClientError as exc:
        if exc.status_code != 404:
            raise
        api.folder.create_folder(a.folder_title, uid=a.folder_uid)
        log.info("created folder %s (%s)", a.folder_uid, a.folder_title)
        return "created"
    if folder.get("title") != a.folder_title:
        api.folder.update_folder(a.folder_uid, title=a.folder_title, overwrite=True)
        log.info("renamed folder %s to %s", a.folder_uid, a.folder_title)
        return "renamed"
    return "exists"


def publish(
    url: str,
    token: str,
    settings: Settings | None = None,
    timeout_s: float = 10.0,
    langs: Iterable[Language] = LANGUAGES,
) -> dict[str, Any]:
    """Create the folders and save every dashboard in each language; returns what was done per folder and
    dashboard."""
    s = settings or Settings()
    built = build_languages(s, langs)
    api = GrafanaApi.from_url(url, credential=token, timeout=timeout_s)
    step = f"data source {s.datasource_uid}"
    try:
        try:
            api.datasource.get_datasource_by_uid(s.datasource_uid)
        except GrafanaClientError as exc:
            if exc.status_code == 404:
                raise PublishError(
                    f"{url}: data source uid {s.datasource_uid!r} does not exist; provision "
                    "dashboards/provisioning/datasources/influxdb.yaml or pass --datasource-uid"
                ) from exc
            raise
        folders = {}
        for a in {a.folder_uid: a for a, _ in built}.values():
            step = f"folder {a.folder_uid}"
            folders[a.folder_uid] = _ensure_folder(api, a)
        saved = []
        for a, d in built:
            step = f"dashboard {d.uid}"
            r = api.dashboard.update_dashboard(
                {"dashboard": d.to_json(), "folderUid": a.folder_uid, "overwrite": True, "message": MESSAGE}
            )
            saved.append(
                {
                    "uid": d.uid,
                    "title": d.title,
                    "folder": a.folder_uid,
                    "status": r.get("status"),
                    "version": r.get("version"),
                    "url": r.get("url"),
                }
            )
            log.info("saved dashboard %s in %s (version %s)", d.uid, a.folder_uid, r.get("version"))
        groups = []
        for folder_uid, name, body in api_rule_groups(s):
            step = f"alert rule group {name}"
            api.alertingprovisioning.update_rule_group(folder_uid, name, body)
            groups.append({"group": name, "folder": folder_uid, "rules": [r["uid"] for r in body["rules"]]})
            log.info("saved alert rule group %s in %s (%d rules)", name, folder_uid, len(body["rules"]))
    except GrafanaException as exc:
        raise PublishError(f"{url}: {step}: Grafana answered {exc.status_code}: {exc.message}") from exc
    except niquests.exceptions.RequestException as exc:
        raise PublishError(f"{url}: {step}: Grafana unreachable: {exc}") from exc
    return {"grafana": url, "folders": folders, "dashboards": saved, "alert_rule_groups": groups}
