"""Record-level comparison: the proof, in every run, that a codec lost nothing.

CSV: the rows as ``csv.reader`` reads them; NDJSON: each line as ``json.loads`` reads it.
Equal bytes are equal records; otherwise the records are compared one by one.
"""

from __future__ import annotations

import csv
import io
import json


def looks_like_ndjson(data: bytes) -> bool:
    return data.lstrip()[:1] == b"{"


def records(data: bytes) -> list:
    text = data.decode("utf-8")
    if looks_like_ndjson(data):
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    return list(csv.reader(io.StringIO(text, newline="")))


def same_records(original: bytes, decoded: bytes) -> bool:
    if original == decoded:
        return True
    try:
        return records(original) == records(decoded)
    except (ValueError, UnicodeDecodeError, csv.Error):
        return False
