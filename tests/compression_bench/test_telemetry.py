import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compression_bench import generator, telemetry
from compression_bench.records import same_records
from compression_bench.streams import FormatError


@pytest.fixture(scope="module")
def readings() -> generator.Readings:
    return generator.generate(3000)


@pytest.mark.parametrize("backend,level", [("xz", 9), ("zstd", 3), ("bz2", 9), ("raw", 0)])
def test_paper_csv_round_trips_byte_for_byte(readings, backend: str, level: int) -> None:
    data = generator.paper_csv(readings, 2)
    assert telemetry.decode(telemetry.encode(data, backend, level)) == data


def test_paper_csv_beats_bzip2_by_a_third(readings) -> None:
    import bz2

    data = generator.paper_csv(readings)
    ours = len(telemetry.encode(data, "xz", 9))
    assert len(bz2.compress(data, 9)) / ours > 1.3


def test_gateway_ndjson_ids_are_not_stored(readings) -> None:
    data = generator.gateway_ndjson(readings)
    blob = telemetry.encode(data, "xz", 9)
    assert telemetry.decode(blob) == data
    assert len(blob) / 3000 < 8  # the 36-byte derived ids cost nothing


CSV_ODD = (
    "name,when,v,id,note\n"
    '"a",2025-01-31 23:59:59,007,"ABCDEF01-2345-4789-8abc-def012345678","x, y"\n'
    '"b",2024-02-29 00:00:00,-0.0,"abcdef01-2345-4789-8abc-def012345678","z"\n'
    '"c",2025-02-30 00:00:00,1e5,"not-a-uuid","a, b, c"\n'
    '"",2025-01-01 00:00:00,,"","ünï"\n'
).encode()


@pytest.mark.parametrize(
    "data",
    [
        CSV_ODD,
        b"a,b\n1,2\n3\n",  # ragged: kept as one opaque stream
        b'a,b\n"x ""quoted""",1\n',  # escaped quotes
        b"a,b\r\n1,2\r\n",  # CRLF
        b"no newline at end",
        b"",
        b'{"a": 1, "b": [1, 2], "c": {"d": null, "e": true}}\n{"a": 1.5, "c": {}}\n',
        b'{"ts":"2025-05-10T06:10:10.250Z","x":1e300,"y":-0.0,"s":"\\u00e9"}\n',
        b'{"a": 1}\nnot json\n',
    ],
)
def test_odd_inputs_round_trip_at_the_record_level(data: bytes) -> None:
    out = telemetry.decode(telemetry.encode(data, "zstd", 3))
    assert out == data or same_records(data, out)


json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
json_obj = st.dictionaries(
    st.text(min_size=1, max_size=5),
    st.one_of(json_leaf, st.dictionaries(st.text(min_size=1, max_size=3), json_leaf, max_size=3)),
    max_size=5,
)


@settings(max_examples=60, deadline=None)
@given(st.lists(json_obj, min_size=1, max_size=12))
def test_any_ndjson_round_trips(objs: list[dict]) -> None:
    data = b"".join(json.dumps(o, separators=(",", ":")).encode() + b"\n" for o in objs)
    out = telemetry.decode(telemetry.encode(data, "zstd", 3))
    assert [json.loads(x) for x in out.splitlines()] == objs


cell = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    st.decimals(-1000, 1000, places=3, allow_nan=False, allow_infinity=False).map(str),
    st.text("abc ,-.0123456789", max_size=6),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(cell, min_size=3, max_size=3), min_size=1, max_size=15))
def test_any_csv_round_trips(rows: list[list[str]]) -> None:
    import csv
    import io

    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([["a", "b", "c"], *rows])
    data = buf.getvalue().encode()
    assert telemetry.decode(telemetry.encode(data, "xz", 6)) == data


def test_corrupt_blob_is_refused_with_a_reason(readings) -> None:
    blob = telemetry.encode(generator.paper_csv(generator.generate(50)), "xz", 9)
    with pytest.raises(FormatError, match="magic"):
        telemetry.decode(b"XXXX" + blob[4:])
    with pytest.raises(FormatError):
        telemetry.decode(blob[:-5])
    with pytest.raises(FormatError):
        telemetry.decode(blob[:12] + bytes(20) + blob[32:])
