"""The cloud ingest service (issue 5): a Flask app on gunicorn that receives the gateways'
compressed batches (HTTP POST /v1/batches or MQTT), stores each reading exactly once in a
time-series store (`stores/`), raises notifications (`notify/`) into a feed (`feeds/`) and
serves the mobile app and the web. `wire.py` and `codecs.py` are the shared, pure uplink
contract used by the edge agent as well. Guide: docs/ingest.md."""
