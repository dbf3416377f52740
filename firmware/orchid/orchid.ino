// Orchid node (Arduino Uno): DHT11 air temperature/humidity, SEN-0011 soil moisture,
// LDR light. One reading frame every REPORT_INTERVAL_S (10-60 min in the greenhouse).
// Wiring: firmware/README.md.
#include <Arduino.h>

#include "../common/curves.h"
#include "../common/dht11.h"
#include "../common/node.h"

#define PIN_DHT 2       // D2, 10 kOhm pull-up to 5 V
#define PIN_SOIL A0     // SEN-0011 analog out
#define PIN_LDR A1      // LDR / 330 Ohm divider midpoint

void setup() {
  node_begin("orchid");
}

void loop() {
  if (!node_report_due()) return;
  Frame f;
  node_frame(&f, 'R');
  Dht11Reading dht;
  if (dht11_read(PIN_DHT, &dht) == DHT11_OK) {
    frame_fixed(&f, "t", (int32_t)dht.temperature * 10 + (dht.temperature < 0 ? -1 : 1) * dht.temperature_tenths, 1, "C");
    frame_fixed(&f, "h", (int32_t)dht.humidity * 10, 1, "%RH");
  } else {
    frame_na(&f, "t");
    frame_na(&f, "h");
  }
  int32_t v;
  if (curve_ldr_lux(analogRead(PIN_LDR), &v)) frame_fixed(&f, "l", v, 0, "lx");
  else frame_na(&f, "l");
  if (curve_sen0011_pct(analogRead(PIN_SOIL), &v)) frame_fixed(&f, "m", v, 1, "%");
  else frame_na(&f, "m");
  node_send(&f);
}
