// AVR hardware support shared by the boards: see avr_board.h.
#include "avr_board.h"

#include <avr/eeprom.h>
#include <avr/interrupt.h>
#include <avr/io.h>

#include "ring.h"

#if F_CPU != 16000000UL
#error "1,000,000 baud with UBRR0 = 1 and U2X0 needs a 16 MHz clock"
#endif

namespace {

// 256 bytes hold 8 insole DATA frames (29 bytes each): 2.5 ms of output at 1 Mbaud.
ByteRing<256> g_tx;
ByteRing<32> g_rx;
volatile uint8_t g_rx_errors;

}  // namespace

ISR(USART_RX_vect) {
  uint8_t status = UCSR0A;
  uint8_t b = UDR0;
  if ((status & (_BV(DOR0) | _BV(FE0))) || !g_rx.push(b)) {
    if (g_rx_errors < 0xFF) g_rx_errors = g_rx_errors + 1;
  }
}

ISR(USART_UDRE_vect) {
  uint8_t b;
  if (g_tx.pop(&b)) {
    UDR0 = b;
  } else {
    UCSR0B &= (uint8_t)~_BV(UDRIE0);
  }
}

namespace avr_board {

void uart_init() {
  g_tx.clear();
  g_rx.clear();
  g_rx_errors = 0;
  UCSR0B = 0;
  UBRR0H = 0;
  UBRR0L = 1;
  UCSR0A = _BV(U2X0);
  UCSR0C = _BV(UCSZ01) | _BV(UCSZ00);  // 8 data bits, no parity, 1 stop bit
  UCSR0B = _BV(RXEN0) | _BV(TXEN0) | _BV(RXCIE0);
}

bool uart_write(const uint8_t* data, uint8_t n) {
  if (!g_tx.push_all(data, n)) return false;
  // Read-modify-write without cli(): the interrupt can only clear UDRIE0 when the ring is empty,
  // and setting it again just costs one extra interrupt that finds nothing and clears it.
  UCSR0B |= _BV(UDRIE0);
  return true;
}

bool uart_read(uint8_t* byte) { return g_rx.pop(byte); }

uint8_t uart_rx_errors() { return g_rx_errors; }

void load_identity(uint8_t default_device_id, uint32_t default_serial, Identity* out) {
  uint8_t raw[8];
  eeprom_read_block(raw, (const void*)0, sizeof raw);
  if (raw[0] == 'G' && raw[1] == 'R' && raw[2] == 1) {
    out->device_id = raw[3];
    out->serial_number = (uint32_t)raw[4] | ((uint32_t)raw[5] << 8) | ((uint32_t)raw[6] << 16) |
                         ((uint32_t)raw[7] << 24);
  } else {
    out->device_id = default_device_id;
    out->serial_number = default_serial;
  }
}

void led(bool on) {
  DDRB |= _BV(DDB5);
  if (on) {
    PORTB |= _BV(PORTB5);
  } else {
    PORTB &= (uint8_t)~_BV(PORTB5);
  }
}

}  // namespace avr_board
