"""Request bodies the load tests send. Pure: a node's `/sensors` reading (the rice node of the
paper: DHT11, MQ-2, soil pH and moisture, GPS) and a gateway's compressed NDJSON batch that
follows the uplink contract (ingest/wire.py)."""

from __future__ import annotations

import random
import time
from typing import Any

from ingest.codecs import compress
from ingest.wire import encode_ndjson, format_ts, reading_id


def rice_values(rng: random.Random) -> dict[str, float]:
    return {
        "temperature": round(rng.uniform(26, 35), 1),
        "humidity": round(rng.uniform(60, 98), 1),
        "gas": round(rng.uniform(2, 6), 2),
        "soil_ph": round(rng.uniform(5.5, 7.5), 2),
        "soil_moisture": round(rng.uniform(40, 80), 2),
        "lat": -8.588182,
        "lon": 115.10207,
    }


def orchid_values(rng: random.Random) -> dict[str, float]:
    """The orchid paper's node: DHT11 and an LDR (Table 2's ranges)."""
    return {
        "temperature": round(rng.uniform(26, 29), 1),
        "humidity": round(rng.uniform(62, 68), 1),
        "light": round(rng.uniform(28, 17_951), 1),
    }


PROFILES = {"orchid": orchid_values, "rice": rice_values}


def sensor_reading(
    node_id: str, boot: int, seq: int, rng: random.Random, profile: str = "orchid"
) -> dict[str, Any]:
    """One `/sensors` body (the edge agent's HTTP source schema). The orchid profile is the
    one the agent scores with its fuzzy engine, so the default load includes scoring."""
    return {
        "node_id": node_id,
        "boot": boot,
        "seq": seq,
        "profile": profile,
        "values": PROFILES[profile](rng),
    }


def batch_readings(
    gateway_id: str, node_ids: list[str], first_seq: int, size: int, rng: random.Random
) -> list[dict[str, Any]]:
    """`size` uplink readings spread over `node_ids`, 5 s apart, ids per the contract."""
    now = time.time()
    readings = []
    for i in range(size):
        node = node_ids[i % len(node_ids)]
        seq = first_seq + i // len(node_ids)
        readings.append(
            {
                "id": reading_id(gateway_id, node, 1, seq),
                "ts": format_ts(now - 5 * (size - i) / len(node_ids)),
                "gateway_id": gateway_id,
                "node_id": node,
                "profile": "rice",
                "boot": 1,
                "seq": seq,
                "values": rice_values(rng),
                "flags": [],
            }
        )
    return readings


def batch_body(readings: list[dict[str, Any]], encoding: str = "gzip") -> bytes:
    return compress(encode_ndjson(readings), encoding)
