"""When a buffered message may be deleted: the delivery rule of the uplink, without the network.

**Commit mode** (the default once the shore has sent one commit): a message is deleted only when the ingest
says InfluxDB holds it (an :class:`blueranch.contracts.mqtt.Ack` on ``blueranch/v1/{site}/{device}/ack``),
or that it dead-lettered it. A PUBACK is not delivery:

- PUBACK 0x00 (accepted): the message waits for its commit; not committed within ``commit_timeout_s`` it is
  sent again as backfill (the ingest rewrites the same points), the timeout doubling per resend up to
  ``commit_timeout_max_s`` (an InfluxDB outage does not multiply the broker's queue every minute);
- PUBACK 0x10 (no matching subscribers: the broker has nobody to give it to, e.g. after a restart before
  the ingest's shared subscription is back) and PUBACK >= 0x80 (refused: not authorized after an ACL
  change, quota, ...): kept, counted, logged, and sent again with backoff (``reconnect_min_s`` doubling up
  to ``reconnect_max_s``, with jitter). A refusal also puts ``refused: REASON`` into the uplink's status.

At most ``commit_window`` messages are out (in flight or waiting for their commit); beyond it the rest wait
in the buffer, which is where they are safest.

**PUBACK mode** (``mqtt.delivery: puback``, or the fallback below): a message is deleted on PUBACK 0x00;
0x10 and refusals are kept and resent as above (never deleted).

**The fallback rule** (``mqtt.delivery: auto``, the default). Once a commit has arrived for a buffer (the
retained ack on subscribing is one), the buffer remembers that its shore sends commits and the agent stays in
commit mode for good: a broker restarted without its ingest makes it wait, never delete. Before that, it
keeps everything; it falls back to PUBACK mode only when the broker accepted messages (PUBACK 0x00, so a
subscriber took them) and no commit came for ``commit_wait_s`` (an ingest older than commit
acknowledgements, or one with ``acks: false``), or when the broker refuses the subscription to the ack
topic (a broker config without it). It says so in its status and log, and returns to commit mode at the
first commit.
"""

from __future__ import annotations

import bisect
import logging
import random
from dataclasses import dataclass

from blueranch.contracts import mqtt as contract
from blueranch.edge.config import MqttConfig

log = logging.getLogger("blueranch.edge.uplink")

#: MQTT 5 PUBACK reason code 0x10: accepted, but nobody subscribes to the topic.
NO_MATCHING_SUBSCRIBERS = 0x10


def backoff_s(attempt: int, min_s: float, max_s: float, rng: random.Random = random._inst) -> float:
    """Equal jitter: half the capped exponential delay, plus a random part of the other half."""
    cap = min(max_s, min_s * (2 ** min(attempt, 30)))
    return cap / 2 + rng.uniform(0, cap / 2)


@dataclass(slots=True)
class Wait:
    """A message the broker answered but the shore has not committed: when to send it again, and why."""

    due_s: float
    attempts: int
    why: str  # "accepted" (PUBACK 0x00), "no subscriber" (0x10), "refused" (>= 0x80)


