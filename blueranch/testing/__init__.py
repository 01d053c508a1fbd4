"""Real Mosquitto and InfluxDB processes for tests, benchmarks and the demo (no stand-ins)."""
