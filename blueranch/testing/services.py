"""Start real ``mosquitto`` and ``influxd`` on free loopback ports, in their own folders.

Used by the pytest fixtures (``tests/conftest.py``), by ``bench/`` and by ``blueranch demo``. Each
service writes a generated config into its folder, is started in its own process group, is waited for
until it answers, and is stopped (SIGTERM, then SIGKILL) by :meth:`stop`. ``kill``/``start`` on the same
object restart it on the same port and data folder, which is how outage tests take a service away.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import requests

from blueranch.procs import die_with_parent


class ServiceError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_binary(name: str, candidates: tuple[str, ...] = ()) -> str:
    found = shutil.which(name)
    if found:
        return found
    for c in candidates:
        if os.access(c, os.X_OK):
            return c
    raise ServiceError(
        f"'{name}' is not installed. Run 'scripts/install-system-deps.sh' (as root it runs "
        f"'apt-get install -y mosquitto mosquitto-clients influxdb')."
    )


class _Service:
    name = "service"

    def __init__(self, workdir: Path, port: int | None = None):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None
        self.log_path = self.workdir / f"{self.name}.log"

    # subclasses provide these
    def command(self) -> list[str]:
        raise NotImplementedError

    def ready(self) -> bool:
        raise NotImplementedError

    def start(self, timeout_s: float = 30.0) -> _Service:
        if self.proc is not None and self.proc.poll() is None:
            return self
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            self.command(),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=self.workdir,
            preexec_fn=die_with_parent,
        )
        log.close()
        deadline = time.monotonic() + timeout_s
        delay = 0.02
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServiceError(f"{self.name} exited with {self.proc.returncode}; log:\n{self.tail_log()}")
            if self.ready():
                return self
            time.sleep(delay)  # polling a process we do not control; not test synchronisation
            delay = min(delay * 1.5, 0.25)
        self.stop()
        raise ServiceError(
            f"{self.name} did not answer on port {self.port} within {timeout_s} s; log:\n{self.tail_log()}"
        )

    def tail_log(self, n: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"

    def _signal(self, sig: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        """SIGKILL: the service dies as on a power loss."""
        self._signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(10)

    def stop(self, timeout_s: float = 15.0) -> None:
        if self.proc is None:
            return
        self._signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGKILL)
            self.proc.wait(10)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class Mosquitto(_Service):
    """Mosquitto 2 with persistence, MQTT 3.1.1 and 5 on one listener.

    ``extra_config`` lines are appended (password file, ACL, TLS listeners for security tests).
    """

    name = "mosquitto"

    def __init__(self, workdir: Path, port: int | None = None, extra_config: str = "", allow_anonymous: bool = True):
        super().__init__(workdir, port)
        self.extra_config = extra_config
        self.allow_anonymous = allow_anonymous

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        conf = self.workdir / "mosquitto.conf"
        (self.workdir / "data").mkdir(exist_ok=True)
        conf.write_text(
            f"per_listener_settings false\n"
            f"listener {self.port} 127.0.0.1\n"
            f"allow_anonymous {'true' if self.allow_anonymous else 'false'}\n"
            f"persistence true\n"
            f"persistence_location {self.workdir / 'data'}/\n"
            f"autosave_interval 1\n"
            # Persistent sessions must hold a long outage's worth of messages (ingest down).
            f"max_queued_messages 1000000\n"
            f"max_inflight_messages 1000\n"
            f"message_size_limit 0\n"
            f"log_dest stdout\n"
            f"log_type error\nlog_type warning\nlog_type notice\n"
            f"{self._user_line()}"
            f"{self.extra_config}\n"
        )
        return [find_binary("mosquitto", ("/usr/sbin/mosquitto",)), "-c", str(conf)]

    def _user_line(self) -> str:
        """Run as the current user: started as root, Mosquitto would drop to user 'mosquitto', which cannot
        write its persistence file or read password files in a private temporary folder."""
        return f"user {pwd.getpwuid(os.getuid()).pw_name}\n"

    def ready(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False


#: Where Debian and the eclipse-mosquitto image put the dynamic-security plugin.
DYNSEC_PLUGINS = (
    "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so",
    "/usr/lib/aarch64-linux-gnu/mosquitto_dynamic_security.so",
    "/usr/lib/mosquitto_dynamic_security.so",
)


def find_dynsec_plugin() -> str:
    for candidate in DYNSEC_PLUGINS:
        if os.path.exists(candidate):
            return candidate
    raise ServiceError(
        "Mosquitto's dynamic-security plugin (mosquitto_dynamic_security.so) is not installed: "
        "run 'scripts/install-system-deps.sh' (Debian's mosquitto package ships it)."
    )


class DeployedMosquitto(Mosquitto):
    """Mosquitto with the config ``blueranch deploy init`` generated in ``deploy_dir``: its dynamic-security
    users and roles (used in place: the broker saves changes made with mosquitto_ctrl there), certificates
    and settings (:func:`blueranch.deploy.broker.render`), with a plain listener on ``port`` and the TLS
    listener on ``tls_port``, both on loopback."""

    def __init__(self, workdir: Path, deploy_dir: Path, port: int | None = None, tls_port: int | None = None):
        super().__init__(workdir, port, allow_anonymous=False)
        self.deploy_dir = Path(deploy_dir)
        self.tls_port = tls_port or free_port()

    @property
    def tls_url(self) -> str:
        return f"mqtts://127.0.0.1:{self.tls_port}"

    def command(self) -> list[str]:
        from blueranch.deploy.broker import BrokerLayout, render

        generated = (self.deploy_dir / "mosquitto" / "mosquitto.conf").read_text()
        layout = BrokerLayout(
            plugin=find_dynsec_plugin(),
            dynsec_file=self.deploy_dir / "mosquitto" / "dynamic-security.json",
            data_dir=self.workdir / "data",
            certs_dir=self.deploy_dir / "mosquitto" / "certs",
            plain_port=self.port,
            plain_addr="127.0.0.1",
            tls_port=self.tls_port,
            tls_addr="127.0.0.1",
            require_client_certs="\nrequire_certificate true\n" in generated,
        )
        (self.workdir / "data").mkdir(exist_ok=True)
        conf = self.workdir / "mosquitto.conf"
        logs = "log_dest stdout\nlog_type error\nlog_type warning\nlog_type notice\n"
        conf.write_text(self._user_line() + render(layout, logs + self.extra_config))
        return [find_binary("mosquitto", ("/usr/sbin/mosquitto",)), "-c", str(conf)]


class InfluxDB(_Service):
    """InfluxDB 1.x (Debian's 1.6) serving the v1 HTTP API."""

    name = "influxd"

    def __init__(self, workdir: Path, port: int | None = None, auth_enabled: bool = False):
        super().__init__(workdir, port)
        self.rpc_port = free_port()
        self.auth_enabled = auth_enabled

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        d = self.workdir
        conf = d / "influxdb.conf"
        conf.write_text(
            f"reporting-disabled = true\n"
            f'bind-address = "127.0.0.1:{self.rpc_port}"\n'
            f'[meta]\n  dir = "{d / "meta"}"\n  logging-enabled = false\n'
            f'[data]\n  dir = "{d / "data"}"\n  wal-dir = "{d / "wal"}"\n'
            f"  query-log-enabled = false\n  trace-logging-enabled = false\n"
            f'  cache-snapshot-write-cold-duration = "10s"\n'
            f'[http]\n  enabled = true\n  bind-address = "127.0.0.1:{self.port}"\n'
            f"  auth-enabled = {'true' if self.auth_enabled else 'false'}\n"
            f"  log-enabled = false\n  max-body-size = 0\n"
            f"[monitor]\n  store-enabled = false\n"
            f'[logging]\n  level = "warn"\n'
            f"[subscriber]\n  enabled = false\n"
        )
        return [find_binary("influxd", ("/usr/bin/influxd",)), "run", "-config", str(conf)]

    def ready(self) -> bool:
        try:
            return requests.get(f"{self.url}/ping", timeout=0.5).status_code == 204
        except requests.RequestException:
            return False
