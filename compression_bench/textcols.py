"""Typed text columns, vectorised with numpy: a column is a (rows, width) uint8 matrix of
left-aligned, NUL-padded field bytes plus their lengths.

Each type encodes a column to streams and renders it back; the encoder renders every column
it typed and keeps the type only if the rendering equals the input byte for byte, so a
column that does not fit a type falls back to plain text instead of being altered.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from compression_bench import streams as st

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_NIBBLE = np.full(256, 255, dtype=np.uint8)
_NIBBLE[_HEX] = np.arange(16, dtype=np.uint8)
_UUID_DASHES = np.array([8, 13, 18, 23])
_UUID_HEX = np.setdiff1d(np.arange(36), _UUID_DASHES)
_DIGIT = np.frombuffer(b"0123456789", dtype=np.uint8)


@dataclass
class Column:
    cells: np.ndarray  # (rows, width) uint8, NUL-padded
    lengths: np.ndarray  # (rows,) int64

    @classmethod
    def from_list(cls, values: list[bytes]) -> Column:
        arr = np.array(values, dtype=bytes)
        width = max(arr.dtype.itemsize, 1)
        cells = np.frombuffer(arr.astype(f"S{width}").tobytes(), np.uint8).reshape(-1, width)
        return cls(cells, np.char.str_len(arr).astype(np.int64) if len(arr) else np.zeros(0))

    def to_list(self) -> list[bytes]:
        rows, width = self.cells.shape
        return np.ascontiguousarray(self.cells).view(f"S{max(width, 1)}").reshape(rows).tolist()

    def equals(self, other: Column) -> bool:
        if not np.array_equal(self.lengths, other.lengths):
            return False
        w = max(self.cells.shape[1], other.cells.shape[1])
        return np.array_equal(_pad(self.cells, w), _pad(other.cells, w))


def _pad(cells: np.ndarray, width: int) -> np.ndarray:
    if cells.shape[1] >= width:
        return cells[:, :width]
    return np.pad(cells, ((0, 0), (0, width - cells.shape[1])))


def slice_cells(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> Column:
    lengths = (ends - starts).astype(np.int64)
    width = int(lengths.max()) if len(lengths) else 0
    if width == 0:
        return Column(np.zeros((len(lengths), 1), np.uint8), lengths)
    idx = starts.astype(np.int64)[:, None] + np.arange(width)
    if int(lengths.min()) == width:
        return Column(buf[idx], lengths)
    cells = buf[np.minimum(idx, len(buf) - 1)]
    cells[np.arange(width)[None, :] >= lengths[:, None]] = 0
    return Column(cells, lengths)


# --- uuid -----------------------------------------------------------------------------------


def encode_uuid(col: Column) -> tuple[dict, list[tuple[bytes, bool]]] | None:
    if col.cells.shape[1] != 36 or not (col.lengths == 36).all():
        return None
    if not (col.cells[:, _UUID_DASHES] == ord("-")).all():
        return None
    nib = _NIBBLE[col.cells[:, _UUID_HEX]]
    if (nib == 255).any():
        return None
    raw = (nib[:, 0::2] << 4 | nib[:, 1::2]).astype(np.uint8)
    if st.is_uuid4(raw):
        return {"type": "uuid4"}, [(st.pack_uuid4(raw), False)]
    return {"type": "uuid"}, [(raw.tobytes(), False)]


def render_uuid(raw: np.ndarray) -> Column:
    rows = len(raw)
    cells = np.full((rows, 36), ord("-"), dtype=np.uint8)
    nib = np.empty((rows, 32), dtype=np.uint8)
    nib[:, 0::2], nib[:, 1::2] = raw >> 4, raw & 15
    cells[:, _UUID_HEX] = _HEX[nib]
    return Column(cells, np.full(rows, 36, dtype=np.int64))


# --- decimal numbers --------------------------------------------------------------------------


def render_decimal(scaled: np.ndarray, decimals: np.ndarray, scale: int) -> Column:
    """Integers in units of 10**-scale rendered with `decimals` digits after the point
    (per row; 0 = no point), built as a right-aligned digit matrix then left-aligned."""
    rows = len(scaled)
    neg = scaled < 0
    a = np.abs(scaled) // 10 ** (scale - decimals)
    ndig = np.maximum(decimals + 1, 1)
    top = int(a.max(initial=0))
    k_max = max(len(str(top)), int(ndig.max(initial=1)))
    ndig = np.maximum(ndig, np.floor(np.log10(np.maximum(a, 1))).astype(np.int64) + 1)
    powers = 10 ** np.arange(k_max - 1, -1, -1, dtype=np.int64)
    digits = (a[:, None] // powers[None, :]) % 10 + 48  # (rows, k_max), most significant first
    width = k_max + 2
    cells = np.zeros((rows, width), dtype=np.uint8)
    has_dot = decimals > 0
    lengths = ndig + has_dot + neg
    # column c of the output (left-aligned) maps to a digit, the point or the sign
    c = np.arange(width)[None, :]
    start = (neg.astype(np.int64))[:, None]  # first digit position
    int_digits = (ndig - decimals)[:, None]
    dot_pos = start + int_digits
    digit_index = np.where(c < dot_pos, c - start, c - start - 1)  # index among ndig digits
    src = digit_index + (k_max - ndig)[:, None]
    valid = (c >= start) & (c < lengths[:, None]) & ~((c == dot_pos) & has_dot[:, None])
    gathered = np.take_along_axis(digits, np.clip(src, 0, k_max - 1), axis=1)
    cells[valid] = gathered[valid].astype(np.uint8)
    cells[(c == dot_pos) & has_dot[:, None]] = ord(".")
    cells[:, 0] = np.where(neg, ord("-"), cells[:, 0])
    return Column(cells[:, : int(lengths.max(initial=1))], lengths.astype(np.int64))


def parse_decimal(col: Column) -> tuple[np.ndarray, np.ndarray, int] | None:
    """Scaled integers, per-row decimals and the column's scale; None if not numbers."""
    cells, lengths = col.cells, col.lengths
    if cells.shape[1] == 0 or cells.shape[1] > 19 or (lengths == 0).any():
        return None
    is_digit = (cells >= 48) & (cells <= 57)
    is_dot = cells == ord(".")
    is_minus = cells == ord("-")
    inside = np.arange(cells.shape[1])[None, :] < lengths[:, None]
    if not (is_digit | is_dot | is_minus | ~inside).all() or (is_dot.sum(1) > 1).any():
        return None
    if (is_minus[:, 1:]).any():
        return None
    dot_at = np.where(is_dot.any(1), is_dot.argmax(1), lengths)
    decimals = np.where(is_dot.any(1), lengths - 1 - dot_at, 0)
    scale = int(decimals.max())
    if scale > 9:
        return None
    mant = np.zeros(len(lengths), dtype=np.int64)
    for j in range(cells.shape[1]):
        d = is_digit[:, j] & inside[:, j]
        mant = np.where(d, mant * 10 + (cells[:, j].astype(np.int64) - 48), mant)
    scaled = mant * 10 ** (scale - decimals)
    return np.where(is_minus[:, 0], -scaled, scaled), decimals, scale


