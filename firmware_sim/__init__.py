"""A marine ranch in software: sensors that speak the real protocols over pseudo-terminals and MQTT."""
