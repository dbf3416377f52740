// Host (g++) driver for the firmware's pure modules, so the tests can check them against
// the Python decoder and the simulator's curves. Reads commands on stdin, one per line:
//   frame KIND NODE FW BOOT SEQ [KEY=SCALED/DECIMALS/UNIT | KEY=NA | KEY=:TEXT]...
//       -> the frame line exactly as the firmware writes it (or "overflow")
//   nmea TEXT   -> feeds TEXT + "\r\n" to one parser: "fix LAT_UDEG LON_UDEG OK BAD" / "nofix OK BAD"
//   nmeabytes HEX -> feeds raw bytes (hex) to the same parser, same answer
//   curve NAME COUNT -> the scaled value, or "NA"  (NAME: ldr sen0011 capacitive mq2 ph hw080)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/curves.h"
#include "../common/frame.h"
#include "../common/nmea.h"

static NmeaParser parser;

static void nmea_report() {
  if (parser.has_fix)
    printf("fix %ld %ld %lu %lu\n", (long)parser.lat_udeg, (long)parser.lon_udeg,
           (unsigned long)parser.sentences_ok, (unsigned long)parser.sentences_bad);
  else
    printf("nofix %lu %lu\n", (unsigned long)parser.sentences_ok, (unsigned long)parser.sentences_bad);
}

static void do_frame(char *args) {
  char *save = NULL;
  char *kind = strtok_r(args, " ", &save);
  char *node = strtok_r(NULL, " ", &save);
  char *fw = strtok_r(NULL, " ", &save);
  char *boot = strtok_r(NULL, " ", &save);
  char *seq = strtok_r(NULL, " ", &save);
  if (!kind || !node || !fw || !boot || !seq) {
    puts("error");
    return;
  }
  FrameHeader h = {node, fw, (uint16_t)strtoul(boot, NULL, 10)};
  Frame f;
  frame_begin(&f, &h, kind[0], (uint32_t)strtoul(seq, NULL, 10));
  for (char *tok; (tok = strtok_r(NULL, " ", &save));) {
    char *eq = strchr(tok, '=');
    if (!eq) {
      puts("error");
      return;
    }
    *eq = '\0';
    char *val = eq + 1;
    if (!strcmp(val, "NA")) {
      frame_na(&f, tok);
    } else if (val[0] == ':') {
      frame_text(&f, tok, val + 1);
    } else {
      long scaled = strtol(val, &val, 10);
      int decimals = (int)strtol(val + 1, &val, 10);
      const char *unit = val + 1;
      if (!strcmp(unit, "-")) unit = "";
      frame_fixed(&f, tok, (int32_t)scaled, (uint8_t)decimals, unit);
    }
  }
  if (!frame_end(&f)) {
    puts("overflow");
    return;
  }
  fwrite(f.buf, 1, f.len, stdout);
}

static void do_curve(const char *name, unsigned count) {
  int32_t v = 0;
  bool ok;
  if (!strcmp(name, "ldr")) ok = curve_ldr_lux((uint16_t)count, &v);
  else if (!strcmp(name, "sen0011")) ok = curve_sen0011_pct((uint16_t)count, &v);
  else if (!strcmp(name, "capacitive")) ok = curve_capacitive_pct((uint16_t)count, &v);
  else if (!strcmp(name, "mq2")) ok = curve_mq2_ppm((uint16_t)count, &v);
  else if (!strcmp(name, "ph")) ok = curve_ph((uint16_t)count, &v);
  else if (!strcmp(name, "hw080")) ok = curve_hw080_pct((uint16_t)count, &v);
  else {
    puts("error");
    return;
  }
  if (ok) printf("%ld\n", (long)v);
  else puts("NA");
}

int main() {
  nmea_init(&parser);
  static char line[4096];
  while (fgets(line, sizeof line, stdin)) {
    line[strcspn(line, "\n")] = '\0';
    if (!strncmp(line, "frame ", 6)) {
      do_frame(line + 6);
    } else if (!strncmp(line, "nmea ", 5)) {
      for (const char *c = line + 5; *c; c++) nmea_feed(&parser, *c);
      nmea_feed(&parser, '\r');
      nmea_feed(&parser, '\n');
      nmea_report();
    } else if (!strncmp(line, "nmeabytes ", 10)) {
      for (const char *c = line + 10; c[0] && c[1]; c += 2) {
        char hex[3] = {c[0], c[1], 0};
        nmea_feed(&parser, (char)strtoul(hex, NULL, 16));
      }
      nmea_report();
    } else if (!strncmp(line, "curve ", 6)) {
      char name[32];
      unsigned count;
      if (sscanf(line + 6, "%31s %u", name, &count) == 2) do_curve(name, count);
      else puts("error");
    } else {
      puts("error");
    }
    fflush(stdout);
  }
  return 0;
}
