"""The complete, commented sample config printed by ``blueranch edge sample-config``.

Built from each driver's own ``SAMPLE`` so a new driver shows up here by registering itself.
"""

from __future__ import annotations

from textwrap import indent

import yaml

from blueranch.edge import drivers
from blueranch.edge.qc_defaults import qc_block, sensor_quantities

HEADER = """\
# BlueRanch edge agent configuration (blueranch edge check-config FILE validates it).
# Unknown keys are errors. Units are in the key names (interval_s, max_bytes).
site: dachen                  # site id: letters, digits, _ - . (becomes part of MQTT topics)
device: buoy-01               # this gateway's id, unique within the site
# clock_file: /run/blueranch/clock.json   # simulator's accelerated clock (tests and demos only)
# status_file: /var/lib/blueranch/edge-status.json  # default: next to the buffer
health_interval_s: 300        # the agent's own readings (sensor "agent": buffer depth, drops, uptime); 0: off

mqtt:
  url: mqtts://mqtt.example.org:8883   # mqtt:// or mqtts:// (TLS, verified against the system CAs or ca_file)
  username: buoy-01
  password_env: BLUERANCH_MQTT_PASSWORD  # or password_file: /etc/blueranch/mqtt-password (never the password itself)
  # ca_file: /etc/blueranch/ca.crt
  keepalive_s: 60
  session_expiry_s: 604800    # the broker keeps this session a week after the link drops
  inflight_max: 100           # messages awaiting PUBACK at once
  reconnect_min_s: 1          # reconnect backoff: doubles up to reconnect_max_s, with jitter
  reconnect_max_s: 120
  status_interval_s: 60       # retained status message period
  delivery: auto              # a reading leaves the buffer once the shore committed it (auto | commit | puback)
  commit_timeout_s: 60        # accepted by the broker, not committed within this: sent again (doubling, 1 h max)
  commit_window: 2000         # messages out at once (awaiting a PUBACK or a commit); the rest wait in the buffer

buffer:
  path: /var/lib/blueranch/edge-buffer.sqlite
  max_bytes: 268435456        # 256 MiB; oldest messages are evicted beyond this (counted and logged)
  max_age_s: 2592000          # 30 days
  synchronous: FULL           # FULL survives power loss; NORMAL only a process crash
  memory_max_bytes: 4194304   # while the disk refuses writes (full, read-only), new messages wait in memory

"""


def sample_config() -> str:
    """The header, a ``qc:`` section with cited defaults for every quantity the sample sensors emit
    (:mod:`blueranch.edge.qc_defaults`), and one sample sensor per driver."""
    samples = sorted(drivers.load_all().items())
    emitted = [q for _, cls in samples for sensor in yaml.safe_load(cls.SAMPLE) for q in sensor_quantities(sensor)]
    parts = [HEADER, "\n", qc_block(emitted), "\nsensors:\n"]
    for name, cls in samples:
        parts.append(f"  # --- driver {name}\n")
        parts.append(indent(cls.SAMPLE, "  "))
    return "".join(parts)
