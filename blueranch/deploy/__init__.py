"""``blueranch deploy``: a shore server's secrets and broker security, generated, never committed.

``blueranch deploy init DIR`` (:mod:`blueranch.deploy.init`) writes into ``DIR``: a password per identity,
the Mosquitto dynamic-security config that binds each identity to its client id and roles (one role per
device, pinned to its site and device id, from the shore's device registry), a local CA with the broker's
server certificate and a client certificate per device and for the operator, the broker config, the
InfluxDB users, and one environment file per docker-compose service holding only that service's secrets.
It is idempotent: an existing file is never overwritten. docs/security.md explains the threat model.
"""
