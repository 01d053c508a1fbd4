"""No stranded messages (issue 19, item 1): one of two shared-group workers is killed (SIGKILL) and stays
dead for longer than its session expiry.

While its session lives the broker keeps queueing that worker's share of the group for it; when it expires
the queue is dropped, and from then on the living worker gets every message. The agents resend what the dead
worker held (nothing of it was committed), so every sample arrives, once. The test prints the counts and the
time to recover: from the kill until every message published so far is committed.
"""

from __future__ import annotations

import os
import threading
import time

import pytest

from blueranch.procs import Supervisor
from blueranch.testing.fleet import (
    AckLedger,
    Buoy,
    IngestWorkers,
    NodeFeed,
    TelemetryWatch,
    check_counts,
    drain_and_count,
    recover_s,
)
from blueranch.testing.wait import wait_until

pytestmark = pytest.mark.integration

#: the dead worker's session expiry, in place of the ingest's default of 120 s
EXPIRY_S = 2


def test_a_killed_worker_hands_its_share_back_and_every_sample_arrives_once(tmp_path, mosquitto, influx, unique):
    site = f"strand{os.getpid() % 10000}{unique}"
    with Supervisor(tmp_path / "logs") as sup:
        workers = IngestWorkers(
            sup,
            tmp_path,
            mosquitto.url,
            influx.url,
            influx.database,
            group=site,
            client_id=site,
            session_expiry_s=EXPIRY_S,
        )
        ledger = AckLedger(mosquitto.url, f"{site}-ledger", topic=f"blueranch/v1/{site}/+/ack")
        watch = TelemetryWatch(mosquitto.url, f"{site}-watch")
        assert ledger.subscribed.wait(30) and watch.subscribed.wait(30)
        workers.start(1)
        workers.start(2)
        buoys = [Buoy(tmp_path, site, f"buoy-{i}", mosquitto.url) for i in (1, 2)]
        feed = NodeFeed(mosquitto.url, [b.node for b in buoys], 0.05, f"{site}-feed")
        for b in buoys:
            b.start(sup)
        logs = lambda: "\n".join(f"--- {n}\n{sup.log(n)[-3000:]}" for n in sup.procs)  # noqa: E731
        for b in buoys:
            wait_until(lambda b=b: b.status().get("committed", 0) >= 10, 60, 0.1, f"{b.device} committing")
        assert "session present: False" in sup.log("ingest-2"), logs()

        killed = time.monotonic()
        workers.kill(2)
        threading.Event().wait(EXPIRY_S + 1)  # the worker stays dead past its session expiry (the fault)
        recovered = recover_s(ledger, [watch], killed, 60)
        at_recovery = [b.status() for b in buoys]
        for b, s in zip(buoys, at_recovery, strict=True):
            wait_until(lambda b=b, s=s: b.status()["committed"] > s["committed"] + 12, 60, 0.1, "commits after")
        # once the dead session expired, nothing is stranded any more: the living worker commits what comes
        # without resends (with a session that outlives the kill, half of it would wait for a resend)
        after = [b.status() for b in buoys]
        sent_after = sum(a["next_seq"] - s["next_seq"] for a, s in zip(after, at_recovery, strict=True))
        resent_after = sum(a["resent"] - s["resent"] for a, s in zip(after, at_recovery, strict=True))
        assert resent_after < sent_after / 4, (resent_after, sent_after)

        counts = drain_and_count(sup, buoys, [feed], influx, ledger)
        duplicates = ledger.duplicates
        print(
            f"\nstranded share: worker 2 of 2 SIGKILLed, session expiry {EXPIRY_S} s; recovered in "
            f"{recovered:.1f} s (kill to every message published so far committed); "
            f"per device {counts}; messages written twice: {duplicates}"
        )
        ledger.close()
        watch.close()
        check_counts(counts)
        assert sum(c["resent"] for c in counts.values()) > 0, counts  # the dead worker did hold messages
