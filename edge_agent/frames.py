"""Serial frame protocol v1 (docs/protocol.md): pure encode/decode, no I/O.

Owns the byte layout of node frames and nothing else; the serial source feeds it lines
and the simulator uses it to write them.
"""

from __future__ import annotations

import binascii
import math
import re
from dataclasses import dataclass, field

PROTOCOL_VERSION = "1"
MAX_LINE = 160
KINDS = ("H", "R", "E")

# key -> (reading name, unit, decimals used when encoding)
FIELDS: dict[str, tuple[str, str, int]] = {
    "t": ("temperature", "C", 1),
    "h": ("humidity", "%RH", 1),
    "l": ("light", "lx", 0),
    "m": ("soil_moisture", "%", 1),
    "g": ("gas", "ppm", 2),
    "p": ("soil_ph", "pH", 2),
    "la": ("lat", "deg", 6),
    "lo": ("lon", "deg", 6),
    "r": ("soil_raw", "adc", 0),
    "wp": ("water_pump", "", 0),
    "fp": ("fertilizer_pump", "", 0),
}
KEY_OF = {name: key for key, (name, _unit, _dec) in FIELDS.items()}
HELLO_KEYS = ("k", "iv")
FAILED = "NA"

_NODE_ID = re.compile(r"[A-Za-z0-9_-]{1,24}")
_FIRMWARE = re.compile(r"[0-9.]{1,11}")
_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_INFO = re.compile(r"[A-Za-z0-9._-]*")


class FrameError(ValueError):
    """A line that is not a valid frame; `reason` is one of the codes in docs/protocol.md."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


@dataclass(frozen=True)
class Frame:
    kind: str
    node_id: str
    firmware: str
    boot: int
    seq: int
    values: dict[str, float] = field(default_factory=dict)
    failed: tuple[str, ...] = ()
    info: dict[str, str] = field(default_factory=dict)


def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE, the same as avr-libc's _crc_xmodem_update seeded with 0xFFFF."""
    return binascii.crc_hqx(data, 0xFFFF)


def _format_value(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}" if decimals else str(round(value))


def encode(frame: Frame) -> bytes:
    """The frame as one line, CRC and CRLF included."""
    parts = [PROTOCOL_VERSION, frame.kind, frame.node_id, frame.firmware, str(frame.boot)]
    parts.append(str(frame.seq))
    if frame.kind == "H":
        parts += [f"{k}={v}" for k, v in frame.info.items()]
    else:
        for name, value in frame.values.items():
            key = KEY_OF[name]
            _name, unit, decimals = FIELDS[key]
            parts.append(f"{key}={_format_value(value, decimals)}{unit}")
        parts += [f"{KEY_OF[name]}={FAILED}" for name in frame.failed]
    body = ",".join(parts).encode("ascii")
    line = b"$" + body + b"*" + f"{crc16(body):04X}".encode() + b"\r\n"
    if len(line) > MAX_LINE:
        raise FrameError("too_long", f"{len(line)} bytes > {MAX_LINE}")
    return line


def _parse_field(key: str, raw: str) -> tuple[str, float | None]:
    if key not in FIELDS:
        raise FrameError("unknown_field", f"unknown field key {key!r}")
    name, unit, _dec = FIELDS[key]
    if raw == FAILED:
        return name, None
    number = raw[: len(raw) - len(unit)] if unit else raw
    if unit and not raw.endswith(unit):
        raise FrameError("unit", f"field {key!r} must end in unit {unit!r}, got {raw!r}")
    if not _NUMBER.fullmatch(number):
        raise FrameError("value", f"field {key!r} value {number!r} is not a decimal number")
    value = float(number)
    if not math.isfinite(value):
        raise FrameError("value", f"field {key!r} value {number!r} is not finite")
    return name, value


