// The C++ protocol implementation against tests/vectors/protocol.json (the contract shared with
// drivers/protocol.py): every valid vector is reproduced byte for byte by the encoder and read back
// by the decoder; every damaged one is rejected and the valid frame after it still comes through.
#include <cstdlib>
#include <cstring>
#include <vector>

#include "check.h"
#include "protocol.h"
#include "protocol_vectors.h"

using namespace proto;

namespace {

// Builds the frame (header | payload | crc) a vector message describes, with the C++ builders.
uint16_t build(const VectorMessage& m, uint8_t* storage, uint16_t capacity) {
  FrameBuilder b(storage, capacity);
  switch (m.type) {
    case kHello:
      build_hello(b, m.device_id, m.seq, m.timestamp_us, m.role, m.firmware, m.sample_rate_hz,
                  m.serial_number, m.channel_map, m.channel_count);
      break;
    case kData:
      if (m.value_bytes == 2) {
        int16_t v[16];
        for (int i = 0; i < m.value_count; ++i) v[i] = (int16_t)m.values[i];
        build_data16(b, m.device_id, m.seq, m.timestamp_us, v, m.value_count);
      } else {
        build_data32(b, m.device_id, m.seq, m.timestamp_us, m.values, m.value_count);
      }
      break;
    case kStatus:
      build_status(b, m.device_id, m.seq, m.timestamp_us, m.flags, m.channel_mask, m.dropped_frames);
      break;
    case kAck:
      build_ack(b, m.device_id, m.seq, m.timestamp_us, m.command, m.command_seq, m.result);
      break;
    default:
      build_command(b, m.type, m.device_id, m.seq, m.rate_hz);
      break;
  }
  return b.finish();
}

// Checks that a decoded frame says what the vector message says, field by field.
void expect_message(const Frame& f, const VectorMessage& m) {
  CHECK_EQ(f.type, m.type);
  CHECK_EQ(f.device_id, m.device_id);
  CHECK_EQ(f.seq, m.seq);
  CHECK_EQ(f.timestamp_us, m.timestamp_us);
  const uint8_t* p = f.payload;
  switch (m.type) {
    case kHello:
      CHECK_EQ(f.payload_len, 12 + m.channel_count);
      CHECK_EQ(p[0], m.role);
      CHECK_EQ(p[1], m.protocol_version);
      CHECK_EQ(p[2], m.firmware[0]);
      CHECK_EQ(p[3], m.firmware[1]);
      CHECK_EQ(p[4], m.firmware[2]);
      CHECK_EQ(p[5], m.channel_count);
      CHECK_EQ(get_u16(p + 6), m.sample_rate_hz);
      CHECK_EQ(get_u32(p + 8), m.serial_number);
      for (int i = 0; i < m.channel_count && 12 + i < f.payload_len; ++i) CHECK_EQ(p[12 + i], m.channel_map[i]);
      break;
    case kData:
      CHECK_EQ(f.payload_len, 1 + m.value_bytes * m.value_count);
      CHECK_EQ(p[0], m.value_bytes);
      for (int i = 0; i < m.value_count && 1 + (i + 1) * m.value_bytes <= f.payload_len; ++i) {
        if (m.value_bytes == 2) {
          CHECK_EQ((int16_t)get_u16(p + 1 + 2 * i), m.values[i]);
        } else {
          CHECK_EQ((int32_t)get_u32(p + 1 + 4 * i), m.values[i]);
        }
      }
      break;
    case kStatus:
      CHECK_EQ(f.payload_len, 6);
      CHECK_EQ(get_u16(p), m.flags);
      CHECK_EQ(get_u16(p + 2), m.channel_mask);
      CHECK_EQ(get_u16(p + 4), m.dropped_frames);
      break;
    case kAck:
      CHECK_EQ(f.payload_len, 4);
      CHECK_EQ(p[0], m.command);
      CHECK_EQ(get_u16(p + 1), m.command_seq);
      CHECK_EQ(p[3], m.result);
      break;
    default: {
      Command cmd;
      CHECK_EQ(parse_command(f, &cmd), kCommandOk);
      CHECK_EQ(cmd.type, m.type);
      CHECK_EQ(cmd.rate_hz, m.rate_hz);
      break;
    }
  }
}

std::vector<uint8_t> cobs_reference_cases_input(int which) {
  // Cheshire & Baker's edge cases (as listed with the COBS algorithm): zeros, runs of exactly 254
  // and 255 non-zero bytes, with and without zeros around them.
  std::vector<uint8_t> v;
  switch (which) {
    case 0: v = {0x00}; break;
    case 1: v = {0x00, 0x00}; break;
    case 2: v = {0x11, 0x22, 0x00, 0x33}; break;
    case 3: v = {0x11, 0x22, 0x33, 0x44}; break;
    case 4: v = {0x11, 0x00, 0x00, 0x00}; break;
    case 5: for (int i = 1; i <= 254; ++i) v.push_back((uint8_t)i); break;
    case 6: v.push_back(0); for (int i = 1; i <= 254; ++i) v.push_back((uint8_t)i); break;
    case 7: for (int i = 1; i <= 255; ++i) v.push_back((uint8_t)i); break;
    case 8: for (int i = 2; i <= 255; ++i) v.push_back((uint8_t)i); v.push_back(0); break;
    case 9: for (int i = 3; i <= 255; ++i) v.push_back((uint8_t)i); v.push_back(0); v.push_back(1); break;
  }
  return v;
}

std::vector<uint8_t> cobs_reference_cases_output(int which) {
  std::vector<uint8_t> v;
  switch (which) {
    case 0: v = {0x01, 0x01}; break;
    case 1: v = {0x01, 0x01, 0x01}; break;
    case 2: v = {0x03, 0x11, 0x22, 0x02, 0x33}; break;
    case 3: v = {0x05, 0x11, 0x22, 0x33, 0x44}; break;
    case 4: v = {0x02, 0x11, 0x01, 0x01, 0x01}; break;
    case 5: v.push_back(0xFF); for (int i = 1; i <= 254; ++i) v.push_back((uint8_t)i); break;
    case 6: v = {0x01, 0xFF}; for (int i = 1; i <= 254; ++i) v.push_back((uint8_t)i); break;
    case 7: v.push_back(0xFF); for (int i = 1; i <= 254; ++i) v.push_back((uint8_t)i); v.push_back(0x02); v.push_back(0xFF); break;
    case 8: v.push_back(0xFF); for (int i = 2; i <= 255; ++i) v.push_back((uint8_t)i); v.push_back(0x01); v.push_back(0x01); break;
    case 9: v.push_back(0xFE); for (int i = 3; i <= 255; ++i) v.push_back((uint8_t)i); v.push_back(0x02); v.push_back(0x01); break;
  }
  return v;
}

}  // namespace

