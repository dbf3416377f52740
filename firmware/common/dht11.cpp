#include "dht11.h"

#include <Arduino.h>

// Counts loop iterations while the pin stays at `level`, plus one; 0 means it never
// changed within ~3 ms. Only ratios between counts are used, so the loop speed is moot.
static uint16_t pulse_count(volatile uint8_t *in, uint8_t mask, uint8_t level) {
  uint16_t count = 0;
  const uint16_t limit = 4000;  // far above the 70 us longest pulse at 16 MHz
  while (((*in & mask) ? 1 : 0) == level) {
    if (++count >= limit) return 0;
  }
  return count + 1;
}

Dht11Status dht11_read(uint8_t pin, Dht11Reading *out) {
  uint8_t mask = digitalPinToBitMask(pin);
  volatile uint8_t *in = portInputRegister(digitalPinToPort(pin));
  uint16_t cycles[80];
  uint8_t data[5] = {0, 0, 0, 0, 0};

  // Host start signal: pull low >= 18 ms, then release to the pull-up.
  pinMode(pin, OUTPUT);
  digitalWrite(pin, LOW);
  delay(20);
  uint8_t sreg = SREG;
  cli();
  pinMode(pin, INPUT);
  // The sensor answers 20-40 us later: 80 us low, 80 us high, then the bits.
  Dht11Status status = DHT11_OK;
  if (!pulse_count(in, mask, 1) || !pulse_count(in, mask, 0) || !pulse_count(in, mask, 1)) {
    status = DHT11_NO_RESPONSE;
  } else {
    // Each bit: 50 us low, then 26-28 us high (0) or 70 us high (1).
    for (uint8_t i = 0; i < 80; i += 2) {
      cycles[i] = pulse_count(in, mask, 0);
      cycles[i + 1] = pulse_count(in, mask, 1);
    }
  }
  SREG = sreg;
  if (status != DHT11_OK) return status;
  for (uint8_t i = 0; i < 40; i++) {
    uint16_t low = cycles[2 * i], high = cycles[2 * i + 1];
    if (low == 0 || high == 0) return DHT11_TIMEOUT;
    data[i / 8] <<= 1;
    if (high > low) data[i / 8] |= 1;
  }
  if ((uint8_t)(data[0] + data[1] + data[2] + data[3]) != data[4]) return DHT11_CHECKSUM;
  out->humidity = data[0];
  out->temperature = (int8_t)(data[2] & 0x7F);
  if (data[3] & 0x80) out->temperature = (int8_t)-out->temperature;
  out->temperature_tenths = data[3] & 0x0F;
  return DHT11_OK;
}
