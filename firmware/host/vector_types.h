// Shapes of the protocol test vectors (tests/vectors/protocol.json) as the generated header
// build/host/protocol_vectors.h fills them in.
#pragma once
#include <stdint.h>

#include "protocol.h"

struct VectorMessage {
  uint8_t type{};
  uint8_t device_id{};
  uint16_t seq{};
  uint32_t timestamp_us{};
  // HELLO
  uint8_t role{};
  uint8_t protocol_version{};
  uint8_t firmware[3]{};
  uint16_t sample_rate_hz{};
  uint32_t serial_number{};
  uint8_t channel_map[16]{};
  uint8_t channel_count{};
  // DATA
  uint8_t value_bytes{};
  int32_t values[16]{};
  uint8_t value_count{};
  // STATUS
  uint16_t flags{};
  uint16_t channel_mask{};
  uint16_t dropped_frames{};
  // ACK
  uint8_t command{};
  uint16_t command_seq{};
  uint8_t result{};
  // host commands
  uint16_t rate_hz{};
};

struct ValidVector {
  const char* name;
  const uint8_t* wire;
  uint16_t wire_len;
  const uint8_t* frame;
  uint16_t frame_len;
  VectorMessage message;
};

struct InvalidVector {
  const char* name;
  const uint8_t* wire;
  uint16_t wire_len;
  const char* counter;
  VectorMessage then_valid;
};
