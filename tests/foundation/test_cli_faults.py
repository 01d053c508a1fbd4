"""Every command of the CLI against the faults a user causes or meets: one line, exit 2 or 1, no traceback.

The tree is walked from :data:`blueranch.cli.GROUPS`: a command without an entry in :data:`SPECS` fails the
test, so a new command comes with its faults. Each entry gives the arguments that make the command valid
but for the fault, and which of its options take a file (YAML or JSON), a broker, a database or a port.
From those the cases follow: every file option gets every file fault (missing, a folder, UTF-16 without a
byte-order mark, binary, too big, too deep, a key twice, a billion laughs), every URL option an unreachable
peer and a wrong scheme, every port option a port in use. One-shot commands run in-process (click's runner);
the long-running services run as processes with unreachable peers, log a WARNING naming the address, and stop
cleanly on SIGTERM.
"""

from __future__ import annotations

import importlib
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from blueranch.cli import GROUPS, main
from blueranch.cliapp import Group
from blueranch.loader import DEFAULT_LIMITS
from blueranch.models.carbon.cli import INPUT_MAX_BYTES
from blueranch.testing.wait import wait_until

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy" / "blueranch"
YAML, JSON = "yaml", "json"


@dataclass
class Spec:
    """How to run one command: ``base`` argv (``@FILE`` is the positional file), its file options (the flag,
    or ``@FILE``, with the kind), URL options by peer, port options; ``extra`` cases (argv, exit code, words)."""

    base: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)
    ports: list[str] = field(default_factory=list)
    extra: list[tuple[list[str], int, str]] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)


def _carbon_input() -> str:
    return (REPO / "tests" / "carbon").as_posix()


