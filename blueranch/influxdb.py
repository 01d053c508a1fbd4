"""A small client for the InfluxDB v1 HTTP API (``/ping``, ``/write``, ``/query``).

InfluxDB 1.x serves it natively; 2.x and 3.x serve it for compatibility, so everything the platform
does goes through these three endpoints. One :class:`requests.Session` keeps a connection pool.
Queries are built by :mod:`blueranch.contracts.query` and run by :class:`blueranch.reader.Reader`; the
client's :class:`~blueranch.contracts.query.naming.Naming` says how the server names retention policies.
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import requests

from blueranch.contracts.influx import PRECISION, RETENTION_POLICIES
from blueranch.contracts.query.naming import Naming, naming_from_env, retention_period


class InfluxError(RuntimeError):
    """InfluxDB answered with an error. ``status`` is the HTTP status (0 for a connection error)."""

    def __init__(self, status: int, message: str):
        self.status = status
        super().__init__(f"InfluxDB HTTP {status}: {message}" if status else f"InfluxDB unreachable: {message}")

    @property
    def retryable(self) -> bool:
        return self.status == 0 or self.status >= 500 or self.status == 429


class MissingDatabase(InfluxError):
    """The database or retention policy a write goes to does not exist (create it: ``blueranch deploy init-db``)."""

    def __init__(self, database: str, retention_policy: str | None, message: str):
        self.database, self.retention_policy = database, retention_policy
        where = f"database {database!r}" + (f" retention policy {retention_policy!r}" if retention_policy else "")
        super().__init__(404, f"{where} does not exist ({message.strip()}): create it with 'blueranch deploy init-db'")

    @property
    def retryable(self) -> bool:
        return False


@dataclass
class Series:
    name: str
    tags: dict[str, str]
    columns: list[str]
    values: list[list[Any]]

    def rows(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, v, strict=False)) for v in self.values]


class InfluxClient:
    def __init__(
        self,
        url: str,
        database: str,
        username: str | None = None,
        password: str | None = None,
        timeout_s: float = 10.0,
        pool_size: int = 4,
        naming: Naming | None = None,
    ):
        self.url = check_url(url).rstrip("/")
        self.database = database
        #: how the server names retention policies; by default what ``$BLUERANCH_INFLUX_NAMING`` says
        self.naming = naming_from_env() if naming is None else naming
        self.timeout_s = timeout_s
        self.session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=pool_size)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        if username:
            # HTTP Basic: InfluxDB 1.x reads u/p only from the URL, not from a POST body, and a URL ends up in
            # logs and exception messages; a header does not.
            self.session.auth = (username, password or "")

    def close(self) -> None:
        self.session.close()

    def _unreachable(self, exc: requests.RequestException) -> InfluxError:
        """A connection error worded as the address and the reason (not urllib3's nested reprs)."""
        if isinstance(exc, requests.Timeout):
            return InfluxError(0, f"{self.url}: no answer within {self.timeout_s:g} s")
        m = _ERRNO.search(str(exc))
        return InfluxError(0, f"{self.url}: {m.group(0).strip() if m else str(exc)[:300]}")

    def ping(self) -> bool:
        try:
            return self.session.get(f"{self.url}/ping", timeout=self.timeout_s).status_code == 204
        except requests.RequestException:
            return False

    def server_version(self) -> str:
        """The server's version as ``/ping`` reports it (``1.6.7~rc0``, ``3.8.3``), ``""`` if it says none."""
        try:
            r = self.session.get(f"{self.url}/ping", timeout=self.timeout_s)
        except requests.RequestException as exc:
            raise self._unreachable(exc) from exc
        version = r.headers.get("X-Influxdb-Version", "")
        if not version and r.headers.get("Content-Type", "").startswith("application/json"):
            try:
                version = str(r.json().get("version", ""))
            except ValueError:
                version = ""
        return version

    def ensure_database(self) -> list[str]:
        """Create the database(s) and the contract's retention policies in the client's naming, or bring
        them to the contract's durations; return the databases. ``blueranch deploy init-db`` runs it.

        ``db.rp``: one database and its policies (InfluxQL). ``db/rp``: one database per policy, through
        InfluxQL on a 1.x server, through ``/api/v3/configure/database`` on InfluxDB 3 (which accepts no
        database or retention-policy statement over InfluxQL)."""
        if self.naming.per_policy and self.server_version().startswith("3"):
            for rp in RETENTION_POLICIES:
                self._create_v3(self.naming.database(self.database, rp), retention_period(rp))
            return self.naming.databases(self.database)
        for stmt, if_exists in self.naming.create_statements(self.database):
            try:
                self.query(stmt, method="POST", database=None)
            except InfluxError as exc:
                if if_exists is None or not ("already exists" in str(exc) or "conflicts with" in str(exc)):
                    raise
                self.query(if_exists, method="POST", database=None)
        return self.naming.databases(self.database)

    def _create_v3(self, name: str, period: str | None) -> None:
        body: dict[str, Any] = {"db": name}
        if period is not None:
            body["retention_period"] = period
        try:
            r = self.session.post(f"{self.url}/api/v3/configure/database", json=body, timeout=self.timeout_s)
        except requests.RequestException as exc:
            raise self._unreachable(exc) from exc
        if r.status_code not in (200, 201, 204, 409):  # 409: it exists (InfluxDB 3 keeps its first period)
            raise InfluxError(r.status_code, _error_text(r))

    def check_database(self, retention_policy: str | None = None) -> None:
        """Raise :class:`MissingDatabase` if the database (and policy) a write goes to does not exist: an empty
        write, which a write-only user may make and InfluxDB 1.x checks without storing anything."""
        db, rp = self.naming.write_target(self.database, retention_policy)
        params = {"db": db, "precision": PRECISION, **({"rp": rp} if rp else {})}
        try:
            r = self.session.post(f"{self.url}/write", params=params, data=b"", timeout=self.timeout_s)
        except requests.RequestException as exc:
            raise self._unreachable(exc) from exc
        text = _error_text(r) if r.status_code != 204 else ""
        if r.status_code == 404 or "retention policy not found" in text:
            raise MissingDatabase(db, rp, text)

    def write(self, body: bytes, retention_policy: str | None = None, compress: bool = True) -> None:
        """Write line protocol. Raises :class:`InfluxError` (check ``retryable``) on failure."""
        db, rp = self.naming.write_target(self.database, retention_policy)
        params = {"db": db, "precision": PRECISION}
        if rp:
            params["rp"] = rp
        headers = {"Content-Type": "text/plain; charset=utf-8"}
        data = body
        if compress:
            data = gzip.compress(body, compresslevel=1)
            headers["Content-Encoding"] = "gzip"
        try:
            r = self.session.post(
                f"{self.url}/write", params=params, data=data, headers=headers, timeout=self.timeout_s
            )
        except requests.RequestException as exc:
            raise self._unreachable(exc) from exc
        if r.status_code != 204:
            raise InfluxError(r.status_code, _error_text(r))

    def query(
        self, q: str, method: str = "GET", database: str | None | bool = True, epoch: str | None = "ms"
    ) -> list[Series]:
        """Run InfluxQL; return the series of the first statement. Raises :class:`InfluxError`."""
        params: dict[str, Any] = {"q": q}
        if database is True:
            params["db"] = self.database
        elif database:
            params["db"] = database
        if epoch:
            params["epoch"] = epoch
        try:
            if method == "POST":
                r = self.session.post(f"{self.url}/query", data=params, timeout=self.timeout_s)
            else:
                r = self.session.get(f"{self.url}/query", params=params, timeout=self.timeout_s)
        except requests.RequestException as exc:
            raise self._unreachable(exc) from exc
        if r.status_code != 200:
            raise InfluxError(r.status_code, _error_text(r))
        out: list[Series] = []
        for result in r.json().get("results", []):
            if "error" in result:
                raise InfluxError(400, result["error"])
            for s in result.get("series", []):
                out.append(Series(s.get("name", ""), s.get("tags") or {}, s["columns"], s.get("values") or []))
        return out


_ERRNO = re.compile(r"\[Errno -?\d+\] [^'\")]+")


def check_url(url: str, what: str = "InfluxDB") -> str:
    """``url`` if it is ``http(s)://HOST[:PORT][/PATH]`` without credentials, else ``ValueError`` saying so."""
    try:
        u = urlparse(url)
        u.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError as exc:
        raise ValueError(f"{what} URL {url!r}: {exc}") from None
    if u.scheme not in ("http", "https") or not u.hostname:
        raise ValueError(f"{what} URL {url!r} must look like http://HOST:PORT or https://HOST:PORT")
    if "@" in u.netloc:
        raise ValueError(
            f"{what} URL carries credentials: give the user and password through the environment or a file"
        )
    return url


def _error_text(r: requests.Response) -> str:
    try:
        return r.json().get("error", r.text)
    except ValueError:
        return r.text[:500]
