// Simulated sensors for the simavr runner: DHT11 timing model, NMEA bit-banger, ADC feed.
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "avr_adc.h"
#include "avr_ioport.h"
#include "runner.h"
#include "sim_time.h"

// ---------------------------------------------------------------- DHT11 -------------------
static struct {
  int attached;
  avr_irq_t *pin;
  uint8_t mask;
  uint8_t ddr, port;
  int driving_low;
  avr_cycle_count_t low_start;
  // response: level[i] is held for dur[i] cycles
  uint8_t level[90];
  avr_cycle_count_t dur[90];
  int n, i;
} dht;

static avr_cycle_count_t us(avr_t *avr, double micros) {
  return (avr_cycle_count_t)(micros * avr->frequency / 1e6 + 0.5);
}

static avr_cycle_count_t dht_edge(avr_t *avr, avr_cycle_count_t when, void *param) {
  (void)avr;
  (void)param;
  if (dht.i >= dht.n) return 0;
  avr_raise_irq(dht.pin, dht.level[dht.i]);
  avr_cycle_count_t next = when + dht.dur[dht.i];
  dht.i++;
  return dht.i < dht.n ? next : 0;
}

static void dht_push(avr_t *avr, int level, double micros) {
  dht.level[dht.n] = (uint8_t)level;
  dht.dur[dht.n] = us(avr, micros);
  dht.n++;
}

static void dht_respond(avr_t *avr) {
  double now = sim_seconds(avr);
  if (series_at(series_find("dht_ok"), now, 1.0) < 0.5) return;  // failed sensor: silence
  double t = series_at(series_find("dht_t"), now, 25.0);
  double h = series_at(series_find("dht_h"), now, 50.0);
  // DHT11: integer %RH and integer C (tenths byte 0), 0..50 C and 5..95 %RH
  int ti = (int)lround(t < 0 ? 0 : (t > 50 ? 50 : t));
  int hi = (int)lround(h < 5 ? 5 : (h > 95 ? 95 : h));
  uint8_t data[5] = {(uint8_t)hi, 0, (uint8_t)ti, 0, 0};
  data[4] = (uint8_t)(data[0] + data[1] + data[2] + data[3]);
  dht.n = dht.i = 0;
  dht_push(avr, 0, 80);
  dht_push(avr, 1, 80);
  for (int b = 0; b < 40; b++) {
    int one = (data[b / 8] >> (7 - b % 8)) & 1;
    dht_push(avr, 0, 50);
    dht_push(avr, 1, one ? 70 : 27);
  }
  dht_push(avr, 0, 50);
  dht_push(avr, 1, 1);  // released: the pull-up holds the line high
  avr_cycle_timer_cancel(avr, dht_edge, NULL);
  avr_cycle_timer_register(avr, us(avr, 30), dht_edge, NULL);
}

static void dht_line_changed(avr_t *avr) {
  int low = (dht.ddr & dht.mask) && !(dht.port & dht.mask);
  if (low && !dht.driving_low) {
    dht.driving_low = 1;
    dht.low_start = avr->cycle;
    avr_cycle_timer_cancel(avr, dht_edge, NULL);
  } else if (!low && dht.driving_low) {
    dht.driving_low = 0;
    if (!(dht.ddr & dht.mask)) avr_raise_irq(dht.pin, 1);  // released to the pull-up
    if (avr->cycle - dht.low_start >= us(avr, 1000)) dht_respond(avr);  // start pulse >= 1 ms
  }
}

static void dht_ddr_hook(avr_irq_t *irq, uint32_t value, void *param) {
  (void)irq;
  dht.ddr = (uint8_t)value;
  dht_line_changed((avr_t *)param);
}

static void dht_port_hook(avr_irq_t *irq, uint32_t value, void *param) {
  (void)irq;
  dht.port = (uint8_t)value;
  dht_line_changed((avr_t *)param);
}

void dht_attach(avr_t *avr, char port, int bit) {
  dht.attached = 1;
  dht.mask = (uint8_t)(1 << bit);
  dht.pin = avr_io_getirq(avr, AVR_IOCTL_IOPORT_GETIRQ(port), bit);
  avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_IOPORT_GETIRQ(port), IOPORT_IRQ_DIRECTION_ALL),
                          dht_ddr_hook, avr);
  avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_IOPORT_GETIRQ(port), IOPORT_IRQ_REG_PORT),
                          dht_port_hook, avr);
  avr_raise_irq(dht.pin, 1);  // idle high (pull-up)
}

// ---------------------------------------------------------------- GPS -----------------------
static struct {
  int attached;
  avr_irq_t *pin;
  int baud;
  char queue[1024];
  int head, tail;  // bytes queue[head..tail)
  int bit;         // -1 idle, 0 start bit, 1..8 data, 9 stop
  uint8_t byte;
  avr_cycle_count_t byte_start;
  long second;  // NMEA sentences emitted for this simulated second
} gps;

static int nmea_checksum(const char *body) {
  int sum = 0;
  while (*body) sum ^= (unsigned char)*body++;
  return sum;
}

