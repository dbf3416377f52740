"""The edge agent's ``auto`` codec: which Content-Encoding and level to ship a batch with.

``choose_codec`` is pure: it looks the batch size and link up in ``choice_table.json``, which
``python -m compression_bench choose --from OUT/results.json`` derives from the benchmark's
measured per-batch results (compressed size, compress and decompress time of each wire
encoding on our gateway's NDJSON): the encoding minimising compress time + bytes / link
bandwidth + decompress time wins for each batch-size bracket.

While ``choice_table.json`` says ``"provisional": true`` its entries are reasoned defaults,
not measurements (see ``is_provisional()``); the committed table states its source.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from ingest.codecs import ENCODINGS

TABLE_PATH = Path(__file__).with_name("choice_table.json")
LINKS_BIT_S = {"gprs": 40e3, "3g": 1e6, "4g": 10e6, "lan": 1e9}


@cache
def _table() -> dict:
    return json.loads(TABLE_PATH.read_text())


def choose_codec(batch_bytes: int, link: str = "gprs") -> tuple[str, int]:
    """(encoding in ingest.codecs.ENCODINGS, level) for a batch of `batch_bytes` raw bytes
    shipped over `link` (gprs, 3g, 4g or lan). The level of identity is 0."""
    if link not in LINKS_BIT_S:
        raise ValueError(f"unknown link {link!r}; known: {', '.join(LINKS_BIT_S)}")
    if batch_bytes < 0:
        raise ValueError(f"batch_bytes must be >= 0, got {batch_bytes}")
    for upper, encoding, level in _table()["links"][link]:
        if upper is None or batch_bytes <= upper:
            assert encoding in ENCODINGS
            return encoding, int(level)
    raise AssertionError("choice table has no open-ended last bracket")


def is_provisional() -> bool:
    return bool(_table().get("provisional", False))
