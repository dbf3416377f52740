// DS3231 real-time clock on I2C (address 0x68): reads the time of the week.
#pragma once
#include <stdint.h>

// Seconds since Sunday 00:00 (the DS3231 day-of-week register, 1 = Sunday), or false if
// the clock did not answer or its registers are out of range.
bool ds3231_week_seconds(uint32_t *week_s);