static void gps_queue_sentence(const char *body) {
  char line[128];
  int n = snprintf(line, sizeof line, "$%s*%02X\r\n", body, nmea_checksum(body));
  for (int i = 0; i < n; i++) {
    int next = (gps.tail + 1) % (int)sizeof gps.queue;
    if (next == gps.head) return;  // queue full: drop (a real UART would overrun too)
    gps.queue[gps.tail] = line[i];
    gps.tail = next;
  }
}

static void coord(char *out, size_t size, double deg, int deg_digits, char pos, char neg) {
  char hemi = deg < 0 ? neg : pos;
  deg = fabs(deg);
  long whole = (long)deg;
  double minutes = (deg - whole) * 60.0;
  long min_e5 = lround(minutes * 1e5);
  if (min_e5 >= 6000000) {
    whole++;
    min_e5 -= 6000000;
  }
  snprintf(out, size, "%0*ld%02ld.%05ld,%c", deg_digits, whole, min_e5 / 100000, min_e5 % 100000, hemi);
}

static void gps_emit(double now) {
  long s = (long)now;
  int hh = (int)(s / 3600 % 24), mm = (int)(s / 60 % 60), ss = (int)(s % 60);
  char body[160], lat[48], lon[48];
  if (series_at(series_find("gps_fix"), now, 0.0) >= 0.5) {
    coord(lat, sizeof lat, series_at(series_find("gps_lat"), now, 0), 2, 'N', 'S');
    coord(lon, sizeof lon, series_at(series_find("gps_lon"), now, 0), 3, 'E', 'W');
    snprintf(body, sizeof body, "GPGGA,%02d%02d%02d.00,%s,%s,1,08,1.01,12.5,M,24.1,M,,", hh, mm, ss, lat, lon);
    gps_queue_sentence(body);
    snprintf(body, sizeof body, "GPRMC,%02d%02d%02d.00,A,%s,%s,0.012,,220526,,,A", hh, mm, ss, lat, lon);
    gps_queue_sentence(body);
  } else {
    snprintf(body, sizeof body, "GPGGA,%02d%02d%02d.00,,,,,0,00,99.99,,,,,,", hh, mm, ss);
    gps_queue_sentence(body);
    snprintf(body, sizeof body, "GPRMC,%02d%02d%02d.00,V,,,,,,,220526,,,N", hh, mm, ss);
    gps_queue_sentence(body);
  }
}

static avr_cycle_count_t gps_tick(avr_t *avr, avr_cycle_count_t when, void *param) {
  (void)param;
  double bit_cycles = (double)avr->frequency / gps.baud;
  if (gps.bit < 0) {
    double now = sim_seconds(avr);
    if ((long)now != gps.second) {
      gps.second = (long)now;
      if (series_find("gps_fix")) gps_emit(now);
    }
    if (gps.head == gps.tail) return when + (avr_cycle_count_t)bit_cycles;  // idle high
    gps.byte = (uint8_t)gps.queue[gps.head];
    gps.head = (gps.head + 1) % (int)sizeof gps.queue;
    gps.bit = 0;
    gps.byte_start = when;
  }
  int level = gps.bit == 0 ? 0 : (gps.bit == 9 ? 1 : (gps.byte >> (gps.bit - 1)) & 1);
  avr_raise_irq(gps.pin, (uint32_t)level);
  gps.bit++;
  avr_cycle_count_t next = gps.byte_start + (avr_cycle_count_t)llround(gps.bit * bit_cycles);
  if (gps.bit > 9) gps.bit = -1;
  return next > when ? next : when + 1;
}

void gps_attach(avr_t *avr, char port, int bit, int baud) {
  gps.attached = 1;
  gps.baud = baud;
  gps.bit = -1;
  gps.second = -1;
  gps.pin = avr_io_getirq(avr, AVR_IOCTL_IOPORT_GETIRQ(port), bit);
  avr_raise_irq(gps.pin, 1);
  avr_cycle_timer_register(avr, us(avr, 1000), gps_tick, NULL);
}

// ---------------------------------------------------------------- ADC -----------------------
void adc_update(avr_t *avr, double now) {
  static const char *names[8] = {"adc0", "adc1", "adc2", "adc3", "adc4", "adc5", "adc6", "adc7"};
  for (int ch = 0; ch < 8; ch++) {
    const series_t *s = series_find(names[ch]);
    if (!s) continue;
    double mv = series_at(s, now, 0);
    if (mv < 0) mv = 0;
    avr_raise_irq(avr_io_getirq(avr, AVR_IOCTL_ADC_GETIRQ, ADC_IRQ_ADC0 + ch), (uint32_t)lround(mv));
  }
}

void parts_after_reset(avr_t *avr) {
  dht.driving_low = 0;
  dht.n = dht.i = 0;
  if (gps.attached) {
    gps.bit = -1;
    gps.head = gps.tail = 0;
    avr_raise_irq(gps.pin, 1);
    avr_cycle_timer_register(avr, us(avr, 1000), gps_tick, NULL);
  }
  if (dht.attached) avr_raise_irq(dht.pin, 1);
}
