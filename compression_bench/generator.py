"""Synthetic stand-in for the rice-field paper's gateway log (10 May - 17 May 2025, one node).

The readings are built from discrete random choices whose probabilities are known, and the
mapping from choices to the written values is one-to-one, so the code length of those
choices (``Readings.bits``) is the information content of the readings: no lossless coder can
do better on average. Random UUIDs add exactly 122 bits a row on top.

Two renderings of the same physical readings:
- ``paper_csv``: the paper's dump (ID, timestamp, gateway_id, node_id, temperature, humidity,
  gas, soil_ph, soil_moisture, GPS), random UUIDs, duplicated to 6x / 12x with new ids and node
  ids as the paper made them;
- ``gateway_ndjson``: what our gateway ships (uplink-api.md), ids derived from
  gateway/node/boot/seq with ``ingest.wire.reading_id``, timestamps with ``format_ts``.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field

import numpy as np

from ingest.wire import encode_ndjson, format_ts, reading_id

PAPER_ROWS = 49_785
START = "2025-05-10 06:10:10"
START_EPOCH = 1746857410  # 2025-05-10 06:10:10 as naive local time, stored as if UTC
SLOT_S = 5
# Calibrated so gzip -6 / bzip2 -9 land near the paper's 5.164 / 7.42 (docs/compression.md).
JITTER = {0: 0.55, 1: 0.3, 2: 0.15}  # seconds added to 5 s * slots
KEEP_P = 0.9  # a 5-s slot's reading survives radio loss and zero-cleaning
# The solar node sleeps at night: it wakes in [WAKE, WAKE + WINDOW) and sleeps after AWAKE_S.
WAKE_S = 6 * 3600
WAKE_WINDOW_S = 1200
AWAKE_S = 11 * 3600 + 1800
CSV_HEADER = "ID,timestamp,gateway_id,node_id,temperature,humidity,gas,soil_ph,soil_moisture,GPS\n"


@dataclass(frozen=True)
class Sensor:
    name: str
    quantum: float  # sensor resolution: DHT11 0.1 °C / 1 %RH, ADC steps, GPS 1e-6 deg
    decimals: int
    move_p: float  # probability the reading moves one quantum off the diurnal baseline
    span: int  # the offset never leaves [-span, span] quanta (mean-reverting walk)
    base: float
    amplitude: float  # diurnal swing, peak at 14:00 local
    cap: float | None = None  # sensor saturation (DHT11 humidity)
    outlier_p: float = 0.0  # impossible value (e.g. a dry pH probe reading 31.xx)
    outlier_range: tuple[float, float] = (0.0, 0.0)


SENSORS = (
    Sensor("temperature", 0.1, 1, 0.50, 25, 28.5, 4.5),
    Sensor("humidity", 1.0, 0, 0.10, 4, 86.0, -9.0, cap=95.0),
    Sensor("gas", 0.01, 2, 0.80, 60, 4.2, 0.6),
    Sensor("soil_ph", 0.01, 2, 0.50, 30, 6.7, 0.0, outlier_p=0.01, outlier_range=(30.0, 33.0)),
    Sensor("soil_moisture", 0.01, 2, 0.70, 150, 11.0, -0.8),
    Sensor("lat", 1e-6, 6, 0.80, 25, -8.588190, 0.0),
    Sensor("lon", 1e-6, 6, 0.80, 25, 115.102080, 0.0),
)


@dataclass
class Readings:
    """One node's physical readings: times, slot numbers (the node's seq) and quantised
    values (integers in units of each sensor's quantum)."""

    epoch: np.ndarray  # int64 seconds (local time written as UTC, like the paper's dump)
    seq: np.ndarray  # int64 slot counter of the node
    values: dict[str, np.ndarray]  # int64 quanta
    bits: float  # code length of the random choices = information in the readings
    bits_by_part: dict[str, float] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.epoch)


def _h(p: float) -> float:
    return -math.log2(p)