def decode(line: bytes) -> Frame:
    """Decode one line (with or without its line ending). Raises FrameError."""
    line = line.rstrip(b"\r\n")
    if len(line) + 2 > MAX_LINE:
        raise FrameError("too_long", f"{len(line) + 2} bytes > {MAX_LINE}")
    if any(b < 0x20 or b > 0x7E for b in line):
        raise FrameError("not_ascii", "byte outside printable ASCII")
    if not line.startswith(b"$"):
        raise FrameError("no_start", "line does not start with '$'")
    star = line.rfind(b"*")
    if star < 0 or len(line) - star - 1 != 4:
        raise FrameError("no_crc", "missing '*' and 4 hex CRC digits at the end")
    body, crc_text = line[1:star], line[star + 1 :]
    try:
        crc = int(crc_text, 16)
    except ValueError:
        raise FrameError("no_crc", f"CRC {crc_text!r} is not hex") from None
    if crc != crc16(body):
        raise FrameError("bad_crc", f"CRC {crc:04X} != computed {crc16(body):04X}")
    parts = body.decode("ascii").split(",")
    if len(parts) < 6:
        raise FrameError("syntax", f"{len(parts)} header fields, need 6")
    version, kind, node_id, firmware, boot_text, seq_text = parts[:6]
    if version != PROTOCOL_VERSION:
        raise FrameError("version", f"protocol version {version!r} unsupported")
    if kind not in KINDS:
        raise FrameError("kind", f"frame kind {kind!r} not one of {KINDS}")
    if not _NODE_ID.fullmatch(node_id):
        raise FrameError("node_id", f"node id {node_id!r} invalid")
    if not _FIRMWARE.fullmatch(firmware):
        raise FrameError("syntax", f"firmware version {firmware!r} invalid")
    if not (boot_text.isdigit() and seq_text.isdigit()):
        raise FrameError("syntax", "boot and seq must be unsigned integers")
    boot, seq = int(boot_text), int(seq_text)
    if boot > 0xFFFF or seq > 0xFFFFFFFF:
        raise FrameError("syntax", "boot or seq out of range")
    values: dict[str, float] = {}
    failed: list[str] = []
    info: dict[str, str] = {}
    for item in parts[6:]:
        key, eq, raw = item.partition("=")
        if not eq or not key:
            raise FrameError("syntax", f"field {item!r} is not key=value")
        if kind == "H":
            if key in info:
                raise FrameError("duplicate_field", f"field {key!r} twice")
            if not _INFO.fullmatch(raw):
                raise FrameError("value", f"hello field {key!r} value {raw!r} not [A-Za-z0-9._-]")
            info[key] = raw
            continue
        name, value = _parse_field(key, raw)
        if name in values or name in failed:
            raise FrameError("duplicate_field", f"field {key!r} twice")
        if value is None:
            failed.append(name)
        else:
            values[name] = value
    return Frame(kind, node_id, firmware, boot, seq, values, tuple(failed), info)


class LineSplitter:
    """Splits a byte stream into lines, dropping overlong ones; pure, so it is easy to fuzz.

    A line ends at `\n`. A `$` always starts a new frame: whatever was buffered before it
    on the same line (a frame cut short by a node reset) is returned as a line of its own,
    which then fails to decode, so the complete frame after it is not lost. `feed()` returns
    complete lines; `overlong` counts lines discarded for length. The first partial line
    after (re)opening a port is the caller's to drop (`drop_partial`) or count.
    """

    def __init__(self, max_line: int = MAX_LINE) -> None:
        self.max_line = max_line
        self.overlong = 0
        self._buf = bytearray()
        self._skipping = False

    def drop_partial(self) -> None:
        """Discard whatever is buffered and the rest of the current line (up to a `$`)."""
        self._buf.clear()
        self._skipping = True

    def _take(self, chunk: bytes) -> None:
        if self._skipping:
            return
        self._buf += chunk
        if len(self._buf) > self.max_line:
            self._buf.clear()
            self._skipping = True
            self.overlong += 1

    def _end_line(self, lines: list[bytes]) -> None:
        if not self._skipping and self._buf.strip():
            lines.append(bytes(self._buf))
        self._buf.clear()
        self._skipping = False

    def feed(self, data: bytes) -> list[bytes]:
        lines: list[bytes] = []
        start = 0
        for match in _BOUNDARY.finditer(data):
            at = match.start()
            if data[at] == 0x24:  # "$": the frame before it (if any) was cut short
                self._take(data[start:at])
                if self._buf or self._skipping:
                    self._end_line(lines)
                start = at
            else:
                self._take(data[start : at + 1])
                self._end_line(lines)
                start = at + 1
        self._take(data[start:])
        return lines


_BOUNDARY = re.compile(rb"[\n$]")
