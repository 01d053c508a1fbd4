"""Grafana dashboards generated from the InfluxDB contract."""
