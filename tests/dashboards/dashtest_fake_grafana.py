"""A tiny in-process fake of the Grafana HTTP API: just what ``dashboards publish`` calls.

Grafana cannot run on these machines (it runs in docker-compose only), so ``publish`` is tested
against this fake. It follows Grafana's documented answers: 401 without the bearer token, 404 for
an unknown folder or data source uid, 409 for a duplicate folder uid, 412 when saving a changed
dashboard without ``overwrite``, 400 for an unknown ``folderUid``; every save bumps the version. An
alert rule group ``PUT`` replaces the group (rules identified by uid).
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeGrafana:
    def __init__(self, token: str, datasources: tuple[str, ...] = ("blueranch-influxdb",), fail_saves: bool = False):
        self.token = token
        #: answer every dashboard save with 500, as a Grafana whose database is locked does
        self.fail_saves = fail_saves
        self.datasources = set(datasources)
        self.folders: dict[str, dict[str, Any]] = {}
        self.dashboards: dict[str, dict[str, Any]] = {}
        self.rule_groups: dict[tuple[str, str], dict[str, Any]] = {}
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeGrafana:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    # --- the API -------------------------------------------------------------------------------

    def handle(self, method: str, path: str, body: dict[str, Any] | None) -> tuple[int, Any]:
        if m := re.fullmatch(r"/api/datasources/uid/([\w-]+)", path):
            if method == "GET":
                if m[1] in self.datasources:
                    return 200, {"uid": m[1], "type": "influxdb", "name": "BlueRanch InfluxDB"}
                return 404, {"message": "Data source not found"}
        if m := re.fullmatch(r"/api/folders/([\w-]+)", path):
            folder = self.folders.get(m[1])
            if folder is None:
                return 404, {"message": "folder not found", "status": "not-found"}
            if method == "GET":
                return 200, folder
            if method == "PUT":
                if not body.get("overwrite") and body.get("version") != folder["version"]:
                    return 412, {"message": "the folder has been changed by someone else"}
                folder.update(title=body.get("title", folder["title"]), version=folder["version"] + 1)
                return 200, folder
        if path == "/api/folders" and method == "POST":
            uid = body.get("uid")
            if uid in self.folders:
                return 409, {"message": "a folder with the same uid already exists"}
            self.folders[uid] = {"id": len(self.folders) + 1, "uid": uid, "title": body["title"], "version": 1}
            return 200, self.folders[uid]
        if path == "/api/dashboards/db" and method == "POST":
            if self.fail_saves:
                return 500, {"message": "Failed to save dashboard", "error": "database is locked"}
            return self._save(body)
        if (m := re.fullmatch(r"/api/v1/provisioning/folder/([\w-]+)/rule-groups/([\w-]+)", path)) and method == "PUT":
            if m[1] not in self.folders:
                return 404, {"message": "folder does not exist"}
            uids = [r.get("uid") for r in body["rules"]]
            if not all(uids) or len(set(uids)) != len(uids) or body["title"] != m[2]:
                return 400, {"message": "invalid rule group: every rule needs a unique uid; title = group"}
            if any(r["folderUID"] != m[1] or r["ruleGroup"] != m[2] for r in body["rules"]):
                return 400, {"message": "rules must name the folder and group they are in"}
            self.rule_groups[(m[1], m[2])] = body
            return 200, body
        if (m := re.fullmatch(r"/api/dashboards/uid/([\w-]+)", path)) and method == "GET":
            d = self.dashboards.get(m[1])
            if d is None:
                return 404, {"message": "Dashboard not found"}
            return 200, {"dashboard": d["dashboard"], "meta": {"folderUid": d["folderUid"]}}
        return 404, {"message": f"fake Grafana: no route {method} {path}"}

    def _save(self, body: dict[str, Any]) -> tuple[int, Any]:
        d, folder_uid = body["dashboard"], body.get("folderUid")
        if folder_uid not in self.folders:
            return 400, {"message": "folder not found", "status": "folder-not-found"}
        if not d.get("uid") or not d.get("title"):
            return 400, {"message": "Dashboard title and uid are required"}
        old = self.dashboards.get(d["uid"])
        version = 1
        if old is not None:
            if not body.get("overwrite") and d.get("version") != old["dashboard"]["version"]:
                return 412, {"message": "The dashboard has been changed by someone else", "status": "version-mismatch"}
            version = old["dashboard"]["version"] + 1
        stored = {**d, "version": version, "id": old["dashboard"]["id"] if old else len(self.dashboards) + 1}
        self.dashboards[d["uid"]] = {"dashboard": stored, "folderUid": folder_uid, "message": body.get("message")}
        return 200, {
            "id": stored["id"],
            "uid": d["uid"],
            "url": f"/d/{d['uid']}/x",
            "status": "success",
            "version": version,
            "slug": "x",
        }

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep pytest output quiet
                pass

            def _serve(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                with fake._lock:
                    fake.requests.append((method, self.path))
                    if self.headers.get("Authorization") != f"Bearer {fake.token}":
                        status, payload = 401, {"message": "Unauthorized"}
                    else:
                        status, payload = fake.handle(method, self.path.split("?")[0], json.loads(raw) if raw else None)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def do_PUT(self) -> None:
                self._serve("PUT")

        return Handler