class Delivery:
    """The delivery state of one uplink. Only the uplink's sender thread calls it (no lock)."""

    def __init__(self, cfg: MqttConfig, commits_seen: bool):
        self.cfg = cfg
        self.commits_seen = commits_seen
        #: "commit" or "puback"
        self.mode = "puback" if cfg.delivery == "puback" else "commit"
        self.fallback_reason: str | None = None
        self.waiting: dict[int, Wait] = {}
        #: attempt counts of messages sent again and in flight (their backoff goes on from there)
        self._attempts: dict[int, int] = {}
        #: no wait is due before this (monotonic s): the sender asks every round, most rounds cost nothing
        self._earliest_s = float("inf")
        self._first_accepted_s: float | None = None
        self.refused_total = self.no_subscriber_total = self.resent = 0
        self.committed = self.shore_rejected = self.puback_deleted = 0
        self.refusal: str | None = None
        self._last_refusal_logged: str | None = None
        self._refusal_repeats = 0

    # ------------------------------------------------------------ broker answers
    def on_puback(self, seq: int, reason_code: object, now_s: float) -> bool:
        """Record the broker's answer for ``seq``; True when the message is delivered (delete it now)."""
        value = getattr(reason_code, "value", 0) or 0
        self.waiting.pop(seq, None)  # the answer to an earlier copy
        attempts = self._attempts.pop(seq, 0)
        if value >= 0x80:
            self.refused_total += 1
            self._refused(seq, reason_code)
            self._wait(
                seq,
                now_s + backoff_s(attempts, self.cfg.reconnect_min_s, self.cfg.reconnect_max_s),
                attempts,
                "refused",
            )
            return False
        self.refusal = None
        if value == NO_MATCHING_SUBSCRIBERS:
            self.no_subscriber_total += 1
            if self.no_subscriber_total & (self.no_subscriber_total - 1) == 0:  # 1, 2, 4, 8, ...
                log.warning(
                    "the broker has no subscriber for telemetry (PUBACK 0x10: is the ingest running?); seq %d kept "
                    "and sent again (%d such answers so far)",
                    seq,
                    self.no_subscriber_total,
                )
            self._wait(
                seq,
                now_s + backoff_s(attempts, self.cfg.reconnect_min_s, self.cfg.reconnect_max_s),
                attempts,
                "no subscriber",
            )
            return False
        if self.mode == "puback":
            self.puback_deleted += 1
            return True
        if self._first_accepted_s is None:
            self._first_accepted_s = now_s
        timeout = min(self.cfg.commit_timeout_s * 2 ** min(attempts, 30), self.cfg.commit_timeout_max_s)
        self._wait(seq, now_s + timeout, attempts, "accepted")
        return False

    def _wait(self, seq: int, due_s: float, attempts: int, why: str) -> None:
        self.waiting[seq] = Wait(due_s, attempts, why)
        self._earliest_s = min(self._earliest_s, due_s)

    def _refused(self, seq: int, reason_code: object) -> None:
        reason = str(reason_code)
        self.refusal = reason
        self._refusal_repeats = self._refusal_repeats + 1 if reason == self._last_refusal_logged else 1
        if reason != self._last_refusal_logged or self._refusal_repeats & (self._refusal_repeats - 1) == 0:
            log.error(
                "the broker REFUSED telemetry seq %d: %s; kept in the buffer and sent again with backoff "
                "(refused so far: %d)",
                seq,
                reason,
                self.refused_total,
            )
            self._last_refusal_logged = reason

    def on_subscribe_refused(self, reason: str) -> None:
        """The broker refused the subscription to the ack topic: no commit can ever arrive."""
        if self.cfg.delivery == "auto" and not self.commits_seen:
            self._fall_back(f"the broker refused the subscription to the ack topic ({reason})")
        else:
            log.error(
                "the broker refused the subscription to the ack topic (%s): no commit can arrive, so nothing is "
                "deleted until the broker's ACL lets the device read its ack topic",
                reason,
            )

    # ------------------------------------------------------------ the shore's commits
    def on_ack(self, ack: contract.Ack) -> list[tuple[int, int]]:
        """Record a commit; returns the inclusive seq ranges to delete (committed and dead-lettered)."""
        first_commit = not self.commits_seen
        self.commits_seen = True
        if self.mode == "puback" and self.cfg.delivery == "auto":
            log.info("the shore sends commit acknowledgements: back to commit mode")
            self.mode, self.fallback_reason = "commit", None
        elif first_commit:
            log.info("the shore sends commit acknowledgements (epoch %s)", ack.epoch)
        ranges = [(a, b) for a, b in ack.committed]
        for r in ack.rejected:
            ranges.append((r.seq, r.seq))
            log.error(
                "the shore dead-lettered seq %d (%s): deleted from the buffer; the dead letter names the field",
                r.seq,
                r.reason,
            )
        self.shore_rejected += len(ack.rejected)
        ranges.sort()
        starts = [a for a, _ in ranges]
        for seq in list(self.waiting):
            i = bisect.bisect_right(starts, seq) - 1
            if i >= 0 and ranges[i][0] <= seq <= ranges[i][1]:
                del self.waiting[seq]
                self.committed += 1
        return ranges

    # ------------------------------------------------------------ time passing
    def tick(self, now_s: float) -> list[int]:
        """Seqs delivered by a fallback to PUBACK mode now (delete them); checks the fallback rule."""
        if (
            self.cfg.delivery == "auto"
            and self.mode == "commit"
            and not self.commits_seen
            and self._first_accepted_s is not None
            and now_s - self._first_accepted_s >= self.cfg.commit_wait_s
        ):
            return self._fall_back(
                f"the broker accepted messages for {self.cfg.commit_wait_s:g} s and no commit acknowledgement came "
                f"(an ingest without commit acks?)"
            )
        return []

    def _fall_back(self, why: str) -> list[int]:
        self.mode, self.fallback_reason = "puback", why
        accepted = [seq for seq, w in self.waiting.items() if w.why == "accepted"]
        for seq in accepted:
            del self.waiting[seq]
        self.puback_deleted += len(accepted)
        log.warning(
            "falling back to PUBACK delivery: %s; messages the broker accepted are deleted on PUBACK 0x00 (the "
            "broker's persistence holds them, not InfluxDB); commit mode returns with the first commit",
            why,
        )
        return accepted

    def due(self, now_s: float, limit: int) -> list[int]:
        """Seqs to send again now (oldest due first), at most ``limit``."""
        if now_s < self._earliest_s or limit <= 0:
            return []
        ready = sorted((w.due_s, seq) for seq, w in self.waiting.items() if w.due_s <= now_s)[:limit]
        later = [w.due_s for seq, w in self.waiting.items() if w.due_s > now_s]
        self._earliest_s = min(later) if len(ready) < limit and later else (now_s if ready else float("inf"))
        return [seq for _, seq in ready]

    def resending(self, seq: int) -> None:
        """``seq`` goes out again: in flight now, not waiting; its attempt count carries on for the backoff."""
        w = self.waiting.pop(seq, None)
        if w is not None:
            self.resent += 1
            self._attempts[seq] = w.attempts + 1

    def forget(self, seq: int) -> None:
        """``seq`` is gone from the buffer (committed by an earlier copy, evicted)."""
        self.waiting.pop(seq, None)
        self._attempts.pop(seq, None)

    def describe(self) -> str:
        """For the status: the mode and what holds messages back."""
        if self.refusal:
            return f"refused: {self.refusal}"
        if self.mode == "puback":
            if self.cfg.delivery == "puback":
                return "PUBACK mode (delivery: puback)"
            return f"PUBACK mode ({self.fallback_reason})"
        if not self.commits_seen:
            return "commit mode (no commit seen yet)"
        return "commit mode"
