"""The telemetry fast path writes exactly what the general path writes, byte for byte."""

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from blueranch.contracts import mqtt
from blueranch.contracts.influx import telemetry_points
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
        value=draw(st.floats(q.gross_min, q.gross_max, allow_nan=False, allow_infinity=False)),
        farm=draw(st.none() | ids),
        asset=draw(st.none() | ids),
    )


@settings(max_examples=200, deadline=None)
@given(
    site=ids,
    device=ids,
    smp=st.lists(samples(), min_size=1, max_size=8),
    pos=st.none() | st.tuples(st.floats(-90, 90), st.floats(-180, 180)),
)
def test_fast_path_equals_general_path(site, device, smp, pos):
    position = mqtt.Position(lat_deg=pos[0], lon_deg=pos[1]) if pos else None
    msg = mqtt.Telemetry(device=device, seq=1, samples=smp, position=position)
    assert "\n".join(telemetry_lines(site, msg)).encode() == lines(telemetry_points(site, msg))
