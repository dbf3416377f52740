"""Fuzz the serial frame protocol (edge_agent/frames.py): any bytes give a Frame or a
FrameError with a known reason, never another exception; valid frames survive a round trip;
the line splitter never yields an overlong line whatever the chunking."""

from __future__ import annotations

from hypothesis import assume, given
from hypothesis import strategies as st

from edge_agent import frames
from edge_agent.frames import Frame, FrameError, LineSplitter
from tests.reliability.fuzzcount import FUZZ, tried

REASONS = {
    "too_long", "not_ascii", "no_start", "no_crc", "bad_crc", "syntax", "version", "kind",
    "node_id", "unknown_field", "unit", "value", "duplicate_field",
}  # fmt: skip
NAMES = [name for name, _unit, _dec in frames.FIELDS.values()]


def _decode_or_error(line: bytes) -> Frame | FrameError:
    tried("frames.decode")
    try:
        return frames.decode(line)
    except FrameError as exc:
        assert exc.reason in REASONS, exc.reason
        assert str(exc).startswith(exc.reason + ": ")
        return exc


def _with_crc(body: bytes) -> bytes:
    return b"$" + body + b"*" + f"{frames.crc16(body):04X}".encode() + b"\r\n"


@FUZZ
@given(st.binary(max_size=400))
def test_decode_any_bytes(line: bytes) -> None:
    _decode_or_error(line)


printable = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=150)


@FUZZ
@given(printable)
def test_decode_any_body_with_valid_crc(body: str) -> None:
    """Past the CRC check: the field parser sees arbitrary printable text."""
    _decode_or_error(_with_crc(body.encode()))


field_item = st.one_of(
    st.tuples(st.sampled_from(sorted(frames.FIELDS)), st.text(max_size=12)).map("=".join),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=12),
)


@FUZZ
@given(
    kind=st.sampled_from(["R", "E", "H", "X", ""]),
    node=st.text(max_size=30),
    boot=st.one_of(st.integers(-5, 2**33).map(str), st.text(max_size=6)),
    seq=st.one_of(st.integers(-5, 2**34).map(str), st.text(max_size=6)),
    items=st.lists(field_item, max_size=8),
)
def test_decode_structured_garbage(
    kind: str, node: str, boot: str, seq: str, items: list[str]
) -> None:
    """Near-valid frames: right shape and CRC, hostile header and field values."""
    body = ",".join(["1", kind, node, "1.0", boot, seq, *items])
    try:
        raw = body.encode("ascii")
    except UnicodeEncodeError:
        raw = body.encode("utf-8")
    _decode_or_error(_with_crc(raw))


values = st.dictionaries(
    st.sampled_from([n for n in NAMES if n not in ("lat", "lon")]),
    st.floats(min_value=-9999, max_value=9999, allow_nan=False),
    max_size=4,
)


@FUZZ
@given(
    node=st.from_regex(r"[A-Za-z0-9_-]{1,24}", fullmatch=True),
    boot=st.integers(0, 0xFFFF),
    seq=st.integers(0, 0xFFFFFFFF),
    vals=values,
    flip=st.integers(min_value=0),
)
def test_round_trip_and_single_byte_corruption(
    node: str, boot: int, seq: int, vals: dict[str, float], flip: int
) -> None:
    frame = Frame("R", node, "1.0", boot, seq, vals)
    try:
        line = frames.encode(frame)
    except FrameError as exc:
        assume(exc.reason != "too_long")
        raise
    decoded = _decode_or_error(line)
    assert isinstance(decoded, Frame)
    assert (decoded.node_id, decoded.boot, decoded.seq) == (node, boot, seq)
    assert set(decoded.values) == set(vals)
    # one corrupted byte of the body: CRC-16 catches every single-byte error there (the CRC
    # digits themselves are excluded: 'd' and 'D' are the same hex digit)
    pos = 1 + flip % (line.rindex(b"*") - 1)
    corrupted = line[:pos] + bytes([(line[pos] + 1 + flip % 255) % 256]) + line[pos + 1 :]
    if corrupted != line:
        assert isinstance(_decode_or_error(corrupted), FrameError)


@FUZZ
@given(st.binary(max_size=2000), st.lists(st.integers(1, 300), max_size=40))
def test_splitter_bounded_and_chunking_independent(data: bytes, cuts: list[int]) -> None:
    tried("frames.LineSplitter")
    whole = LineSplitter()
    expected = whole.feed(data)
    pieces, start = [], 0
    for cut in cuts:
        pieces.append(data[start : start + cut])
        start += cut
    pieces.append(data[start:])
    chunked = LineSplitter()
    got = [line for piece in pieces for line in chunked.feed(piece)]
    assert got == expected
    assert chunked.overlong == whole.overlong
    for line in got:
        assert len(line) <= frames.MAX_LINE
        assert b"\n" not in line[:-1]
        # a line ends at a newline, or is a frame cut short by the "$" of the next one
        assert line.endswith(b"\n") or b"$" in data
    for line in got:
        _decode_or_error(line)
