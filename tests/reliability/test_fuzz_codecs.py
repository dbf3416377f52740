"""Bounded decompression (ingest/codecs.py): arbitrary bytes in any encoding end in chunks or
DecodeError/TooLarge; zip bombs in every encoding stop at the limit with memory bounded."""

from __future__ import annotations

import tracemalloc

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest import codecs
from tests.reliability.bombs import BOMB_ENCODINGS, bomb, concatenated
from tests.reliability.fuzzcount import FUZZ, tried

LIMIT = 1 * 2**20


def _drain(data: bytes, encoding: str, limit: int = LIMIT) -> int:
    tried(f"codecs.{encoding}")
    total = 0
    try:
        for chunk in codecs.iter_decompressed(data, encoding, limit, read_size=16 * 1024):
            assert len(chunk) <= 16 * 1024
            total += len(chunk)
    except (codecs.DecodeError, codecs.TooLarge) as exc:
        assert str(exc)
        return -1
    assert total <= limit
    return total


@FUZZ
@given(st.sampled_from(codecs.ENCODINGS), st.binary(max_size=500))
def test_any_bytes_in_any_encoding(encoding: str, data: bytes) -> None:
    _drain(data, encoding)


@FUZZ
@given(
    st.sampled_from(BOMB_ENCODINGS),
    st.binary(max_size=300),
    st.integers(min_value=0),
    st.integers(0, 255),
)
def test_valid_stream_with_one_corrupt_byte(
    encoding: str, payload: bytes, position: int, xor: int
) -> None:
    data = bytearray(codecs.compress(payload, encoding))
    data[position % len(data)] ^= xor
    result = _drain(bytes(data), encoding)
    assert result in (-1, len(payload)) or result >= 0


@FUZZ
@given(st.sampled_from(BOMB_ENCODINGS), st.binary(max_size=200), st.integers(0, 200))
def test_truncated_stream(encoding: str, payload: bytes, cut: int) -> None:
    data = codecs.compress(payload, encoding)
    truncated = data[: max(0, len(data) - 1 - cut)]
    result = _drain(truncated, encoding)
    assert result == -1 or result <= len(payload)


@pytest.mark.parametrize("encoding", BOMB_ENCODINGS)
def test_bomb_stops_at_the_limit_with_bounded_memory(encoding: str) -> None:
    data = bomb(encoding, 64 * 2**20)  # 64 MiB of zeros -> a few KiB to a few dozen KiB
    assert len(data) < 2**20
    tracemalloc.start()
    try:
        with pytest.raises(codecs.TooLarge, match=f"exceeds {LIMIT} bytes"):
            list(codecs.iter_decompressed(data, encoding, LIMIT))
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * LIMIT, f"{encoding} bomb peaked at {peak} bytes of Python memory"


@pytest.mark.parametrize("encoding", BOMB_ENCODINGS)
def test_many_concatenated_members_count_toward_the_limit(encoding: str) -> None:
    member = codecs.compress(b"\0" * 64 * 1024, encoding)
    data = concatenated(encoding, member, 40)  # 40 x 64 KiB = 2.5 MiB > 1 MiB limit
    with pytest.raises(codecs.TooLarge):
        list(codecs.iter_decompressed(data, encoding, LIMIT))
    assert sum(map(len, codecs.iter_decompressed(data, encoding, 4 * LIMIT))) == 40 * 64 * 1024


# bzip2 and xz used to end quietly at the last valid stream here, cutting a damaged body
# short with a 200 (finding 9 of docs/reliability.md); every encoding must refuse it now.
@pytest.mark.parametrize("encoding", BOMB_ENCODINGS)
def test_valid_data_followed_by_garbage_is_an_error(encoding: str) -> None:
    data = codecs.compress(b'{"a":1}\n' * 100, encoding) + b"\x00garbage\xff" * 3
    tried(f"codecs.{encoding}")
    with pytest.raises(codecs.DecodeError, match=encoding):
        list(codecs.iter_decompressed(data, encoding, LIMIT))


@pytest.mark.parametrize("encoding", BOMB_ENCODINGS)
@pytest.mark.parametrize("keep", ["one byte", "half", "all but one byte"])
def test_a_stream_cut_anywhere_is_an_error(encoding: str, keep: str) -> None:
    """Also the second of two concatenated streams: what ends inside a stream is no body."""
    member = codecs.compress(b'{"a":1}\n' * 100, encoding)
    whole = concatenated(encoding, member, 2)
    cut = {"one byte": 1, "half": len(member) // 2, "all but one byte": len(member) - 1}[keep]
    for data in (whole[:cut], whole[: len(member) + cut]):
        with pytest.raises(codecs.DecodeError, match=r"truncated|not valid"):
            list(codecs.iter_decompressed(data, encoding, LIMIT))


@pytest.mark.parametrize("encoding", codecs.ENCODINGS)
def test_whole_streams_and_an_empty_body_decode(encoding: str) -> None:
    payload = b'{"a":1}\n' * 100_000  # 800 KB: many output chunks per stream
    data = concatenated(encoding, codecs.compress(payload, encoding), 3)
    chunks = list(codecs.iter_decompressed(data, encoding, 4 * LIMIT, read_size=16 * 1024))
    assert b"".join(chunks) == payload * 3 and max(map(len, chunks)) <= 16 * 1024
    assert list(codecs.iter_decompressed(b"", encoding, LIMIT)) == []
