"""InfluxDB line protocol for readings, batch figures and notifications, exactly as
docs/influx-schema.md says. Pure. `reading_to_point` builds an influxdb-client `Point` (the
reference); `reading_to_line` is a faster encoder producing the identical line (a property
test holds them equal).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from influxdb_client import Point, WritePrecision

from ingest.wire import ts_to_ms

_ESCAPE_MEASUREMENT = str.maketrans({",": r"\,", " ": r"\ ", "\n": r"\n", "\t": r"\t", "\r": r"\r"})
_ESCAPE_KEY = str.maketrans(
    {",": r"\,", "=": r"\=", " ": r"\ ", "\n": r"\n", "\t": r"\t", "\r": r"\r"}
)
_ESCAPE_STRING = str.maketrans({'"': r"\"", "\\": r"\\"})


def measurement_of(reading: dict[str, Any]) -> str:
    return reading.get("profile") or "reading"


def _reading_fields(reading: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {name: float(v) for name, v in reading.get("values", {}).items()}
    if reading.get("score") is not None:
        fields["score"] = float(reading["score"])
    if reading.get("label") is not None:
        fields["label"] = str(reading["label"])
    fields["boot"] = int(reading["boot"])
    fields["seq"] = int(reading["seq"])
    if reading.get("flags"):
        fields["flags"] = ",".join(reading["flags"])
    fields["id"] = str(reading["id"])
    return fields


def reading_to_point(reading: dict[str, Any], gateway_id: str) -> Point:
    point = (
        Point(measurement_of(reading)).tag("gateway", gateway_id).tag("node", reading["node_id"])
    )
    for name, value in _reading_fields(reading).items():
        point.field(name, value)
    return point.time(ts_to_ms(reading["ts"]), WritePrecision.MS)


def _tag(value: str) -> str:
    text = str(value).translate(_ESCAPE_KEY)
    return text + " " if text.endswith("\\") else text


def _field_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value}i"
    if isinstance(value, float):
        text = str(value)
        return text[:-2] if text.endswith(".0") else text
    return '"' + str(value).translate(_ESCAPE_STRING) + '"'


def _line(measurement: str, tags: dict[str, str], fields: dict[str, Any], time_ms: int) -> str:
    tag_text = ",".join(
        f"{k.translate(_ESCAPE_KEY)}={_tag(v)}"
        for k, v in sorted(tags.items())
        if v not in (None, "")
    )
    field_text = ",".join(
        f"{k.translate(_ESCAPE_KEY)}={_field_text(v)}"
        for k, v in sorted(fields.items())
        if v is not None
    )
    head = measurement.translate(_ESCAPE_MEASUREMENT)
    return f"{head}{',' if tag_text else ''}{tag_text} {field_text} {time_ms}"


def reading_to_line(reading: dict[str, Any], gateway_id: str) -> str:
    return _line(
        measurement_of(reading),
        {"gateway": gateway_id, "node": reading["node_id"]},
        _reading_fields(reading),
        ts_to_ms(reading["ts"]),
    )


def batch_stats_to_line(
    gateway_id: str,
    *,
    encoding: str,
    content_type: str,
    status: int | str,
    accepted: int,
    duplicates: int,
    rejected: int,
    bytes_compressed: int,
    bytes_raw: int,
    decompress_ms: float,
    parse_ms: float,
    write_ms: float,
    replayed: bool,
    time_ms: int | None = None,
) -> str:
    return _line(
        "ingest_batches",
        {
            "gateway": gateway_id,
            "encoding": encoding,
            "content_type": content_type,
            "status": str(status),
        },
        {
            "accepted": int(accepted),
            "duplicates": int(duplicates),
            "rejected": int(rejected),
            "bytes_compressed": int(bytes_compressed),
            "bytes_raw": int(bytes_raw),
            "decompress_ms": float(decompress_ms),
            "parse_ms": float(parse_ms),
            "write_ms": float(write_ms),
            "replayed": bool(replayed),
        },
        time_ms if time_ms is not None else _unique_ms(),
    )


_last_ms = 0
_ms_lock = threading.Lock()


def _unique_ms() -> int:
    """Now in ms, but never the same ms twice in this process: a point with the same series
    and timestamp as another overwrites it (InfluxDB) or is folded into it (VictoriaMetrics
    with dedup), so two batches answered in one millisecond would count as one."""
    global _last_ms
    with _ms_lock:
        _last_ms = max(int(time.time() * 1000), _last_ms + 1)
        return _last_ms


def gateway_status_to_line(
    gateway_id: str, status: dict[str, int], time_ms: int | None = None
) -> str | None:
    fields = {k: int(v) for k, v in status.items() if k in ("buffer_rows", "buffer_bytes", "nodes")}
    if not fields:
        return None
    return _line(
        "gateway_status",
        {"gateway": gateway_id},
        fields,
        time_ms if time_ms is not None else int(time.time() * 1000),
    )


def notification_to_line(notification: Any) -> str:
    """A `feeds.base.Notification` (or a dict with its keys) → `notifications` line."""
    n = notification if isinstance(notification, dict) else notification.as_dict()
    fields: dict[str, Any] = {"message": n["message"], "severity": n["severity"]}
    if n.get("value") is not None:
        fields["value"] = float(n["value"])
    return _line(
        "notifications",
        {"gateway": n["gateway_id"], "node": n["node_id"], "kind": n["kind"]},
        fields,
        ts_to_ms(n["ts"]),
    )


_FIXED_FIELDS = frozenset({"score", "label", "boot", "seq", "flags", "id"})
_heads: dict[tuple[str, str, str], str] = {}
_orders: dict[tuple, list[tuple[int, str, str]]] = {}
_VALUE, _SCORE, _LABEL, _BOOT, _SEQ, _FLAGS, _ID = range(7)


def _string_text(value: str) -> str:
    if '"' in value or "\\" in value:
        value = value.translate(_ESCAPE_STRING)
    return f'"{value}"'


def _float_text(value: float) -> str:
    return str(float(value)).removesuffix(".0")


def _cached_float_text(value: float) -> str:
    """`_float_text`, remembered: sensor values repeat (a few hundred distinct ones a batch).
    Zero is not cached, because -0.0 and 0.0 are one dict key but two texts."""
    text = _float_texts.get(value)
    if text is None:
        text = _float_text(value)
        if value:
            if len(_float_texts) >= 100_000:
                _float_texts.clear()
            _float_texts[value] = text
    return text


_float_texts: dict[float, str] = {}


def fast_reading_line(r: Any) -> str:
    """`reading_to_line(r.as_dict(), r.gateway_id)` for a fastwire.Reading, with the
    per-batch constants (measurement, tags, field order) cached: the store's hot path."""
    values = r.values
    if not _FIXED_FIELDS.isdisjoint(values):
        return reading_to_line(r.as_dict(), r.gateway_id)
    head_key = (r.profile or "reading", r.gateway_id, r.node_id)
    head = _heads.get(head_key)
    if head is None:
        measurement = head_key[0].translate(_ESCAPE_MEASUREMENT)
        head = f"{measurement},gateway={_tag(r.gateway_id)},node={_tag(r.node_id)}"
        if len(_heads) > 100_000:
            _heads.clear()
        _heads[head_key] = head
    order_key = (tuple(values), r.score is not None, r.label is not None, bool(r.flags))
    order = _orders.get(order_key)
    if order is None:
        kinds = {name: _VALUE for name in values}
        kinds.update({"boot": _BOOT, "seq": _SEQ, "id": _ID})
        if order_key[1]:
            kinds["score"] = _SCORE
        if order_key[2]:
            kinds["label"] = _LABEL
        if order_key[3]:
            kinds["flags"] = _FLAGS
        order = [(kinds[name], name, f"{name.translate(_ESCAPE_KEY)}=") for name in sorted(kinds)]
        if len(_orders) > 10_000:
            _orders.clear()
        _orders[order_key] = order
    parts = []
    for kind, name, prefix in order:
        if kind == _VALUE:
            parts.append(prefix + _cached_float_text(values[name]))
        elif kind == _SCORE:
            parts.append(prefix + _cached_float_text(r.score))
        elif kind == _LABEL:
            parts.append(prefix + _string_text(str(r.label)))
        elif kind == _BOOT:
            parts.append(f"{prefix}{int(r.boot)}i")
        elif kind == _SEQ:
            parts.append(f"{prefix}{int(r.seq)}i")
        elif kind == _FLAGS:
            parts.append(prefix + _string_text(",".join(r.flags)))
        else:
            parts.append(prefix + _string_text(str(r.id)))
    return f"{head} {','.join(parts)} {ts_to_ms(r.ts)}"
