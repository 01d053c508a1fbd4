"""On-demand commands from the shore on ``blueranch/v1/{site}/{device}/cmd`` (QoS 1); replies on ``.../events``.

    {"id": "c-17", "cmd": "poll", "sensor": "sonde-1"}                     take a reading now (buffered as usual)
    {"id": "c-18", "cmd": "sdi12", "sensor": "sonde-1", "command": "0I!"}  one raw command, in the sensor's
                                                                           protocol (its driver's name)
    {"id": "c-19", "cmd": "status"}                                        publish the retained status now

Commands run one at a time on their own thread (a poll may take seconds) and every exchange goes through the
sensor's :class:`blueranch.edge.bus.Bus`, so an on-demand command never interleaves with polling on a shared line.
A bad command (invalid JSON, unknown command or sensor, oversize, a raw command for another address) gets
``{"id", "ok": false, "error"}`` and a log line; nothing stops the agent.
"""

from __future__ import annotations

import json
import logging
import queue
import re
import threading
from collections.abc import Callable
from typing import Annotated, Literal, Union

from pydantic import Field, TypeAdapter, ValidationError, create_model

from blueranch.contracts.mqtt import SafeId
from blueranch.contracts.strict import StrictModel
from blueranch.edge import drivers

log = logging.getLogger("blueranch.edge.commands")

MAX_COMMAND_BYTES = 4096
_ID_PATTERN = r"^[A-Za-z0-9_.:\-]{0,64}$"
_ID_RE = re.compile(_ID_PATTERN)


class _Cmd(StrictModel):
    id: str = Field(default="", pattern=_ID_PATTERN)


class Poll(_Cmd):
    cmd: Literal["poll"]
    sensor: SafeId


class StatusNow(_Cmd):
    cmd: Literal["status"]


class Raw(_Cmd):
    """One raw command in the sensor's own protocol: ``cmd`` names the driver (``sdi12``), ``command`` must
    match the driver's ``RAW_COMMAND``; the driver's ``raw()`` sends it."""

    cmd: str
    sensor: SafeId
    command: str


def _raw_commands() -> list[type[Raw]]:
    """A command model per driver that takes raw commands (blueranch.edge.drivers.base.DriverBase.raw)."""
    return [
        create_model(
            f"Raw_{name}",
            __base__=Raw,
            cmd=(Literal[name], ...),
            command=(str, Field(pattern=cls.RAW_COMMAND)),
        )
        for name, cls in drivers.supporting("raw").items()
    ]


Command = Annotated[Union[(Poll, StatusNow, *_raw_commands())], Field(discriminator="cmd")]  # noqa: UP007
_ADAPTER = TypeAdapter(Command)


def parse_command(payload: bytes) -> Poll | StatusNow | Raw:
    """Validate a command; raise ``ValueError`` naming the field and the rule."""
    if len(payload) > MAX_COMMAND_BYTES:
        raise ValueError(f"payload of {len(payload)} bytes exceeds {MAX_COMMAND_BYTES}")
    try:
        return _ADAPTER.validate_json(payload)
    except ValidationError as exc:
        e = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in e["loc"]) or "(payload)"
        raise ValueError(f"{where}: {e['msg']}") from None


def _id_of(payload: bytes) -> str:
    """The command's ``id`` if one can be read (to address the error reply), else ``""``."""
    try:
        value = json.loads(payload).get("id", "") if len(payload) <= MAX_COMMAND_BYTES else ""
    except (ValueError, AttributeError):
        return ""
    return value if isinstance(value, str) and _ID_RE.match(value) else ""


class CommandRunner:
    """Queues commands from the MQTT thread and runs them one by one with ``handle(cmd) -> result``."""

    def __init__(self, handle: Callable[[object], object], reply: Callable[[bytes], None]):
        self.handle = handle
        self.reply = reply
        self.queue: queue.Queue = queue.Queue(maxsize=100)
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name="commands", daemon=True)

    def submit(self, payload: bytes) -> None:
        """Called from paho's thread: parse and queue (or reject) without blocking."""
        cmd_id = _id_of(payload)
        try:
            cmd = parse_command(payload)
            cmd_id = cmd.id
            self.queue.put_nowait(cmd)
        except ValueError as exc:
            self._answer(cmd_id, False, f"bad command: {exc}")
        except queue.Full:
            self._answer(cmd_id, False, "busy: 100 commands already queued")

    def _answer(self, cmd_id: str, ok: bool, detail) -> None:
        body = {"id": cmd_id, "ok": ok, "result" if ok else "error": detail}
        if not ok:
            log.warning("command %r refused: %s", cmd_id, detail)
        self.reply(json.dumps(body, default=str).encode())

    def _run(self) -> None:
        while not self.stop_event.is_set():
            try:
                cmd = self.queue.get(timeout=0.5)
            except queue.Empty:
                continue
            try:
                result = self.handle(cmd)
            except (ValueError, KeyError, RuntimeError, OSError) as exc:  # DriverError is a RuntimeError
                self._answer(cmd.id, False, f"{exc.__class__.__name__}: {exc}")
            else:
                self._answer(cmd.id, True, result)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(5)
