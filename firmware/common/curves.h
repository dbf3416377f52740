// Sensor curves: 10-bit ADC count (0..1023, 5 V reference) -> physical value, scaled to the
// protocol's decimals (docs/protocol.md). Each returns false when the count means the sensor
// failed (open or shorted input), so the frame says NA instead of a made-up number.
// Pure C++ (no Arduino calls): the host tests compile it with g++. The simulator
// (firmware/sim/sensors.py) reads the CURVE_* constants below to invert the curves.
#pragma once
#include <stdint.h>

#define CURVE_ADC_MAX 1023.0f  // count at the 5 V reference (count = V * 1023 / 5)

// LDR (GL5528 type) from 5 V to the pin, fixed resistor from the pin to GND:
//   R_ldr = R_fixed * (1023 - count) / count,  lux = 10 * (R_ldr / R10) ^ (-1 / gamma)
#define CURVE_LDR_R_FIXED 330.0f  // ohm
#define CURVE_LDR_R10 10000.0f    // ohm at 10 lux
#define CURVE_LDR_GAMMA 0.7f
#define CURVE_LDR_SHORTED 1020    // count >= this: LDR shorted -> NA
bool curve_ldr_lux(uint16_t count, int32_t *lux);  // 1 lx

// SEN-0011 resistive soil moisture (analog out rises with water; ~950 in water):
//   moisture % = count * 100 / 950, clipped to 100
#define CURVE_SEN0011_WET 950.0f
bool curve_sen0011_pct(uint16_t count, int32_t *tenths_pct);  // 0.1 %

// Capacitive soil moisture v1.2 (output falls with water): linear between dry and wet counts
//   moisture % = (dry - count) * 100 / (dry - wet), clipped to 0..100
#define CURVE_CAP_DRY 590.0f  // in air (2.88 V)
#define CURVE_CAP_WET 260.0f  // in water (1.27 V)
#define CURVE_CAP_OPEN 100    // count < this (< 0.49 V) is below any real output -> NA
bool curve_capacitive_pct(uint16_t count, int32_t *tenths_pct);  // 0.1 %

// MQ-2 on a load resistor RL to GND: Rs = RL * (1023 - count) / count;
//   ppm = A * (Rs / R0) ^ B   (datasheet LPG line; R0 = Rs in clean air / 9.83)
#define CURVE_MQ2_RL 10000.0f  // ohm
#define CURVE_MQ2_R0 10000.0f  // ohm, per-sensor calibration (clean air)
#define CURVE_MQ2_A 574.25f
#define CURVE_MQ2_B (-2.222f)
bool curve_mq2_ppm(uint16_t count, int32_t *hundredths_ppm);  // 0.01 ppm; NA at 0 or 1023

// Analog pH probe board (PH-4502C type): pH = slope * V + offset, V = count * 5 / 1023
#define CURVE_PH_SLOPE (-5.70f)
#define CURVE_PH_OFFSET 21.34f
bool curve_ph(uint16_t count, int32_t *hundredths_ph);  // 0.01 pH; NA at 0 or 1023 (open)

// HW-080 (watering controller): the paper's raw count (high = dry), and a percentage
//   moisture % = (1023 - count) * 100 / 1023
bool curve_hw080_pct(uint16_t count, int32_t *tenths_pct);  // 0.1 %