def _times(rng: np.random.Generator, rows: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Seconds and slot counter of each stored row: a reading every 5 s (+ jitter) while the
    node is awake, lost slots (radio, zero-cleaning), and a night's sleep each day."""
    skips = rng.geometric(KEEP_P, rows)
    jit_vals = np.array(list(JITTER))
    jit_p = np.array(list(JITTER.values()))
    jit_idx = rng.choice(len(jit_vals), rows, p=jit_p)
    wakes = rng.integers(0, WAKE_WINDOW_S, rows // 1000 + 30)
    bits = float(np.sum(np.log2(1 / KEEP_P) + (skips - 1) * np.log2(1 / (1 - KEEP_P))))
    bits += float(np.sum(-np.log2(jit_p[jit_idx])))
    epoch = np.empty(rows, dtype=np.int64)
    seq = np.empty(rows, dtype=np.int64)
    t, slot, day = START_EPOCH, 0, 0
    sleep_at = START_EPOCH - START_EPOCH % 86400 + WAKE_S + AWAKE_S
    for i in range(rows):
        if i:
            t += int(skips[i]) * SLOT_S + int(jit_vals[jit_idx[i]])
            slot += int(skips[i])
            if t >= sleep_at:  # asleep until tomorrow's wake-up
                day += 1
                t = sleep_at - WAKE_S - AWAKE_S + 86400 + WAKE_S + int(wakes[day])
                sleep_at = t - int(wakes[day]) + AWAKE_S
                slot += 1
                bits += math.log2(WAKE_WINDOW_S)
        epoch[i], seq[i] = t, slot
    return epoch, seq, bits


def _baseline(sensor: Sensor, epoch: np.ndarray) -> np.ndarray:
    hour = (epoch % 86400) / 3600.0
    curve = sensor.base + sensor.amplitude * np.sin(2 * np.pi * (hour - 8.0) / 24.0)
    return np.rint(curve / sensor.quantum).astype(np.int64)


def _walk(
    rng: np.random.Generator, sensor: Sensor, baseline: np.ndarray
) -> tuple[np.ndarray, float]:
    """Mean-reverting ±1-quantum walk of the offset from the baseline; returns observed quanta
    and the code length of the steps taken (state-dependent probabilities)."""
    rows = len(baseline)
    cap = None if sensor.cap is None else round(sensor.cap / sensor.quantum)
    u = rng.random(rows)
    offset = np.zeros(rows, dtype=np.int64)
    bits = 0.0
    s, span, m = 0, sensor.span, sensor.move_p
    for i in range(1, rows):
        if cap is not None and baseline[i] + s > cap:
            s = cap - baseline[i]  # the baseline rose into saturation: forced, no choice
            offset[i] = s
            continue
        p_up = m / 2 * (1 - s / span)
        p_dn = m / 2 * (1 + s / span)
        if cap is not None and baseline[i] + s >= cap:
            p_up = 0.0  # saturated sensor: it can only stay or come down
        x = u[i]
        if x < p_up:
            s, p = s + 1, p_up
        elif x < p_up + p_dn:
            s, p = s - 1, p_dn
        else:
            p = 1.0 - p_up - p_dn
        bits -= math.log2(p)
        offset[i] = s
    observed = baseline + offset
    return observed, bits


def generate(rows: int = PAPER_ROWS, seed: int = 20250510) -> Readings:
    rng = np.random.default_rng(seed)
    epoch, seq, bits_t = _times(rng, rows)
    values: dict[str, np.ndarray] = {}
    parts = {"timestamp": bits_t}
    for sensor in SENSORS:
        observed, bits = _walk(rng, sensor, _baseline(sensor, epoch))
        if sensor.outlier_p:
            hit = rng.random(rows) < sensor.outlier_p
            lo, hi = (round(v / sensor.quantum) for v in sensor.outlier_range)
            observed = np.where(hit, rng.integers(lo, hi, rows), observed)
            n_hit = int(hit.sum())
            bits += n_hit * (_h(sensor.outlier_p) + math.log2(hi - lo))
            bits += (rows - n_hit) * _h(1 - sensor.outlier_p)
        values[sensor.name] = observed
        parts[sensor.name] = bits
    return Readings(epoch, seq, values, sum(parts.values()), parts)


def _fmt_short(q: np.ndarray, decimals: int) -> list[str]:
    """MySQL FLOAT display: shortest form (95, 29.5, 4.82)."""
    scale = 10**decimals
    if decimals == 0:
        return [str(v) for v in q.tolist()]
    return [f"{v / scale:.{decimals}f}".rstrip("0").rstrip(".") for v in q.tolist()]


def _fmt_fixed(q: np.ndarray, decimals: int) -> list[str]:
    scale = 10**decimals
    return [f"{v / scale:.{decimals}f}" for v in q.tolist()]


def _timestamps(epoch: np.ndarray) -> list[str]:
    text = np.datetime_as_string(epoch.astype("datetime64[s]"), unit="s")
    return np.char.replace(text, "T", " ").tolist()


def random_uuids(rng: np.random.Generator, count: int) -> list[str]:
    raw = rng.bytes(16 * count)
    return [str(uuid.UUID(bytes=raw[i : i + 16], version=4)) for i in range(0, len(raw), 16)]


def paper_csv(readings: Readings, dup: int = 1, seed: int = 7) -> bytes:
    """The paper's dump as CSV (header first, strings quoted), duplicated ``dup`` times with new
    row ids and a new node id per copy (the paper's 6x and 12x sets)."""
    rng = np.random.default_rng(seed)
    gateway = random_uuids(rng, 1)[0]
    ts = _timestamps(readings.epoch)
    cols = [_fmt_short(readings.values[s.name], s.decimals) for s in SENSORS[:5]]
    lat = _fmt_fixed(readings.values["lat"], 6)
    lon = _fmt_fixed(readings.values["lon"], 6)
    tail = [
        f'{t},{h},{g},{p},{m},"{la}, {lo}"\n'
        for t, h, g, p, m, la, lo in zip(*cols, lat, lon, strict=True)
    ]
    out = [CSV_HEADER]
    for _ in range(dup):
        node = random_uuids(rng, 1)[0]
        ids = random_uuids(rng, len(readings))
        out.extend(
            f'"{i}","{t}","{gateway}","{node}",{rest}'
            for i, t, rest in zip(ids, ts, tail, strict=True)
        )
    return "".join(out).encode()


def gateway_readings(
    readings: Readings, dup: int = 1, gateway_id: str = "gw-subak-01", seed: int = 11
) -> list[dict]:
    """The same physical readings as our gateway ships them (uplink-api.md). Unscored: the
    rice profile's score/label are optional and left out; impossible pH values are flagged."""
    rng = np.random.default_rng(seed)
    ms = rng.integers(0, 1000, len(readings))  # receipt time at the gateway, ms resolution
    vals = {
        s.name: (readings.values[s.name] * 10**-s.decimals).round(s.decimals).tolist()
        for s in SENSORS
    }
    ints = {"humidity"}
    out: list[dict] = []
    for copy in range(dup):
        node = f"rice-{copy + 1:02d}"
        for i in range(len(readings)):
            seq = int(readings.seq[i])
            values = {name: (int(col[i]) if name in ints else col[i]) for name, col in vals.items()}
            flags = [] if 0 <= values["soil_ph"] <= 14 else ["out_of_range:soil_ph"]
            out.append(
                {
                    "id": reading_id(gateway_id, node, 1, seq),
                    "ts": format_ts(int(readings.epoch[i]) + int(ms[i]) / 1000),
                    "gateway_id": gateway_id,
                    "node_id": node,
                    "profile": "rice",
                    "boot": 1,
                    "seq": seq,
                    "values": values,
                    "flags": flags,
                }
            )
    return out


def gateway_ndjson(readings: Readings, dup: int = 1) -> bytes:
    return encode_ndjson(gateway_readings(readings, dup))
