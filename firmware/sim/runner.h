// simavr runner for the node firmware: shared declarations (see runner.c).
#pragma once
#include <stdint.h>

#include "sim_avr.h"

// A time series from the timeline file: (seconds, value) points, linear or step.
typedef struct series {
  char name[24];
  int step;  // 1: hold the previous point's value; 0: linear interpolation
  int n;
  double *t, *v;
} series_t;

// value at time `now`; `fallback` when the series is absent or empty
double series_at(const series_t *s, double now, double fallback);
const series_t *series_find(const char *name);

// DHT11 on an I/O pin: answers the MCU's start pulse with 40 bits from dht_t / dht_h.
void dht_attach(avr_t *avr, char port, int bit);
// NMEA source bit-banged into a pin at `baud`: one GGA + RMC pair per second.
void gps_attach(avr_t *avr, char port, int bit, int baud);
// Pushes the adc0..adc7 series (millivolts) into the ADC.
void adc_update(avr_t *avr, double now);
// Re-arms the cycle timers after avr_reset() (which clears them).
void parts_after_reset(avr_t *avr);

double sim_seconds(avr_t *avr);
