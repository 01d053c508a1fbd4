"""Lifecycle: minimum duration, hysteresis, escalation, reminders, acknowledge, resolve, restart safety."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blueranch.models.alerts.config import AlertsConfig
from blueranch.models.alerts.lifecycle import Engine
from blueranch.models.alerts.rules.base import Observation
from blueranch.models.alerts.store import Store

MIN = 60_000
T0 = 1_780_000_000_000


def cfg(**lifecycle) -> AlertsConfig:
    return AlertsConfig.model_validate({"rules": {"storm": {"lifecycle": lifecycle}}})


def ob(
    triggered: bool, cleared: bool = False, severity: str = "warning", device: str = "wx-01", value: float = 20.0
) -> Observation:
    return Observation("dachen", device, "storm", "", severity, triggered, cleared, value, 17.2, "wind")


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "state.sqlite")
    yield s
    s.close()


def run(engine: Engine, seq, start=T0, step=MIN) -> list[tuple[int, str]]:
    """Apply one observation per minute; return (minute, event) of every notification."""
    out = []
    for i, o in enumerate(seq):
        for ev in engine.apply([o] if o is not None else [], start + i * step):
            out.append((i, ev["event"]))
    return out


def test_min_duration_ignores_short_blips(store):
    e = Engine(cfg(min_duration_s=300, escalate_after_s=0, repeat_every_s=0), store)
    blips = [ob(True), ob(True), ob(False, True), ob(True), ob(False, True)]
    assert run(e, blips) == []
    assert store.list(include_pending=True) == []
    assert run(e, [ob(True)] * 7, start=T0 + 10 * MIN) == [(5, "open")]


def test_one_alert_per_condition_per_device_not_per_evaluation(store):
    e = Engine(cfg(escalate_after_s=0, repeat_every_s=0), store)
    events = run(e, [ob(True)] * 30)
    assert events == [(0, "open")]
    e.apply([ob(True, device="wx-02")], T0 + 31 * MIN)
    assert len(store.list(open_only=True)) == 2


def test_hysteresis_keeps_alert_open_between_thresholds_and_clear_time(store):
    e = Engine(cfg(clear_after_s=600, escalate_after_s=0, repeat_every_s=0), store)
    # triggered -> between thresholds (neither triggered nor cleared) -> cleared, but not for 10 min yet
    seq = [ob(True)] + [ob(False, False)] * 20 + [ob(False, True)] * 5 + [ob(False, False)] + [ob(False, True)] * 11
    events = run(e, seq)
    assert events == [(0, "open"), (37, "resolved")]
    a = store.list()[0]
    assert a.state == "resolved" and a.resolved_ms == T0 + 37 * MIN


def test_escalation_then_reminders_until_acknowledged(store):
    e = Engine(cfg(escalate_after_s=600, repeat_every_s=1200), store)
    events = run(e, [ob(True)] * 40)
    assert events == [(0, "open"), (10, "escalated"), (30, "reminder")]
    alert_id = store.list(open_only=True)[0].id
    ack = e.acknowledge(alert_id, "Wang Wei", T0 + 41 * MIN)
    assert ack["event"] == "acknowledged" and ack["acknowledged_by"] == "Wang Wei"
    assert run(e, [ob(True)] * 120, start=T0 + 42 * MIN) == []  # no more reminders or escalation
    assert store.get(alert_id).state == "acknowledged"


def test_reminders_back_off_doubling_up_to_the_cap(store):
    e = Engine(cfg(escalate_after_s=600, repeat_every_s=1200, repeat_max_s=3600), store)
    reminders = [m for m, ev in run(e, [ob(True)] * 300) if ev == "reminder"]
    assert reminders == [30, 60, 120, 180, 240]  # waits 20, 30, 60 min, then the 60 min cap


def test_resolved_says_what_it_was_and_what_it_is(store):
    e = Engine(cfg(clear_after_s=0, escalate_after_s=0, repeat_every_s=0), store)
    e.apply([ob(True, value=28.0)], T0)
    calm = Observation("dachen", "wx-01", "storm", "", "warning", False, True, 5.0, 17.2, "calm now")
    (done,) = e.apply([calm], T0 + MIN)
    assert done["event"] == "resolved" and done["message"] == "resolved: calm now; while active: wind"


def test_acknowledged_alert_still_resolves_and_a_new_occurrence_gets_a_new_id(store):
    e = Engine(cfg(clear_after_s=0, escalate_after_s=0, repeat_every_s=0), store)
    run(e, [ob(True)])
    first = store.list(open_only=True)[0].id
    e.acknowledge(first, "ops", T0 + MIN)
    assert run(e, [ob(False, True)], start=T0 + 2 * MIN) == [(0, "resolved")]
    with pytest.raises(ValueError, match="resolved"):
        e.acknowledge(first, "ops", T0 + 3 * MIN)
    run(e, [ob(True)], start=T0 + 4 * MIN)
    second = store.list(open_only=True)[0].id
    assert second != first


def test_severity_upgrade_is_notified_once(store):
    e = Engine(cfg(escalate_after_s=0, repeat_every_s=0), store)
    events = run(e, [ob(True)] * 3 + [ob(True, severity="critical")] * 3 + [ob(True)] * 3)
    assert events == [(0, "open"), (3, "severity")]
    assert store.list(open_only=True)[0].severity == "critical"


def test_timers_run_when_the_rule_has_no_data(store):
    e = Engine(cfg(escalate_after_s=300, repeat_every_s=0), store)
    events = run(e, [ob(True)] + [None] * 10)
    assert events == [(0, "open"), (5, "escalated")]


def test_state_survives_a_restart(tmp_path):
    path = tmp_path / "state.sqlite"
    s1 = Store(path)
    e1 = Engine(cfg(min_duration_s=300, escalate_after_s=0, repeat_every_s=0), s1)
    assert run(e1, [ob(True)] * 3) == []  # pending for 2 min
    s1.close()
    s2 = Store(path)
    e2 = Engine(cfg(min_duration_s=300, escalate_after_s=0, repeat_every_s=0), s2)
    assert run(e2, [ob(True)] * 4, start=T0 + 3 * MIN) == [(2, "open")]  # opens 5 min after the first trigger
    assert run(e2, [ob(True)] * 5, start=T0 + 8 * MIN) == []
    s2.close()


def test_acknowledge_errors(store):
    e = Engine(cfg(), store)
    with pytest.raises(KeyError, match="no alert"):
        e.acknowledge("nope", "ops", T0)
    run(e, [ob(True)])
    with pytest.raises(ValueError, match="--by"):
        e.acknowledge(store.list()[0].id, "  ", T0)


def test_duplicate_observation_is_a_bug_not_a_second_alert(store):
    with pytest.raises(ValueError, match="twice"):
        Engine(cfg(), store).apply([ob(True), ob(True)], T0)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["wx-01", "wx-02"]),
            st.booleans(),
            st.booleans(),
            st.sampled_from(["warning", "critical"]),
            st.booleans(),
        ),
        min_size=1,
        max_size=60,
    )
)
def test_lifecycle_invariants_under_any_sequence(tmp_path_factory, seq):
    """Whatever the rules report: at most one active alert per condition, every alert's events start
    with open and end at resolved, and nothing follows a resolution."""
    s = Store(tmp_path_factory.mktemp("prop") / "s.sqlite")
    e = Engine(cfg(min_duration_s=120, clear_after_s=180, escalate_after_s=300, repeat_every_s=240), s)
    by_alert: dict[str, list[str]] = {}
    for i, (device, trig, clear, sev, ack) in enumerate(seq):
        now = T0 + i * MIN
        for ev in e.apply([ob(trig, clear and not trig, sev, device)], now):
            by_alert.setdefault(ev["alert_id"], []).append(ev["event"])
        active = [a for a in s.active().values() if a.device == device]
        assert len(active) <= 1
        if ack and active and active[0].state in ("open", "escalated"):
            by_alert[active[0].id].append(e.acknowledge(active[0].id, "ops", now)["event"])
    for events in by_alert.values():
        assert events[0] == "open"
        assert "resolved" not in events[:-1]
        assert events.count("escalated") <= 1 and events.count("acknowledged") <= 1
    s.close()


def test_disabling_a_rule_resolves_its_alerts(store):
    run(Engine(cfg(escalate_after_s=0, repeat_every_s=0), store), [ob(True)])
    off = AlertsConfig.model_validate({"rules": {"storm": {"enabled": False}}})
    events = Engine(off, store).apply([], T0 + MIN)
    assert [ev["event"] for ev in events] == ["resolved"] and "disabled" in events[0]["message"]
    assert store.list(open_only=True) == []
