"""Dead letters and rejection records that stay small whatever the rejected message.

A rejected message can carry thousands of violations (1,500 samples with one unknown key each); written out
in full, its dead letter grew to 50 times the message, past the broker's Maximum Packet Size, and the broker
closed the ingest's connection on every resend (paho resends unacknowledged publishes after a reconnect):
the ingest never got out of it. So a dead letter (JSON on :data:`blueranch.contracts.mqtt.DEADLETTER_TOPIC`)
holds the reason, the topic, the message's size, the number of violations and the first
:data:`MAX_VIOLATIONS` of them, and the first bytes of the payload; :func:`build` cuts it further until it
fits ``max_bytes`` (the smaller of the configured ``deadletter_max_bytes`` and the broker's Maximum Packet
Size from CONNACK, less the packet's own header), and :func:`summary` bounds the text of a log line and of
the ``ingest_errors`` point.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

from blueranch.contracts.errors import Violation

#: violations listed in a dead letter (all are counted)
MAX_VIOLATIONS = 10
#: payload bytes quoted in a dead letter
EXCERPT_BYTES = 512
#: characters of the one-line summary in a log line or an ingest_errors point
SUMMARY_CHARS = 1000
#: MQTT PUBLISH header bytes besides the topic: fixed header (5), topic length (2), packet id (2), properties (4+)
PACKET_OVERHEAD = 32
_SHOWN = 120


def budget(configured_max: int, broker_max_packet: int | None, topic: str) -> int:
    """The most bytes a dead letter's payload may have: the configured cap, and the broker's limit less the
    packet's header and topic."""
    if broker_max_packet is None:
        return configured_max
    return max(0, min(configured_max, broker_max_packet - PACKET_OVERHEAD - len(topic.encode())))


def summary(violations: Sequence[Violation], limit: int = SUMMARY_CHARS) -> str:
    """The first violations as one line of at most ``limit`` characters, with how many were left out."""
    out, shown = "", 0
    for v in violations:
        text = str(v).replace("\n", " ")
        part = text if not out else "; " + text
        if len(out) + len(part) > limit - 40:
            break
        out += part
        shown += 1
    left = len(violations) - shown
    if left:
        out += f" (+{left} more)" if out else f"{len(violations)} violations"
    return out[:limit]


def build(
    reason: str,
    topic: str,
    payload: bytes,
    violations: Sequence[Violation],
    worker: str,
    max_bytes: int,
    detail: str | None = None,
) -> bytes | None:
    """The dead letter as JSON of at most ``max_bytes`` (None when not even the bare reason fits)."""
    report = {
        "reason": reason,
        "topic": topic[:256],
        "size_bytes": len(payload),
        "violations_total": len(violations),
        "violations": [
            {"field": v.field[:200], "value": _shown(v.value), "rule": str(v.rule)[:300]}
            for v in violations[:MAX_VIOLATIONS]
        ],
        "detail": (detail if detail is not None else summary(violations))[:SUMMARY_CHARS],
        "worker": worker,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "payload_excerpt": payload[:EXCERPT_BYTES].decode("utf-8", errors="replace"),
    }
    body = _encode(report)
    # Cut what is longest first until it fits: the listed violations, the excerpt, the detail, the topic.
    while len(body) > max_bytes and report["violations"]:
        report["violations"] = report["violations"][: len(report["violations"]) // 2]
        body = _encode(report)
    for key, keep in (("payload_excerpt", 64), ("detail", 120), ("payload_excerpt", 0), ("detail", 0), ("topic", 64)):
        if len(body) <= max_bytes:
            break
        report[key] = report[key][:keep]
        body = _encode(report)
    return body if len(body) <= max_bytes else None


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def _encode(report: dict) -> bytes:
    return json.dumps(report, ensure_ascii=False).encode("utf-8")
