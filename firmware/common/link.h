// The board's side of a protocol v1 session, shared by every board role and free of hardware
// access (the host tests drive it with fake hooks): sequence numbers, HELLO, DATA, STATUS
// accumulation and rate limiting, command parsing, ACKs and the start/stop state.
//
// Frames are handed to Hooks::write whole; when the transmit buffer cannot take one, it is dropped
// (never half-sent), counted, and reported in the next STATUS as TX_OVERFLOW with the number
// dropped. A dropped frame still spends its sequence number, so the host sees the gap where it was
// (as the virtual rig's boards do, drivers/virtual/boards.py).
//
// Commands: IDENTIFY answers HELLO then ACK; START and STOP are acknowledged whether or not the
// board was already in that state; SET_RATE asks the board (Hooks::set_rate) and, while streaming,
// restarts the stream at the new rate; a valid frame of a type this version does not know gets
// ACK "unsupported"; a damaged or malformed command (bad COBS or CRC, wrong payload length) gets
// no ACK but STATUS BAD_COMMAND. Commands for another device id are ignored.
#ifndef GAITRIG_LINK_H
#define GAITRIG_LINK_H

#include <stdint.h>

#include "protocol.h"

namespace board {

// What the board says about itself in HELLO.
struct Identity {
  uint8_t role;        // proto::Role
  uint8_t device_id;   // 1 bars, 2 left insole, 3 right insole by default
  uint32_t serial_number;
  uint8_t firmware[3];  // major, minor, patch
  const uint8_t* channel_map;
  uint8_t channel_count;
};

// What the link needs from the board.
struct Hooks {
  // Queue `n` wire bytes (one whole frame) for sending; false if they do not all fit.
  bool (*write)(const uint8_t* wire, uint8_t n);
  // Check and apply a sample rate for the next start(); returns a proto::AckResult.
  uint8_t (*set_rate)(uint16_t rate_hz);
  void (*start)(void);  // begin sampling at the current rate
  void (*stop)(void);   // stop sampling; a sample taken but not yet sent is discarded
};

// At most one STATUS per this many microseconds (protocol: at most 10 per second).
static const uint32_t kStatusIntervalUs = 100000ul;
// Largest frame a board builds: HELLO with 16 channels is 38 bytes, DATA with 16 x 4 bytes is 75.
static const uint8_t kMaxFrameBytes = 80;
// Command frames are 10-12 bytes decoded; 24 leaves room for COBS and a little junk.
static const uint8_t kRxFrameBytes = 24;

class Link {
 public:
  void init(const Identity* identity, const Hooks* hooks, uint16_t rate_hz);

  // One byte received from the host; handles a command when it completes one.
  void receive(uint8_t byte, uint32_t now_us);

  bool send_hello(uint32_t now_us);
  bool send_data16(uint32_t timestamp_us, const int16_t* values, uint8_t count);
  bool send_data32(uint32_t timestamp_us, const int32_t* values, uint8_t count);

  // Remember a problem for the next STATUS (flags are proto::StatusFlag, mask = channels).
  void report(uint16_t flags, uint16_t channel_mask);
  // Send a STATUS if something is pending and the last one is at least 100 ms old.
  void service(uint32_t now_us);

  bool streaming() const { return streaming_; }
  uint16_t rate_hz() const { return rate_hz_; }
  uint16_t next_seq() const { return seq_; }

  // Totals since boot, for tests and debugging.
  uint32_t frames_sent() const { return frames_sent_; }
  uint32_t frames_dropped() const { return frames_dropped_total_; }
  uint16_t commands_handled() const { return commands_; }

 private:
  bool send(proto::FrameBuilder& b);
  void handle(const proto::Frame& frame, uint32_t now_us);
  void ack(uint8_t command, uint16_t command_seq, uint8_t result, uint32_t now_us);

  const Identity* id_;
  const Hooks* hooks_;
  uint16_t rate_hz_;
  bool streaming_;
  uint16_t seq_;
  uint16_t pending_flags_;
  uint16_t pending_mask_;
  uint16_t dropped_;  // since the last STATUS, saturating
  bool status_tried_;
  uint32_t last_status_us_;
  uint32_t frames_sent_;
  uint32_t frames_dropped_total_;
  uint16_t commands_;
  uint8_t rx_buf_[kRxFrameBytes];
  proto::FrameAssembler rx_{rx_buf_, kRxFrameBytes};
};

}  // namespace board

#endif  // GAITRIG_LINK_H
