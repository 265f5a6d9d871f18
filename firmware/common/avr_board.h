// Hardware support shared by the boards (AVR only): the interrupt-driven UART at 1,000,000 baud
// and the board's identity stored in EEPROM.
#ifndef GAITRIG_AVR_BOARD_H
#define GAITRIG_AVR_BOARD_H

#include <stdint.h>

namespace avr_board {

// 1,000,000 baud, 8N1: U2X0 = 1, UBRR0 = 1 at 16 MHz (exact). Enables the receive interrupt.
void uart_init();
// Queues a whole frame for the transmit interrupt; false (nothing queued) when it does not fit.
// Never waits: sampling must not depend on the serial port.
bool uart_write(const uint8_t* data, uint8_t n);
// One received byte, if any.
bool uart_read(uint8_t* byte);
// Bytes lost because the receive ring was full or the UART overran (since boot, saturating).
uint8_t uart_rx_errors();

// Identity from EEPROM, or the build's defaults on a blank EEPROM.
// Layout at address 0: 'G' 'R' layout-version(1) device_id serial_number(u32 LE).
struct Identity {
  uint8_t device_id;
  uint32_t serial_number;
};
void load_identity(uint8_t default_device_id, uint32_t default_serial, Identity* out);

// The on-board LED (D13, PB5): lit while streaming.
void led(bool on);

}  // namespace avr_board

#endif  // GAITRIG_AVR_BOARD_H