TEST(vectors_are_protocol_v1) { CHECK_EQ(kVectorProtocolVersion, kProtocolVersion); }

TEST(crc16_check_value) {
  CHECK_EQ(crc16((const uint8_t*)kCrcCheckInput, std::strlen(kCrcCheckInput)), kCrcCheckValue);
  CHECK_EQ(crc16((const uint8_t*)"123456789", 9), 0x29B1);
  CHECK_EQ(crc16(nullptr, 0), 0xFFFF);
}

TEST(encoder_reproduces_every_valid_vector) {
  for (const ValidVector& v : kValidVectors) {
    check::context = v.name;
    uint8_t frame[kMaxFrameBytes];
    uint16_t n = build(v.message, frame, sizeof frame);
    CHECK_BYTES(frame, n, v.frame, v.frame_len);
    uint8_t wire[kMaxFrameBytes + 4];
    size_t w = encode_wire(v.frame, v.frame_len, wire);
    CHECK_BYTES(wire, w, v.wire, v.wire_len);
  }
}

TEST(decoder_reads_every_valid_vector) {
  for (const ValidVector& v : kValidVectors) {
    check::context = v.name;
    uint8_t storage[300];
    FrameAssembler rx(storage, sizeof storage);
    int complete = 0;
    for (uint16_t i = 0; i < v.wire_len; ++i) {
      FrameAssembler::Result r = rx.push(v.wire[i]);
      if (i + 1 < v.wire_len) {
        CHECK_EQ(r, FrameAssembler::kNothing);
      } else {
        CHECK_EQ(r, FrameAssembler::kComplete);
        if (r == FrameAssembler::kComplete) {
          ++complete;
          expect_message(rx.frame(), v.message);
        }
      }
    }
    CHECK_EQ(complete, 1);
  }
}

