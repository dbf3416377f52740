// Minimal NMEA 0183 parser for the NEO-6M: $GPRMC/$GNRMC and $GPGGA/$GNGGA positions.
// Fed one character at a time; a sentence counts only if its *hh checksum matches.
// Pure C++ (no Arduino calls), so the host tests compile it with g++ too.
#pragma once
#include <stdint.h>

#define NMEA_MAX_SENTENCE 82  // NMEA 0183: at most 82 characters including "$" and CRLF

struct NmeaParser {
  char buf[NMEA_MAX_SENTENCE + 1];
  uint8_t len;
  bool in_sentence;
  // latest fix, in microdegrees (1e-6 degree); valid only when has_fix
  int32_t lat_udeg;
  int32_t lon_udeg;
  bool has_fix;
  uint32_t sentences_ok;   // position sentences accepted
  uint32_t sentences_bad;  // checksum, syntax or overlong
};

void nmea_init(NmeaParser *p);
// returns true when a position sentence was completed (fix or explicit no-fix)
bool nmea_feed(NmeaParser *p, char c);
