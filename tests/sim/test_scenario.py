"""Scenario validation: unknown keys and impossible values fail with the dotted path and the rule."""

import pytest
import yaml
from click.testing import CliRunner

from blueranch.cli import main as blueranch_main
from blueranch.sim.scenario import ScenarioError, builtin_names, load_scenario, parse_scenario

BASE = yaml.safe_load(open(load_scenario.__globals__["SCENARIO_DIR"] / "single-buoy.yaml"))


def errors_of(mutate) -> str:
    data = yaml.safe_load(yaml.safe_dump(BASE))
    mutate(data)
    with pytest.raises(ScenarioError) as exc:
        parse_scenario(data, "test")
    return str(exc.value)


def test_every_builtin_scenario_validates():
    names = builtin_names()
    for required in (
        "dachen",
        "single-buoy",
        "hypoxia-night",
        "heatwave",
        "storm",
        "mooring-break",
        "biomass-loss",
        "silent-device",
    ):
        assert required in names
    for n in names:
        assert load_scenario(n).name == n


@pytest.mark.parametrize(
    "mutate,path,rule",
    [
        (lambda d: d["devices"][0].update(colour="red"), "devices.0.colour", "Extra inputs are not permitted"),
        (lambda d: d.update(dayz=3), "dayz", "Extra inputs are not permitted"),
        (lambda d: d.update(days=-1), "days", "greater than 0"),
        (
            lambda d: (
                d["devices"][2]["faults"].update(spike=2)
                if "faults" in d["devices"][2]
                else d["devices"][2].update(faults={"spike": 2})
            ),
            "devices.2.faults.spike",
            "less than or equal to 1",
        ),
        (lambda d: d["devices"][0].update(address="##"), "devices.0", "SDI-12 address"),
        (lambda d: d["devices"][2].update(address="300"), "devices.2", "1..247"),
        (lambda d: d["devices"][2].update(asset="nowhere"), "(top level)", "unknown asset 'nowhere'"),
        (lambda d: d["devices"].append(dict(d["devices"][0])), "(top level)", "duplicate device ids"),
        (lambda d: d.update(start="2026-01-01T00:00:00+08:00"), "(top level)", "must be UTC"),
        (
            lambda d: d.update(events=[{"kind": "hypoxia", "at_h": 1, "min_do_mg_l": 50}]),
            "events.0.min_do_mg_l",
            "less than or equal to 10",
        ),
        (lambda d: d.update(events=[{"kind": "mooring_break", "at_h": 1}]), "events.0", "needs a device"),
        (lambda d: d.update(events=[{"kind": "volcano", "at_h": 1}]), "events.0.kind", "Input should be"),
        (lambda d: d["devices"][0].update(id="sonde/1#"), "devices.0.id", "should match pattern"),
        (lambda d: d["devices"][1].update(protocol="modbus"), "devices.1", "cannot speak modbus"),
        (lambda d: d["devices"][0].update(baudrate=9600), "devices.0", "settings of Modbus slaves only"),
        (lambda d: d["devices"][2].update(baudrate=9601), "devices.2.baudrate", "Input should be"),
        (lambda d: d["devices"][2].update(parity="X"), "devices.2.parity", "Input should be"),
        (
            lambda d: (
                d["climate"].update(sst_mean_c="warm") if "climate" in d else d.update(climate={"sst_mean_c": "warm"})
            ),
            "climate.sst_mean_c",
            "valid number",
        ),
    ],
)
def test_invalid_scenarios_name_path_and_rule(mutate, path, rule):
    msg = errors_of(mutate)
    assert f"{path}:" in msg and rule in msg, msg


def test_unknown_name_and_broken_yaml(tmp_path):
    with pytest.raises(ScenarioError, match="unknown scenario; built-in"):
        load_scenario("atlantis")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(ScenarioError, match=r"line 2, column 1: is not valid YAML"):
        load_scenario(bad)


def test_cli_reports_invalid_scenario_with_exit_2(tmp_path):
    data = yaml.safe_load(yaml.safe_dump(BASE))
    data["devices"][0]["faults"] = {"garbled": -0.5}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    res = CliRunner().invoke(blueranch_main, ["sim", "validate", str(path)])
    assert (
        res.exit_code == 2 and "devices.0.faults.garbled" in res.output and "greater than or equal to 0" in res.output
    )


def test_devices_command_lists_id_protocol_address_link():
    res = CliRunner().invoke(blueranch_main, ["sim", "devices", "--scenario", "single-buoy"])
    assert res.exit_code == 0, res.output
    lines = [line.split("\t") for line in res.output.strip().splitlines()]
    assert lines[0][:4] == ["device", "protocol", "address", "link"]
    assert ["sonde-1", "sdi12", "0", "sonde-1"] == lines[1][:4]
    assert ["lc-2", "modbus", "2", "lc-2"] == lines[4][:4]
    res = CliRunner().invoke(blueranch_main, ["sim", "devices", "--scenario", "dachen"])
    assert "reef-1\tmqtt_node\t-\tmqtt:nodes/reef-1/up" in res.output


@pytest.mark.parametrize(
    "args,message",
    [
        (["--speed", "fast"], "'fast' is not a number or 'max'"),
        (["--speed", "0"], "must be > 0"),
        (["--start", "yesterday"], "not an RFC 3339 time"),
        (["--start", "2026-01-01T00:00:00+08:00"], "must be UTC"),
        (["--days", "-1"], "--days"),
        (["--tcp-base-port", "70000"], "--tcp-base-port"),
        (["--scenario", "../../etc/passwd"], "scenario"),
    ],
)
def test_run_rejects_bad_options_with_exit_2(args, message):
    res = CliRunner().invoke(blueranch_main, ["sim", "run", *args])
    assert res.exit_code == 2 and message in res.output, res.output


def test_run_reports_busy_port_and_unreachable_broker(tmp_path):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        res = CliRunner().invoke(
            blueranch_main,
            [
                "sim",
                "run",
                "--pty-dir",
                str(tmp_path / "pty"),
                "--tcp-base-port",
                str(port),
                "--days",
                "0.01",
                "--speed",
                "max",
            ],
        )
    assert res.exit_code == 1 and f"device sonde-1: cannot listen on 127.0.0.1:{port}" in res.output, res.output
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    res = CliRunner().invoke(
        blueranch_main, ["sim", "run", "--mqtt", f"mqtt://127.0.0.1:{free}", "--days", "0.01", "--speed", "max"]
    )
    assert res.exit_code == 1 and "cannot reach the MQTT broker" in res.output, res.output
    res = CliRunner().invoke(
        blueranch_main,
        ["sim", "run", "--truth-out", str(tmp_path / "no" / "dir" / "t.jsonl"), "--days", "0.01", "--speed", "max"],
    )
    assert res.exit_code == 1 and "No such file or directory" in res.output, res.output
