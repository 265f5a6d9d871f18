// Insole board: one per foot, eight FSR pressure sensors (ATmega328P Nano: the only Arduino
// form factor with all of A0-A7 as analog inputs).
//
// Build with -DFOOT_LEFT or -DFOOT_RIGHT: the role in HELLO (INSOLE_LEFT / INSOLE_RIGHT) and the
// default device id (2 / 3) come from it.
//
// Wiring (docs/hardware.md): FSR k from 5 V to Ak, 10 kOhm from Ak to ground, for k = 0..7; the
// channel map says channel k is sensor k of the insole layout (processing/layouts/). LED PB5 (D13):
// lit while streaming.
//
// Sampling: Timer1 in CTC mode ticks at the requested rate (1..1000 Hz; the rig uses 100..1000).
// Its compare interrupt starts the conversion of A0 at once, so the sample instant is the tick plus
// a fixed interrupt entry time (jitter: only the few microseconds another interrupt may delay it);
// each conversion-complete interrupt starts the next channel; after A7 the scan is handed to the
// main loop, which frames and queues it. The ADC clock prescaler is chosen for the rate
// (timing::adc_prescaler_for_rate): /128 (125 kHz, full 10-bit accuracy) up to 721 Hz, /64
// (250 kHz) above. A tick that finds the previous scan still running, or a finished scan the main
// loop had not sent yet, is reported as SAMPLE_OVERRUN; a channel at full scale as ADC_SATURATED.
#include <Arduino.h>
#include <avr/interrupt.h>
#include <avr/io.h>
#include <util/atomic.h>

#include "avr_board.h"
#include "link.h"
#include "protocol.h"
#include "sampling.h"
#include "version.h"

#if defined(FOOT_LEFT) && !defined(FOOT_RIGHT)
#define INSOLE_ROLE proto::kRoleInsoleLeft
#define INSOLE_DEVICE_ID 2
#elif defined(FOOT_RIGHT) && !defined(FOOT_LEFT)
#define INSOLE_ROLE proto::kRoleInsoleRight
#define INSOLE_DEVICE_ID 3
#else
#error "build the insole board with exactly one of -DFOOT_LEFT or -DFOOT_RIGHT"
#endif

#ifndef GAITRIG_DEFAULT_SERIAL
#define GAITRIG_DEFAULT_SERIAL 0ul
#endif

#ifndef INSOLE_DEFAULT_RATE_HZ
#define INSOLE_DEFAULT_RATE_HZ 500
#endif

namespace {

const uint8_t kChannels = insole::kChannels;
const uint8_t kAdmuxBase = _BV(REFS0);  // AVcc reference (5 V, 100 nF on AREF), right-adjusted
const uint8_t kChannelMap[kChannels] = {0, 1, 2, 3, 4, 5, 6, 7};

board::Link g_link;
board::Identity g_identity;
timing::Timer1Config g_timer;
volatile uint8_t g_adps;  // ADC prescaler bits for the current rate

volatile bool g_enabled;    // sampling allowed (between START and STOP)
volatile bool g_scanning;   // a scan of A0..A7 is in progress
volatile uint8_t g_channel;  // channel being converted
volatile uint32_t g_scan_us;  // board time of the scan's tick
int16_t g_scan[kChannels];    // written by the ADC interrupt only

volatile bool g_done;          // a finished scan waits for the main loop
volatile uint32_t g_done_us;
int16_t g_done_values[kChannels];
volatile uint8_t g_overruns;  // ticks or scans lost since the main loop last looked

inline void bump_overruns() {
  if (g_overruns < 0xFF) g_overruns = g_overruns + 1;
}

// --- link hooks -------------------------------------------------------------------------------

uint8_t set_rate(uint16_t rate_hz) {
  timing::Timer1Config cfg;
  if (!insole::rate_valid(rate_hz) || !timing::timer1_for_rate(F_CPU, rate_hz, &cfg)) {
    return proto::kAckInvalidArgument;
  }
  uint8_t div;
  g_timer = cfg;  // applied by the next start()
  g_adps = timing::adc_prescaler_for_rate(F_CPU, rate_hz, kChannels, &div);
  return proto::kAckOk;
}

void start() {
  ATOMIC_BLOCK(ATOMIC_RESTORESTATE) {
    g_scanning = false;
    g_done = false;
    g_overruns = 0;
    g_enabled = true;
    ADMUX = kAdmuxBase;
    ADCSRA = _BV(ADEN) | g_adps;  // idle, at the rate's ADC clock
    TCCR1A = 0;
    TCCR1B = 0;
    TCNT1 = 0;
    OCR1A = g_timer.ocr;
    TIFR1 = _BV(OCF1A);
    TIMSK1 = _BV(OCIE1A);
    TCCR1B = _BV(WGM12) | g_timer.cs_bits;  // CTC, TOP = OCR1A
  }
  avr_board::led(true);
}

void stop() {
  ATOMIC_BLOCK(ATOMIC_RESTORESTATE) {
    g_enabled = false;
    TIMSK1 = 0;
    TCCR1B = 0;
  }
  while (g_scanning) {
  }  // the conversion under way ends within one conversion time (< 110 us)
  g_done = false;
  avr_board::led(false);
}

const board::Hooks kHooks = {avr_board::uart_write, set_rate, start, stop};

}  // namespace

