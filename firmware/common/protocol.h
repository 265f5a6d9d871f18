// Wire protocol v1 (docs/protocol.md), the firmware side.
//
// Portable C++ (avr-g++ 5.4 with -std=gnu++11 and host g++): no heap, no standard library beyond
// <stdint.h>/<stddef.h>/<string.h>. The Python twin is drivers/protocol.py; both are checked against
// tests/vectors/protocol.json (firmware/host/test_protocol.cpp).
//
// A frame on the wire is COBS(header | payload | crc) 0x00:
//   header  type u8 | device_id u8 | seq u16 | timestamp_us u32   (8 bytes, little-endian)
//   crc     CRC-16/CCITT-FALSE over header | payload, u16 little-endian
#ifndef GAITRIG_PROTOCOL_H
#define GAITRIG_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

namespace proto {

static const uint8_t kProtocolVersion = 1;
static const uint8_t kHeaderBytes = 8;
static const uint8_t kCrcBytes = 2;
static const uint16_t kMaxPayloadBytes = 255;
// Longest decoded frame (header + payload + CRC), bytes.
static const uint16_t kMaxFrameBytes = kHeaderBytes + kMaxPayloadBytes + kCrcBytes;
static const uint8_t kBroadcastDevice = 0xFF;

enum MessageType : uint8_t {
  kHello = 0x01,
  kData = 0x02,
  kStatus = 0x03,
  kAck = 0x04,
  kCmdStart = 0x10,
  kCmdStop = 0x11,
  kCmdSetRate = 0x12,
  kCmdIdentify = 0x13,
};

enum Role : uint8_t {
  kRoleBars = 1,
  kRoleInsoleLeft = 2,
  kRoleInsoleRight = 3,
};

enum StatusFlag : uint16_t {
  kAmplifierNotReady = 0x0001,  // an HX711 did not signal data ready within 2 sample periods
  kTxOverflow = 0x0002,         // frames dropped: the transmit buffer was full
  kSampleOverrun = 0x0004,      // a sample tick came before the previous sample was taken
  kAdcSaturated = 0x0008,       // a channel read its full-scale value
  kBadCommand = 0x0010,         // a command frame was malformed
};

enum AckResult : uint8_t {
  kAckOk = 0,
  kAckInvalidArgument = 1,
  kAckUnsupported = 2,
  kAckBadState = 3,
};

// ---------------------------------------------------------------------------------------------
// Little-endian helpers

inline void put_u16(uint8_t* p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}

inline void put_u32(uint8_t* p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}

inline uint16_t get_u16(const uint8_t* p) { return (uint16_t)(p[0] | ((uint16_t)p[1] << 8)); }

inline uint32_t get_u32(const uint8_t* p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

// ---------------------------------------------------------------------------------------------
// CRC-16/CCITT-FALSE: polynomial 0x1021, initial value 0xFFFF, no reflection, no final XOR.
// Byte-at-a-time without a table (about 20 AVR instructions a byte, no flash for a table).

inline uint16_t crc16_update(uint16_t crc, uint8_t byte) {
  uint8_t x = (uint8_t)((crc >> 8) ^ byte);
  x ^= (uint8_t)(x >> 4);
  return (uint16_t)((crc << 8) ^ ((uint16_t)x << 12) ^ ((uint16_t)x << 5) ^ x);
}

inline uint16_t crc16(const uint8_t* data, size_t n, uint16_t crc = 0xFFFF) {
  for (size_t i = 0; i < n; ++i) crc = crc16_update(crc, data[i]);
  return crc;
}

// ---------------------------------------------------------------------------------------------
// COBS (Cheshire & Baker 1999), byte for byte like Python's `cobs` package: a run of 254 non-zero
// bytes that ends the input is closed by its 0xFF code alone (no trailing empty block).

// Longest COBS encoding of n bytes (without the 0x00 delimiter).
inline size_t cobs_max_encoded(size_t n) { return n + n / 254 + 1; }

// Encodes n bytes of src into dst (which must hold cobs_max_encoded(n) bytes); returns the length.
// Does not append the 0x00 delimiter. src and dst must not overlap.
inline size_t cobs_encode(const uint8_t* src, size_t n, uint8_t* dst) {
  size_t code_at = 0;
  size_t out = 1;
  uint8_t code = 1;
  for (size_t i = 0; i < n; ++i) {
    if (src[i] == 0) {
      dst[code_at] = code;
      code_at = out++;
      code = 1;
    } else {
      dst[out++] = src[i];
      if (++code == 0xFF && i + 1 < n) {
        dst[code_at] = code;
        code_at = out++;
        code = 1;
      }
    }
  }
  dst[code_at] = code;
  return out;
}

static const size_t kCobsError = (size_t)-1;

// Decodes n COBS bytes (no delimiter) into dst; returns the decoded length, or kCobsError when the
// input contains a zero byte or a block runs past its end. dst may equal src (decoding in place is
// safe: the output never overtakes the input).
inline size_t cobs_decode(const uint8_t* src, size_t n, uint8_t* dst) {
  size_t in = 0;
  size_t out = 0;
  while (in < n) {
    uint8_t code = src[in++];
    if (code == 0) return kCobsError;
    for (uint8_t k = 1; k < code; ++k) {
      if (in >= n) return kCobsError;
      uint8_t b = src[in++];
      if (b == 0) return kCobsError;
      dst[out++] = b;
    }
    if (code != 0xFF && in < n) dst[out++] = 0;
  }
  return out;
}

// Encodes a decoded frame for the wire: COBS plus the 0x00 delimiter. `wire` must hold
// cobs_max_encoded(n) + 1 bytes. Returns the number of wire bytes.
inline size_t encode_wire(const uint8_t* frame, size_t n, uint8_t* wire) {
  size_t len = cobs_encode(frame, n, wire);
  wire[len] = 0;
  return len + 1;
}

// ---------------------------------------------------------------------------------------------
// Building frames

// Writes header | payload | crc into caller-provided storage. Writing past the capacity (or past
// 255 payload bytes) is refused and remembered: ok() turns false and finish() returns 0.
class FrameBuilder {
 public:
  FrameBuilder(uint8_t* storage, uint16_t capacity) : buf_(storage), cap_(capacity), len_(0), ok_(true) {}

  void begin(uint8_t type, uint8_t device_id, uint16_t seq, uint32_t timestamp_us) {
    len_ = 0;
    ok_ = true;
    u8(type);
    u8(device_id);
    u16(seq);
    u32(timestamp_us);
  }
  void u8(uint8_t v) {
    if (room(1)) buf_[len_++] = v;
  }
  void u16(uint16_t v) {
    if (room(2)) {
      put_u16(buf_ + len_, v);
      len_ += 2;
    }
  }
  void u32(uint32_t v) {
    if (room(4)) {
      put_u32(buf_ + len_, v);
      len_ += 4;
    }
  }
  // Appends the CRC; returns the frame length, or 0 when the frame did not fit.
  uint16_t finish() {
    if (!ok_) return 0;
    put_u16(buf_ + len_, crc16(buf_, len_));  // room() kept these two bytes free
    len_ += kCrcBytes;
    return len_;
  }
  const uint8_t* data() const { return buf_; }
  uint16_t size() const { return len_; }
  bool ok() const { return ok_; }

 private:
  bool room(uint16_t n) {
    // Always leave room for the CRC; never more than 255 payload bytes.
    if ((uint32_t)len_ + n + kCrcBytes > cap_ || (uint32_t)len_ + n > kHeaderBytes + kMaxPayloadBytes) {
      ok_ = false;
      return false;
    }
    return true;
  }
  uint8_t* buf_;
  uint16_t cap_;
  uint16_t len_;
  bool ok_;
};

// HELLO: role, protocol version, firmware version, channel count, rate, serial number, channel map.
inline void build_hello(FrameBuilder& b, uint8_t device_id, uint16_t seq, uint32_t ts, uint8_t role,
                        const uint8_t firmware[3], uint16_t sample_rate_hz, uint32_t serial_number,
                        const uint8_t* channel_map, uint8_t channel_count) {
  b.begin(kHello, device_id, seq, ts);
  b.u8(role);
  b.u8(kProtocolVersion);
  b.u8(firmware[0]);
  b.u8(firmware[1]);
  b.u8(firmware[2]);
  b.u8(channel_count);
  b.u16(sample_rate_hz);
  b.u32(serial_number);
  for (uint8_t i = 0; i < channel_count; ++i) b.u8(channel_map[i]);
}

// DATA with 2-byte values (insole boards: ADC counts).
inline void build_data16(FrameBuilder& b, uint8_t device_id, uint16_t seq, uint32_t ts,
                         const int16_t* values, uint8_t count) {
  b.begin(kData, device_id, seq, ts);
  b.u8(2);
  for (uint8_t i = 0; i < count; ++i) b.u16((uint16_t)values[i]);
}

// DATA with 4-byte values (bars board: HX711 24-bit readings, sign-extended).
inline void build_data32(FrameBuilder& b, uint8_t device_id, uint16_t seq, uint32_t ts,
                         const int32_t* values, uint8_t count) {
  b.begin(kData, device_id, seq, ts);
  b.u8(4);
  for (uint8_t i = 0; i < count; ++i) b.u32((uint32_t)values[i]);
}

inline void build_status(FrameBuilder& b, uint8_t device_id, uint16_t seq, uint32_t ts, uint16_t flags,
                         uint16_t channel_mask, uint16_t dropped_frames) {
  b.begin(kStatus, device_id, seq, ts);
  b.u16(flags);
  b.u16(channel_mask);
  b.u16(dropped_frames);
}

inline void build_ack(FrameBuilder& b, uint8_t device_id, uint16_t seq, uint32_t ts, uint8_t command,
                      uint16_t command_seq, uint8_t result) {
  b.begin(kAck, device_id, seq, ts);
  b.u8(command);
  b.u16(command_seq);
  b.u8(result);
}

// Host commands (used by the host tests and tools; the boards only parse them).
inline void build_command(FrameBuilder& b, uint8_t type, uint8_t device_id, uint16_t seq,
                          uint16_t rate_hz) {
  b.begin(type, device_id, seq, 0);
  if (type == kCmdSetRate) b.u16(rate_hz);
}

// ---------------------------------------------------------------------------------------------
// Parsing frames

struct Frame {
  uint8_t type;
  uint8_t device_id;
  uint16_t seq;
  uint32_t timestamp_us;
  const uint8_t* payload;
  uint16_t payload_len;
};

enum FrameCheck : uint8_t {
  kFrameOk = 0,
  kFrameTooShort,  // fewer bytes than header + CRC
  kFrameBadCrc,
};

// Checks the CRC of a decoded frame (header | payload | crc) and splits it into its fields.
inline FrameCheck check_frame(const uint8_t* frame, size_t n, Frame* out) {
  if (n < (size_t)kHeaderBytes + kCrcBytes) return kFrameTooShort;
  if (crc16(frame, n - kCrcBytes) != get_u16(frame + n - kCrcBytes)) return kFrameBadCrc;
  out->type = frame[0];
  out->device_id = frame[1];
  out->seq = get_u16(frame + 2);
  out->timestamp_us = get_u32(frame + 4);
  out->payload = frame + kHeaderBytes;
  out->payload_len = (uint16_t)(n - kHeaderBytes - kCrcBytes);
  return kFrameOk;
}

struct Command {
  uint8_t type;     // kCmdStart, kCmdStop, kCmdSetRate or kCmdIdentify
  uint16_t rate_hz;  // SET_RATE only
};

enum CommandCheck : uint8_t {
  kCommandOk = 0,
  kCommandUnknown,    // CRC right, but not a host command this protocol version knows
  kCommandMalformed,  // a known command with a payload of the wrong length
};

inline CommandCheck parse_command(const Frame& f, Command* out) {
  out->type = f.type;
  out->rate_hz = 0;
  switch (f.type) {
    case kCmdStart:
    case kCmdStop:
    case kCmdIdentify:
      return f.payload_len == 0 ? kCommandOk : kCommandMalformed;
    case kCmdSetRate:
      if (f.payload_len != 2) return kCommandMalformed;
      out->rate_hz = get_u16(f.payload);
      return kCommandOk;
    default:
      return kCommandUnknown;
  }
}

// ---------------------------------------------------------------------------------------------
// Reassembling frames from a byte stream

// Collects COBS bytes up to a 0x00 delimiter, decodes them in place and checks the CRC.
// Input longer than the buffer is dropped whole (up to the next delimiter), like the host decoder.
class FrameAssembler {
 public:
  enum Result : uint8_t {
    kNothing = 0,  // byte stored, frame not complete
    kComplete,     // frame() holds a valid frame
    kEmpty,        // a lone delimiter (harmless: hosts may send one to resync)
    kOversize,     // frame longer than the buffer, dropped
    kBadCobs,
    kTooShort,
    kBadCrc,
  };

  FrameAssembler(uint8_t* storage, uint16_t capacity) : buf_(storage), cap_(capacity), len_(0), discarding_(false) {}

  Result push(uint8_t byte) {
    if (byte != 0) {
      if (discarding_) return kNothing;
      if (len_ >= cap_) {
        discarding_ = true;
        len_ = 0;
        return kOversize;
      }
      buf_[len_++] = byte;
      return kNothing;
    }
    uint16_t n = len_;
    len_ = 0;
    if (discarding_) {
      discarding_ = false;
      return kNothing;
    }
    if (n == 0) return kEmpty;
    size_t m = cobs_decode(buf_, n, buf_);
    if (m == kCobsError) return kBadCobs;
    switch (check_frame(buf_, m, &frame_)) {
      case kFrameOk:
        return kComplete;
      case kFrameTooShort:
        return kTooShort;
      default:
        return kBadCrc;
    }
  }

  const Frame& frame() const { return frame_; }

 private:
  uint8_t* buf_;
  uint16_t cap_;
  uint16_t len_;
  bool discarding_;
  Frame frame_;
};

}  // namespace proto

#endif  // GAITRIG_PROTOCOL_H
