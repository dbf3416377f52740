// DHT11 single-wire driver (no library): start pulse, 40 data bits, checksum.
#pragma once
#include <stdint.h>

enum Dht11Status : uint8_t {
  DHT11_OK = 0,
  DHT11_NO_RESPONSE,  // the sensor never pulled the line low (absent, unplugged)
  DHT11_TIMEOUT,      // a bit never ended
  DHT11_CHECKSUM,     // 40 bits read, checksum wrong
};

struct Dht11Reading {
  uint8_t humidity;  // %RH, integer (DHT11 resolution 1 %RH)
  int8_t temperature;  // degrees C, integer part
  uint8_t temperature_tenths;  // newer DHT11 clones report 0.1 C steps; else 0
};

// The data line needs a pull-up (10 kOhm to 5 V, or the module's own).
Dht11Status dht11_read(uint8_t pin, Dht11Reading *out);
