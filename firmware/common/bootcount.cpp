#include "bootcount.h"

#include <avr/eeprom.h>

// Layout: byte 0 magic, bytes 1-2 the counter (little-endian). A blank (0xFF) or foreign
// EEPROM has no magic and starts the count afresh.
#define BOOT_MAGIC 0xB1
#define BOOT_MAGIC_ADDR ((uint8_t *)0)
#define BOOT_COUNT_ADDR ((uint16_t *)1)

uint16_t bootcount_increment(void) {
  uint16_t boot = 0;
  if (eeprom_read_byte(BOOT_MAGIC_ADDR) == BOOT_MAGIC) boot = eeprom_read_word(BOOT_COUNT_ADDR);
  boot = boot == 0xFFFF ? 1 : boot + 1;
  eeprom_update_word(BOOT_COUNT_ADDR, boot);
  eeprom_update_byte(BOOT_MAGIC_ADDR, BOOT_MAGIC);
  return boot;
}
