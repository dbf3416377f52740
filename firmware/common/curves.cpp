#include "curves.h"

#include <math.h>

static int32_t round_scaled(float v, float scale) {
  float s = v * scale;
  return (int32_t)(s < 0 ? s - 0.5f : s + 0.5f);
}

static float clip(float v, float lo, float hi) { return v < lo ? lo : (v > hi ? hi : v); }

bool curve_ldr_lux(uint16_t count, int32_t *lux) {
  if (count >= CURVE_LDR_SHORTED) return false;
  if (count == 0) {  // darker than the divider resolves (< ~0.1 lx)
    *lux = 0;
    return true;
  }
  float r = CURVE_LDR_R_FIXED * (CURVE_ADC_MAX - count) / count;
  float v = 10.0f * powf(r / CURVE_LDR_R10, -1.0f / CURVE_LDR_GAMMA);
  *lux = round_scaled(v, 1.0f);
  return true;
}

bool curve_sen0011_pct(uint16_t count, int32_t *tenths_pct) {
  *tenths_pct = round_scaled(clip(count * 100.0f / CURVE_SEN0011_WET, 0, 100), 10.0f);
  return true;
}

bool curve_capacitive_pct(uint16_t count, int32_t *tenths_pct) {
  if (count < CURVE_CAP_OPEN) return false;
  float pct = (CURVE_CAP_DRY - count) * 100.0f / (CURVE_CAP_DRY - CURVE_CAP_WET);
  *tenths_pct = round_scaled(clip(pct, 0, 100), 10.0f);
  return true;
}

bool curve_mq2_ppm(uint16_t count, int32_t *hundredths_ppm) {
  if (count == 0 || count >= 1023) return false;
  float rs = CURVE_MQ2_RL * (CURVE_ADC_MAX - count) / count;
  float ppm = CURVE_MQ2_A * powf(rs / CURVE_MQ2_R0, CURVE_MQ2_B);
  if (ppm > 100000.0f) ppm = 100000.0f;
  *hundredths_ppm = round_scaled(ppm, 100.0f);
  return true;
}

bool curve_ph(uint16_t count, int32_t *hundredths_ph) {
  if (count == 0 || count >= 1023) return false;
  float v = count * 5.0f / CURVE_ADC_MAX;
  *hundredths_ph = round_scaled(CURVE_PH_SLOPE * v + CURVE_PH_OFFSET, 100.0f);
  return true;
}

bool curve_hw080_pct(uint16_t count, int32_t *tenths_pct) {
  *tenths_pct = round_scaled((CURVE_ADC_MAX - count) * 100.0f / CURVE_ADC_MAX, 10.0f);
  return true;
}
