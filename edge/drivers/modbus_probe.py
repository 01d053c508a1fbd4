"""``edge probe`` for Modbus RTU: find the line's serial settings and its slaves, read what each holds, and
write a config that fits it (the driver's ``probe`` and ``snippet`` hooks, edge/drivers/modbus_rtu.py).

**Settings.** Modbus over Serial Line V1.02 (2.5.1) makes 19200 baud and even parity the default, but most
RS-485 field devices ship 8N1 at 9600 or 19200 (load cells, power controllers), so the probe tries 8N1, 8E1
and 8O1 at 9600 and 19200 (:data:`BAUDRATES`, :data:`PARITIES`; ``--baudrate`` and ``--parity`` narrow it).
Stop bits are not tried: a UART checks only the first stop bit, so a slave set to 2 answers a master sending 1.

**Order of the questions.** One RS-485 line has one setting: every slave on it must share the master's. So
the ids are asked in blocks of :data:`BLOCK` (1-16, 17-32, ...), each block at every setting in turn; once a
slave answers, the line's setting is known and the remaining ids are asked at that setting only
(``all_settings`` asks every id at every setting). A slave at a low id (most ship as 1) is found after a few
dozen questions whatever its setting; an empty line costs ids x settings x the reply timeout
(:data:`TIMEOUT_S`: 247 x 6 x 0.1 s = 2.5 min; one setting 25 s), which the probe says before it starts.

**What a slave holds.** A slave that answers holding register 0-1 with data (or an exception: present, but
not there) is read pair by pair from 0 until it refuses (exception 02 where its map ends) or
:data:`MAX_PAIRS`; if holding registers give nothing, input registers. Every pair is decoded as float32 in
the four orders, and the template (edge/drivers/modbus_guess.py) and order whose values are plausible is
proposed, with the other candidates in comments.
"""

from __future__ import annotations

from dataclasses import dataclass

from blueranch.edge.bus import Bus
from blueranch.edge.drivers.base import DriverError, Found, LineSettings, ProbeOptions, Report, duration
from blueranch.edge.drivers.modbus_guess import Fit, describe, fits, pairs, rivals
from blueranch.edge.drivers.modbus_rtu import client_on, read_registers

NAME = "modbus_rtu"
#: Speeds and parities tried, in this order (8N1 first: what most field devices ship with).
BAUDRATES = (9600, 19200)
PARITIES = ("N", "E", "O")
#: Ids asked at every setting before the next block; see the module docstring.
BLOCK = 16
#: Reply timeout per question when none is given: a request and a 2-register reply take 20 ms at 9600 baud
#: (17 characters of 11 bits), which leaves a slave 80 ms to answer.
TIMEOUT_S = 0.1
#: Register pairs read from a slave that answered (the longest known map, buoy_power, has 4).
MAX_PAIRS = 8


@dataclass(frozen=True)
class Setting:
    baudrate: int
    parity: str

    @property
    def label(self) -> str:
        return f"8{self.parity}1 {self.baudrate}"


def settings(options: ProbeOptions) -> list[Setting]:
    """The line settings to try, narrowed by ``--baudrate`` and ``--parity``."""
    bauds = (options.baudrate,) if options.baudrate else BAUDRATES
    parities = (options.parity,) if options.parity else PARITIES
    return [Setting(b, p) for p in parities for b in bauds]


def scan(url: str, options: ProbeOptions, report: Report) -> list[Found]:
    """Ask the slave ids of ``options`` at each setting (see the module docstring) and read every slave found."""
    tried = settings(options)
    ids = list(options.slave_ids)
    timeout_s = options.timeout(TIMEOUT_S)
    total = len(ids) * len(tried)
    report(
        f"{NAME}: {len(ids)} slave ids x {len(tried)} line setting{'s' if len(tried) > 1 else ''} "
        f"({', '.join(s.label for s in tried)}): "
        f"{total} questions of up to {timeout_s} s, at most {duration(total * timeout_s)}"
        + ("" if options.all_settings or len(tried) == 1 else "; the first setting that answers is kept")
    )
    line: Setting | None = None
    found: list[Found] = []
    done = 0
    bus = Bus(url, _line(tried[0]))
    try:
        with bus.conversation("probe") as port:
            for start in range(0, len(ids), BLOCK):
                block = ids[start : start + BLOCK]
                for setting in tried if line is None or options.all_settings else [line]:
                    bus.retune(_line(setting))  # on the open port: reopening costs more than a question
                    client = client_on(port, url, timeout_s, 0, setting.baudrate)
                    for sid in block:
                        detail = _ask(client, sid)
                        done += 1
                        options.progress(done, total, f"{NAME} {setting.label} slave {sid}, {len(found)} found")
                        if detail is None:
                            continue
                        detail.update(slave_id=sid, baudrate=setting.baudrate, parity=setting.parity)
                        report(f"{NAME} at {setting.label}: slave {sid} answered: {_summary(detail)}")
                        found.append(Found(NAME, url, detail))
                    if found and line is None:
                        line = setting
                        if not options.all_settings and len(tried) > 1:
                            total = done + len(ids) - start - len(block)
                            report(
                                f"{NAME}: the line answers at {setting.label}; the other ids are asked at that "
                                f"setting only (--all-settings asks every setting)"
                            )
                            break
    finally:
        bus.close()
    return found


