"""Pure pipeline steps: JSON validation, range flags, dedupe, ids, scoring fallback."""

from __future__ import annotations

import pytest

from edge_agent import frames
from edge_agent.pipeline import ident
from edge_agent.pipeline.dedupe import Deduper
from edge_agent.pipeline.ranges import range_flags
from edge_agent.pipeline.score import Scorer, profile_by_prefix
from edge_agent.pipeline.validate import InvalidReading, from_frame, from_json
from ingest import wire


def test_json_reading_and_list_are_accepted() -> None:
    one = {"node_id": "rice-07", "boot": 2, "seq": 9, "values": {"soil_ph": 6.8}}
    assert from_json(one, 1.0, "http")[0].values == {"soil_ph": 6.8}
    many = from_json([one, {**one, "seq": 10, "profile": "rice"}], 1.0, "http")
    assert [c.seq for c in many] == [9, 10]
    assert many[1].profile == "rice"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"node_id": "a b", "boot": 1, "seq": 1, "values": {"t": 1}}, "node_id must be"),
        ({"node_id": "n", "boot": -1, "seq": 1, "values": {"t": 1}}, "boot must be"),
        ({"node_id": "n", "boot": 1, "seq": True, "values": {"t": 1}}, "seq must be"),
        ({"node_id": "n", "boot": 1, "seq": 1, "values": {}}, "values must be"),
        ({"node_id": "n", "boot": 1, "seq": 1, "values": {"t": "hot"}}, "values.t must be"),
        ({"node_id": "n", "boot": 1, "seq": 1, "values": {"t": 1}, "x": 1}, "unknown field 'x'"),
        (
            {"node_id": "n", "boot": 1, "seq": 1, "values": {"t": 1}, "profile": "corn"},
            "profile must be one of",
        ),
        ([], "empty list"),
        (
            [{"node_id": "n", "boot": 1, "seq": 1, "values": {"t": 1}}, 5],
            r"reading \[1\]: a reading must be a JSON object",
        ),
    ],
)
def test_json_errors_name_the_field(payload: object, message: str) -> None:
    with pytest.raises(InvalidReading, match=message):
        from_json(payload, 1.0, "http")


def test_frame_failed_sensor_is_absent_and_flagged() -> None:
    line = frames.encode(
        frames.Frame("R", "orchid-01", "1.0.0", 1, 4, {"temperature": 25.0}, ("humidity",))
    )
    cand = from_frame(frames.decode(line), 5.0, "serial:x")
    assert cand.values == {"temperature": 25.0}
    assert cand.flags == ["sensor_failed:humidity"]


def test_out_of_range_keeps_the_value_and_flags_it() -> None:
    assert range_flags({"soil_ph": 15.2, "humidity": 55.0, "lat": -91.0}) == [
        "out_of_range:soil_ph",
        "out_of_range:lat",
    ]
    assert range_flags({"unknown_sensor": 1e9}) == []


def test_dedupe_by_node_boot_seq_with_a_bounded_window() -> None:
    d = Deduper(window=10)
    assert not d.is_duplicate("n", 1, 5)
    assert d.is_duplicate("n", 1, 5)
    assert not d.is_duplicate("n", 2, 5)  # a new boot restarts seq
    assert not d.is_duplicate("m", 1, 5)
    for seq in range(6, 200):
        d.is_duplicate("n", 1, seq)
    assert d.is_duplicate("n", 1, 199)
    assert len(d._seen[("n", 1)][1]) <= 21  # memory stays bounded
    d.forget("n", 1, 199)
    assert not d.is_duplicate("n", 1, 199)


def test_reading_ids_are_deterministic_and_contract_valid() -> None:
    cand = from_json(
        {"node_id": "rice-07", "boot": 3, "seq": 18211, "values": {"gas": 3.99}},
        1746857410.25,
        "http",
    )[0]
    reading = ident.to_reading("gw-subak-01", cand, "rice")
    assert reading["id"] == wire.reading_id("gw-subak-01", "rice-07", 3, 18211)
    assert reading["ts"] == "2025-05-10T06:10:10.250Z"
    wire.validate(reading)
    assert ident.to_line(reading).endswith(b"\n")


def test_profile_by_prefix() -> None:
    assert profile_by_prefix("orchid-01") == "orchid"
    assert profile_by_prefix("Rice-7") == "rice"
    assert profile_by_prefix("watering-01") == "watering"
    assert profile_by_prefix("node-9") is None


def test_scorer_keeps_readings_when_a_profile_cannot_load() -> None:
    def loader(name: str) -> object:
        raise KeyError(name)

    scorer = Scorer(loader)
    readings = [{"values": {"temperature": 20.0}, "flags": []}]
    assert scorer.score("corn", readings) == 0
    assert "score" not in readings[0]


def test_scorer_uses_the_real_orchid_profile() -> None:
    readings = [
        {"values": {"temperature": 27.73, "humidity": 64.57, "light": 302.691}, "flags": []}
    ]
    assert Scorer().score("orchid", readings) == 1
    assert readings[0]["label"] == "optimal"
    assert readings[0]["score"] == pytest.approx(84.7348, abs=1e-3)  # spec's worked value
