#include "nmea.h"

#include <string.h>

void nmea_init(NmeaParser *p) { memset(p, 0, sizeof(*p)); }

static int8_t hex_value(char c) {
  if (c >= '0' && c <= '9') return (int8_t)(c - '0');
  if (c >= 'A' && c <= 'F') return (int8_t)(c - 'A' + 10);
  if (c >= 'a' && c <= 'f') return (int8_t)(c - 'a' + 10);
  return -1;
}

// Returns a pointer to field n (0 = talker+type) of a comma-separated sentence body and
// its length through *len, or NULL if there are fewer fields.
static const char *field(const char *body, uint8_t n, uint8_t *len) {
  const char *s = body;
  while (n) {
    s = strchr(s, ',');
    if (!s) return 0;
    s++;
    n--;
  }
  const char *e = s;
  while (*e && *e != ',') e++;
  *len = (uint8_t)(e - s);
  return s;
}

// "ddmm.mmmmm" (deg_digits = 2) or "dddmm.mmmmm" (3) -> microdegrees, false if malformed
static bool parse_coord(const char *s, uint8_t len, uint8_t deg_digits, char hemi, int32_t *out) {
  if (len < deg_digits + 2) return false;
  int32_t deg = 0;
  for (uint8_t i = 0; i < deg_digits; i++) {
    if (s[i] < '0' || s[i] > '9') return false;
    deg = deg * 10 + (s[i] - '0');
  }
  // minutes scaled by 1e5: "mm.mmmmm" -> mm * 100000 + fraction (up to 5 digits)
  int32_t min_e5 = 0;
  uint8_t i = deg_digits;
  uint8_t int_digits = 0;
  for (; i < len && s[i] != '.'; i++, int_digits++) {
    if (s[i] < '0' || s[i] > '9') return false;
    min_e5 = min_e5 * 10 + (s[i] - '0');
  }
  if (int_digits != 2) return false;
  int32_t frac = 0;
  uint8_t frac_digits = 0;
  if (i < len) {
    i++;  // '.'
    for (; i < len; i++) {
      if (s[i] < '0' || s[i] > '9') return false;
      if (frac_digits < 5) {
        frac = frac * 10 + (s[i] - '0');
        frac_digits++;
      }
    }
  }
  while (frac_digits < 5) {
    frac *= 10;
    frac_digits++;
  }
  min_e5 = min_e5 * 100000L + frac;
  if (min_e5 >= 6000000L) return false;
  // 1 minute = 1e6/60 microdegrees, so microdegrees = min_e5 / 6 (rounded)
  int32_t udeg = deg * 1000000L + (min_e5 + 3) / 6;
  if (hemi == 'S' || hemi == 'W') udeg = -udeg;
  else if (hemi != 'N' && hemi != 'E') return false;
  *out = udeg;
  return true;
}

static bool parse_position(NmeaParser *p, const char *lat, uint8_t lat_len, const char *ns,
                           const char *lon, uint8_t lon_len, const char *ew) {
  int32_t la, lo;
  if (!parse_coord(lat, lat_len, 2, *ns, &la)) return false;
  if (!parse_coord(lon, lon_len, 3, *ew, &lo)) return false;
  if (la > 90000000L || la < -90000000L || lo > 180000000L || lo < -180000000L) return false;
  p->lat_udeg = la;
  p->lon_udeg = lo;
  p->has_fix = true;
  return true;
}

// body = sentence between '$' and '*', NUL-terminated
static bool handle_sentence(NmeaParser *p, const char *body) {
  uint8_t l0, l1, l2, l3, l4, l5, l6;
  const char *type = field(body, 0, &l0);
  if (l0 != 5) return false;
  if (strncmp(type + 2, "RMC", 3) == 0) {
    // $GPRMC,time,status,lat,N,lon,E,...
    const char *status = field(body, 2, &l2);
    const char *lat = field(body, 3, &l3);
    const char *ns = field(body, 4, &l4);
    const char *lon = field(body, 5, &l5);
    const char *ew = field(body, 6, &l6);
    if (!status || !ew || l2 != 1) return false;
    if (*status == 'V') {
      p->has_fix = false;
      return true;
    }
    if (*status != 'A' || l4 != 1 || l6 != 1) return false;
    return parse_position(p, lat, l3, ns, lon, l5, ew);
  }
  if (strncmp(type + 2, "GGA", 3) == 0) {
    // $GPGGA,time,lat,N,lon,E,quality,...
    const char *lat = field(body, 2, &l2);
    const char *ns = field(body, 3, &l3);
    const char *lon = field(body, 4, &l4);
    const char *ew = field(body, 5, &l5);
    const char *quality = field(body, 6, &l6);
    if (!quality || l6 != 1) return false;
    if (*quality == '0') {
      p->has_fix = false;
      return true;
    }
    if (l3 != 1 || l5 != 1) return false;
    return parse_position(p, lat, l2, ns, lon, l4, ew);
  }
  (void)l1;
  return false;  // other sentence types are ignored (not counted as bad)
}

bool nmea_feed(NmeaParser *p, char c) {
  if (c == '$') {
    p->in_sentence = true;
    p->len = 0;
    return false;
  }
  if (!p->in_sentence) return false;
  if (c == '\r' || c == '\n') {
    p->in_sentence = false;
    // expect "...*hh"
    if (p->len < 4 || p->buf[p->len - 3] != '*') {
      p->sentences_bad++;
      return false;
    }
    int8_t hi = hex_value(p->buf[p->len - 2]);
    int8_t lo = hex_value(p->buf[p->len - 1]);
    uint8_t sum = 0;
    for (uint8_t i = 0; i < p->len - 3; i++) sum ^= (uint8_t)p->buf[i];
    if (hi < 0 || lo < 0 || sum != (uint8_t)((hi << 4) | lo)) {
      p->sentences_bad++;
      return false;
    }
    p->buf[p->len - 3] = '\0';
    const char *type = p->buf;
    bool position = strncmp(type + 2, "RMC", 3) == 0 || strncmp(type + 2, "GGA", 3) == 0;
    if (handle_sentence(p, p->buf)) {
      p->sentences_ok++;
      return true;
    }
    if (position) p->sentences_bad++;
    return false;
  }
  if (c < 0x20 || c > 0x7E || p->len >= NMEA_MAX_SENTENCE - 3) {
    p->in_sentence = false;
    p->sentences_bad++;
    return false;
  }
  p->buf[p->len++] = c;
  return false;
}
