"""The fast decoder (msgspec) against the reference (the contract's pydantic model), on hostile inputs.

Two properties over near-valid messages (hypothesis mutates every field towards its edge cases):
- what the fast path accepts, the reference accepts, with the same values (so nothing is written that the
  contract would refuse, and nothing is written differently);
- the ingest's validator gives the same answer by either path: the same line protocol, or the same reason
  and the same violations (refusals are always the reference's own).
And the fast path takes what the edge agent sends (else it would be no faster).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blueranch.contracts import mqtt as contract
from blueranch.contracts.errors import ContractError
from blueranch.contracts.quantities import QUANTITIES
from blueranch.ingest import fastdecode
from blueranch.ingest.config import IngestConfig
from blueranch.ingest.validate import Validator

TOPIC = contract.telemetry_topic("dachen", "buoy-01")
NOW = datetime(2026, 11, 21, 15, 0, tzinfo=UTC)
Q = sorted(QUANTITIES)


def test_the_structs_mirror_the_contract_models():
    pairs = [
        (fastdecode.Telemetry, contract.Telemetry),
        (fastdecode.Sample, contract.Sample),
        (fastdecode.Position, contract.Position),
    ]
    for fast, ref in pairs:
        names = {f.alias or n for n, f in ref.model_fields.items()}
        assert set(fast.__struct_fields__) == names, f"{fast.__name__}: add the contract's new fields here too"


def often(valid, *edges):
    """Mostly ``valid`` (a strategy), sometimes one of the ``edges``: most draws must be near-valid messages,
    or the fast path would rarely accept and the property would hold vacuously."""
    return st.integers(0, 39).flatmap(lambda k: valid if k < 38 else st.one_of(*edges))


ids = often(
    st.sampled_from(["buoy-01", "sonde-1", "a", "A.b_c-9", "x" * 64]),
    st.sampled_from(["", "x" * 65, "buoy-01\n", "buoy 01", "-x", "_sys", "a/b", "a+", "é", "buoy-01\x00", "\u0661"]),
    st.text(max_size=6),
)


digits = st.integers(0, 9).map(str)


def _pick(valid: list[str], edge: list[str]):
    return often(st.sampled_from(valid), st.sampled_from(edge))


@st.composite
def times(draw):
    if draw(st.integers(0, 19)) == 0:
        return draw(st.one_of(st.integers(-1, 2**40), st.floats(), st.none(), st.text(max_size=12)))
    y = draw(_pick(["2026", "2024", "2025"], ["0000", "0001", "9999", "1999", "2200", "20260"]))
    mo = draw(_pick(["01", "02", "11", "12"], ["13", "00", "1"]))
    d = draw(_pick(["01", "21", "28"], ["29", "30", "31", "32", "00"]))
    h = draw(_pick(["00", "14", "23"], ["24", "1"]))
    mi = draw(_pick(["00", "59"], ["60"]))
    sec = draw(_pick([":00", ":59"], [":60", "", ":5"]))
    frac = draw(
        often(
            st.sampled_from(["", ".000", ".5", ".123456"]), st.lists(digits, max_size=9).map(lambda x: "." + "".join(x))
        )
    )
    sep = draw(_pick(["T"], ["t", " ", "_"]))
    zone = draw(_pick(["Z", "+00:00"], ["-00:00", "z", "+01:00", "", "+0000", "UTC", "+00:00:00"]))
    return f"{y}-{mo}-{d}{sep}{h}:{mi}{sec}{frac}{zone}"


@st.composite
def samples(draw):
    q = draw(often(st.sampled_from(Q), st.sampled_from(["nope", "DO_MG_L"])))
    known = QUANTITIES.get(q)
    unit = known.unit if known and draw(st.integers(0, 9)) else draw(st.sampled_from(["mg/L", "degC", "", "kg"]))
    lo, hi = (known.gross_min, known.gross_max) if known else (-10.0, 10.0)
    value = draw(
        often(
            st.one_of(st.floats(lo, hi), st.integers(int(lo), int(hi))),
            st.floats(allow_nan=False, allow_infinity=False),
            st.integers(-(2**70), 2**70),
            st.sampled_from([lo, hi, True, None, "7.2", 1e308]),
        )
    )
    s = {"time": draw(times()), "sensor": draw(ids), "quantity": q, "value": value, "unit": unit}
    for key, values in (
        ("qc", often(st.sampled_from([1, 2, 3, 4, 9]), st.sampled_from([0, 5, 1.0, True, "1", None]))),
        ("farm", st.one_of(ids, st.none())),
        ("asset", st.one_of(ids, st.none())),
        ("extra", st.just(1)),
    ):
        if draw(st.integers(0, 2 if key != "extra" else 30)) == 0:
            s[key] = draw(values)
    for key in ("time", "sensor", "unit", "value"):
        if draw(st.integers(0, 40)) == 0:
            del s[key]
    return s


@st.composite
def messages(draw) -> bytes:
    m: dict = {"schema": contract.TELEMETRY_SCHEMA, "device": "buoy-01", "seq": 1}
    if draw(st.integers(0, 15)) == 0:
        m["schema"] = draw(st.sampled_from(["blueranch.telemetry/v2", None, 1]))
    if draw(st.integers(0, 15)) == 0:
        m["schema_"] = m.pop("schema")
    if draw(st.integers(0, 15)) == 0:
        m.pop("schema", None)
    if draw(st.integers(0, 8)) == 0:
        m["device"] = draw(ids)
    if draw(st.integers(0, 3)) == 0:
        m["seq"] = draw(
            often(
                st.integers(0, 2**40), st.integers(-2, 2**64), st.sampled_from([2**63 - 1, 2**63, 1.0, "1", True, None])
            )
        )
    if draw(st.integers(0, 3)) == 0:
        m["backfill"] = draw(often(st.booleans(), st.sampled_from([None, 0, 1, "true"])))
    if draw(st.integers(0, 3)) == 0:
        m["position"] = draw(
            st.one_of(
                st.none(),
                st.fixed_dictionaries(
                    {
                        "lat_deg": often(st.floats(-90, 90), st.floats(-100, 100), st.sampled_from(["28.4", None, 90])),
                        "lon_deg": often(st.floats(-180, 180), st.floats(-200, 200), st.integers(-200, 200)),
                    }
                ),
            )
        )
    m["samples"] = draw(often(st.lists(samples(), min_size=1, max_size=3), st.just([]), st.just(None)))
    if draw(st.integers(0, 20)) == 0:
        m["extra"] = {}
    text = json.dumps(m, allow_nan=True)
    if draw(st.integers(0, 15)) == 0:  # a key twice: both parsers keep the last
        text = text[:-1] + ', "seq": 5}'
    return text.encode()


def _ref(payload: bytes):
    try:
        return contract.parse_telemetry(payload)  # the payload alone (the validator test checks the topic)
    except ContractError as exc:
        return exc


def _values(msg) -> tuple:
    pos = msg.position and (msg.position.lat_deg, msg.position.lon_deg)
    rows = tuple(
        (s.time, s.sensor, s.quantity, s.value, type(s.value), s.unit, s.qc, s.farm, s.asset) for s in msg.samples
    )
    return msg.device, msg.seq, msg.backfill, pos, rows


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages())
def test_what_the_fast_path_accepts_the_reference_accepts_with_the_same_values(payload):
    fast = fastdecode.decode(payload)
    if fast is None:
        return
    ref = _ref(payload)
    assert not isinstance(ref, ContractError), (payload, ref)
    assert _values(fast) == _values(ref)
    for s in fast.samples:
        assert s.time.tzinfo is UTC


def _accept(v: Validator, payload: bytes):
    try:
        a = v.accept(TOPIC, payload, NOW)
        return ("ok", a.body, a.points, a.device, a.seq, a.backfill, a.newest_ms, a.flags)
    except ContractError as exc:
        return ("refused", exc.reason, [str(x) for x in exc.violations])


@pytest.fixture(scope="module")
def validators():
    fast, ref = Validator(IngestConfig()), Validator(IngestConfig())
    ref.parse_telemetry = contract.parse_telemetry
    return fast, ref


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(messages())
def test_the_validator_answers_the_same_by_either_path(validators, payload):
    fast, ref = validators
    assert _accept(fast, payload) == _accept(ref, payload)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(Q),
            st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1)),
            st.floats(0, 1),
            st.sampled_from([1, 2, 3, 4, 9]),
        ),
        min_size=1,
        max_size=50,
    ),
    st.booleans(),
)
def test_the_fast_path_takes_what_edge_agents_send(rows, with_position):
    samples = [
        contract.Sample(
            time=t.replace(tzinfo=UTC) + timedelta(milliseconds=i),
            sensor="sonde-1",
            quantity=q,
            value=QUANTITIES[q].gross_min + f * (QUANTITIES[q].gross_max - QUANTITIES[q].gross_min),
            unit=QUANTITIES[q].unit,
            qc=qc,
            farm="mussel-1",
        )
        for i, (q, t, f, qc) in enumerate(rows)
    ]
    position = contract.Position(lat_deg=28.46, lon_deg=121.89) if with_position else None
    body = contract.Telemetry(device="buoy-01", seq=7, samples=samples, position=position).to_json()
    fast = fastdecode.decode(body)
    assert fast is not None, body[:300]
    assert _values(fast) == _values(contract.parse_telemetry(body))


def test_limits_and_refusals_are_the_contracts(validators):
    fast, ref = validators
    s = {"time": "2026-11-21T14:00:00Z", "sensor": "sonde-1", "quantity": "do_mg_l", "value": 7.2, "unit": "mg/L"}
    for n in (contract.MAX_SAMPLES, contract.MAX_SAMPLES + 1):
        many = [{**s, "time": f"2026-11-21T14:{i // 60000:02d}:{i // 1000 % 60:02d}.{i % 1000:03d}Z"} for i in range(n)]
        body = json.dumps({"device": "buoy-01", "seq": 1, "samples": many}).encode()
        assert (fastdecode.decode(body) is not None) == (n == contract.MAX_SAMPLES)
        assert _accept(fast, body) == _accept(ref, body)
    other = contract.telemetry_topic("dachen", "buoy-02")
    body = json.dumps({"device": "buoy-01", "seq": 1, "samples": [s]}).encode()
    with pytest.raises(ContractError) as exc:
        fastdecode.parse_telemetry(body, contract.parse_topic(other))
    assert exc.value.reason == "device_mismatch"
    with pytest.raises(ContractError) as exc:
        fastdecode.parse_telemetry(body, contract.parse_topic(TOPIC), max_bytes=10)
    assert exc.value.reason == "oversize"
