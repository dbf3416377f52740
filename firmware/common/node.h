// What every node shares: UART at 9600 8N1, boot counter, hello frame, sequence numbers,
// the report timer. Build-time settings (Makefile): NODE_ID, FW_VERSION, REPORT_INTERVAL_S.
#pragma once
#include <stdint.h>

#include "frame.h"

#ifndef NODE_ID
#error "NODE_ID must be set at build time (-DNODE_ID=\"orchid-01\")"
#endif
#ifndef FW_VERSION
#define FW_VERSION "1.0.0"
#endif
#ifndef REPORT_INTERVAL_S
#error "REPORT_INTERVAL_S must be set at build time"
#endif

#define NODE_BAUD 9600

// Opens the UART, bumps the EEPROM boot counter and sends the hello frame (seq 0).
void node_begin(const char *profile);
// Starts a reading (R) or event (E) frame with the next sequence number.
void node_frame(Frame *f, char kind);
// Finishes the frame (CRC) and writes it; an overflowing frame is never sent half-made.
void node_send(Frame *f);
// True once per REPORT_INTERVAL_S (the first report comes one interval after boot).
bool node_report_due(void);
