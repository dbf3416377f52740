"""Reproduces the rice-field paper's gzip-vs-bzip2 study on a generated stand-in of its gateway
log and looks for what beats it: a broad codec set (gzip/bzip2/xz/zstd levels, zstd with a
trained dictionary and long window, and the telemetry-aware columnar encoding ``tlm``),
measured for ratio, speed, memory and losslessness, per batch size for the edge agent's
``auto`` codec (``choice.choose_codec``), and through the real ingest service for transfer
time. Owns nothing outside this folder; the product's wire codecs stay in ``ingest.codecs``.
"""
