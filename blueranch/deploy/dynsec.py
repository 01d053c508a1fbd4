"""The broker's identities and roles, as a Mosquitto dynamic-security plugin config.

Why the dynamic-security plugin (and not ``use_username_as_clientid``): it binds each user to one client id
(a CONNECT with another client id is refused, so a device cannot take over the ingest's persistent session,
nor another device's), gives every device a role of its own pinned to its site and device id (the ACL file's
``%u`` patterns cannot pin a site), and can be changed while the broker runs (``mosquitto_ctrl dynsec``: add a
device, rotate or disable its password; the broker kicks the old connection). ``use_username_as_clientid``
is one switch per listener that renames clients silently and still needs an ACL file that cannot name sites.

Passwords are stored as the plugin stores them: PBKDF2-HMAC-SHA512 with a random 12-byte salt, base64
(plugins/dynamic-security in Mosquitto 2.0; ``tests/deploy`` checks the broker accepts them). Generated
passwords carry 256 bits of entropy, so the stretching is not what protects them; ``ITERATIONS`` keeps a
reconnecting fleet cheap for the broker.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import os
from dataclasses import dataclass

from blueranch.contracts import mqtt as contract
from blueranch.ingest.registry import RegistryConfig
from blueranch.mqttc import edge_client_id

ITERATIONS = 1000
P = contract.PREFIX

#: Every access not granted by a role is refused (unsubscribing is always harmless).
DEFAULT_ACL = {"publishClientSend": False, "publishClientReceive": False, "subscribe": False, "unsubscribe": True}


def ack_topic(site: str, device: str) -> str:
    """Commit acknowledgements, ingest -> device: :func:`blueranch.contracts.mqtt.ack_topic`, which checks the
    ids; this one also takes the ``+`` wildcard, for ACL patterns."""
    return f"{P}/{site}/{device}/ack"


@dataclass(frozen=True)
class Identity:
    """One broker user. ``clientid`` None lets it use any client id (only for a client whose id is not stable
    yet); ``secret`` names the password it logs in with (several ingest workers share the ingest's)."""

    username: str
    clientid: str | None
    roles: tuple[str, ...]
    secret: str
    text: str


def _send(topic: str) -> dict:
    return {"acltype": "publishClientSend", "topic": topic, "allow": True}


def _read(topic: str) -> list[dict]:
    """Subscribe to ``topic`` (also as an MQTT 5 shared subscription) and receive what matches it."""
    return [
        {"acltype": "subscribePattern", "topic": topic, "allow": True},
        {"acltype": "subscribePattern", "topic": f"$share/+/{topic}", "allow": True},
        {"acltype": "publishClientReceive", "topic": topic, "allow": True},
    ]


def device_role(device: str) -> str:
    return f"device-{device}"


def roles(registry: RegistryConfig, sim: bool = False) -> dict[str, list[dict]]:
    """Role name -> ACL entries. A device's role names its site and id: it cannot write under another."""
    out: dict[str, list[dict]] = {
        "ingest": [
            # the whole root: telemetry on a topic the contract does not know is counted and dead-lettered
            *_read(f"{contract.ROOT}/#"),
            _send(contract.DEADLETTER_TOPIC),
            _send(ack_topic("+", "+")),
        ],
        "alerts": [_send(f"{P}/+/_alerts"), *_read(f"{P}/+/+/status")],
        "operator": [
            _send(f"{P}/+/+/cmd"),
            *_read(f"{P}/+/+/status"),
            *_read(f"{P}/+/_alerts"),
            *_read(contract.DEADLETTER_TOPIC),
            *_read(ack_topic("+", "+")),
        ],
        "healthcheck": _read("$SYS/#"),
        "dynsec-admin": [_send("$CONTROL/dynamic-security/#"), *_read("$CONTROL/dynamic-security/#")],
    }
    for device, entry in sorted(registry.devices.items()):
        out[device_role(device)] = [
            _send(contract.telemetry_topic(entry.site, device)),
            _send(contract.status_topic(entry.site, device)),
            _send(contract.events_topic(entry.site, device)),
            *_read(contract.cmd_topic(entry.site, device)),
            *_read(ack_topic(entry.site, device)),
        ]
    if sim:
        # The simulator's LoRa nodes (docker compose --profile sim) and its history feed, which forwards the
        # scenario's load cells as their gateways would: test and demo identities only (deploy init --sim).
        out["sim"] = [_send("nodes/+/up")]
        out["sim-feed"] = [_send(contract.telemetry_topic(e.site, d)) for d, e in sorted(registry.devices.items())]
    return out


def identities(registry: RegistryConfig, ingest_workers: int, sim: bool = False) -> list[Identity]:
    out = [
        Identity(f"ingest-{i}", f"ingest-{i}", ("ingest",), "ingest", f"ingest worker {i}")
        for i in range(1, ingest_workers + 1)
    ]
    out += [
        Identity("alerts", "alerts", ("alerts",), "alerts", "alert worker"),
        Identity("operator", "operator", ("operator",), "operator", "operators' tools (mosquitto_sub -i operator)"),
        Identity("healthcheck", "healthcheck", ("healthcheck",), "healthcheck", "docker compose health check"),
        Identity("dynsec-admin", "dynsec-admin", ("dynsec-admin",), "dynsec-admin", "mosquitto_ctrl dynsec"),
    ]
    for device, entry in sorted(registry.devices.items()):
        out.append(
            Identity(
                device, edge_client_id(entry.site, device), (device_role(device),), device, f"device at {entry.site}"
            )
        )
    if sim:
        out.append(Identity("sim", None, ("sim",), "sim", "simulator: LoRa nodes (client id per scenario)"))
        out.append(Identity("sim-feed", "carbon-simbridge", ("sim-feed",), "sim-feed", "simulator: history feed"))
    return out


def hash_password(password: str, iterations: int = ITERATIONS, salt: bytes | None = None) -> dict:
    salt = os.urandom(12) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return {
        "password": base64.b64encode(digest).decode(),
        "salt": base64.b64encode(salt).decode(),
        "iterations": iterations,
    }


def client_entry(identity: Identity, password: str | None) -> dict:
    """A plugin client; without a password nobody can log in as it (the committed example)."""
    entry: dict = {"username": identity.username, "textName": identity.text}
    if identity.clientid is not None:
        entry["clientid"] = identity.clientid
    if password is not None:
        entry.update(hash_password(password))
    entry["roles"] = [{"rolename": r} for r in identity.roles]
    return entry


def build(ids: list[Identity], role_acls: dict[str, list[dict]], passwords: dict[str, str] | None) -> dict:
    """The whole plugin config; ``passwords`` (secret name -> password) None writes clients that cannot log in."""
    return {
        "defaultACLAccess": dict(DEFAULT_ACL),
        "clients": [client_entry(i, None if passwords is None else passwords[i.secret]) for i in ids],
        "groups": [],
        "roles": [{"rolename": name, "acls": acls} for name, acls in role_acls.items()],
    }


def merge(existing: dict, new: dict) -> tuple[dict, list[str]]:
    """Add to ``existing`` the clients and roles of ``new`` it lacks; change nothing it has (the broker
    rewrites this file when ``mosquitto_ctrl`` changes it, and those changes win). Returns what was added."""
    out = copy.deepcopy(existing)
    added: list[str] = []
    for key, name in (("clients", "username"), ("roles", "rolename")):
        have = {item.get(name) for item in out.setdefault(key, [])}
        for item in new.get(key, []):
            if item[name] not in have:
                out[key].append(item)
                added.append(f"{key[:-1]} {item[name]}")
    out.setdefault("defaultACLAccess", dict(DEFAULT_ACL))
    return out, added


def set_password(config: dict, username: str, password: str) -> None:
    """Rotate a client's password in the plugin config (the broker reads it at start)."""
    for client in config.get("clients", []):
        if client.get("username") == username:
            client.update(hash_password(password))
            return
    raise KeyError(f"no client {username!r} in the dynamic-security config")
