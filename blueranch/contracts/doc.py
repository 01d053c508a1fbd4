"""Render the reference tables of ``docs/contracts.md`` from the contract modules.

``python -m blueranch.contracts.doc --write`` rewrites the part of the document between the
``<!-- BEGIN GENERATED -->`` and ``<!-- END GENERATED -->`` markers; ``tests/test_contracts_doc.py`` fails
when the document and the modules disagree.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from blueranch.contracts import influx, mqtt
from blueranch.contracts.qc import QcFlag
from blueranch.contracts.quantities import QUANTITIES

BEGIN = "<!-- BEGIN GENERATED: python -m blueranch.contracts.doc --write -->"
END = "<!-- END GENERATED -->"
DOC = Path(__file__).resolve().parents[2] / "docs" / "contracts.md"


def render() -> str:
    out: list[str] = []
    w = out.append
    w("### MQTT topics (`v1`)\n")
    w("| topic | direction | payload |")
    w("|---|---|---|")
    w(f"| `{mqtt.PREFIX}/{{site}}/{{device}}/telemetry` | device -> server | `{mqtt.TELEMETRY_SCHEMA}`, QoS 1 |")
    status = f"`{mqtt.STATUS_SCHEMA}`, QoS 1, retained, Last Will"
    w(f"| `{mqtt.PREFIX}/{{site}}/{{device}}/status` | device -> server | {status} |")
    w(f"| `{mqtt.PREFIX}/{{site}}/{{device}}/events` | device -> server | device events, QoS 1 |")
    w(f"| `{mqtt.PREFIX}/{{site}}/{{device}}/cmd` | server -> device | commands, QoS 1 |")
    w(f"| `{mqtt.PREFIX}/{{site}}/{{device}}/ack` | ingest -> device | `{mqtt.ACK_SCHEMA}`, QoS 1, retained |")
    w(f"| `{mqtt.PREFIX}/{{site}}/_alerts` | alert worker -> subscribers | alert notifications |")
    w(f"| `{mqtt.DEADLETTER_TOPIC}` | ingest -> operators | rejected messages with reasons |")
    w("")
    w(f"- Site and device ids: `{mqtt.ID_PATTERN}`.")
    w(f"- Largest payload: {mqtt.MAX_PAYLOAD_BYTES} bytes; at most {mqtt.MAX_SAMPLES} samples per message.")
    future, past = mqtt.DEFAULT_MAX_FUTURE, mqtt.DEFAULT_MAX_PAST
    w(f"- Default clock policy: samples at most {future} ahead and {past} behind the server clock.")
    w("- QARTOD flags: " + ", ".join(f"{f.value} {f.name.lower()}" for f in QcFlag) + ".")
    w("")
    w(f"- Buffer epochs: `{mqtt.EPOCH_PATTERN}`; at most {mqtt.MAX_ACK_ITEMS} ranges (and rejections) per ack.")
    w("")
    for model in (mqtt.Telemetry, mqtt.Sample, mqtt.Position, mqtt.Status, mqtt.Ack, mqtt.Rejected):
        w(f"#### `{model.__name__}` fields\n")
        w("| field | type | required |")
        w("|---|---|---|")
        for name, f in model.model_fields.items():
            key = f.alias or name
            ann = _type_name(f.annotation).replace(" | ", " or ")
            w(f"| `{key}` | `{ann}` | {'yes' if f.is_required() else 'no'} |")
        w("")
    w("### Quantities\n")
    w("| quantity (= field) | unit | measurement | physical range | description | CF standard name | CF units |")
    w("|---|---|---|---|---|---|---|")
    for q in QUANTITIES.values():
        w(
            f"| `{q.name}` | {q.unit} | `{q.measurement}` | {q.gross_min:g} .. {q.gross_max:g} | {q.description}"
            f"{' (cumulative counter)' if q.cumulative else ''} | {f'`{q.standard_name}`' if q.standard_name else '-'}"
            f" | `{q.cf_units}` |"
        )
    w("")
    w("### InfluxDB retention policies\n")
    w("| policy | duration | default | use |")
    w("|---|---|---|---|")
    for rp in influx.RETENTION_POLICIES.values():
        w(f"| `{rp.name}` | {rp.duration} | {'yes' if rp.default else 'no'} | {rp.description} |")
    w("")
    w("### InfluxDB measurements\n")
    for m in influx.MEASUREMENTS.values():
        w(f"#### `{m.name}` (retention policy `{m.retention_policy}`)\n")
        w(m.description + "\n")
        tags = ", ".join(f"`{t}`" + (" (optional)" if t in m.optional_tags else "") for t in m.tags)
        w(f"Tags: {tags}\n")
        w("| field | type | unit | description |")
        w("|---|---|---|---|")
        for f in m.fields:
            w(f"| `{f.name}` | {f.type} | {f.unit} | {f.description} |")
        w("")
    w("### Enumerated tag values\n")
    w("| tag | values |")
    w("|---|---|")
    for tag, values in influx.ENUM_TAG_VALUES.items():
        w(f"| `{tag}` | {', '.join(f'`{v}`' for v in values)} |")
    return "\n".join(out) + "\n"


def _type_name(annotation) -> str:
    """A readable, stable type name (no function addresses from Annotated metadata)."""
    import re
    import types
    import typing

    if annotation is type(None):
        return "None"
    if typing.get_origin(annotation) is typing.Annotated:
        return _type_name(typing.get_args(annotation)[0])
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType) and any(typing.get_origin(a) is typing.Annotated for a in args):
        return " | ".join(_type_name(a) for a in args)  # str(Optional[Annotated[...]]) spells out constraints
    if origin in (list, tuple, dict) and args:
        return f"{origin.__name__}[{', '.join(_type_name(a) for a in args)}]"
    name = getattr(annotation, "__name__", None)
    if name and not typing.get_args(annotation):
        return name
    text = str(annotation).replace("typing.", "").replace("datetime.datetime", "datetime")
    text = re.sub(r"Annotated\[(\w+), [^\]]*\]", r"\1", text)
    text = re.sub(r"<class '(?:[\w.]+\.)?(\w+)'>", r"\1", text)
    return re.sub(r"blueranch\.contracts\.mqtt\.", "", text)


def splice(document: str, generated: str) -> str:
    head, rest = document.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{generated}{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--write", action="store_true", help="rewrite docs/contracts.md in place")
    args = ap.parse_args(argv)
    text = DOC.read_text()
    new = splice(text, render())
    if args.write:
        DOC.write_text(new)
        return 0
    if new != text:
        print(
            "docs/contracts.md disagrees with the contract modules; run: python -m blueranch.contracts.doc --write",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
