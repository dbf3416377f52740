"""Columnar encoding of NDJSON records (our gateway's readings, or any user's NDJSON).

Each line's object is flattened to leaves; the sequence of (path, type) of a line is its
template (stored once, then one small index a line). Leaves of one (path, type) form a
column: integers and decimal floats are delta-coded, strings typed like CSV fields (UUIDs,
timestamps, categories, text). A reading's ``id`` that equals
``ingest.wire.reading_id(gateway_id, node_id, boot, seq)`` is not stored at all: the
decoder derives it again. Lossless at the record level: ``json.loads`` of every decoded line
equals the original's (and bytes match when the input was compact JSON, as ingest writes it).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from compression_bench import csvcodec
from compression_bench import streams as st
from compression_bench import textcols as tc
from ingest.wire import reading_id

Path = tuple[str, ...]
DERIVED = "D"


def _leaf_code(value: Any) -> str:
    if isinstance(value, bool):
        return "b"
    if isinstance(value, int):
        return "i"
    if isinstance(value, float):
        return "f"
    if isinstance(value, str):
        return "s"
    if value is None:
        return "n"
    return "j"  # lists and empty objects: kept as JSON text


def _flatten(obj: dict, prefix: Path, leaves: list[tuple[Path, str, Any]]) -> None:
    for key, value in obj.items():
        path = (*prefix, key)
        if isinstance(value, dict) and value:
            _flatten(value, path, leaves)
        else:
            leaves.append((path, _leaf_code(value), value))


def _derived_id(obj: dict) -> bool:
    try:
        gw, node, boot, seq = obj["gateway_id"], obj["node_id"], obj["boot"], obj["seq"]
        return isinstance(obj["id"], str) and obj["id"] == reading_id(gw, node, boot, seq)
    except (KeyError, TypeError):
        return False


def _float_scale(values: np.ndarray) -> int | None:
    for scale in range(10):
        scaled = np.round(values * 10.0**scale)
        if np.abs(scaled).max(initial=0) < 2**53 and (scaled / 10.0**scale == values).all():
            return scale
    return None


def _encode_leaf_column(code: str, values: list[Any]) -> tuple[dict, list[tuple[bytes, bool]]]:
    if code in "ib":
        spec, payload = st.encode_ints(np.array(values, dtype=np.int64))
        return {"type": "int", "ints": spec}, [(payload, True)]
    if code == "f":
        arr = np.array(values, dtype=np.float64)
        scale = _float_scale(arr)
        if scale is not None:
            spec, payload = st.encode_ints(np.round(arr * 10.0**scale).astype(np.int64))
            return {"type": "float", "scale": scale, "ints": spec}, [(payload, True)]
        values = [repr(v) for v in values]
    elif code == "j":
        values = [json.dumps(v, separators=(",", ":"), ensure_ascii=False) for v in values]
    col = tc.Column.from_list([v.encode() for v in values])
    return csvcodec.encode_column(col)


def _decode_leaf_column(code: str, spec: dict, payloads: list[bytes], rows: int) -> list[Any]:
    if spec["type"] == "int":
        ints = st.decode_ints(spec["ints"], payloads[0], rows).tolist()
        return [bool(v) for v in ints] if code == "b" else ints
    if spec["type"] == "float":
        ints = st.decode_ints(spec["ints"], payloads[0], rows)
        return (ints / 10.0 ** spec["scale"]).tolist()
    text = [v.decode() for v in csvcodec.decode_column(spec, payloads, rows).to_list()]
    if code == "f":
        return [float(v) for v in text]
    if code == "j":
        return [json.loads(v) for v in text]
    return text


def _stream_count(spec: dict) -> int:
    return 1 if spec["type"] in ("int", "float") else csvcodec.stream_count(spec)


def encode(data: bytes, backend: str, level: int) -> bytes | None:
    if not data.endswith(b"\n"):
        return None
    templates: dict[tuple, int] = {}
    template_ids: list[int] = []
    columns: dict[tuple[Path, str], list[Any]] = {}
    for line in data.split(b"\n")[:-1]:
        try:
            obj = json.loads(line)
        except ValueError:
            return None
        if not isinstance(obj, dict):
            return None
        leaves: list[tuple[Path, str, Any]] = []
        _flatten(obj, (), leaves)
        derived = _derived_id(obj)
        shape = []
        for path, code, value in leaves:
            if derived and path == ("id",):
                code = DERIVED
            else:
                columns.setdefault((path, code), []).append(value)
            shape.append((path, code))
        key = tuple(shape)
        template_ids.append(templates.setdefault(key, len(templates)))
    specs, all_streams = [], []
    for (path, code), values in columns.items():
        if code == "n":
            spec, streams = {"type": "none"}, []
        else:
            spec, streams = _encode_leaf_column(code, values)
        specs.append({"path": list(path), "code": code, "rows": len(values), "spec": spec})
        all_streams.extend(streams)
    tid_spec, tid_payload = st.encode_ints(np.array(template_ids, dtype=np.int64))
    all_streams.append((tid_payload, True))
    meta = {
        "kind": "ndjson",
        "rows": len(template_ids),
        "templates": [[[list(p), c] for p, c in t] for t in templates],
        "template_ids": tid_spec,
        "columns": specs,
        "backend": backend,
        "level": level,
        "compressible": [c for _, c in all_streams],
    }
    return st.write_container(meta, st.pack_streams(backend, level, all_streams))


def _set(obj: dict, path: list[str], value: Any) -> None:
    for key in path[:-1]:
        obj = obj.setdefault(key, {})
    obj[path[-1]] = value


def decode(meta: dict, payloads: list[bytes]) -> bytes:
    at = 0
    values: dict[tuple[Path, str], Any] = {}
    for col in meta["columns"]:
        spec, code = col["spec"], col["code"]
        if spec["type"] == "none":
            decoded = [None] * col["rows"]
        else:
            n = _stream_count(spec)
            decoded = _decode_leaf_column(code, spec, payloads[at : at + n], col["rows"])
            at += n
        values[(tuple(col["path"]), code)] = iter(decoded)
    template_ids = st.decode_ints(meta["template_ids"], payloads[at], meta["rows"]).tolist()
    templates = [[(tuple(p), c) for p, c in t] for t in meta["templates"]]
    out = []
    for tid in template_ids:
        obj: dict[str, Any] = {}
        for path, code in templates[tid]:
            if code == DERIVED:
                _set(obj, list(path), None)  # keeps the key's place; filled below
            else:
                _set(obj, list(path), next(values[(path, code)]))
        if ("id",) in {p for p, c in templates[tid] if c == DERIVED}:
            obj["id"] = reading_id(obj["gateway_id"], obj["node_id"], obj["boot"], obj["seq"])
        out.append(json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode())
    return b"\n".join(out) + b"\n"