def _line(setting: Setting) -> LineSettings:
    return LineSettings(setting.baudrate, 8, setting.parity, 1, NAME)


def _ask(client, sid: int) -> dict | None:
    """What slave ``sid`` holds, or None when it is silent (nobody there, or not at this setting)."""
    refused = None
    for function in ("holding", "input"):
        regs: list[int] = []
        for address in range(0, 2 * MAX_PAIRS, 2):
            try:
                regs += read_registers(client, sid, function, address, 2)
            except DriverError as exc:
                if "exception" not in str(exc):
                    if address == 0 and function == "holding":
                        return None  # silence: nobody at this id
                    break  # a slave that stops answering mid-map: keep what it gave
                refused = refused or str(exc)
                break
        if regs:
            return {"function": function, "registers": regs}
    return {"reply": refused}


def _summary(detail: dict) -> str:
    regs = detail.get("registers")
    if not regs:
        return str(detail.get("reply"))
    last = len(regs) - 1
    return f"{detail['function']} registers 0-{last} = {' '.join(f'{r:04x}' for r in regs)}"


def _decodings(regs: list[int]) -> list[str]:
    return [
        f"registers {2 * i}-{2 * i + 1} as float32: "
        + ", ".join(f"{order} {describe(v)}" for order, v in decoded.items())
        for i, decoded in enumerate(pairs(regs))
    ]


def _fit_comment(best: Fit, candidates: list[Fit], decoded: list[dict[str, float]]) -> list[str]:
    t = best.template
    values = ", ".join(f"{q} {describe(v)}" for (_, q), v in zip(t.registers, best.values, strict=True))
    lines = [f"fits {t.kind} in {best.order} (byte_order {best.byte_order}, word_order {best.word_order}): {values}"]
    if all(len(set(decoded[a // 2].values())) == 1 for a, _ in t.registers):
        lines.append("every order reads the same here (zeros?): the order cannot be told; probe again under load")
    for r in rivals(best, candidates):
        lines.append(f"ambiguous: {r.order} reads {', '.join(describe(v) for v in r.values)} as plausibly")
    others: dict[str, Fit] = {}  # each other template that fits, in the best fit's order where it can
    for f in sorted(candidates, key=lambda f: f.order != best.order):
        if f.template != t and f.exact == best.exact and f.template.kind not in others:
            others[f.template.kind] = f
    if others:
        lines.append("also fits: " + ", ".join(f"{k} ({f.order} {describe(f.values[0])})" for k, f in others.items()))
    lines.append(
        f"the template is the simulator's {t.kind} map (docs/simulator.md); a real device's map is in its manual: "
        "confirm addresses, quantities and order before use"
    )
    return lines


def snippet(found: Found) -> str:
    """The ``sensors:`` item (two-space indented) for a slave :func:`scan` found: a template that fits what it
    read, or an empty register list to fill in (which check-config refuses until it is)."""
    d = found.detail
    sid, regs = d["slave_id"], d.get("registers") or []
    head = [f"slave {sid} at {Setting(d['baudrate'], d['parity']).label}: {_summary(d)}", *_decodings(regs)]
    candidates = fits(regs)
    best = candidates[0] if candidates else None
    if best is not None:
        head += _fit_comment(best, candidates, pairs(regs))
    body = (
        f"  - id: modbus-{sid}\n    driver: {NAME}\n    port: {found.port}\n    baudrate: {d['baudrate']}\n"
        f"    parity: {d['parity']}\n    slave_id: {sid}\n    interval_s: 60\n"
    )
    if best is None:
        why = "no known map fits what it holds" if regs else "it holds nothing at register 0"
        body += f"    registers: []   # FILL IN from the device's register map (its manual): {why}\n"
    else:
        body += "    registers:\n" + "".join(
            f"      - {{address: {a}, function: {d['function']}, type: float32, byte_order: {best.byte_order}, "
            f"word_order: {best.word_order}, quantity: {q}}}   # {describe(v)} when probed\n"
            for (a, q), v in zip(best.template.registers, best.values, strict=True)
        )
    return "".join(f"  # {line}\n" for line in head) + body
