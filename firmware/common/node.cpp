#include "node.h"

#include <Arduino.h>

#include "bootcount.h"

static FrameHeader header;
static uint32_t seq;
static uint32_t last_report_ms;

void node_begin(const char *profile) {
  Serial.begin(NODE_BAUD);
  header.node_id = NODE_ID;
  header.firmware = FW_VERSION;
  header.boot = bootcount_increment();
  seq = 0;
  Frame f;
  frame_begin(&f, &header, 'H', 0);
  frame_text(&f, "k", profile);
  frame_fixed(&f, "iv", REPORT_INTERVAL_S, 0, "s");
  node_send(&f);
  last_report_ms = millis();
}

void node_frame(Frame *f, char kind) { frame_begin(f, &header, kind, ++seq); }

void node_send(Frame *f) {
  uint8_t len = frame_end(f);
  if (len) Serial.write((const uint8_t *)f->buf, len);
}

bool node_report_due(void) {
  uint32_t now = millis();
  if (now - last_report_ms < (uint32_t)REPORT_INTERVAL_S * 1000UL) return false;
  last_report_ms += (uint32_t)REPORT_INTERVAL_S * 1000UL;
  return true;
}