// Sample tick: start A0 first (the sample instant), then take the timestamp.
ISR(TIMER1_COMPA_vect) {
  if (g_scanning) {
    bump_overruns();
    return;
  }
  ADCSRA = _BV(ADEN) | _BV(ADSC) | _BV(ADIE) | g_adps;
  g_scanning = true;
  g_channel = 0;
  g_scan_us = micros();
}

ISR(ADC_vect) {
  uint8_t ch = g_channel;
  g_scan[ch] = (int16_t)ADC;
  if (!g_enabled) {
    ADMUX = kAdmuxBase;
    g_scanning = false;
    return;
  }
  if (++ch < kChannels) {
    ADMUX = kAdmuxBase | ch;
    ADCSRA = _BV(ADEN) | _BV(ADSC) | _BV(ADIE) | g_adps;
    g_channel = ch;
    return;
  }
  ADMUX = kAdmuxBase;  // ready for the next tick
  if (g_done) bump_overruns();  // the main loop never sent the previous scan
  for (uint8_t c = 0; c < kChannels; ++c) g_done_values[c] = g_scan[c];
  g_done_us = g_scan_us;
  g_done = true;
  g_scanning = false;
}

void setup() {
  TCCR1A = 0;
  TCCR1B = 0;
  TIMSK1 = 0;
  DIDR0 = 0x3F;  // no digital input buffers on A0..A5 (A6, A7 have none)
  ADMUX = kAdmuxBase;

  avr_board::Identity id;
  avr_board::load_identity(INSOLE_DEVICE_ID, GAITRIG_DEFAULT_SERIAL, &id);
  g_identity.role = INSOLE_ROLE;
  g_identity.device_id = id.device_id;
  g_identity.serial_number = id.serial_number;
  g_identity.firmware[0] = GAITRIG_FW_MAJOR;
  g_identity.firmware[1] = GAITRIG_FW_MINOR;
  g_identity.firmware[2] = GAITRIG_FW_PATCH;
  g_identity.channel_map = kChannelMap;
  g_identity.channel_count = kChannels;

  set_rate(INSOLE_DEFAULT_RATE_HZ);
  avr_board::uart_init();
  avr_board::led(false);
  g_link.init(&g_identity, &kHooks, INSOLE_DEFAULT_RATE_HZ);
  g_link.send_hello(micros());  // once at boot; the board stays stopped until START
}

void loop() {
  uint8_t byte;
  while (avr_board::uart_read(&byte)) g_link.receive(byte, micros());

  int16_t values[kChannels];
  bool have = false;
  uint32_t ts = 0;
  uint8_t overruns;
  ATOMIC_BLOCK(ATOMIC_RESTORESTATE) {
    if (g_done) {
      for (uint8_t c = 0; c < kChannels; ++c) values[c] = g_done_values[c];
      ts = g_done_us;
      g_done = false;
      have = true;
    }
    overruns = g_overruns;
    g_overruns = 0;
  }
  if (overruns) g_link.report(proto::kSampleOverrun, 0);
  if (have && g_link.streaming()) {
    uint16_t saturated = insole::saturated_mask(values, kChannels);
    if (saturated) g_link.report(proto::kAdcSaturated, saturated);
    g_link.send_data16(ts, values, kChannels);
  }
  g_link.service(micros());
}