INFLUX_Q = ["--database", "faults"]
NO_LEDGER = {"BLUERANCH_CARBON_LEDGER": "/nonexistent/ledger.sqlite"}
SPECS: dict[str, Spec] = {
    "sim devices": Spec(files={"--scenario": YAML}),
    "sim registry": Spec(files={"--scenario": YAML}),
    "sim validate": Spec(base=["@FILE"], files={"@FILE": YAML}),
    "sim run": Spec(
        base=["--days", "0.001", "--speed", "max"],
        files={"--scenario": YAML},
        urls={"--mqtt": "mqtt"},
        extra=[
            (["--tcp-base-port", "7000"], 2, "--pty-dir"),
            (["--pty-dir", "@TMP/pty", "--tcp-base-port", "@BUSY"], 1, "in use"),
            (["--start", "yesterday"], 2, "--start"),
        ],
    ),
    "sim feed": Spec(
        base=["--days", "0.01", "--truth-out", "@TMP/truth.jsonl"], files={"--scenario": YAML}, urls={"--mqtt": "mqtt"}
    ),
    "edge check-config": Spec(base=["@FILE"], files={"@FILE": YAML}),
    "edge sample-config": Spec(extra=[([], 0, "")]),
    "edge run": Spec(files={"--config": YAML}),
    "edge status": Spec(files={"--config": YAML}, extra=[(["--status-file", "@BINARY"], 2, "not UTF-8")]),
    "edge probe": Spec(
        extra=[
            (["/dev/nonexistent-serial", "--protocol", "nmea0183", "--listen-s", "0.1"], 2, "nonexistent"),
            (["/dev/null", "--slave-ids", "x"], 2, "--slave-ids"),
        ]
    ),
    "ingest run": Spec(
        files={"--config": YAML, "--registry": YAML},
        urls={"--mqtt": "mqtt-scheme", "--influx": "influx-scheme"},
        ports=["--metrics-port"],
    ),
    "carbon compute": Spec(
        files={"--input": JSON},
        extra=[(["--input", "@DUPLICATE_SINKS"], 2, "used by sinks[0]"), (["--input", "@TOO_MANY_CELLS"], 2, "draws")],
    ),
    "carbon worker": Spec(
        base=["--once", "--config", str(DEPLOY / "carbon.yaml"), *INFLUX_Q],
        files={"--config": YAML},
        urls={"--influx": "influx"},
    ),
    "carbon report": Spec(
        base=["--site", "dachen", "--config", str(DEPLOY / "carbon.yaml"), "--from", "2026-01-01"]
        + ["--to", "2026-01-31", "--out", "@TMP/report", *INFLUX_Q],
        files={"--config": YAML},
        urls={"--influx": "influx"},
    ),
    "alerts run": Spec(
        base=["--once", "--state", "@TMP/alerts.sqlite", "--influx", "@INFLUX", *INFLUX_Q],
        files={"--config": YAML},
        urls={"--influx": "influx", "--mqtt": "mqtt-scheme"},
        ports=["--metrics-port"],
    ),
    "alerts replay": Spec(
        base=["--state", "@TMP/alerts.sqlite", "--from", "2026-01-01T00:00:00Z", "--to", "2026-01-01T01:00:00Z"]
        + ["--influx", "@INFLUX", *INFLUX_Q],
        files={"--config": YAML},
        urls={"--influx": "influx"},
    ),
    "alerts list": Spec(
        files={"--config": YAML},
        extra=[
            (["--state", "@TMP/no/such/dir/alerts.sqlite"], 2, "no alerts state file"),
            (["--state", "@BINARY"], 2, "not an alerts state file"),
        ],
    ),
    "alerts ack": Spec(
        base=["0000", "--by", "me"],
        files={"--config": YAML},
        extra=[(["--state", "@TMP/no/such/dir/alerts.sqlite"], 2, "no alerts state file")],
    ),
    "alerts check-config": Spec(base=["@FILE"], files={"@FILE": YAML}),
    "dashboards build": Spec(base=["--out", "@TMP/dash"], extra=[(["--alert-rules", "@DIR"], 2, "directory")]),
    "dashboards check": Spec(urls={"--influx": "influx"}, base=[*INFLUX_Q]),
    "dashboards sample-data": Spec(urls={"--influx": "influx"}, base=[*INFLUX_Q]),
    "dashboards publish": Spec(urls={"--grafana": "grafana"}, env={"GRAFANA_TOKEN": "t"}, base=["--timeout-s", "2"]),
    "deploy init": Spec(base=["@TMP/deploy"], files={"--registry": YAML}, extra=[(["@BINARY"], 2, "")]),
    "deploy rotate": Spec(
        base=["@TMP", "nobody"],
        files={"--registry": YAML},
        extra=[(["--registry", str(DEPLOY / "registry.yaml")], 2, "")],
    ),
    "deploy bridge": Spec(
        base=["@TMP", "--gateway", "island-a", "--shore", "shore.example.org:8883"],
        files={"--registry": YAML},
        extra=[
            (["--shore", "shore.example.org"], 2, "is not HOST:PORT"),
            (["--restart-s", "9", "3"], 2, "more than the longest wait"),
            ([], 2, "no device of the registry has gateway 'island-a'"),
        ],
    ),
    "deploy example": Spec(
        files={"--registry": YAML},
        extra=[(["--registry", str(DEPLOY / "registry.yaml"), "--write", "@DIR"], 2, "directory")],
    ),
    "carbon verify": Spec(extra=[(["@BINARY"], 2, "not a package"), (["@TMP/none.zip"], 2, "does not exist")]),
    **{
        f"carbon ledger {sub}": Spec(base=argv, env=NO_LEDGER, extra=[([], 2, words)])
        for sub, argv, words in (
            ("list", [], "no such file"),
            ("verify", [], "no such file"),
            ("issue", ["@TMP/none.zip"], "does not exist"),
            (
                "transfer",
                ["X", "--buyer", "b", "--lot", "l", "--price-per-t-co2e", "1", "--date", "2026-01-01"],
                "no such",
            ),
            ("retire", ["X", "--beneficiary", "b", "--reason", "r", "--date", "2026-01-01"], "no such file"),
        )
    },
    "export netcdf": Spec(
        base=["--site", "dachen", "--from", "2026-01-01", "--to", "2026-01-02", "--out", "@TMP/nc", *INFLUX_Q],
        files={"--config": YAML, "--registry": YAML},
        urls={"--influx": "influx"},
        extra=[(["--from", "yesterday"], 2, "--from")],
    ),
    "export csv": Spec(
        base=["--site", "dachen", "--from", "2026-01-01", "--to", "2026-01-02", "--out", "@TMP/csv", *INFLUX_Q],
        files={"--config": YAML, "--registry": YAML},
        urls={"--influx": "influx"},
    ),
    "export erddap": Spec(extra=[(["--out", "@TMP"], 2, "no NetCDF"), (["--out", "@BINARY"], 2, "is a file")]),
    "deploy init-db": Spec(
        urls={"--influx": "influx"},
        base=[*INFLUX_Q],
        extra=[
            (["--influx", "@INFLUX", "--naming", "db:rp"], 2, "--naming"),
            (["--influx", "@INFLUX"], 0, ""),
            (["--influx", "@INFLUX"], 0, ""),  # idempotent: a second run brings the policies to the contract
        ],
        env={"BLUERANCH_INFLUX_NAMING": ""},
    ),
    "demo": Spec(extra=[(["--dir", "@BINARY/demo"], 2, "Not a directory")]),
}
#: a valid value for options the base does not give but the command requires
REQUIRED = {
    "edge run": ["--config", str(DEPLOY / "edge-buoy-01.yaml")],
    "edge status": ["--config", str(DEPLOY / "edge-buoy-01.yaml")],
    "ingest run": [],
    "carbon compute": [],
    "deploy init": ["--registry", str(DEPLOY / "registry.yaml")],
    "deploy rotate": ["--registry", str(DEPLOY / "registry.yaml")],
    "deploy example": ["--registry", str(DEPLOY / "registry.yaml")],
    "deploy bridge": ["--registry", str(DEPLOY / "registry.yaml")],
}


