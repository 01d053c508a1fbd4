"""Shared paho-mqtt set-up: broker URLs (``mqtt://host:port``, ``mqtts://host:port``) and clients.

A broker URL carries no credentials: ``mqtt://user:password@host`` is refused with a message saying where
they go instead (a user name option, the password from the environment or a file), because a URL ends up
in process lists, logs and error messages. The refusal never repeats the password.
"""

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


def redact_url(url: str) -> str:
    """``url`` with any ``user:password@`` replaced by ``***@``, for messages."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    netloc, slash, path = rest.partition("/")
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    return f"{scheme}{sep}{netloc}{slash}{path}"


def parse_url(url: str) -> BrokerUrl:
    """Parse ``mqtt://HOST[:PORT]`` or ``mqtts://HOST[:PORT]``; raise ``ValueError`` with a clear message."""
    shown = redact_url(url)
    try:
        u = urlparse(url)
        port = u.port
    except ValueError as exc:  # a port that is not a number or out of range
        raise ValueError(f"broker URL {shown!r}: {exc}") from None
    if "@" in u.netloc:
        raise ValueError(
            f"broker URL {shown!r} carries credentials: they are not taken from a URL (it shows in process lists "
            f"and logs). Give the user name with --mqtt-username (edge config: mqtt.username) and the password "
            f"through the environment or a password file"
        )
    if u.scheme not in ("mqtt", "mqtts") or not u.hostname:
        raise ValueError(f"broker URL {shown!r} must look like mqtt://HOST:PORT or mqtts://HOST:PORT")
    tls = u.scheme == "mqtts"
    return BrokerUrl(u.hostname, port or (8883 if tls else 1883), tls)


def edge_client_id(site: str, device: str) -> str:
    """The MQTT client id of a device's edge agent; the deploy config binds the device's user to it."""
    return f"edge-{site}-{device}"


def make_client(
    client_id: str,
    protocol: int = mqtt.MQTTv5,
    clean: bool = False,
    username: str | None = None,
    password: str | None = None,
    tls: bool = False,
    ca_file: str | None = None,
    manual_ack: bool = False,
    cert_file: str | None = None,
    key_file: str | None = None,
) -> mqtt.Client:
    """A paho 2.x client. ``clean=False`` asks for a persistent session (the broker keeps messages).

    With ``tls``, the broker's certificate is verified against ``ca_file`` (else the system's CAs);
    ``cert_file``/``key_file`` present a client certificate (brokers that require one: docs/security.md).
    """
    kwargs = {}
    if protocol != mqtt.MQTTv5:
        kwargs["clean_session"] = clean
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=protocol, manual_ack=manual_ack, **kwargs
    )
    if username:
        client.username_pw_set(username, password)
    if tls:
        client.tls_set(ca_certs=ca_file, certfile=cert_file, keyfile=key_file, cert_reqs=ssl.CERT_REQUIRED)
    return client


def connect_properties(session_expiry_s: int = 7 * 86400):
    """MQTT 5 CONNECT properties for a persistent session that outlives a week-long outage."""
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = session_expiry_s
    return props
