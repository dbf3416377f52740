// simavr runner: runs a node's firmware ELF at wall-clock speed, UART0 on a pty, sensors
// driven from a timeline file (written by firmware/sim/run from a scenario JSON).
//
//   simavr-runner --elf FILE --timeline FILE --pty PATH [--eeprom FILE] [--mcu NAME]
//
// Timeline file, one directive per line ('#' comments):
//   dht PORT BIT            DHT11 data line on that pin (e.g. "dht D 2")
//   gps PORT BIT BAUD       NMEA into that pin
//   series NAME linear|step N   followed by N lines "SECONDS VALUE"
// Series: adc0..adc7 (mV), dht_t (C), dht_h (%RH), dht_ok (0/1), gps_lat, gps_lon (deg),
// gps_fix (0/1). Time is simulated time since power-up, so it is independent of host load.
//
// SIGUSR1 resets the MCU (a reboot: the EEPROM boot counter survives); SIGINT/SIGTERM save
// the EEPROM and exit. The EEPROM file is also saved whenever its content changes.
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "avr_eeprom.h"
#include "avr_ioport.h"
#include "runner.h"
#include "sim_elf.h"
#include "uart_pty.h"

#define MAX_SERIES 32
static series_t all_series[MAX_SERIES];
static int n_series;
static volatile sig_atomic_t want_reset, want_stop;
static uart_pty_t uart_pty;

double series_at(const series_t *s, double now, double fallback) {
  if (!s || s->n == 0) return fallback;
  if (now <= s->t[0]) return s->v[0];
  for (int i = 1; i < s->n; i++) {
    if (now < s->t[i]) {
      if (s->step) return s->v[i - 1];
      double f = (now - s->t[i - 1]) / (s->t[i] - s->t[i - 1]);
      return s->v[i - 1] + f * (s->v[i] - s->v[i - 1]);
    }
  }
  return s->v[s->n - 1];
}

const series_t *series_find(const char *name) {
  for (int i = 0; i < n_series; i++)
    if (!strcmp(all_series[i].name, name)) return &all_series[i];
  return NULL;
}

double sim_seconds(avr_t *avr) { return (double)avr->cycle / avr->frequency; }

static void die(const char *what) {
  fprintf(stderr, "simavr-runner: %s\n", what);
  exit(2);
}

typedef struct {
  char dht_port, gps_port;
  int dht_bit, gps_bit, gps_baud;
} pins_t;

static void load_timeline(const char *path, pins_t *pins) {
  FILE *f = fopen(path, "r");
  if (!f) {
    perror(path);
    exit(2);
  }
  char line[256];
  int lineno = 0;
  while (fgets(line, sizeof line, f)) {
    lineno++;
    char word[32], a[32];
    int n;
    if (line[0] == '#' || sscanf(line, "%31s", word) != 1) continue;
    if (!strcmp(word, "dht")) {
      if (sscanf(line, "dht %c %d", &pins->dht_port, &pins->dht_bit) != 2) goto bad;
    } else if (!strcmp(word, "gps")) {
      if (sscanf(line, "gps %c %d %d", &pins->gps_port, &pins->gps_bit, &pins->gps_baud) != 3) goto bad;
    } else if (!strcmp(word, "series")) {
      if (n_series == MAX_SERIES) goto bad;
      series_t *s = &all_series[n_series++];
      if (sscanf(line, "series %23s %31s %d", s->name, a, &n) != 3 || n < 1) goto bad;
      s->step = !strcmp(a, "step");
      s->t = calloc((size_t)n, sizeof(double));
      s->v = calloc((size_t)n, sizeof(double));
      for (int i = 0; i < n; i++) {
        lineno++;
        if (!fgets(line, sizeof line, f) || sscanf(line, "%lf %lf", &s->t[i], &s->v[i]) != 2) goto bad;
      }
      s->n = n;
    } else {
      goto bad;
    }
  }
  fclose(f);
  return;
bad:
  fprintf(stderr, "simavr-runner: %s:%d: bad timeline line: %s", path, lineno, line);
  exit(2);
}

// ---- EEPROM persistence ----------------------------------------------------------------
static uint8_t *eeprom_mem(avr_t *avr) {
  avr_eeprom_desc_t d = {.ee = NULL, .offset = 0, .size = 0};
  avr_ioctl(avr, AVR_IOCTL_EEPROM_GET, &d);
  return d.ee;
}

static uint8_t saved[4096];

static void eeprom_load(avr_t *avr, const char *path) {
  uint8_t *ee = eeprom_mem(avr);
  size_t size = avr->e2end + 1;
  if (!ee || size > sizeof saved) die("no EEPROM in this MCU");
  FILE *f = fopen(path, "rb");
  if (f) {
    size_t got = fread(ee, 1, size, f);
    fclose(f);
    if (got != size) memset(ee + got, 0xFF, size - got);
  }
  memcpy(saved, ee, size);
}

