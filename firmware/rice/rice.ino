// Rice-field node (Arduino Nano): DHT11, MQ-2 gas, capacitive soil moisture, soil pH probe,
// GPS NEO-6M (NMEA at 9600 baud on SoftwareSerial). One reading frame every
// REPORT_INTERVAL_S (5 s in the paper). Wiring: firmware/README.md.
#include <Arduino.h>
#include <SoftwareSerial.h>

#include "../common/curves.h"
#include "../common/dht11.h"
#include "../common/nmea.h"
#include "../common/node.h"

#define PIN_DHT 2     // D2, 10 kOhm pull-up to 5 V
#define PIN_GPS_TX 3  // D3 -> NEO-6M RX (unused: the module's defaults are kept)
#define PIN_GPS_RX 4  // D4 <- NEO-6M TX
#define PIN_GAS A0    // MQ-2 AOUT (10 kOhm load)
#define PIN_SOIL A1   // capacitive soil moisture v1.2 AOUT
#define PIN_PH A2     // pH probe board PO
#define GPS_BAUD 9600
#define GPS_STALE_MS 5000UL  // no valid position sentence for this long: lat/lon NA

static SoftwareSerial gps(PIN_GPS_RX, PIN_GPS_TX);
static NmeaParser nmea;
static uint32_t last_fix_ms;
static bool seen_fix;

static void poll_gps() {
  while (gps.available()) {
    if (nmea_feed(&nmea, (char)gps.read()) && nmea.has_fix) {
      last_fix_ms = millis();
      seen_fix = true;
    }
  }
}

void setup() {
  nmea_init(&nmea);
  gps.begin(GPS_BAUD);
  node_begin("rice");
}

static void add_analog(Frame *f, const char *key, bool (*curve)(uint16_t, int32_t *),
                       uint8_t pin, uint8_t decimals, const char *unit) {
  int32_t v;
  if (curve(analogRead(pin), &v)) frame_fixed(f, key, v, decimals, unit);
  else frame_na(f, key);
}

void loop() {
  poll_gps();
  if (!node_report_due()) return;
  Frame f;
  node_frame(&f, 'R');
  Dht11Reading dht;
  Dht11Status st = dht11_read(PIN_DHT, &dht);
  poll_gps();
  if (st == DHT11_OK) {
    frame_fixed(&f, "t", (int32_t)dht.temperature * 10 + (dht.temperature < 0 ? -1 : 1) * dht.temperature_tenths, 1, "C");
    frame_fixed(&f, "h", (int32_t)dht.humidity * 10, 1, "%RH");
  } else {
    frame_na(&f, "t");
    frame_na(&f, "h");
  }
  add_analog(&f, "g", curve_mq2_ppm, PIN_GAS, 2, "ppm");
  add_analog(&f, "m", curve_capacitive_pct, PIN_SOIL, 1, "%");
  add_analog(&f, "p", curve_ph, PIN_PH, 2, "pH");
  if (seen_fix && nmea.has_fix && millis() - last_fix_ms < GPS_STALE_MS) {
    frame_fixed(&f, "la", nmea.lat_udeg, 6, "deg");
    frame_fixed(&f, "lo", nmea.lon_udeg, 6, "deg");
  } else {
    frame_na(&f, "la");
    frame_na(&f, "lo");
  }
  node_send(&f);
}