def walk() -> dict[str, click.Command]:
    out: dict[str, click.Command] = {}

    def visit(cmd: click.Command, path: list[str]) -> None:
        if isinstance(cmd, click.Group) and cmd.commands:
            for name, sub in cmd.commands.items():
                visit(sub, [*path, name])
        else:
            out[" ".join(path)] = cmd

    for name, (target, _) in GROUPS.items():
        module, attr = target.split(":")
        group = getattr(importlib.import_module(module), attr)
        assert isinstance(group, Group), f"{name} is not a blueranch.cliapp.Group"
        visit(group, [name])
    return out


def test_every_command_has_its_faults_and_every_file_or_url_option_is_covered():
    commands = walk()
    assert set(commands) == set(SPECS), "add the new command to SPECS with its faults"
    for name, cmd in commands.items():
        spec = SPECS[name]
        assert spec.files or spec.urls or spec.ports or spec.extra, name
        for p in cmd.params:
            flag = p.opts[0] if p.opts else ""
            if flag in ("--config", "--registry", "--input", "--scenario"):
                assert flag in spec.files, f"{name} {flag}: give it the file faults"
            if flag in ("--mqtt", "--influx", "--grafana"):
                assert flag in spec.urls, f"{name} {flag}: give it the URL faults"
            if flag == "--metrics-port":
                assert flag in spec.ports, f"{name} {flag}: give it a port in use"


# ---------------------------------------------------------------- the faults
def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again on return: nothing listens there


@pytest.fixture(scope="module")
def busy_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    yield s.getsockname()[1]
    s.close()


LAUGHS = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(8)
)
FILE_FAULTS = {
    # name: (YAML bytes, JSON bytes, words in the message)
    "missing": (None, None, "missing."),
    "folder": ("DIR", "DIR", ""),
    "utf16": ("site: dachen\n".encode("utf-16-le"), '{"site": "x"}'.encode("utf-16-le"), ""),
    "binary": (b"\x80\x81\x82 garbage", b"\x80\x81\x82 garbage", "not UTF-8"),
    "too_big": ("BIG", "BIG", "larger than the limit"),
    "too_deep": (("a: " + "[" * 200 + "]" * 200).encode(), ("[" * 100_000).encode(), "deeper than the limit"),
    "duplicate_key": (b"site: dachen\nsite: other\n", b'{"site": "a", "site": "b"}', "given twice"),
    "billion_laughs": (LAUGHS.encode(), None, "billion laughs"),
}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("faults")
    out: dict[tuple[str, str], Path] = {}
    for kind in (YAML, JSON):  # sparse: larger than every limit (carbon compute's input: 50 MB), no disk used
        with (d / f"big.{kind}").open("wb") as f:
            f.truncate(max(DEFAULT_LIMITS.max_bytes, INPUT_MAX_BYTES) + 1)
    for name, (yml, jsn, _) in FILE_FAULTS.items():
        for kind, data in ((YAML, yml), (JSON, jsn)):
            if data is None and name != "missing":
                continue
            path = d / f"{name}.{kind}"
            if data == "DIR":
                path.mkdir()
            elif data == "BIG":
                path = d / f"big.{kind}"
            elif data is not None:
                path.write_bytes(data)
            out[(name, kind)] = path
    binary = d / "binary.bin"
    binary.write_bytes(b"\x80\x81\x82 garbage")
    out[("BINARY", "")] = binary
    out[("DIR", "")] = d / "folder.yaml"
    dup = d / "dup-sinks.json"
    sink = {"id": "ll-01", "kind": "bivalve", "group": "mussel", "harvested_wet_t": 1.0}
    doc = {"site": "dachen", "period": {"start": "2026-01-01T00:00:00Z", "end": "2026-02-01T00:00:00Z"}}
    dup.write_text(__import__("json").dumps({**doc, "sinks": [sink, sink]}))
    out[("DUPLICATE_SINKS", "")] = dup
    many = d / "many-sinks.json"
    sinks = [{**sink, "id": f"s{i}"} for i in range(100_000)]
    many.write_text(__import__("json").dumps({**doc, "sinks": sinks}))
    out[("TOO_MANY_CELLS", "")] = many
    return out


