"""Shared paho-mqtt set-up: broker URLs (``mqtt://host:port``, ``mqtts://host:port``) and clients."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from urllib.parse import urlparse

import paho.mqtt.client as mqtt


@dataclass(frozen=True)
class BrokerUrl:
    host: str
    port: int
    tls: bool


def parse_url(url: str) -> BrokerUrl:
    u = urlparse(url)
    if u.scheme not in ("mqtt", "mqtts") or not u.hostname:
        raise ValueError(f"broker URL {url!r} must look like mqtt://HOST:PORT or mqtts://HOST:PORT")
    tls = u.scheme == "mqtts"
    return BrokerUrl(u.hostname, u.port or (8883 if tls else 1883), tls)


def make_client(
    client_id: str,
    protocol: int = mqtt.MQTTv5,
    clean: bool = False,
    username: str | None = None,
    password: str | None = None,
    tls: bool = False,
    ca_file: str | None = None,
    manual_ack: bool = False,
) -> mqtt.Client:
    """A paho 2.x client. ``clean=False`` asks for a persistent session (the broker keeps messages)."""
    kwargs = {}
    if protocol != mqtt.MQTTv5:
        kwargs["clean_session"] = clean
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=protocol, manual_ack=manual_ack, **kwargs
    )
    if username:
        client.username_pw_set(username, password)
    if tls:
        client.tls_set(ca_certs=ca_file, cert_reqs=ssl.CERT_REQUIRED)
    return client


def connect_properties(session_expiry_s: int = 7 * 86400):
    """MQTT 5 CONNECT properties for a persistent session that outlives a week-long outage."""
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = session_expiry_s
    return props
