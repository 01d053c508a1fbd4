"""``blueranch dashboards publish`` against a fake Grafana API: folders per audience, stable uids, idempotent."""

from __future__ import annotations

import json
import subprocess

import pytest
from dashtest_fake_grafana import FakeGrafana

from blueranch.dashboards.alerting import rules
from blueranch.dashboards.build import AUDIENCES, audiences, build_languages
from blueranch.dashboards.publish import PublishError, publish
from blueranch.i18n import LANGUAGES

TOKEN = "glsa_test-token"
#: The folders of every language; the alert rules live in the English ones (AUDIENCES).
FOLDERS = [a for lang in LANGUAGES for a in audiences(lang)]


def test_publish_puts_each_dashboard_in_its_audience_folder():
    with FakeGrafana(TOKEN) as g:
        report = publish(g.url, TOKEN)
        assert set(g.folders) == {a.folder_uid for a in FOLDERS}
        assert {f["title"] for f in g.folders.values()} == {a.folder_title for a in FOLDERS}
        expected = {d.uid: a.folder_uid for a, d in build_languages()}
        assert {uid: d["folderUid"] for uid, d in g.dashboards.items()} == expected
        for _, built in build_languages():
            stored = dict(g.dashboards[built.uid]["dashboard"])
            assert stored.pop("id") and stored == built.to_json()
        assert report["folders"] == {a.folder_uid: "created" for a in FOLDERS}
        provisioned = {r["uid"]: grp["folder"] for grp in rules()["groups"] for r in grp["rules"]}
        published = {r["uid"]: folder for (folder, _), grp in g.rule_groups.items() for r in grp["rules"]}
        titles = {a.folder_title: a.folder_uid for a in AUDIENCES}
        assert published == {uid: titles[folder] for uid, folder in provisioned.items()}
        assert all(d["status"] == "success" for d in report["dashboards"])


def test_publish_twice_overwrites_in_place():
    with FakeGrafana(TOKEN) as g:
        publish(g.url, TOKEN)
        g.folders["blueranch-operators"]["title"] = "renamed by hand"
        second = publish(g.url, TOKEN)
        assert len(g.dashboards) == len(build_languages())
        assert len(g.folders) == len(FOLDERS)
        assert {d["uid"]: d["version"] for d in second["dashboards"]} == {uid: 2 for uid in g.dashboards}
        assert second["folders"]["blueranch-operators"] == "renamed"
        assert second["folders"]["blueranch-government"] == "exists"
        assert sum(len(grp["rules"]) for grp in g.rule_groups.values()) == len(
            [r for grp in rules()["groups"] for r in grp["rules"]]
        )
        assert g.folders["blueranch-operators"]["title"] == AUDIENCES[0].folder_title


def test_wrong_token_is_a_clear_error():
    with FakeGrafana(TOKEN) as g:
        with pytest.raises(PublishError, match="401"):
            publish(g.url, "wrong")
        assert not g.dashboards


def test_missing_datasource_is_a_clear_error():
    with FakeGrafana(TOKEN, datasources=()) as g:
        with pytest.raises(PublishError, match="blueranch-influxdb.*does not exist"):
            publish(g.url, TOKEN)
        assert not g.folders


def test_a_grafana_server_error_names_the_dashboard():
    with FakeGrafana(TOKEN, fail_saves=True) as g:
        with pytest.raises(PublishError, match=r"dashboard blueranch-farm-operations: Grafana answered 500"):
            publish(g.url, TOKEN, timeout_s=5)


def test_unreachable_grafana_is_a_clear_error():
    with FakeGrafana(TOKEN) as g:
        url = g.url
    with pytest.raises(PublishError, match="unreachable"):
        publish(url, TOKEN, timeout_s=2)


def test_cli_reads_the_token_from_the_environment(blueranch_bin):
    with FakeGrafana(TOKEN) as g:
        env = {"PATH": "/usr/bin:/bin", "GRAFANA_TOKEN": TOKEN}
        out = subprocess.run(
            [blueranch_bin, "dashboards", "publish", "--grafana", g.url],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr
        assert {d["uid"] for d in json.loads(out.stdout)["dashboards"]} == set(g.dashboards)
        missing = subprocess.run(
            [blueranch_bin, "dashboards", "publish", "--grafana", g.url],
            env={"PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert missing.returncode == 2 and "GRAFANA_TOKEN" in missing.stderr