def encode_decimal(col: Column) -> tuple[dict, list[tuple[bytes, bool]]] | None:
    parsed = parse_decimal(col)
    if parsed is None:
        return None
    scaled, decimals, scale = parsed
    if (decimals == scale).all():
        mode, shown = "fixed", np.full(len(scaled), scale)
    else:  # shortest form: trailing zeros dropped (MySQL FLOAT display)
        mode, shown = "short", _shortest_decimals(scaled, scale)
    if not _canonical(col, scaled, decimals, shown):
        return None
    spec, payload = st.encode_ints(scaled)
    return {"type": "decimal", "scale": scale, "mode": mode, "ints": spec}, [(payload, True)]


def _canonical(col: Column, scaled: np.ndarray, decimals: np.ndarray, shown: np.ndarray) -> bool:
    """True if rendering (scaled, shown) gives back exactly these bytes: no leading zeros,
    no '+', no '.5' or '5.', no '-0', and the decimals the mode will render."""
    cells, lengths = col.cells, col.lengths
    neg = cells[:, 0] == ord("-")
    rows = np.arange(len(lengths))
    s0 = neg.astype(np.int64)
    first = cells[rows, np.minimum(s0, cells.shape[1] - 1)]
    nxt = cells[rows, np.minimum(s0 + 1, cells.shape[1] - 1)]
    ok = (first >= 48) & (first <= 57) & (lengths > s0)
    ok &= (first != 48) | (lengths == s0 + 1) | (nxt == ord("."))
    ok &= cells[rows, lengths - 1] != ord(".")
    ok &= ~(neg & (scaled == 0))
    ok &= decimals == shown
    return bool(ok.all())


def _shortest_decimals(scaled: np.ndarray, scale: int) -> np.ndarray:
    shown = np.full(len(scaled), scale)
    for k in range(1, scale + 1):
        shown = np.where(scaled % 10**k == 0, scale - k, shown)
    return shown


def decode_decimal(spec: dict, payload: bytes, rows: int) -> Column:
    scaled = st.decode_ints(spec["ints"], payload, rows)
    scale = spec["scale"]
    fixed = spec["mode"] == "fixed"
    shown = np.full(rows, scale) if fixed else _shortest_decimals(scaled, scale)
    return render_decimal(scaled, shown, scale)


