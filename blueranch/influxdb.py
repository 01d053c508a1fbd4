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

from blueranch.contracts.influx import PRECISION
from blueranch.contracts.query.naming import DEFAULT_NAMING, Naming


class InfluxError(RuntimeError):
    """InfluxDB answered with an error. ``status`` is the HTTP status (0 for a connection error)."""

    def __init__(self, status: int, message: str):
        self.status = status
        super().__init__(f"InfluxDB HTTP {status}: {message}" if status else f"InfluxDB unreachable: {message}")

    @property
    def retryable(self) -> bool:
        return self.status == 0 or self.status >= 500 or self.status == 429


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
        naming: Naming = DEFAULT_NAMING,
    ):
        self.url = check_url(url).rstrip("/")
        self.database = database
        self.naming = naming
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

    def ensure_database(self) -> None:
        """Create the database and the contract's retention policies if they are missing."""
        for stmt, if_exists in self.naming.create_statements(self.database):
            try:
                self.query(stmt, method="POST", database=None)
            except InfluxError as exc:
                if "already exists" not in str(exc) or if_exists is None:
                    raise
                self.query(if_exists, method="POST", database=None)

    def write(self, body: bytes, retention_policy: str | None = None, compress: bool = True) -> None:
        """Write line protocol. Raises :class:`InfluxError` (check ``retryable``) on failure."""
        params = {"db": self.database, "precision": PRECISION}
        if retention_policy:
            params["rp"] = retention_policy
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
