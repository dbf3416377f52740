#include "ds3231.h"

#include <Wire.h>

#define DS3231_ADDR 0x68

static uint8_t from_bcd(uint8_t v) { return (uint8_t)((v >> 4) * 10 + (v & 0x0F)); }

bool ds3231_week_seconds(uint32_t *week_s) {
  static bool started;
  if (!started) {
    Wire.begin();
    started = true;
  }
  Wire.beginTransmission(DS3231_ADDR);
  Wire.write((uint8_t)0);  // register pointer: seconds
  if (Wire.endTransmission() != 0) return false;
  if (Wire.requestFrom((uint8_t)DS3231_ADDR, (uint8_t)4) != 4) return false;
  uint8_t s = from_bcd(Wire.read() & 0x7F);
  uint8_t m = from_bcd(Wire.read() & 0x7F);
  uint8_t hr = Wire.read();
  uint8_t dow = Wire.read() & 0x07;
  uint8_t h;
  if (hr & 0x40) {  // 12-hour mode: bit 5 is PM
    h = (uint8_t)(from_bcd(hr & 0x1F) % 12 + ((hr & 0x20) ? 12 : 0));
  } else {
    h = from_bcd(hr & 0x3F);
  }
  if (s > 59 || m > 59 || h > 23 || dow < 1 || dow > 7) return false;
  *week_s = (uint32_t)(dow - 1) * 86400UL + h * 3600UL + m * 60UL + s;
  return true;
}
