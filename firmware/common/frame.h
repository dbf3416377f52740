// Serial frame protocol v1 (docs/protocol.md): builds one checksummed ASCII line.
// Pure C++ (no Arduino calls), so the host tests compile it with g++ too.
#pragma once
#include <stdint.h>
#include <stddef.h>

#define FRAME_PROTOCOL_VERSION "1"
#define FRAME_MAX_LINE 160  // bytes, including the trailing "\r\n"

struct FrameHeader {
  const char *node_id;   // [A-Za-z0-9_-]{1,24}
  const char *firmware;  // semver, [0-9.]{1,11}
  uint16_t boot;         // EEPROM boot counter
};

struct Frame {
  char buf[FRAME_MAX_LINE + 1];  // NUL-terminated once frame_end() succeeds
  uint8_t len;
  bool overflow;  // a field did not fit: frame_end() refuses to finish the line
};

uint16_t frame_crc16(const char *data, size_t len);  // CRC-16/CCITT-FALSE

void frame_begin(Frame *f, const FrameHeader *h, char kind, uint32_t seq);
// key=<value / 10^decimals><unit>, e.g. frame_fixed(f, "t", 270, 1, "C") -> ",t=27.0C"
void frame_fixed(Frame *f, const char *key, int32_t scaled, uint8_t decimals, const char *unit);
// key=NA: the sensor failed to read (never written as 0)
void frame_na(Frame *f, const char *key);
// key=text (hello frames)
void frame_text(Frame *f, const char *key, const char *text);
// appends "*XXXX\r\n"; returns the line length, or 0 if the frame overflowed
uint8_t frame_end(Frame *f);
