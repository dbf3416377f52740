"""Pipeline steps between the sources and the buffer, each a small pure module:
validate (frames and JSON into candidates), ranges (physical-range quality flags), dedupe
(by node, boot, seq), score (the node's fuzzy profile), ident (reading id, timestamp and the
NDJSON line). They do no I/O; the group committer (edge_agent/committer.py) runs them.
"""
