"""Sinks: where readings leave the agent. `http` and `mqtt` are the uplink transports to the
ingest service (one `send(batch_id, body, encoding) -> SendResult` each, no retry logic:
the shipper owns retries); `local_mqtt` publishes every scored reading and alert to the
gateway's own broker for actuators and apps.
"""
