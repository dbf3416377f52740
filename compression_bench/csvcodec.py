"""Columnar encoding of a regular CSV dump (the paper's layout, or a user's CSV).

A regular CSV here: a header line, then rows with the same number of fields, LF line ends,
fields either always or never quoted per column, no escaped quotes inside fields. Anything
else is not this encoder's business: ``tokenize`` returns None and the caller falls back to
compressing the bytes as they are. The output reproduces the input byte for byte.
"""

from __future__ import annotations

import numpy as np

from compression_bench import streams as st
from compression_bench import textcols as tc

QUOTE, COMMA, LF = ord('"'), ord(","), ord("\n")
Streams = list[tuple[bytes, bool]]


def tokenize(data: bytes) -> tuple[bytes, list[tc.Column], list[bool]] | None:
    """Header line, one Column per field, and whether each column was quoted."""
    nl = data.find(b"\n")
    if nl < 0 or not data.endswith(b"\n") or b"\r" in data:
        return None
    header, body = data[: nl + 1], data[nl + 1 :]
    buf = np.frombuffer(body, dtype=np.uint8)
    quotes = np.flatnonzero(buf == QUOTE)
    cand = np.flatnonzero((buf == COMMA) | (buf == LF))
    # a separator is real when an even number of quotes precede it
    pos = cand[(np.searchsorted(quotes, cand) & 1) == 0]
    rows = int(np.count_nonzero(buf[pos] == LF))
    if rows == 0 or len(pos) % rows:
        return None
    fields = len(pos) // rows
    ends = pos.reshape(rows, fields)
    if not (buf[ends[:, -1]] == LF).all() or (buf[ends[:, :-1]] == LF).any():
        return None
    starts = np.concatenate([[0], pos[:-1] + 1]).reshape(rows, fields)
    columns, quoted = [], []
    for j in range(fields):
        s, e = starts[:, j], ends[:, j]
        first = (e > s) & (buf[np.minimum(s, len(buf) - 1)] == QUOTE)
        last = (e - s >= 2) & (buf[e - 1] == QUOTE)
        if (first & last).all():
            s, e, q = s + 1, e - 1, True
        elif not first.any():
            q = False
        else:
            return None
        columns.append(tc.slice_cells(buf, s, e))
        quoted.append(q)
    if len(quotes) != 2 * rows * sum(quoted):
        return None  # quotes inside fields ("" escapes): not a regular dump
    return header, columns, quoted


def _split_pair(col: tc.Column, sep: bytes = b", ") -> tuple[tc.Column, tc.Column] | None:
    """'lat, lon' → two columns, if every row holds the separator exactly once."""
    c = col.cells
    if c.shape[1] < 3:
        return None
    hit = (c[:, :-1] == sep[0]) & (c[:, 1:] == sep[1])
    if not (hit.sum(1) == 1).all():
        return None
    at = hit.argmax(1)
    rows = np.arange(len(c))
    buf = c.reshape(-1)
    base = rows * c.shape[1]
    left = tc.slice_cells(buf, base, base + at)
    right = tc.slice_cells(buf, base + at + 2, base + col.lengths)
    return left, right


def encode_column(col: tc.Column, allow_split: bool = True) -> tuple[dict, Streams]:
    for encoder in (tc.encode_category, tc.encode_uuid, tc.encode_datetime, tc.encode_decimal):
        got = encoder(col)
        if got is not None:
            return got
    pair = _split_pair(col) if allow_split else None
    if pair is not None:
        parts = [encode_column(p, allow_split=False) for p in pair]
        spec = {"type": "pair", "sep": ", ", "parts": [p[0] for p in parts]}
        return spec, [s for p in parts for s in p[1]]
    return tc.encode_text(col)


def stream_count(spec: dict) -> int:
    if spec["type"] == "pair":
        return sum(stream_count(p) for p in spec["parts"])
    return {"category": 2, "text": 2}.get(spec["type"], 1)


def decode_column(spec: dict, payloads: list[bytes], rows: int) -> tc.Column:
    kind = spec["type"]
    if kind == "uuid4":
        return tc.render_uuid(st.unpack_uuid4(payloads[0], rows))
    if kind == "uuid":
        return tc.render_uuid(np.frombuffer(payloads[0], np.uint8).reshape(rows, 16))
    if kind == "datetime":
        return tc.render_datetime(st.decode_ints(spec["ints"], payloads[0], rows), spec["sep"])
    if kind == "decimal":
        return tc.decode_decimal(spec, payloads[0], rows)
    if kind == "category":
        return tc.decode_category(spec, payloads[0], payloads[1], rows)
    if kind == "text":
        return tc.decode_text(spec, payloads[0], payloads[1], rows)
    if kind == "pair":
        parts, at = [], 0
        for part in spec["parts"]:
            n = stream_count(part)
            parts.append(decode_column(part, payloads[at : at + n], rows))
            at += n
        return concat([parts[0], spec["sep"].encode(), parts[1]], rows)
    raise st.FormatError(f"unknown column type {kind!r}")


def concat(pieces: list[tc.Column | bytes], rows: int) -> tc.Column:
    """Row-wise concatenation of columns and literal bytes, vectorised."""
    total = np.zeros(rows, dtype=np.int64)
    for p in pieces:
        total += len(p) if isinstance(p, bytes) else p.lengths
    width = int(total.max(initial=0))
    out = np.zeros(rows * max(width, 1), dtype=np.uint8)
    off = np.arange(rows, dtype=np.int64) * max(width, 1)
    for p in pieces:
        if isinstance(p, bytes):
            for b in p:
                out[off] = b
                off = off + 1
            continue
        w = p.cells.shape[1]
        mask = np.arange(w)[None, :] < p.lengths[:, None]
        idx = off[:, None] + np.arange(w)[None, :]
        out[idx[mask]] = p.cells[mask]
        off = off + p.lengths
    return tc.Column(out.reshape(rows, max(width, 1)), total)


def encode(data: bytes, backend: str, level: int) -> bytes | None:
    tokens = tokenize(data)
    if tokens is None:
        return None
    header, columns, quoted = tokens
    rows = len(columns[0].lengths)
    specs, all_streams = [], [(header, True)]
    for col in columns:
        spec, streams = encode_column(col)
        specs.append(spec)
        all_streams.extend(streams)
    blobs = st.pack_streams(backend, level, all_streams)
    meta = {"kind": "csv", "rows": rows, "quoted": quoted, "columns": specs}
    meta["backend"], meta["level"] = backend, level
    meta["compressible"] = [c for _, c in all_streams]
    return st.write_container(meta, blobs)


def decode(meta: dict, payloads: list[bytes]) -> bytes:
    rows = meta["rows"]
    header, at = payloads[0], 1
    pieces: list[tc.Column | bytes] = []
    for j, spec in enumerate(meta["columns"]):
        n = stream_count(spec)
        col = decode_column(spec, payloads[at : at + n], rows)
        at += n
        q = b'"' if meta["quoted"][j] else b""
        pieces += [q, col, q, b"," if j < len(meta["columns"]) - 1 else b"\n"]
    table = concat([p for p in pieces if p != b""], rows)
    mask = np.arange(table.cells.shape[1])[None, :] < table.lengths[:, None]
    return header + table.cells[mask].tobytes()
