"""``blueranch deploy init DIR``: every secret and security config of a shore server, in one folder.

Idempotent: a file that exists is kept (a password, a key, a certificate, an env file); what is missing is
created, so a second run after adding devices to the registry creates only theirs and adds their clients and
roles to the broker's dynamic-security config, leaving everything the broker or an operator changed there.
:class:`Layout` says where each file goes; docker-compose.yml mounts them from ``deploy/local``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from blueranch.contracts.query.naming import DEFAULT_NAMING
from blueranch.deploy import broker, dynsec, pki
from blueranch.deploy.files import new_password, replace_secret, secret_once, write_once
from blueranch.ingest.registry import RegistryConfig

DEFAULT_HOSTS = ("localhost", "mosquitto", "127.0.0.1", "::1")

#: InfluxDB users: name -> privilege on the database (the ingest only writes; Grafana only reads).
INFLUX_USERS = {"ingest": "WRITE", "carbon": "ALL", "alerts": "ALL", "grafana": "READ"}


@dataclass(frozen=True)
class Layout:
    root: Path

    @property
    def ca_cert(self) -> Path:
        return self.root / "ca" / "ca.crt"

    @property
    def ca_key(self) -> Path:
        return self.root / "ca" / "ca.key"

    @property
    def broker_dir(self) -> Path:
        return self.root / "mosquitto"

    @property
    def broker_conf(self) -> Path:
        return self.broker_dir / "mosquitto.conf"

    @property
    def dynsec(self) -> Path:
        return self.broker_dir / "dynamic-security.json"

    @property
    def certs(self) -> Path:
        return self.broker_dir / "certs"

    @property
    def influx_init(self) -> Path:
        return self.root / "influxdb" / "init" / "01-blueranch-users.iql"

    def identity_dir(self, username: str) -> Path:
        """What a device (or the operator) needs to connect: password, client certificate and key, CA."""
        return self.root / ("operator" if username == "operator" else f"devices/{username}")

    def password(self, secret: str, devices: frozenset[str] = frozenset()) -> Path:
        if secret == "operator" or secret in devices:
            return self.identity_dir(secret) / "password"
        return self.root / "passwords" / secret

    def env(self, service: str) -> Path:
        return self.root / "env" / f"{service}.env"


@dataclass
class InitOptions:
    registry: RegistryConfig
    ingest_workers: int = 4
    hosts: tuple[str, ...] = DEFAULT_HOSTS
    require_client_certs: bool = True
    sim: bool = False
    database: str = "blueranch"
    name: str = "blueranch"


@dataclass
class InitReport:
    created: list[str] = field(default_factory=list)
    kept: int = 0
    added_to_broker: list[str] = field(default_factory=list)

    def note(self, path: Path, created: bool, root: Path) -> None:
        if created:
            self.created.append(str(path.relative_to(root)))
        else:
            self.kept += 1


def env_files(opts: InitOptions, pw: dict[str, str]) -> dict[str, dict[str, str]]:
    """docker compose service -> its environment: only that service's own secrets."""
    out = {
        "mosquitto": {"BLUERANCH_HEALTHCHECK_PASSWORD": pw["healthcheck"]},
        "influxdb": {"INFLUXDB_ADMIN_USER": "admin", "INFLUXDB_ADMIN_PASSWORD": pw["influx-admin"]},
        "grafana": {
            "GF_SECURITY_ADMIN_PASSWORD": pw["grafana-admin"],
            # the data source (dashboards/provisioning/datasources/influxdb.yaml): a read-only user
            "INFLUXDB_USER": "grafana",
            "INFLUXDB_USER_PASSWORD": pw["influx-grafana"],
        },
        "ingest": {
            "BLUERANCH_MQTT_USERNAME": "ingest",
            "BLUERANCH_MQTT_PASSWORD": pw["ingest"],
            "BLUERANCH_INFLUX_USERNAME": "ingest",
            "BLUERANCH_INFLUX_PASSWORD": pw["influx-ingest"],
        },
        "carbon": {"BLUERANCH_INFLUX_USERNAME": "carbon", "BLUERANCH_INFLUX_PASSWORD": pw["influx-carbon"]},
        "alerts": {
            "BLUERANCH_INFLUX_USERNAME": "alerts",
            "BLUERANCH_INFLUX_PASSWORD": pw["influx-alerts"],
            "BLUERANCH_ALERTS_MQTT_PASSWORD": pw["alerts"],
        },
    }
    if opts.sim:
        out["sim"] = {"BLUERANCH_MQTT_USERNAME": "sim", "BLUERANCH_MQTT_PASSWORD": pw["sim"]}
    for device in sorted(opts.registry.devices):
        out[f"edge-{device}"] = {"BLUERANCH_EDGE_MQTT_PASSWORD": pw[device]}
    return out


def influx_init(database: str, pw: dict[str, str]) -> str:
    """InfluxQL run once by the InfluxDB image at its first start (docker-entrypoint-initdb.d), as admin."""
    # a fresh database: the policies do not exist yet, so the CREATE statements (not their ALTER fallbacks)
    stmts = [create for create, _ in DEFAULT_NAMING.create_statements(database)]
    for user, privilege in INFLUX_USERS.items():
        stmts.append(f"CREATE USER \"{user}\" WITH PASSWORD '{pw['influx-' + user]}'")
        stmts.append(f'GRANT {privilege} ON "{database}" TO "{user}"')
    return ";\n".join(stmts) + "\n"


def _secret_names(opts: InitOptions, ids: list[dynsec.Identity]) -> list[str]:
    names = list(dict.fromkeys(i.secret for i in ids))
    names += [f"influx-{u}" for u in ("admin", *INFLUX_USERS)] + ["grafana-admin"]
    return names


