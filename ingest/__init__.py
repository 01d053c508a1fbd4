"""MQTT to InfluxDB ingest: validate against the contract, write idempotently, acknowledge after the write."""