@dataclass(frozen=True)
class Case:
    command: str
    fault: str
    argv: tuple[str, ...]
    code: int
    words: str

    def __str__(self) -> str:
        return f"{self.command}:{self.fault}"


def cases() -> list[Case]:
    out = []
    for name, spec in SPECS.items():
        required = REQUIRED.get(name, [])
        for flag, kind in spec.files.items():
            for fault, (yml, jsn, words) in FILE_FAULTS.items():
                if (yml if kind == YAML else jsn) is None and fault != "missing":
                    continue
                value = f"@F:{fault}:{kind}"
                if flag == "@FILE":
                    argv = [value if a == "@FILE" else a for a in spec.base] + required
                else:
                    argv = _dedupe([*spec.base, *required, flag, value], flag, value)
                out.append(Case(name, f"{flag}={fault}", tuple(argv), 2, words))
        for flag, peer in spec.urls.items():
            scheme_only = peer.endswith("-scheme")
            peer = peer.removesuffix("-scheme")
            bad = {"mqtt": "localhost:1883", "influx": "localhost:8086", "grafana": "localhost:3000"}[peer]
            base = [a for a in spec.base if a != "@FILE"]
            out.append(Case(name, f"{flag}=scheme", tuple(_dedupe([*base, *required, flag, bad], flag, bad)), 2, bad))
            if not scheme_only:
                url = {"mqtt": "mqtt", "influx": "http", "grafana": "http"}[peer] + "://127.0.0.1:@CLOSED"
                out.append(
                    Case(
                        name,
                        f"{flag}=unreachable",
                        tuple(_dedupe([*base, *required, flag, url], flag, url)),
                        1,
                        "127.0.0.1",
                    )
                )
        for flag in spec.ports:
            base = [a for a in spec.base if a != "@FILE"]
            out.append(Case(name, f"{flag}=busy", tuple([*base, *required, flag, "@BUSY"]), 1, "in use"))
        for i, (argv, code, words) in enumerate(spec.extra):
            out.append(Case(name, f"extra{i}", tuple([*spec.base, *required, *argv]), code, words))
    return out


def _dedupe(argv: list[str], flag: str, value: str) -> list[str]:
    """``argv`` with ``flag`` given once, as ``value`` (the base may give a valid one)."""
    out, skip = [], False
    for i, a in enumerate(argv):
        if skip:
            skip = False
            continue
        if a == flag and i + 1 < len(argv) and argv[i + 1] != value:
            skip = True
            continue
        out.append(a)
    return out


def _resolve(argv: tuple[str, ...], files, tmp_path: Path, busy: int, influx_url: str) -> list[str]:
    closed = str(_closed_port())
    out = []
    for a in argv:
        if a.startswith("@F:"):
            _, fault, kind = a.split(":")
            path = files.get((fault, kind))
            a = str(path if path is not None else tmp_path / f"missing.{kind}")
        for key, (fault, kind) in (
            ("@BINARY", ("BINARY", "")),
            ("@DIR", ("DIR", "")),
            ("@DUPLICATE_SINKS", ("DUPLICATE_SINKS", "")),
            ("@TOO_MANY_CELLS", ("TOO_MANY_CELLS", "")),
        ):
            a = a.replace(key, str(files[(fault, kind)]))
        a = a.replace("@TMP", str(tmp_path)).replace("@BUSY", str(busy)).replace("@CLOSED", closed)
        out.append(a.replace("@INFLUX", influx_url))
    return out


