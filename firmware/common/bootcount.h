// Boot counter kept in EEPROM: +1 at every power-up or reset, reported in every frame.
#pragma once
#include <stdint.h>

// Reads, increments and stores the counter; returns the new value (1 on a blank EEPROM,
// wraps from 65535 to 1).
uint16_t bootcount_increment(void);
