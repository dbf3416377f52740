"""Notifications: per-profile rules (label drop, value out of its optimal band, node silent)
with hysteresis and cooldown, evaluated on newly stored readings and delivered to the feed
and to MQTT."""