def init(root: Path, opts: InitOptions) -> InitReport:
    root = Path(root)
    lay = Layout(root)
    report = InitReport()
    devices = frozenset(opts.registry.devices)
    ids = dynsec.identities(opts.registry, opts.ingest_workers, opts.sim)
    pw: dict[str, str] = {}
    for secret in _secret_names(opts, ids):
        path = lay.password(secret, devices)
        pw[secret], created = secret_once(path)
        report.note(path, created, root)

    ca, created = pki.ensure_ca(lay.ca_cert, lay.ca_key, opts.name)
    report.note(lay.ca_cert, created, root)
    _copy_ca(lay.ca_cert, lay.certs / "ca.crt", report, root)
    report.note(
        lay.certs / "server.crt",
        pki.issue(ca, lay.certs / "server.crt", lay.certs / "server.key", "mosquitto", list(opts.hosts)),
        root,
    )
    for username in ["operator", *sorted(devices)]:
        d = lay.identity_dir(username)
        report.note(d / "client.crt", pki.issue(ca, d / "client.crt", d / "client.key", username), root)
        _copy_ca(lay.ca_cert, d / "ca.crt", report, root)

    role_acls = dynsec.roles(opts.registry, opts.sim)
    wanted = dynsec.build(ids, role_acls, pw)
    if lay.dynsec.exists():
        merged, added = dynsec.merge(json.loads(lay.dynsec.read_text()), wanted)
        if added:
            replace_secret(lay.dynsec, json.dumps(merged, indent=2) + "\n")
            report.added_to_broker = added
        report.note(lay.dynsec, False, root)
    else:
        report.note(lay.dynsec, write_once(lay.dynsec, json.dumps(wanted, indent=2) + "\n"), root)
    conf = broker.render(broker.compose_layout(opts.require_client_certs))
    report.note(lay.broker_conf, write_once(lay.broker_conf, conf, 0o644), root)

    report.note(lay.influx_init, write_once(lay.influx_init, influx_init(opts.database, pw)), root)
    for service, env in env_files(opts, pw).items():
        text = "".join(f"{k}={v}\n" for k, v in env.items())
        report.note(lay.env(service), write_once(lay.env(service), text), root)
    report.note(root / "README.txt", write_once(root / "README.txt", _readme(), 0o644), root)
    return report


def _copy_ca(src: Path, dst: Path, report: InitReport, root: Path) -> None:
    report.note(dst, write_once(dst, src.read_bytes(), 0o644), root)


def example_dynsec(registry: RegistryConfig, ingest_workers: int = 4, sim: bool = True) -> dict:
    """The committed example (deploy/mosquitto/dynamic-security.example.json): clients without passwords."""
    ids = dynsec.identities(registry, ingest_workers, sim)
    return dynsec.build(ids, dynsec.roles(registry, sim), None)


def rotate(root: Path, secret: str, registry: RegistryConfig) -> list[Path]:
    """A new broker password for ``secret`` (a device id, ``ingest`` for all its workers, ``alerts``,
    ``operator``, ...) and, for a device or the operator, a new client certificate: in the password file,
    the broker's dynamic-security config and the env files that carry it. Returns the files changed.

    The broker reads its config at start: restart it, or set the same password live with ``mosquitto_ctrl
    dynsec setClientPassword`` (docs/security.md, 'Rotating a device's credentials').
    """
    lay = Layout(Path(root))
    devices = frozenset(registry.devices)
    config = json.loads(lay.dynsec.read_text())
    users = [c.get("username") for c in config.get("clients", [])]
    mine = [u for u in users if _secret_of(u) == secret]
    if not mine:
        raise KeyError(f"{secret!r} is not a broker user of {lay.dynsec} (users: {', '.join(map(str, users))})")
    path = lay.password(secret, devices)
    old = path.read_text().splitlines()[0] if path.exists() else None
    new = new_password()
    for u in mine:
        dynsec.set_password(config, u, new)
    changed = [path, lay.dynsec]
    replace_secret(lay.dynsec, json.dumps(config, indent=2) + "\n")
    for env in sorted((lay.root / "env").glob("*.env")):
        text = env.read_text()
        if old and f"={old}\n" in text:
            replace_secret(env, text.replace(f"={old}\n", f"={new}\n"))
            changed.append(env)
    replace_secret(path, new + "\n")
    if secret == "operator" or secret in devices:
        ca, _ = pki.ensure_ca(lay.ca_cert, lay.ca_key, "blueranch")
        d = lay.identity_dir(secret)
        pki.replace_client_cert(ca, d / "client.crt", d / "client.key", secret)
        changed += [d / "client.crt", d / "client.key"]
    return changed


def _secret_of(username: str) -> str:
    """The secret a broker user logs in with: the ingest's workers (``ingest-N``) share the ingest's."""
    return "ingest" if re.fullmatch(r"ingest-\d+", username) else username


def _readme() -> str:
    return """\
Generated by 'blueranch deploy init' (docs/security.md). Never commit this folder.

ca/ca.key            the CA's private key: it signs every certificate here. Keep it offline once
                     the devices are set up (deploy init needs it only to issue new certificates).
mosquitto/           the broker's config, its dynamic-security users and roles (the broker rewrites
                     dynamic-security.json when mosquitto_ctrl changes it), its server certificate.
devices/DEVICE/      what one buoy needs: password, client.crt, client.key, ca.crt. Copy it to the
                     device only (edge config: mqtt.password_file, cert_file, key_file, ca_file).
operator/            the same for the operators' tools (mosquitto_sub -i operator ...).
passwords/           the shore services' passwords.
env/SERVICE.env      docker compose env_file of each service: its own secrets only.
influxdb/init/       InfluxDB users, created at the database's first start.
"""
