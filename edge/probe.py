"""``blueranch edge probe PORT``: find what answers on a serial port and write the config for it.

- SDI-12 (1200 7E1): ``?!`` (only meaningful with one sensor on the line), then ``a!`` for each address,
  then ``aI!`` (identification) and ``aM!`` (how many values a measurement gives) for each one found.
- NMEA 0183: listen at the usual speeds and list talkers and sentence types with valid checksums.
- Modbus RTU: ask each slave id for one holding register; any reply (data or an exception) means a slave.

Every exchange goes through a :class:`blueranch.edge.bus.Bus`, like the agent's polls, and the port is opened
exclusively, so a probe never talks over a running agent.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from blueranch.edge.bus import Bus, read_until
from blueranch.edge.drivers.base import DriverError, LineSettings
from blueranch.edge.drivers.modbus_rtu import client_on, read_registers
from blueranch.edge.drivers.nmea_framing import SENTENCES, NmeaError, UnsupportedSentence, parse_sentence
from blueranch.edge.drivers.sdi12 import LINE as SDI12_LINE
from blueranch.edge.drivers.sdi12 import transact
from blueranch.edge.drivers.sdi12_framing import (
    ADDRESSES,
    Sdi12Error,
    command,
    parse_address_reply,
    parse_identification,
    parse_measure_reply,
)

#: SDI-12 sensors whose value order is known: (vendor, model) -> quantities in aM!/aD0! order.
KNOWN_SDI12 = {
    # The BlueRanch simulator's sonde (firmware_sim/devices/sdi12_sonde.py, DEFAULT_PARAMETERS).
    ("BLUERNCH", "SONDE9"): [
        "temp_c",
        "sp_cond_us_cm",
        "salinity_psu",
        "depth_m",
        "do_mg_l",
        "do_sat_pct",
        "ph",
        "chl_ug_l",
        "turbidity_ntu",
    ],
}
NMEA_BAUDRATES = (4800, 38400, 9600)
#: Modbus over Serial Line V1.02, 2.5.1: 19200 is the default, 9600 also required.
MODBUS_BAUDRATES = (19200, 9600)


@dataclass
class Found:
    driver: str
    port: str
    detail: dict = field(default_factory=dict)


def parse_ids(text: str) -> list[int]:
    """``"1-10,20"`` -> [1..10, 20]; ids must be 1..247."""
    ids: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.strip().partition("-")
        try:
            a, b = int(lo), int(hi or lo)
        except ValueError:
            raise ValueError(f"{part!r} is not an id or a range like 1-10") from None
        if not (1 <= a <= b <= 247):
            raise ValueError(f"{part!r}: Modbus slave ids are 1..247")
        ids += range(a, b + 1)
    return ids


def probe_sdi12(
    url: str, addresses: str = ADDRESSES, timeout_s: float = 0.3, report: Callable[[str], None] = lambda s: None
) -> list[Found]:
    bus = Bus(url, SDI12_LINE)
    found: list[Found] = []
    try:
        with bus.conversation("probe") as port:
            try:
                only = parse_address_reply(transact(port, b"?!", timeout_s, 0))
                report(f"sdi12: '?!' answered by address {only}")
            except Sdi12Error:
                only = None
            for a in addresses:
                try:
                    if parse_address_reply(transact(port, command(a), timeout_s, 0)) != a:
                        continue
                except Sdi12Error:
                    continue
                detail = {"address": a}
                try:
                    ident = parse_identification(transact(port, command(a, "I"), timeout_s, 1), a)
                    detail.update(
                        vendor=ident.vendor,
                        model=ident.model,
                        version=ident.version,
                        serial=ident.extra,
                        sdi12=ident.sdi12_version,
                    )
                    m = parse_measure_reply(transact(port, command(a, "M"), timeout_s, 1), a)
                    detail.update(values=m.count, wait_s=m.wait_s)
                    read_until(port, b"\r\n", time.monotonic() + m.wait_s + 1.0)  # let the measurement finish
                except Sdi12Error as exc:
                    detail["error"] = str(exc)
                report(f"sdi12: address {a}: {detail}")
                found.append(Found("sdi12", url, detail))
            if only is not None and not found:
                found.append(Found("sdi12", url, {"address": only}))
    finally:
        bus.close()
    return found


def probe_nmea(
    url: str, baudrates=NMEA_BAUDRATES, listen_s: float = 3.0, report: Callable[[str], None] = lambda s: None
) -> list[Found]:
    for baud in baudrates:
        bus = Bus(url, LineSettings(baud, 8, "N", 1, "nmea0183"))
        talkers: dict[str, set[str]] = {}
        bad = 0
        try:
            with bus.conversation("probe") as port:
                deadline = time.monotonic() + listen_s
                while time.monotonic() < deadline:
                    line = read_until(port, b"\n", deadline, 512)
                    if not line.endswith(b"\n"):
                        continue
                    try:
                        s = parse_sentence(line.lstrip(b"\x00\r\n "))
                    except UnsupportedSentence as exc:  # a GSV or GSA still shows who talks
                        if exc.type:
                            talkers.setdefault(exc.talker, set()).add(exc.type)
                        continue
                    except NmeaError:
                        bad += 1
                        continue
                    talkers.setdefault(s.talker, set()).add(s.type)
        finally:
            bus.close()
        report(f"nmea0183 at {baud} baud: talkers {sorted(talkers)}, {bad} unusable lines")
        if talkers:
            sentences = sorted({t for types in talkers.values() for t in types})
            return [Found("nmea0183", url, {"baudrate": baud, "talkers": sorted(talkers), "sentences": sentences})]
    return []


def probe_modbus(
    url: str,
    ids: list[int],
    baudrates=MODBUS_BAUDRATES,
    timeout_s: float = 0.3,
    report: Callable[[str], None] = lambda s: None,
) -> list[Found]:
    for baud in baudrates:
        bus = Bus(url, LineSettings(baud, 8, "E", 1, "modbus_rtu"))
        found: list[Found] = []
        try:
            with bus.conversation("probe") as port:
                client = client_on(port, url, timeout_s, 0)
                for sid in ids:
                    try:
                        regs = read_registers(client, sid, "holding", 0, 2)
                        detail = {"slave_id": sid, "baudrate": baud, "registers_0_1": regs}
                    except DriverError as exc:
                        if "exception" not in str(exc):
                            continue  # silence: nobody at this id
                        detail = {"slave_id": sid, "baudrate": baud, "reply": str(exc)}
                    report(f"modbus_rtu at {baud} baud: slave {sid} answered: {detail}")
                    found.append(Found("modbus_rtu", url, detail))
        finally:
            bus.close()
        if found:
            return found
    return []


def probe(
    url: str,
    protocol: str = "auto",
    baudrate: int | None = None,
    slave_ids: list[int] | None = None,
    timeout_s: float = 0.3,
    listen_s: float = 3.0,
    sdi12_addresses: str = ADDRESSES,
    report: Callable[[str], None] = lambda s: None,
) -> list[Found]:
    found: list[Found] = []
    if protocol in ("auto", "sdi12"):
        found += probe_sdi12(url, sdi12_addresses, timeout_s, report)
    if protocol == "nmea0183" or (protocol == "auto" and not found):
        found += probe_nmea(url, (baudrate,) if baudrate else NMEA_BAUDRATES, listen_s, report)
    if protocol == "modbus_rtu" or (protocol == "auto" and not found):
        found += probe_modbus(
            url, slave_ids or list(range(1, 248)), (baudrate,) if baudrate else MODBUS_BAUDRATES, timeout_s, report
        )
    return found


def snippet(found: list[Found]) -> str:
    """YAML items for ``sensors:`` (two-space indented), with comments where a human must decide."""
    out = []
    for i, f in enumerate(found, 1):
        d = f.detail
        if f.driver == "sdi12":
            known = KNOWN_SDI12.get((d.get("vendor"), d.get("model")))
            out.append(
                f"  # {d.get('vendor', '?')} {d.get('model', '?')} v{d.get('version', '?')} "
                f"serial {d.get('serial', '?')}: {d.get('values', '?')} values per aM!\n"
            )
            out.append(
                f"  - id: sdi12-{d['address']}\n    driver: sdi12\n    port: {f.port}\n"
                f'    address: "{d["address"]}"\n    interval_s: 60\n'
            )
            if known:
                out.append(f"    quantities: [{', '.join(known)}]\n")
            else:
                out.append(
                    f"    quantities: []   # FILL IN the {d.get('values', '?')} quantities in the "
                    f"sensor's output order (its manual)\n"
                )
        elif f.driver == "nmea0183":
            usable = [s for s in d["sentences"] if s in SENTENCES]
            out.append(f"  # talkers {', '.join(d['talkers'])}; sentences seen: {', '.join(d['sentences'])}\n")
            out.append(
                f"  - id: nmea-{i}\n    driver: nmea0183\n    port: {f.port}\n    baudrate: {d['baudrate']}\n"
                f"    sentences: [{', '.join(usable) or 'GGA'}]\n    interval_s: 60\n"
            )
        else:
            out.append(f"  # slave {d['slave_id']}: {d.get('registers_0_1') or d.get('reply')}\n")
            out.append(
                f"  - id: modbus-{d['slave_id']}\n    driver: modbus_rtu\n    port: {f.port}\n"
                f"    baudrate: {d['baudrate']}\n    slave_id: {d['slave_id']}\n    interval_s: 60\n"
                f"    registers:   # FILL IN from the device's register map; e.g. a load cell:\n"
                f"      - {{address: 0, function: holding, type: float32, byte_order: big, "
                f"word_order: big, quantity: load_kg}}\n"
            )
    return "".join(out)
