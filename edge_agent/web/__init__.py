"""The agent's one small HTTP server (werkzeug, threaded): the `POST /sensors` source, the
status page (no CDN: inline CSS, works offline), `/api/status` JSON, Prometheus `/metrics`
and the settings form (admin token). Reads state through edge_agent.status; writes only
settings, through the daemon context.
"""
