"""Registry, typed configs, sample configs and the technician's config commands."""

import inspect
import re
import subprocess
import sys

import pytest
import yaml

from blueranch.contracts.errors import ContractError
from blueranch.edge import agent, drivers, probe
from blueranch.edge.config import parse_config
from blueranch.edge.drivers.base import DriverBase, supports
from blueranch.edge.sample_config import sample_config

HOOKS = ("probe", "snippet", "raw")
BASE = {"site": "dachen", "device": "buoy-01", "mqtt": {}, "buffer": {"path": "/tmp/x.sqlite"}}


def edge(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "blueranch", "edge", *args], capture_output=True, text=True, env=env, timeout=60
    )


def test_every_driver_is_registered_and_its_sample_validates():
    registry = drivers.load_all()
    assert set(registry) == set(drivers.MODULES) == {"sdi12", "nmea0183", "modbus_rtu", "mqtt_node"}
    for name, cls in registry.items():
        assert cls.name == name and cls.Config.model_config["extra"] == "forbid"
        sensors = yaml.safe_load(cls.SAMPLE)
        assert len(sensors) == 1 and sensors[0]["driver"] == name
        cfg = parse_config({**BASE, "sensors": sensors})
        assert type(cfg.sensors[0]) is cls.Config


def test_every_driver_declares_what_it_supports_beyond_reading():
    """Probing and raw commands are optional hooks of the driver classes; the agent and the probe iterate the
    registry and name no protocol and no device."""
    for cls in drivers.load_all().values():
        assert issubclass(cls, DriverBase)
        overrides = {h: inspect.getattr_static(cls, h) is not inspect.getattr_static(DriverBase, h) for h in HOOKS}
        assert overrides["probe"] == overrides["snippet"] == supports(cls, "probe"), cls.name
        assert overrides["raw"] == (cls.RAW_COMMAND is not None) == supports(cls, "raw"), cls.name
    assert list(drivers.supporting("probe")) == ["sdi12", "nmea0183", "modbus_rtu"]  # the auto order
    assert list(drivers.supporting("raw")) == ["sdi12"]
    assert probe.protocols() == ["auto", "sdi12", "nmea0183", "modbus_rtu"]
    for module in (agent, probe):
        source = inspect.getsource(module).lower()
        for word in (*drivers.MODULES, "sdi-12", "nmea", "modbus", "bluernch", "sonde"):
            assert word not in source, f"{module.__name__} names {word!r}"
    with pytest.raises(TypeError, match="must subclass DriverBase"):
        drivers.register("not-a-driver")(type("Plain", (), {}))


def test_the_sample_config_is_complete_commented_and_valid(tmp_path):
    text = sample_config()
    assert text.count("#") > 30
    f = tmp_path / "edge.yaml"
    f.write_text(text)
    cfg = parse_config(yaml.safe_load(text))
    assert {s.driver for s in cfg.sensors} == set(drivers.MODULES)
    out = edge("sample-config")
    assert out.returncode == 0 and out.stdout == text
    ok = edge("check-config", "--offline", str(f))  # its ports are examples, not this machine's
    assert ok.returncode == 0, ok.stderr
    assert "valid (4 sensors" in ok.stdout and "no qc for" not in ok.stderr
    emitted = {q for s in cfg.sensors for q in (getattr(s, "quantities", None) or [])}
    assert emitted <= set(cfg.qc)  # every quantity of the samples comes with QC


