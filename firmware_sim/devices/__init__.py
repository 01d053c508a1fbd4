"""Simulated devices. Each device turns request bytes into response bytes; links carry the bytes."""
