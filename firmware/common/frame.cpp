#include "frame.h"

uint16_t frame_crc16(const char *data, size_t len) {
  // CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, MSB first (same as avr-libc's
  // _crc_xmodem_update seeded with 0xFFFF, and Python's binascii.crc_hqx(data, 0xFFFF)).
  uint16_t crc = 0xFFFF;
  for (size_t i = 0; i < len; i++) {
    crc ^= (uint16_t)((uint8_t)data[i]) << 8;
    for (uint8_t b = 0; b < 8; b++) crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
  }
  return crc;
}

// room for "*XXXX\r\n" must remain after the body
static const uint8_t BODY_MAX = FRAME_MAX_LINE - 7;

static void put_char(Frame *f, char c) {
  if (f->len >= BODY_MAX) {
    f->overflow = true;
    return;
  }
  f->buf[f->len++] = c;
}

static void put_str(Frame *f, const char *s) {
  while (*s) put_char(f, *s++);
}

static void put_uint(Frame *f, uint32_t v) {
  char tmp[10];
  uint8_t n = 0;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (n) put_char(f, tmp[--n]);
}

void frame_begin(Frame *f, const FrameHeader *h, char kind, uint32_t seq) {
  f->len = 0;
  f->overflow = false;
  put_char(f, '$');
  put_str(f, FRAME_PROTOCOL_VERSION);
  put_char(f, ',');
  put_char(f, kind);
  put_char(f, ',');
  put_str(f, h->node_id);
  put_char(f, ',');
  put_str(f, h->firmware);
  put_char(f, ',');
  put_uint(f, h->boot);
  put_char(f, ',');
  put_uint(f, seq);
}

static void put_key(Frame *f, const char *key) {
  put_char(f, ',');
  put_str(f, key);
  put_char(f, '=');
}

void frame_fixed(Frame *f, const char *key, int32_t scaled, uint8_t decimals, const char *unit) {
  put_key(f, key);
  uint32_t mag = scaled < 0 ? (uint32_t)(-(scaled + 1)) + 1u : (uint32_t)scaled;
  if (scaled < 0) put_char(f, '-');
  uint32_t div = 1;
  for (uint8_t i = 0; i < decimals; i++) div *= 10;
  put_uint(f, mag / div);
  if (decimals) {
    put_char(f, '.');
    uint32_t frac = mag % div;
    for (uint32_t d = div / 10; d; d /= 10) {
      put_char(f, (char)('0' + (frac / d) % 10));
    }
  }
  put_str(f, unit);
}

void frame_na(Frame *f, const char *key) {
  put_key(f, key);
  put_str(f, "NA");
}

void frame_text(Frame *f, const char *key, const char *text) {
  put_key(f, key);
  put_str(f, text);
}

static char hex_digit(uint8_t v) { return (char)(v < 10 ? '0' + v : 'A' + v - 10); }

uint8_t frame_end(Frame *f) {
  if (f->overflow) return 0;
  uint16_t crc = frame_crc16(f->buf + 1, f->len - 1);
  char *p = f->buf + f->len;
  *p++ = '*';
  for (int8_t shift = 12; shift >= 0; shift -= 4) *p++ = hex_digit((crc >> shift) & 0xF);
  *p++ = '\r';
  *p++ = '\n';
  *p = '\0';
  f->len = (uint8_t)(p - f->buf);
  return f->len;
}