def test_check_config_prints_every_error_with_its_dotted_path_and_exits_2(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text(
        yaml.safe_dump(
            {
                "site": "dachen/#",
                "device": "buoy-01",
                "mqtt": {"url": "http://x", "password": "hunter2"},
                "qc": {"do_mg_l": {"gross_range": {"fail_span": [5, 1]}, "spikes": {}}},
                "sensors": [
                    {"id": "s1", "driver": "sdi12", "port": "/dev/x", "address": "!!", "quantities": ["do_mg_l", "mg"]},
                    {
                        "id": "m1",
                        "driver": "modbus_rtu",
                        "port": "/dev/y",
                        "slave_id": 300,
                        "registers": [{"address": 0, "type": "float64", "quantity": "load_kg", "endian": "big"}],
                    },
                    {"id": "x", "driver": "lora"},
                ],
            }
        )
    )
    out = edge("check-config", str(f))
    assert out.returncode == 2
    for path in [
        "site:",
        "mqtt.url:",
        "mqtt.password: 'hunter2' is not a known field",
        "qc.do_mg_l.gross_range:",
        "qc.do_mg_l.spikes:",
        "sensors[0].address:",
        "sensors[0].quantities[1]:",
        "sensors[1].slave_id: 300",
        "sensors[1].registers[0].type:",
        "sensors[1].registers[0].endian:",
        "sensors[2].driver:",
    ]:
        assert re.search(rf"{re.escape(str(f))}:\d+:\d+: {re.escape(path)}", out.stderr), (path, out.stderr)
    assert "11 error(s)" in out.stderr


def test_cross_sensor_rules_unique_ids_and_one_protocol_per_port():
    with pytest.raises(ContractError) as err:
        parse_config(
            {
                **BASE,
                "sensors": [
                    {"id": "a", "driver": "sdi12", "port": "/dev/ttyUSB0", "quantities": ["ph"]},
                    {"id": "agent", "driver": "sdi12", "port": "/dev/ttyUSB1", "quantities": ["ph"]},
                    {
                        "id": "a",
                        "driver": "modbus_rtu",
                        "port": "/dev/ttyUSB0",
                        "slave_id": 1,
                        "registers": [{"address": 0, "quantity": "load_kg"}],
                    },
                ],
            }
        )
    fields = [v.field for v in err.value.violations]
    assert fields == ["sensors[1].id", "sensors[2].id", "sensors[2].port"]
    assert "one line, one protocol and speed" in str(err.value)


@pytest.mark.parametrize(
    "text,field",
    [("site: [unclosed", "line 1"), ("- a\n- b\n", "(root)"), ("site: ok\ndevice: d\nsensors: []\n", "sensors")],
)
def test_check_config_on_broken_yaml_and_wrong_shapes(tmp_path, text, field):
    f = tmp_path / "c.yaml"
    f.write_text(text)
    out = edge("check-config", str(f))
    assert out.returncode == 2 and re.search(rf"{re.escape(str(f))}:(\d+:\d+:)? {re.escape(field)}", out.stderr)
    assert edge("check-config", str(tmp_path / "missing.yaml")).returncode == 2


GOOD = """\
site: dachen
device: buoy-01
mqtt:
  url: mqtt://127.0.0.1:1883
buffer:
  path: /tmp/x.sqlite
sensors:
  - id: sonde-1
    driver: sdi12
    port: {port}
    quantities: [temp_c]
"""


def test_check_config_needs_the_ports_to_exist_unless_offline(tmp_path):
    f = tmp_path / "edge.yaml"
    f.write_text(GOOD.format(port="/dev/ttyBLUERANCH9"))
    out = edge("check-config", str(f))
    assert out.returncode == 2
    assert f"{f}:10:11: sensors[0].port: '/dev/ttyBLUERANCH9' does not exist on this machine" in out.stderr
    assert "--offline" in out.stderr
    offline = edge("check-config", "--offline", str(f))
    assert offline.returncode == 0, offline.stderr
    assert "warning: no qc for temp_c" in offline.stderr
    regular = tmp_path / "not-a-tty"
    regular.write_text("")
    f.write_text(GOOD.format(port=regular))
    assert "is not a serial device" in edge("check-config", str(f)).stderr


def test_mqtt_is_required_and_errors_give_line_column_and_did_you_mean(tmp_path):
    f = tmp_path / "edge.yaml"
    text = GOOD.format(port="/dev/null").replace("mqtt:\n  url: mqtt://127.0.0.1:1883\n", "")
    text = text.replace("    quantities: [temp_c]\n", "    quantities: [temp_c]\n    interval: 60\n    adress: '1'\n")
    f.write_text(text + "qc:\n  temp_c:\n    spikes: {suspect_threshold: 1, fail_threshold: 2}\n")
    out = edge("check-config", "--offline", str(f))
    assert out.returncode == 2
    assert f"{f}:1:1: mqtt: (not given) is required" in out.stderr
    assert (
        f"{f}:10:5: sensors[0].interval: 60 is not a known field (unknown keys are errors); did you mean 'interval_s'?"
        in out.stderr
    )
    assert (
        f"{f}:11:5: sensors[0].adress: '1' is not a known field" in out.stderr
        and "did you mean 'address'?" in out.stderr
    )
    assert f"{f}:14:5: qc.temp_c.spikes: " in out.stderr and "did you mean 'spike'?" in out.stderr


def test_a_key_given_twice_is_an_error_with_both_lines(tmp_path):
    f = tmp_path / "edge.yaml"
    f.write_text(GOOD.format(port="/dev/null").replace("device: buoy-01\n", "device: buoy-01\ndevice: buoy-02\n"))
    out = edge("check-config", "--offline", str(f))
    assert out.returncode == 2
    assert f"{f}: line 3, (root): 'device' is given twice in one mapping (first on line 2" in out.stderr
