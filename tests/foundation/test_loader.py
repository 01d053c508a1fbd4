"""The one JSON and YAML reader (blueranch.loader): what it refuses, with where, and that it changes nothing else.

Differential: on documents PyYAML and the json module read without surprises (no duplicate keys, within the
depth limit), the loader returns exactly what they return (hypothesis).
"""

from __future__ import annotations

import json
import logging

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from blueranch.loader import DEFAULT_LIMITS, Limits, LoadError, load_yaml, parse_json, parse_yaml
from blueranch.outage import Outage

LAUGHS = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(8)
)


@pytest.mark.parametrize(
    "text, words",
    [
        ("a: 1\nb:\n  c: 2\n  c: 3\n", "line 4, b: 'c' is given twice in one mapping (first on line 3"),
        ("a: {x: 1, x: 2}", "line 1, a: 'x' is given twice"),
        (LAUGHS, "past the limit of 1000000 nodes (aliases that multiply: a 'billion laughs')"),
        ("[" * 100_000, "line 1, column 65: nests deeper than the limit of 64 levels"),
        ("a: &a [*a]", "is an alias of a mapping or list that contains it"),
        ("a: [1\n", "line 2, column 1: is not valid YAML"),
        ("a: !!python/object:os.system {}", "could not determine a constructor"),
        ("a: \x07\n", "line 1: is not valid YAML: character #x0007"),
    ],
)
def test_yaml_refusals_say_where(text, words):
    with pytest.raises(LoadError) as exc:
        parse_yaml(text, "f.yaml")
    assert exc.value.reason == "bad_file" and str(exc.value).startswith("f.yaml: ")
    assert words in str(exc.value)


def test_yaml_keeps_anchors_merges_and_overrides():
    doc = "base: &b {x: 1, y: 2}\nd:\n  <<: *b\n  x: 3\nsrc: &s cited\nuse: [*s, *s]\n"
    assert (
        parse_yaml(doc)
        == yaml.safe_load(doc)
        == {
            "base": {"x": 1, "y": 2},
            "d": {"x": 3, "y": 2},
            "src": "cited",
            "use": ["cited", "cited"],
        }
    )
    assert parse_yaml("") is None


@pytest.mark.parametrize(
    "data, words",
    [
        ('{"a": {"b": [{"c": 1, "c": 2}]}}', "a.b[0]: 'c' is given twice in one object"),
        ("[" * 100_000, "nests deeper than the limit of 64 levels"),
        ('{"a": ' * 70 + "1" + "}" * 70, "nests deeper than the limit of 64 levels"),
        ('{"a": NaN}', "NaN is not a JSON number"),
        ('{"a": ' + "9" * 5000 + "}", "is not valid JSON"),
        ('{"a": 1', "line 1, column 8: is not valid JSON"),
        (b"\x80 x", "line 1: byte 0x80 at offset 0 is not UTF-8"),
        ('{"a": 1}'.encode("utf-16-le"), "a NUL byte at offset 1"),
    ],
)
def test_json_refusals_say_where(data, words):
    with pytest.raises(LoadError) as exc:
        parse_json(data, "in.json")
    assert words in str(exc.value), str(exc.value)


def test_byte_order_marks_and_size(tmp_path):
    assert parse_json('{"a": "é"}'.encode("utf-16")) == {"a": "é"}
    assert parse_yaml("a: é\n".encode("utf-8-sig")) == {"a": "é"}
    assert parse_yaml("a: 1\n".encode("utf-32")) == {"a": 1}
    with pytest.raises(LoadError, match="is 80 bytes, larger than the limit of 20 bytes"):
        parse_json(b'{"a": 1}' * 10, "x", Limits(max_bytes=20))
    big = tmp_path / "big.yaml"
    with big.open("wb") as f:
        f.truncate(DEFAULT_LIMITS.max_bytes + 100)
    with pytest.raises(LoadError, match=f"\\(file\\): is larger than the limit of {DEFAULT_LIMITS.max_bytes} bytes"):
        load_yaml(big)
    with pytest.raises(LoadError, match="cannot be read: No such file or directory"):
        load_yaml(tmp_path / "nothing.yaml")
    with pytest.raises(LoadError, match="cannot be read: Is a directory"):
        load_yaml(tmp_path)


_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False, allow_infinity=False), st.text()
)
_docs = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(_docs)
def test_json_reads_what_the_json_module_reads(doc):
    text = json.dumps(doc)
    assert parse_json(text) == json.loads(text)
    assert parse_json(text.encode()) == json.loads(text)


@settings(max_examples=300, deadline=None)
@given(_docs)
def test_yaml_reads_what_pyyaml_reads(doc):
    text = yaml.safe_dump(doc, allow_unicode=True)
    assert parse_yaml(text) == yaml.safe_load(text)


def test_an_outage_is_logged_when_it_starts_then_once_a_minute(caplog):
    now = [0.0]
    o = Outage(logging.getLogger("t.outage"), "InfluxDB", "http://db:8086", clock=lambda: now[0])
    caplog.set_level(logging.INFO, "t.outage")
    for t in range(0, 181, 1):  # an attempt a second for three minutes
        now[0] = float(t)
        o.failed("[Errno 111] Connection refused")
    lines = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in lines][0] == (
        "cannot reach InfluxDB at http://db:8086: [Errno 111] Connection refused; retrying"
    )
    assert len(lines) == 4 and "still cannot reach InfluxDB at http://db:8086 after 180 s (181 attempts)" in (
        lines[-1].getMessage()
    )
    o.ok()
    o.ok()
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert infos == ["InfluxDB at http://db:8086 is reachable again after 180 s (181 attempts)"]
    assert not o.down
