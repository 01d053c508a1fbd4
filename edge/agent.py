"""The edge agent's main loop (walking skeleton: poll, publish; the edge issue adds QC and the buffer)."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timezone

import paho.mqtt.client as mqtt

from blueranch import __version__
from blueranch.contracts import mqtt as contract
from blueranch.mqttc import connect_properties, make_client, parse_url
from edge import drivers
from edge.config import EdgeConfig

log = logging.getLogger("blueranch.edge")


class Agent:
    def __init__(self, config: EdgeConfig):
        self.config = config
        self.stop_event = threading.Event()
        self.seq = 0
        self._seq_lock = threading.Lock()
        url = parse_url(config.mqtt.url)
        self.client = make_client(f"edge-{config.site}-{config.device}", clean=False, tls=url.tls)
        offline = contract.Status(device=config.device, state="offline", sw_version=__version__)
        self.client.will_set(contract.status_topic(config.site, config.device), offline.to_json(), qos=1, retain=True)
        self.client.connect_async(url.host, url.port, keepalive=config.mqtt.keepalive_s,
                                  clean_start=False, properties=connect_properties())
        self.client.on_connect = self._on_connect

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.error("broker refused the connection: %s", reason_code)
            return
        status = contract.Status(device=self.config.device, state="online", sw_version=__version__,
                                 time=datetime.now(timezone.utc))
        client.publish(contract.status_topic(self.config.site, self.config.device), status.to_json(), qos=1,
                       retain=True)

    def _next_seq(self) -> int:
        with self._seq_lock:
            self.seq += 1
            return self.seq

    def _poll(self, sensor) -> None:
        driver = drivers.get(sensor.driver)(sensor)
        try:
            while not self.stop_event.is_set():
                try:
                    readings = driver.read()
                except Exception as exc:  # a sensor fault must not stop the agent; it is logged with its reason
                    log.warning("sensor %s (%s on %s): %s", sensor.id, sensor.driver, sensor.port, exc)
                else:
                    self._publish(sensor, readings)
                self.stop_event.wait(sensor.interval_s)
        finally:
            driver.close()

    def _publish(self, sensor, readings) -> None:
        samples = [contract.Sample(time=r.time, sensor=r.sensor, quantity=r.quantity, value=r.value,
                                   unit=contract.QUANTITIES[r.quantity].unit, qc=r.qc, farm=sensor.farm,
                                   asset=sensor.asset) for r in readings]
        msg = contract.Telemetry(device=self.config.device, seq=self._next_seq(), samples=samples)
        self.client.publish(contract.telemetry_topic(self.config.site, self.config.device), msg.to_json(), qos=1)
        log.info("published seq %d: %d samples from %s", msg.seq, len(samples), sensor.id)

    def run(self) -> None:
        self.client.loop_start()
        threads = [threading.Thread(target=self._poll, args=(s,), name=f"poll-{s.id}", daemon=True)
                   for s in self.config.sensors]
        for t in threads:
            t.start()
        self.stop_event.wait()
        for t in threads:
            t.join(5)
        offline = contract.Status(device=self.config.device, state="offline", sw_version=__version__,
                                  time=datetime.now(timezone.utc))
        info = self.client.publish(contract.status_topic(self.config.site, self.config.device), offline.to_json(),
                                   qos=1, retain=True)
        if self.client.is_connected():
            info.wait_for_publish(2)
        self.client.disconnect()
        self.client.loop_stop()

    def stop(self) -> None:
        self.stop_event.set()
