import bz2
import csv
import gzip
import io
import json

import pytest

from compression_bench import datasets, generator
from ingest.wire import reading_id, validate

ROWS = 4000


@pytest.fixture(scope="module")
def readings() -> generator.Readings:
    return generator.generate(ROWS)


def test_paper_layout_has_the_ten_attributes(readings: generator.Readings) -> None:
    rows = list(csv.reader(io.StringIO(generator.paper_csv(readings).decode())))
    assert rows[0] == [
        "ID", "timestamp", "gateway_id", "node_id", "temperature", "humidity", "gas",
        "soil_ph", "soil_moisture", "GPS",
    ]  # fmt: skip
    assert len(rows) == ROWS + 1 and all(len(r) == 10 for r in rows)
    first = rows[1]
    assert first[1] == generator.START
    lat, lon = (float(x) for x in first[9].split(", "))
    assert -8.6 < lat < -8.58 and 115.1 < lon < 115.11
    assert len({r[0] for r in rows[1:]}) == ROWS  # a random UUID per row


def test_calibrated_near_the_paper(readings: generator.Readings) -> None:
    data = generator.paper_csv(readings)
    per_row = len(data) / ROWS
    gz = len(data) / len(gzip.compress(data, 6))
    bz = len(data) / len(bz2.compress(data, 9))
    assert 180 < per_row < 195  # paper: 189 B/row
    assert 5.0 < gz < 5.5  # paper: 5.164
    assert 6.7 < bz < 7.6  # paper: 7.42


def test_duplicates_get_new_ids_and_node_ids(readings: generator.Readings) -> None:
    rows = list(csv.reader(io.StringIO(generator.paper_csv(readings, 3).decode())))[1:]
    assert len(rows) == 3 * ROWS
    assert len({r[0] for r in rows}) == 3 * ROWS
    assert len({r[3] for r in rows}) == 3
    assert len({r[2] for r in rows}) == 1
    assert rows[5][4:] == rows[ROWS + 5][4:] == rows[2 * ROWS + 5][4:]


def test_gateway_ndjson_follows_the_uplink_contract(readings: generator.Readings) -> None:
    lines = generator.gateway_ndjson(readings).splitlines()
    assert len(lines) == ROWS
    for line in lines[:500]:
        r = validate(json.loads(line))
        assert r["id"] == reading_id(r["gateway_id"], r["node_id"], r["boot"], r["seq"])
        assert ("out_of_range:soil_ph" in r["flags"]) == (r["values"]["soil_ph"] > 14)


def test_week_with_night_gaps_and_floor(readings: generator.Readings) -> None:
    full = generator.generate(generator.PAPER_ROWS)
    days = (full.epoch[-1] - full.epoch[0]) / 86400
    assert 6.5 < days < 7.6  # 10 - 17 May
    gaps = (full.epoch[1:] - full.epoch[:-1]).tolist()
    assert min(gaps) >= 5 and max(gaps) > 6 * 3600
    per_row = full.bits / 8 / len(full)
    assert 0.5 < per_row < 3  # the readings carry a few bits, the UUID 15.25 bytes
    sets = datasets.paper_sets(ROWS, [1, 12])
    assert sets[1].floor_bytes < 12 * sets[0].floor_bytes