static void eeprom_save(avr_t *avr, const char *path, int force) {
  uint8_t *ee = eeprom_mem(avr);
  size_t size = avr->e2end + 1;
  if (!force && !memcmp(saved, ee, size)) return;
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "wb");
  if (!f || fwrite(ee, 1, size, f) != size || fclose(f) != 0 || rename(tmp, path) != 0) {
    perror(path);
    return;
  }
  memcpy(saved, ee, size);
}

static void on_signal(int sig) {
  if (sig == SIGUSR1) want_reset = 1;
  else want_stop = 1;
}

static double wall_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  const char *elf = NULL, *timeline = NULL, *pty = NULL, *eeprom = NULL, *mcu = "atmega328p";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--elf")) elf = argv[i + 1];
    else if (!strcmp(argv[i], "--timeline")) timeline = argv[i + 1];
    else if (!strcmp(argv[i], "--pty")) pty = argv[i + 1];
    else if (!strcmp(argv[i], "--eeprom")) eeprom = argv[i + 1];
    else if (!strcmp(argv[i], "--mcu")) mcu = argv[i + 1];
    else {
      fprintf(stderr, "simavr-runner: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  if (!elf || !timeline || !pty)
    die("usage: simavr-runner --elf FILE --timeline FILE --pty PATH [--eeprom FILE] [--mcu NAME]");

  elf_firmware_t fw;
  memset(&fw, 0, sizeof fw);
  if (elf_read_firmware(elf, &fw) != 0) die("cannot read the ELF file");
  avr_t *avr = avr_make_mcu_by_name(mcu);
  if (!avr) die("unknown MCU");
  avr_init(avr);
  avr->log = LOG_ERROR;
  avr_load_firmware(avr, &fw);
  avr->frequency = 16000000;
  avr->vcc = avr->avcc = avr->aref = 5000;

  pins_t pins = {0};
  load_timeline(timeline, &pins);
  if (eeprom) eeprom_load(avr, eeprom);

  // The pty thread must never take our signals: an interrupted select() ends it for good.
  sigset_t blocked, previous;
  sigfillset(&blocked);
  pthread_sigmask(SIG_BLOCK, &blocked, &previous);
  uart_pty_init(avr, &uart_pty);
  pthread_sigmask(SIG_SETMASK, &previous, NULL);
  uart_pty_connect(&uart_pty, '0');
  unlink(pty);
  if (symlink(uart_pty.pty.slavename, pty) != 0) {
    perror(pty);
    return 2;
  }
  if (pins.dht_port) dht_attach(avr, pins.dht_port, pins.dht_bit);
  if (pins.gps_port) gps_attach(avr, pins.gps_port, pins.gps_bit, pins.gps_baud);
  adc_update(avr, 0);

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGUSR1, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  printf("pty %s -> %s\n", pty, uart_pty.pty.slavename);
  fflush(stdout);

  // Throttle: simulated time never runs ahead of the wall clock by more than 2 ms.
  const avr_cycle_count_t slice = avr->frequency / 1000;  // 1 ms of AVR time
  double wall0 = wall_now();
  avr_cycle_count_t cycle0 = avr->cycle;
  double next_save = 0;
  while (!want_stop) {
    avr_cycle_count_t until = avr->cycle + slice;
    while (avr->cycle < until) {
      int state = avr_run(avr);
      if (state == cpu_Done || state == cpu_Crashed) {
        fprintf(stderr, "simavr-runner: the MCU stopped (state %d)\n", state);
        if (eeprom) eeprom_save(avr, eeprom, 0);
        return 1;
      }
    }
    adc_update(avr, sim_seconds(avr));
    double ahead = (double)(avr->cycle - cycle0) / avr->frequency - (wall_now() - wall0);
    if (ahead > 0.002) {
      struct timespec ts = {0, (long)(ahead * 1e9)};
      nanosleep(&ts, NULL);
    } else if (ahead < -0.5) {  // host too slow (or suspended): do not try to catch up
      wall0 = wall_now();
      cycle0 = avr->cycle;
    }
    if (eeprom && wall_now() >= next_save) {
      eeprom_save(avr, eeprom, 0);
      next_save = wall_now() + 0.2;
    }
    if (want_reset) {
      want_reset = 0;
      if (eeprom) eeprom_save(avr, eeprom, 0);
      avr_reset(avr);
      parts_after_reset(avr);
      fprintf(stderr, "simavr-runner: MCU reset\n");
    }
  }
  if (eeprom) eeprom_save(avr, eeprom, 0);
  unlink(pty);
  // uart_pty_stop() is not called: it hangs (see docs); process exit closes the pty.
  return 0;
}