TEST(command_parser_accepts_every_command_vector) {
  int commands = 0;
  for (const ValidVector& v : kValidVectors) {
    check::context = v.name;
    Frame f;
    CHECK_EQ(check_frame(v.frame, v.frame_len, &f), kFrameOk);
    Command cmd;
    CommandCheck result = parse_command(f, &cmd);
    if (v.message.type >= kCmdStart) {
      ++commands;
      CHECK_EQ(result, kCommandOk);
      CHECK_EQ(cmd.type, v.message.type);
      CHECK_EQ(cmd.rate_hz, v.message.rate_hz);
    } else {
      CHECK_EQ(result, kCommandUnknown);  // board-to-host messages are not commands
    }
  }
  CHECK(commands >= 4);
}

TEST(decoder_drops_every_invalid_vector_then_resyncs) {
  for (const InvalidVector& v : kInvalidVectors) {
    check::context = v.name;
    uint8_t storage[300];
    FrameAssembler rx(storage, sizeof storage);
    int errors = 0, complete = 0;
    for (uint16_t i = 0; i < v.wire_len; ++i) {
      FrameAssembler::Result r = rx.push(v.wire[i]);
      if (r == FrameAssembler::kComplete) {
        ++complete;
        expect_message(rx.frame(), v.then_valid);
      } else if (r != FrameAssembler::kNothing && r != FrameAssembler::kEmpty) {
        ++errors;
      }
    }
    CHECK_EQ(complete, 1);
    CHECK_EQ(errors, 1);
    CHECK(std::strcmp(v.counter, "crc_errors") == 0);  // every such error is one of ours above
  }
}

TEST(cobs_reference_cases) {
  for (int k = 0; k < 10; ++k) {
    check::context = "case " + std::to_string(k);
    std::vector<uint8_t> in = cobs_reference_cases_input(k), want = cobs_reference_cases_output(k);
    std::vector<uint8_t> out(cobs_max_encoded(in.size()));
    size_t n = cobs_encode(in.data(), in.size(), out.data());
    CHECK_BYTES(out.data(), n, want.data(), want.size());
    std::vector<uint8_t> back(in.size() + 1);
    size_t m = cobs_decode(want.data(), want.size(), back.data());
    CHECK_BYTES(back.data(), m, in.data(), in.size());
  }
}

TEST(cobs_round_trip_random) {
  std::srand(1234);
  for (int len = 0; len < 700; len += (len < 300 ? 1 : 17)) {
    for (int zeros = 0; zeros < 3; ++zeros) {
      check::context = "len " + std::to_string(len);
      std::vector<uint8_t> in(len);
      for (uint8_t& b : in) b = zeros == 0 ? (uint8_t)(1 + std::rand() % 255) : (uint8_t)(std::rand() % (zeros == 1 ? 256 : 3));
      std::vector<uint8_t> enc(cobs_max_encoded(in.size()));
      size_t n = cobs_encode(in.data(), in.size(), enc.data());
      CHECK(n <= cobs_max_encoded(in.size()));
      CHECK(std::memchr(enc.data(), 0, n) == nullptr);
      std::vector<uint8_t> dec(n);
      size_t m = cobs_decode(enc.data(), n, dec.data());
      CHECK_BYTES(dec.data(), m, in.data(), in.size());
      // Decoding in place gives the same bytes.
      m = cobs_decode(enc.data(), n, enc.data());
      CHECK_BYTES(enc.data(), m, in.data(), in.size());
    }
  }
}

