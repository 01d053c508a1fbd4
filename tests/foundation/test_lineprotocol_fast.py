"""The one telemetry serialiser writes exactly what the generic point serialiser writes for the points the
contract describes, byte for byte (docs/contracts.md: one field and its ``_qc`` flag per sample)."""

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from blueranch.contracts import mqtt
from blueranch.contracts.influx import Point, position_point, to_ms
from blueranch.contracts.lineprotocol import lines, telemetry_lines
from blueranch.contracts.quantities import QUANTITIES

ids = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_.\-]{0,20}\Z")
quantity = st.sampled_from(sorted(QUANTITIES))


@st.composite
def samples(draw):
    q = QUANTITIES[draw(quantity)]
    return mqtt.Sample(
        time=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(milliseconds=draw(st.integers(0, 10**11))),
        sensor=draw(ids),
        quantity=q.name,
        unit=q.unit,
        qc=draw(st.sampled_from([1, 2, 3, 4, 9])),
        value=draw(st.floats(allow_nan=False, allow_infinity=False) | st.none()),  # out of range and missing too
        farm=draw(st.none() | ids),
        asset=draw(st.none() | ids),
    )


def contract_points(site: str, msg: mqtt.Telemetry, suspect: set[int]) -> list[Point]:
    """The points docs/contracts.md describes, built one by one (the reference, not the fast path)."""
    points = []
    for i, s in enumerate(msg.samples):
        q = QUANTITIES[s.quantity]
        tags = {"site": site, "device": msg.device, "sensor": s.sensor}
        if s.farm is not None:
            tags["farm"] = s.farm
        if s.asset is not None:
            tags["asset"] = s.asset
        qc = 3 if i in suspect and s.qc in (1, 2) else s.qc
        fields = {q.name + "_qc": qc} if s.value is None else {q.name: s.value, q.name + "_qc": qc}
        points.append(Point(q.measurement, tags, fields, to_ms(s.time)))
    position = position_point(site, msg)
    return points + ([position] if position is not None else [])


@settings(max_examples=200, deadline=None)
@given(
    site=ids,
    device=ids,
    smp=st.lists(samples(), min_size=1, max_size=8),
    pos=st.none() | st.tuples(st.floats(-90, 90), st.floats(-180, 180)),
    suspect=st.sets(st.integers(0, 7)),
)
def test_fast_path_equals_general_path(site, device, smp, pos, suspect):
    position = mqtt.Position(lat_deg=pos[0], lon_deg=pos[1]) if pos else None
    msg = mqtt.Telemetry(device=device, seq=1, samples=smp, position=position)
    assert "\n".join(telemetry_lines(site, msg, suspect)).encode() == lines(contract_points(site, msg, suspect))
