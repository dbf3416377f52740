// Watering and fertilizing controller (Arduino Uno), after arduino-watering-fertilizing.txt:
// the HW-080 soil sensor's raw count drives the water pump relay (on above 700 = dry, off
// below 400 = wet); a weekly schedule (Sunday 06:00) runs the liquid-fertilizer pump for
// FERT_SECONDS. Reports a reading frame every REPORT_INTERVAL_S and an event frame at
// every actuator change. Wiring: firmware/README.md.
#include <Arduino.h>

#include "../common/curves.h"
#include "../common/node.h"

#define PIN_SOIL A0       // HW-080 AO
#define PIN_WATER_PUMP 7  // relay IN1 (active HIGH)
#define PIN_FERT_PUMP 8   // relay IN2 (active HIGH)

#define WATER_ON_ABOVE 700  // raw count: dry soil -> pump on (paper: "> 700")
#define WATER_OFF_BELOW 400  // raw count: wet soil -> pump off (paper: "< 400")
#define CONTROL_PERIOD_MS 200UL

// Weekly fertilizer schedule: day 0 = Sunday.
#ifndef FERT_DAY
#define FERT_DAY 0
#endif
#ifndef FERT_HOUR
#define FERT_HOUR 6
#endif
#ifndef FERT_MINUTE
#define FERT_MINUTE 0
#endif
#ifndef FERT_SECONDS
#define FERT_SECONDS 120
#endif
// The paper keeps time with a DS3231 RTC; this build keeps a software clock started at
// CLOCK_START_S seconds into the week (Sunday 00:00 = 0) at power-up. See README.md.
#ifndef CLOCK_START_S
#define CLOCK_START_S 0UL
#endif
#define WEEK_S 604800UL
#define FERT_START_S ((uint32_t)FERT_DAY * 86400UL + FERT_HOUR * 3600UL + FERT_MINUTE * 60UL)

static bool water_on, fert_on;
static uint32_t last_control_ms;

static uint32_t week_seconds() { return (CLOCK_START_S + millis() / 1000UL) % WEEK_S; }

static void add_soil(Frame *f, uint16_t raw) {
  int32_t pct;
  frame_fixed(f, "r", raw, 0, "adc");
  if (curve_hw080_pct(raw, &pct)) frame_fixed(f, "m", pct, 1, "%");
  else frame_na(f, "m");
}

static void set_relay(uint8_t pin, bool on) { digitalWrite(pin, on ? HIGH : LOW); }

void setup() {
  pinMode(PIN_WATER_PUMP, OUTPUT);
  pinMode(PIN_FERT_PUMP, OUTPUT);
  set_relay(PIN_WATER_PUMP, false);
  set_relay(PIN_FERT_PUMP, false);
  node_begin("watering");
}

static void control() {
  uint16_t raw = analogRead(PIN_SOIL);
  bool want_water = water_on ? raw >= WATER_OFF_BELOW : raw > WATER_ON_ABOVE;
  if (want_water != water_on) {
    water_on = want_water;
    set_relay(PIN_WATER_PUMP, water_on);
    Frame f;
    node_frame(&f, 'E');
    frame_fixed(&f, "wp", water_on, 0, "");
    add_soil(&f, raw);
    node_send(&f);
  }
  bool want_fert = (week_seconds() + WEEK_S - FERT_START_S) % WEEK_S < FERT_SECONDS;
  if (want_fert != fert_on) {
    fert_on = want_fert;
    set_relay(PIN_FERT_PUMP, fert_on);
    Frame f;
    node_frame(&f, 'E');
    frame_fixed(&f, "fp", fert_on, 0, "");
    node_send(&f);
  }
}

void loop() {
  if (millis() - last_control_ms >= CONTROL_PERIOD_MS) {
    last_control_ms = millis();
    control();
  }
  if (!node_report_due()) return;
  Frame f;
  node_frame(&f, 'R');
  add_soil(&f, analogRead(PIN_SOIL));
  frame_fixed(&f, "wp", water_on, 0, "");
  frame_fixed(&f, "fp", fert_on, 0, "");
  node_send(&f);
}