TEST(cobs_decode_rejects_broken_input) {
  const uint8_t zero_inside[] = {0x03, 0x11, 0x00};
  const uint8_t truncated[] = {0x05, 0x11, 0x22};
  const uint8_t zero_code[] = {0x00};
  uint8_t out[8];
  CHECK_EQ(cobs_decode(zero_inside, sizeof zero_inside, out), kCobsError);
  CHECK_EQ(cobs_decode(truncated, sizeof truncated, out), kCobsError);
  CHECK_EQ(cobs_decode(zero_code, sizeof zero_code, out), kCobsError);
}

TEST(frame_builder_refuses_overflow) {
  uint8_t storage[12];
  FrameBuilder b(storage, sizeof storage);
  int32_t values[4] = {1, 2, 3, 4};
  build_data32(b, 1, 0, 0, values, 4);  // 8 + 1 + 16 + 2 bytes do not fit in 12
  CHECK(!b.ok());
  CHECK_EQ(b.finish(), 0);
  uint8_t big[400];
  FrameBuilder c(big, sizeof big);
  c.begin(kData, 1, 0, 0);
  for (int i = 0; i < 255; ++i) c.u8(1);
  CHECK(c.ok());
  c.u8(1);  // a 256th payload byte is more than the protocol allows
  CHECK(!c.ok());
}

TEST(assembler_drops_oversize_frames_then_resyncs) {
  uint8_t storage[16];
  FrameAssembler rx(storage, sizeof storage);
  int oversize = 0;
  for (int i = 0; i < 40; ++i) oversize += rx.push(0x42) == FrameAssembler::kOversize;
  CHECK_EQ(oversize, 1);
  CHECK_EQ(rx.push(0), FrameAssembler::kNothing);  // the end of the dropped frame
  // cmd_stop: a valid command right after.
  for (const ValidVector& v : kValidVectors) {
    if (std::strcmp(v.name, "cmd_stop") != 0) continue;
    FrameAssembler::Result r = FrameAssembler::kNothing;
    for (uint16_t i = 0; i < v.wire_len; ++i) r = rx.push(v.wire[i]);
    CHECK_EQ(r, FrameAssembler::kComplete);
    CHECK_EQ(rx.frame().type, kCmdStop);
  }
  CHECK_EQ(rx.push(0), FrameAssembler::kEmpty);
}

TEST(command_parser_rejects_wrong_payloads) {
  uint8_t storage[32];
  FrameBuilder b(storage, sizeof storage);
  b.begin(kCmdSetRate, 2, 5, 0);
  b.u8(100);  // one byte instead of two
  uint16_t n = b.finish();
  Frame f;
  Command cmd;
  CHECK_EQ(check_frame(storage, n, &f), kFrameOk);
  CHECK_EQ(parse_command(f, &cmd), kCommandMalformed);
  b.begin(kCmdStart, 2, 6, 0);
  b.u8(0);  // START carries no payload
  n = b.finish();
  CHECK_EQ(check_frame(storage, n, &f), kFrameOk);
  CHECK_EQ(parse_command(f, &cmd), kCommandMalformed);
  b.begin(0x7E, 2, 7, 0);
  n = b.finish();
  CHECK_EQ(check_frame(storage, n, &f), kFrameOk);
  CHECK_EQ(parse_command(f, &cmd), kCommandUnknown);
  storage[3] ^= 0x40;  // damage the sequence number: the CRC no longer matches
  CHECK_EQ(check_frame(storage, n, &f), kFrameBadCrc);
  CHECK_EQ(check_frame(storage, 9, &f), kFrameTooShort);
}
