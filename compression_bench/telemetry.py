"""The telemetry-aware encoding ("tlm"): columnar, typed, delta-coded, ids packed or derived.

``encode`` sniffs the input: NDJSON readings go to ``jsoncodec``, a regular CSV dump to
``csvcodec``; anything else is kept as one opaque stream, so every input round-trips.
"""

from __future__ import annotations

from compression_bench import csvcodec, jsoncodec
from compression_bench import streams as st


def encode(data: bytes, backend: str = "xz", level: int = 9) -> bytes:
    head = data.lstrip()[:1]
    blob = None
    if head == b"{":
        blob = jsoncodec.encode(data, backend, level)
    elif head:
        blob = csvcodec.encode(data, backend, level)
    if blob is None:
        meta = {"kind": "raw", "backend": backend, "level": level, "compressible": [True]}
        blob = st.write_container(meta, st.pack_streams(backend, level, [(data, True)]))
    return blob


def decode(blob: bytes) -> bytes:
    meta, blobs = st.read_container(blob)
    backend, level = meta["backend"], meta["level"]
    payloads = [
        st.unpack_stream(backend, level, b, c)
        for b, c in zip(blobs, meta["compressible"], strict=True)
    ]
    if meta["kind"] == "raw":
        return payloads[0]
    if meta["kind"] == "csv":
        return csvcodec.decode(meta, payloads)
    if meta["kind"] == "ndjson":
        return jsoncodec.decode(meta, payloads)
    raise st.FormatError(f"unknown kind {meta['kind']!r}")