@pytest.mark.timeout(120)
@pytest.mark.parametrize("case", cases(), ids=str)
def test_a_fault_is_one_line_and_an_exit_code(case, files, tmp_path, busy_port, influxdb, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing a command might create lands in the repository
    argv = _resolve(case.argv, files, tmp_path, busy_port, influxdb.url)
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        result = CliRunner().invoke(main, [*case.command.split(), *argv], env=SPECS[case.command].env)
    finally:
        for s, h in handlers.items():
            signal.signal(s, h)
    shown = f"{case}: exit {result.exit_code}\n{result.output}"
    assert result.exception is None or isinstance(result.exception, SystemExit), shown + repr(result.exception)
    assert "Traceback" not in result.output, shown
    assert result.exit_code == case.code, shown
    if case.code:
        assert case.words in result.output, shown
        said = [ln for ln in result.stderr.splitlines() if ln.strip() and not ln.startswith(("Usage:", "Try '"))]
        assert 1 <= len(said) <= 3, shown  # click's usage lines aside: the error (edge check-config adds a count)
    if case.fault.endswith("billion_laughs"):
        assert "billion laughs" in result.output


def test_the_entry_point_prints_one_line_and_the_traceback_only_with_debug(tmp_path):
    bad = tmp_path / "c.yaml"
    bad.write_bytes(b"site: a\nsite: b\n")
    args = [sys.executable, "-m", "blueranch", "alerts", "check-config", str(bad)]
    plain = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert plain.returncode == 2 and "Traceback" not in plain.stderr
    assert plain.stderr.strip().splitlines() == [
        f"Error: {bad}: line 2, (root): 'site' is given twice in one mapping (first on line 1; a key may appear once)"
    ]
    debug = subprocess.run([*args, "--debug"], capture_output=True, text=True, timeout=60)
    assert debug.returncode == 2 and "Traceback" in debug.stderr and "LoadError" in debug.stderr


# ---------------------------------------------------------------- long-running services
def _service(args: list[str], expect: str, tmp_path: Path, env: dict | None = None) -> str:
    """Start a service, wait for ``expect`` on stderr, stop it with SIGTERM; return stderr (exit 0, no traceback)."""
    log = tmp_path / "service.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "blueranch", *args], stdout=out, stderr=subprocess.STDOUT, env=env, cwd=tmp_path
        )
        try:
            wait_until(lambda: expect in log.read_text(errors="replace") or proc.poll() is not None, 60, 0.1, expect)
            assert proc.poll() is None, log.read_text()
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
    text = log.read_text(errors="replace")
    assert code == 0 and "Traceback" not in text, text
    return text


def test_ingest_says_when_broker_and_database_are_away(tmp_path):
    mqtt, influx = _closed_port(), _closed_port()
    text = _service(
        ["ingest", "run", "--mqtt", f"mqtt://127.0.0.1:{mqtt}", "--influx", f"http://127.0.0.1:{influx}"],
        f"cannot reach the MQTT broker at 127.0.0.1:{mqtt}",
        tmp_path,
    )
    assert f"WARNING blueranch.ingest: cannot reach InfluxDB at http://127.0.0.1:{influx}" in text
    assert "Connection refused" in text
    assert text.count("cannot reach the MQTT broker") == 1  # then once a minute, not once a reconnect


def test_the_alert_worker_says_when_the_database_is_away(tmp_path):
    influx = _closed_port()
    _service(
        [
            "alerts",
            "run",
            "--influx",
            f"http://127.0.0.1:{influx}",
            "--database",
            "x",
            "--state",
            "s.sqlite",
            "--interval-s",
            "0.2",
        ],
        f"WARNING blueranch.alerts: cannot reach InfluxDB at http://127.0.0.1:{influx}",
        tmp_path,
    )


def test_the_carbon_worker_says_when_the_database_is_away(tmp_path):
    influx = _closed_port()
    _service(
        [
            "carbon",
            "worker",
            "--influx",
            f"http://127.0.0.1:{influx}",
            "--config",
            str(DEPLOY / "carbon.yaml"),
            "--interval-s",
            "1",
        ],
        f"http://127.0.0.1:{influx}: [Errno 111] Connection refused",
        tmp_path,
    )
