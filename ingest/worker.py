"""Ingest worker (walking skeleton: one message, one write; the ingest issue adds batching).

At-least-once: the MQTT message is acknowledged (paho manual ack) only after InfluxDB accepted its
points. A message that breaks the contract is acknowledged, dead-lettered and counted, never retried.
"""

from __future__ import annotations

import json
import logging
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.subscribeoptions import SubscribeOptions

from blueranch.contracts import mqtt as contract
from blueranch.contracts.errors import ContractError
from blueranch.contracts.influx import Point, telemetry_points
from blueranch.contracts.lineprotocol import lines
from blueranch.influxdb import InfluxClient, InfluxError
from blueranch.mqttc import connect_properties, make_client, parse_url

log = logging.getLogger("blueranch.ingest")


class Worker:
    def __init__(self, mqtt_url: str, influx: InfluxClient, worker_id: str = "ingest-1", group: str = "ingest"):
        self.influx = influx
        self.worker_id = worker_id
        self.group = group
        self.stop_event = threading.Event()
        url = parse_url(mqtt_url)
        self.client = make_client(worker_id, clean=False, manual_ack=True, tls=url.tls)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.connect_async(url.host, url.port, clean_start=False, properties=connect_properties())
        self.messages = 0
        self.points = 0
        self.errors = 0

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.error("broker refused the connection: %s", reason_code)
            return
        client.subscribe(contract.shared_subscription(self.group, contract.TELEMETRY_FILTER),
                         options=SubscribeOptions(qos=1))

    def _on_message(self, client, userdata, msg: mqtt.MQTTMessage) -> None:
        self.messages += 1
        try:
            tm = contract.parse_telemetry(msg.payload, msg.topic)
            site = contract.parse_topic(msg.topic).site
            points = telemetry_points(site, tm)
            body = lines(points)
        except ContractError as exc:
            self._reject(msg, exc)
            client.ack(msg.mid, msg.qos)
            return
        while not self.stop_event.is_set():
            try:
                self.influx.write(body)
                self.points += len(points)
                client.ack(msg.mid, msg.qos)
                return
            except InfluxError as exc:
                if not exc.retryable:
                    self._reject(msg, ContractError.single("influx_rejected", "points", len(points), str(exc)))
                    client.ack(msg.mid, msg.qos)
                    return
                log.warning("InfluxDB write failed, retrying: %s", exc)
                self.stop_event.wait(1.0)

    def _reject(self, msg: mqtt.MQTTMessage, exc: ContractError) -> None:
        self.errors += 1
        log.warning("rejected message on %r: %s (%s)", msg.topic, exc.reason, exc)
        report = {"reason": exc.reason, "topic": msg.topic, "detail": str(exc), "worker": self.worker_id,
                  "payload_excerpt": msg.payload[:512].decode("utf-8", errors="replace")}
        self.client.publish(contract.DEADLETTER_TOPIC, json.dumps(report), qos=1)
        try:
            self.influx.write(lines([Point("ingest_errors", {"reason": exc.reason, "worker": self.worker_id},
                                           {"count": 1, "topic": msg.topic[:200], "detail": str(exc)[:1000]},
                                           int(time.time() * 1000))]), retention_policy="ops")
        except InfluxError as werr:
            log.error("could not record the rejection in ingest_errors: %s", werr)

    def run(self) -> None:
        self.influx.ensure_database()
        self.client.loop_start()
        self.stop_event.wait()
        self.client.disconnect()
        self.client.loop_stop()

    def stop(self) -> None:
        self.stop_event.set()
