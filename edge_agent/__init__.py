"""The gateway daemon (`edge-agent`): reads sensor nodes (serial, HTTP, MQTT), validates and
fuzzy-scores each reading, keeps it durably in a SQLite buffer and ships compressed batches to
the ingest service exactly once. It owns the gateway side of docs/protocol.md and
../shared/spec/uplink-api.md; frames.py (the protocol), probe.py (firmware tools) and
simulate.py (the simulator) are other owners' modules it uses. Design: docs/edge-agent.md.
"""
