"""The delivery rule (edge/commits.py): when a buffered message may be deleted, what is sent again, and the
fallback to PUBACK mode. Pure logic over broker answers and shore commits; the real broker and ingest are
in test_delivery_drills.py."""

from __future__ import annotations

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from blueranch.contracts.mqtt import Ack, Rejected
from blueranch.edge.commits import Delivery
from blueranch.edge.config import MqttConfig

OK = ReasonCode(PacketTypes.PUBACK, identifier=0x00)
NO_SUBSCRIBERS = ReasonCode(PacketTypes.PUBACK, identifier=0x10)
NOT_AUTHORIZED = ReasonCode(PacketTypes.PUBACK, identifier=0x87)
CFG = MqttConfig(commit_timeout_s=10, commit_timeout_max_s=40, commit_wait_s=100, reconnect_min_s=1, reconnect_max_s=8)


def ack(*ranges, rejected=()) -> Ack:
    return Ack(
        device="b", epoch="e1", committed=list(ranges), rejected=[Rejected(seq=s, reason=r) for s, r in rejected]
    )


def test_a_puback_is_not_delivery_a_commit_is():
    d = Delivery(CFG, commits_seen=True)
    assert [d.on_puback(s, OK, 0.0) for s in (1, 2, 3)] == [False, False, False]
    assert set(d.waiting) == {1, 2, 3} and d.describe() == "commit mode"
    assert d.on_ack(ack((1, 2), rejected=[(3, "schema")])) == [(1, 2), (3, 3)]
    assert not d.waiting and d.committed == 3 and d.shore_rejected == 1


def test_not_committed_in_time_is_sent_again_with_a_doubling_timeout():
    d = Delivery(CFG, commits_seen=True)
    d.on_puback(1, OK, 0.0)
    assert d.due(9.9, 10) == [] and d.due(10.0, 10) == [1]
    timeouts = []
    now = 0.0
    for _ in range(4):
        due_s = d.waiting[1].due_s
        timeouts.append(due_s - now)
        now = due_s
        d.resending(1)
        assert 1 not in d.waiting  # in flight now, not due again
        d.on_puback(1, OK, now)
    assert timeouts == [10, 20, 40, 40] and d.resent == 4


def test_no_matching_subscribers_and_refusals_are_kept_counted_and_retried_with_backoff():
    d = Delivery(CFG, commits_seen=False)
    assert d.on_puback(1, NO_SUBSCRIBERS, 0.0) is False
    assert d.waiting[1].why == "no subscriber" and d.no_subscriber_total == 1
    assert d.on_puback(2, NOT_AUTHORIZED, 0.0) is False
    assert d.waiting[2].why == "refused" and d.refused_total == 1
    assert d.describe() == "refused: Not authorized"
    assert 0.5 <= d.waiting[2].due_s <= 1.0
    d.resending(2)
    d.on_puback(2, NOT_AUTHORIZED, 1.0)
    assert 1.0 + 1.0 <= d.waiting[2].due_s <= 1.0 + 2.0  # backoff doubles
    d.resending(2)
    d.on_puback(2, OK, 3.0)  # the ACL was fixed
    assert d.describe() == "commit mode (no commit seen yet)" and d.waiting[2].why == "accepted"
    assert d.tick(1000.0) == [2]  # only accepted messages count for the fallback; 1 (0x10) is kept


def test_auto_falls_back_to_puback_only_when_the_broker_accepts_and_nobody_commits():
    d = Delivery(CFG, commits_seen=False)
    d.on_puback(1, OK, 0.0)
    d.on_puback(2, OK, 50.0)
    assert d.tick(99.0) == [] and d.mode == "commit"
    assert d.tick(100.0) == [1, 2] and d.mode == "puback" and not d.waiting
    assert d.describe().startswith("PUBACK mode (the broker accepted messages for 100 s")
    assert d.on_puback(3, OK, 101.0) is True  # delivered on PUBACK 0x00 now
    assert d.on_puback(4, NO_SUBSCRIBERS, 101.0) is False  # never on 0x10
    d.on_ack(ack((3, 3)))  # a commit comes after all: back to commit mode
    assert d.mode == "commit" and d.on_puback(5, OK, 102.0) is False


def test_a_shore_that_once_committed_is_waited_for_forever_never_fallen_back_from():
    d = Delivery(CFG, commits_seen=True)
    d.on_puback(1, OK, 0.0)
    assert d.tick(10**9) == [] and d.mode == "commit" and 1 in d.waiting


def test_a_refused_ack_subscription_falls_back_only_without_a_commit_seen():
    fresh = Delivery(CFG, commits_seen=False)
    fresh.on_subscribe_refused("Not authorized")
    assert fresh.mode == "puback" and "refused the subscription" in fresh.describe()
    known = Delivery(CFG, commits_seen=True)
    known.on_subscribe_refused("Not authorized")
    assert known.mode == "commit"


def test_forced_modes():
    p = Delivery(MqttConfig(delivery="puback"), commits_seen=True)
    assert p.on_puback(1, OK, 0.0) is True and p.describe() == "PUBACK mode (delivery: puback)"
    assert p.on_puback(2, NOT_AUTHORIZED, 0.0) is False
    c = Delivery(MqttConfig(delivery="commit", commit_wait_s=1), commits_seen=False)
    c.on_puback(1, OK, 0.0)
    assert c.tick(10**6) == [] and c.mode == "commit"
