// Bars board: four HX711 load-cell amplifiers under the parallel bars (ATmega328P, Uno or Nano).
//
// Channels (docs/protocol.md): 0 left bar front post, 1 left bar rear post, 2 right bar front
// post, 3 right bar rear post. Wiring (docs/hardware.md):
//   HX711 n  DOUT -> PD2+n (D2..D5, input with pull-up: an unplugged amplifier reads "not ready")
//            PD_SCK <- PB0+n (D8..D11)
//   all four RATE  <- PB4 (D12): high = 80 samples/s, low = 10 samples/s
//   LED  PB5 (D13): lit while streaming
//
// Sampling: each HX711 converts on its own oscillator (80 or 10 samples/s by its RATE pin). The main
// loop watches the four DOUT lines and reads every amplifier as soon as it signals data ready
// (DOUT low), those ready together in parallel on one train of 25 clock pulses (24 data bits + 1
// keeping channel A, gain 128 for the next conversion), so no conversion is missed whatever the
// phase between the amplifiers and the board. Timer1 ticks at the requested rate in the board's own
// time; each tick sends one DATA frame with the latest reading of every channel and the tick's
// timestamp. A channel with no new reading since the previous tick keeps its value; one that has
// had none for 2 ticks in a row (unplugged, unpowered, broken) is reported in STATUS
// AMPLIFIER_NOT_READY with its channel bit, at most 10 times a second while it lasts.
#include <Arduino.h>
#include <avr/interrupt.h>
#include <avr/io.h>
#include <util/atomic.h>
#include <util/delay.h>

#include "avr_board.h"
#include "link.h"
#include "protocol.h"
#include "sampling.h"
#include "version.h"

#ifndef GAITRIG_DEFAULT_SERIAL
#define GAITRIG_DEFAULT_SERIAL 0ul
#endif

namespace {

const uint8_t kDoutShift = 2;  // DOUT of channel c is PD(2 + c)
const uint8_t kDoutMask = 0x0F << kDoutShift;
const uint8_t kSckMask = 0x0F;  // SCK of channel c is PB(c)
const uint8_t kRatePin = _BV(PORTB4);
const uint16_t kDefaultRateHz = 80;

const uint8_t kChannelMap[hx711::kChannels] = {0, 1, 2, 3};

board::Link g_link;
board::Identity g_identity;
timing::Timer1Config g_timer;
hx711::ReadyTracker g_ready;
int32_t g_values[hx711::kChannels];
uint8_t g_fresh;  // channels read since the last tick

volatile uint8_t g_ticks;     // ticks not handled yet by the main loop
volatile uint32_t g_tick_us;  // board time of the latest tick

// Reads every channel in `mask` at once; raw[c] gets channel c's 24 bits, MSB first.
// Datasheet timing: PD_SCK high 0.2..50 us (T3; above 60 us the HX711 powers down), low >= 0.2 us
// (T4), DOUT valid 0.1 us after the rising edge (T2). Interrupts are held off only while SCK is
// high (about 1.2 us), so a long interrupt can never stretch a pulse into a power-down.
void read_amplifiers(uint8_t mask, uint32_t raw[hx711::kChannels]) {
  for (uint8_t c = 0; c < hx711::kChannels; ++c) raw[c] = 0;
  const uint8_t sck = mask & kSckMask;
  for (uint8_t pulse = 0; pulse < hx711::kPulsesGain128; ++pulse) {
    uint8_t pins;
    ATOMIC_BLOCK(ATOMIC_RESTORESTATE) {
      PORTB |= sck;
      _delay_us(1);
      pins = PIND;
      PORTB &= (uint8_t)~sck;
    }
    if (pulse < hx711::kDataBits) hx711::shift_in(raw, (uint8_t)((pins & kDoutMask) >> kDoutShift), mask);
    _delay_us(1);
  }
}

// Reads the amplifiers that have a conversion waiting (DOUT low).
void poll_amplifiers() {
  const uint8_t ready = (uint8_t)((~PIND & kDoutMask) >> kDoutShift);
  if (!ready) return;
  uint32_t raw[hx711::kChannels];
  read_amplifiers(ready, raw);
  for (uint8_t c = 0; c < hx711::kChannels; ++c) {
    if (ready & (1u << c)) g_values[c] = hx711::sign_extend24(raw[c]);
  }
  g_fresh |= ready;
}

void send_sample(uint32_t tick_us) {
  const uint8_t late = g_ready.update(g_fresh);
  g_fresh = 0;
  if (late) g_link.report(proto::kAmplifierNotReady, late);
  g_link.send_data32(tick_us, g_values, hx711::kChannels);
}

// --- link hooks -------------------------------------------------------------------------------

uint8_t set_rate(uint16_t rate_hz) {
  if (!bars::rate_valid(rate_hz) || !timing::timer1_for_rate(F_CPU, rate_hz, &g_timer)) {
    return proto::kAckInvalidArgument;
  }
  if (rate_hz == 80) {
    PORTB |= kRatePin;
  } else {
    PORTB &= (uint8_t)~kRatePin;
  }
  return proto::kAckOk;
}

void start() {
  g_ready.reset();
  g_fresh = 0;
  ATOMIC_BLOCK(ATOMIC_RESTORESTATE) {
    g_ticks = 0;
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
    TIMSK1 = 0;
    TCCR1B = 0;
    g_ticks = 0;
  }
  avr_board::led(false);
}

const board::Hooks kHooks = {avr_board::uart_write, set_rate, start, stop};

}  // namespace

ISR(TIMER1_COMPA_vect) {
  g_tick_us = micros();
  if (g_ticks < 0xFF) g_ticks = g_ticks + 1;
}

void setup() {
  // Amplifier pins before anything else: SCK low keeps the HX711s powered up.
  PORTB &= (uint8_t)~kSckMask;
  DDRB |= kSckMask | kRatePin;
  DDRD &= (uint8_t)~kDoutMask;
  PORTD |= kDoutMask;  // pull-ups: a DOUT with no amplifier on it reads high (never ready)
  TCCR1A = 0;
  TCCR1B = 0;
  TIMSK1 = 0;

  avr_board::Identity id;
  avr_board::load_identity(1, GAITRIG_DEFAULT_SERIAL, &id);
  g_identity.role = proto::kRoleBars;
  g_identity.device_id = id.device_id;
  g_identity.serial_number = id.serial_number;
  g_identity.firmware[0] = GAITRIG_FW_MAJOR;
  g_identity.firmware[1] = GAITRIG_FW_MINOR;
  g_identity.firmware[2] = GAITRIG_FW_PATCH;
  g_identity.channel_map = kChannelMap;
  g_identity.channel_count = hx711::kChannels;

  set_rate(kDefaultRateHz);
  avr_board::uart_init();
  avr_board::led(false);
  g_link.init(&g_identity, &kHooks, kDefaultRateHz);
  g_link.send_hello(micros());  // once at boot; the board stays stopped until START
}

void loop() {
  uint8_t byte;
  while (avr_board::uart_read(&byte)) g_link.receive(byte, micros());
  poll_amplifiers();

  uint8_t ticks;
  uint32_t tick_us;
  ATOMIC_BLOCK(ATOMIC_RESTORESTATE) {
    ticks = g_ticks;
    g_ticks = 0;
    tick_us = g_tick_us;
  }
  if (ticks && g_link.streaming()) {
    if (ticks > 1) g_link.report(proto::kSampleOverrun, 0);
    send_sample(tick_us);
  }
  g_link.service(micros());
}