# --- date-times 'YYYY-MM-DD hh:mm:ss' -----------------------------------------------------------


_DT_DIGITS = np.array([0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18])
_DT_SEPS = {4: "-", 7: "-", 13: ":", 16: ":"}


def _days_from_civil(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    y = y - (m <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    doy = (153 * (m + np.where(m > 2, -3, 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def encode_datetime(col: Column) -> tuple[dict, list[tuple[bytes, bool]]] | None:
    cells = col.cells
    if cells.shape[1] != 19 or not (col.lengths == 19).all():
        return None
    sep = chr(cells[0, 10])
    if sep not in " T" or not (cells[:, 10] == ord(sep)).all():
        return None
    if any(not (cells[:, i] == ord(c)).all() for i, c in _DT_SEPS.items()):
        return None
    dig = cells[:, _DT_DIGITS].astype(np.int64) - 48
    if ((dig < 0) | (dig > 9)).any():
        return None
    y = dig[:, 0] * 1000 + dig[:, 1] * 100 + dig[:, 2] * 10 + dig[:, 3]
    mo, d, h, mi, se = (dig[:, k] * 10 + dig[:, k + 1] for k in (4, 6, 8, 10, 12))
    if ((mo < 1) | (mo > 12) | (d < 1) | (h > 23) | (mi > 59) | (se > 59)).any():
        return None
    days = _days_from_civil(y, mo, d)
    # a day past the month's end (31 April) lands in the next month: refuse it
    if (
        _days_from_civil(y, mo, np.ones_like(d)) + d - 1
        >= _days_from_civil(y + (mo == 12), np.where(mo == 12, 1, mo + 1), np.ones_like(d))
    ).any():
        return None
    seconds = days * 86400 + h * 3600 + mi * 60 + se
    spec, payload = st.encode_ints(seconds)
    return {"type": "datetime", "sep": sep, "ints": spec}, [(payload, True)]


def render_datetime(seconds: np.ndarray, sep: str) -> Column:
    text = np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s").astype("S19")
    cells = np.frombuffer(text.tobytes(), np.uint8).reshape(-1, 19).copy()
    cells[:, 10] = ord(sep)
    return Column(cells, np.full(len(seconds), 19, dtype=np.int64))


# --- categories and plain text ----------------------------------------------------------------


def encode_category(col: Column, max_distinct: int = 4096) -> tuple[dict, list] | None:
    """Few distinct values (gateway and node ids, labels): a table and an index stream."""
    rows, width = col.cells.shape
    if rows == 0:
        return None
    changes = int(np.count_nonzero((col.cells[1:] != col.cells[:-1]).any(1)))
    if changes > rows // 8:
        return None
    keys = np.ascontiguousarray(col.cells).view(f"S{max(width, 1)}").reshape(rows)
    heads = np.concatenate([[0], 1 + np.flatnonzero((col.cells[1:] != col.cells[:-1]).any(1))])
    distinct, head_index = np.unique(keys[heads], return_inverse=True)
    index = np.repeat(head_index, np.diff(np.append(heads, rows)))
    values = distinct.tolist()
    if len(values) > max_distinct or any(b"\n" in v for v in values):
        return None
    if not (np.char.str_len(distinct)[index] == col.lengths).all():
        return None  # NUL bytes inside fields would be lost by the S dtype
    spec, payload = st.encode_ints(index)
    return {"type": "category", "count": len(values), "ints": spec}, [
        (b"\n".join(values), True),
        (payload, True),
    ]


def decode_category(spec: dict, table: bytes, payload: bytes, rows: int) -> Column:
    distinct = table.split(b"\n") if spec["count"] else []
    index = st.decode_ints(spec["ints"], payload, rows)
    return Column.from_list(np.array(distinct, dtype=object)[index].tolist() if rows else [])


def encode_text(col: Column) -> tuple[dict, list[tuple[bytes, bool]]]:
    lengths_spec, lengths = st.encode_ints(col.lengths)
    mask = np.arange(col.cells.shape[1])[None, :] < col.lengths[:, None]
    body = col.cells[mask].tobytes()
    return {"type": "text", "ints": lengths_spec}, [(body, True), (lengths, True)]


def decode_text(spec: dict, body: bytes, lengths_payload: bytes, rows: int) -> Column:
    lengths = st.decode_ints(spec["ints"], lengths_payload, rows)
    width = int(lengths.max(initial=0))
    buf = np.frombuffer(body, dtype=np.uint8)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    if len(buf) != int(lengths.sum()):
        raise st.FormatError("text stream length does not match its lengths")
    if width == 0 or len(buf) == 0:
        return Column(np.zeros((rows, max(width, 1)), np.uint8), lengths)
    return slice_cells(buf, starts, starts + lengths)
