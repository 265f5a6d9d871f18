// The board's session logic (common/link.cpp) driven with fake hardware hooks: HELLO at boot,
// command handling and ACKs, STATUS accumulation and rate limiting, frames dropped whole when the
// transmit buffer is full. Where the vectors describe the same frames (hello_insole_left_8,
// data_insole_8, ...), the board's output must be those exact wire bytes.
#include <cstring>
#include <vector>

#include "check.h"
#include "link.h"
#include "protocol.h"
#include "protocol_vectors.h"

using namespace proto;

namespace {

struct Fake {
  std::vector<std::vector<uint8_t>> wire;  // frames written, as wire bytes
  bool full = false;                       // the transmit buffer refuses frames
  std::vector<uint16_t> rates;
  int starts = 0, stops = 0;
  uint8_t rate_result = kAckOk;
} fake;

bool fake_write(const uint8_t* data, uint8_t n) {
  if (fake.full) return false;
  fake.wire.emplace_back(data, data + n);
  return true;
}
uint8_t fake_set_rate(uint16_t hz) {
  fake.rates.push_back(hz);
  return fake.rate_result;
}
void fake_start() { ++fake.starts; }
void fake_stop() { ++fake.stops; }

const board::Hooks kHooks = {fake_write, fake_set_rate, fake_start, fake_stop};
const uint8_t kMap8[8] = {0, 1, 2, 3, 4, 5, 6, 7};

// The identity of the hello_insole_left_8 vector.
board::Identity left_insole() {
  board::Identity id{};
  id.role = kRoleInsoleLeft;
  id.device_id = 2;
  id.serial_number = 0xDEADBEEF;
  id.firmware[0] = 1;
  id.firmware[1] = 2;
  id.firmware[2] = 3;
  id.channel_map = kMap8;
  id.channel_count = 8;
  return id;
}

const ValidVector& vector(const char* name) {
  for (const ValidVector& v : kValidVectors) {
    if (std::strcmp(v.name, name) == 0) return v;
  }
  std::fprintf(stderr, "no vector named %s\n", name);
  std::abort();
}

// Decodes one written frame.
Frame decode(const std::vector<uint8_t>& wire, std::vector<uint8_t>& storage) {
  storage.assign(wire.size() + 4, 0);
  FrameAssembler rx(storage.data(), (uint16_t)storage.size());
  FrameAssembler::Result r = FrameAssembler::kNothing;
  for (uint8_t b : wire) r = rx.push(b);
  CHECK_EQ(r, FrameAssembler::kComplete);
  return rx.frame();
}

void send_wire(board::Link& link, const uint8_t* wire, size_t n, uint32_t now) {
  for (size_t i = 0; i < n; ++i) link.receive(wire[i], now);
}

void send_command(board::Link& link, uint8_t type, uint8_t device, uint16_t seq, uint16_t rate, uint32_t now) {
  uint8_t frame[32], wire[40];
  FrameBuilder b(frame, sizeof frame);
  build_command(b, type, device, seq, rate);
  uint16_t n = b.finish();
  send_wire(link, wire, encode_wire(frame, n, wire), now);
}

struct AckSeen {
  uint8_t command;
  uint16_t command_seq;
  uint8_t result;
  uint16_t seq;
};

AckSeen ack_of(const std::vector<uint8_t>& wire) {
  std::vector<uint8_t> storage;
  Frame f = decode(wire, storage);
  CHECK_EQ(f.type, kAck);
  CHECK_EQ(f.payload_len, 4);
  return AckSeen{f.payload[0], get_u16(f.payload + 1), f.payload[3], f.seq};
}

void reset_fake() { fake = Fake(); }

}  // namespace

TEST(link_output_is_the_vector_bytes) {
  reset_fake();
  board::Identity id = left_insole();
  board::Link link;
  link.init(&id, &kHooks, 1000);
  CHECK(link.send_hello(1000000));
  const int16_t v8[8] = {0, 1, 512, 1023, 7, 300, 0, 1000};
  CHECK(link.send_data16(1001000, v8, 8));
  const int16_t zeros[8] = {};
  CHECK(link.send_data16(1002000, zeros, 8));
  CHECK_EQ(fake.wire.size(), 3u);
  const char* names[3] = {"hello_insole_left_8", "data_insole_8", "data_insole_zeros"};
  for (int i = 0; i < 3 && i < (int)fake.wire.size(); ++i) {
    check::context = names[i];
    const ValidVector& v = vector(names[i]);
    CHECK_BYTES(fake.wire[i].data(), fake.wire[i].size(), v.wire, v.wire_len);
  }
}

TEST(link_answers_every_command_vector) {
  for (const ValidVector& v : kValidVectors) {
    if (v.message.type < kCmdStart) continue;
    check::context = v.name;
    reset_fake();
    board::Identity id = left_insole();
    id.device_id = v.message.device_id == kBroadcastDevice ? 2 : v.message.device_id;
    board::Link link;
    link.init(&id, &kHooks, 100);
    send_wire(link, v.wire, v.wire_len, 5000);
    CHECK(!fake.wire.empty());
    if (fake.wire.empty()) continue;
    AckSeen ack = ack_of(fake.wire.back());
    CHECK_EQ(ack.command, v.message.type);
    CHECK_EQ(ack.command_seq, v.message.seq);
    CHECK_EQ(ack.result, kAckOk);
    switch (v.message.type) {
      case kCmdStart:
        CHECK_EQ(fake.starts, 1);
        CHECK(link.streaming());
        break;
      case kCmdStop:
        CHECK_EQ(fake.stops, 0);  // was not streaming: nothing to stop, still acknowledged
        break;
      case kCmdSetRate:
        CHECK_EQ(fake.rates.size(), 1u);
        CHECK_EQ(fake.rates.empty() ? 0 : fake.rates[0], v.message.rate_hz);
        CHECK_EQ(link.rate_hz(), v.message.rate_hz);
        break;
      case kCmdIdentify: {
        CHECK_EQ(fake.wire.size(), 2u);  // HELLO, then ACK
        std::vector<uint8_t> storage;
        Frame hello = decode(fake.wire[0], storage);
        CHECK_EQ(hello.type, kHello);
        CHECK_EQ(hello.seq, 0);
        CHECK_EQ(ack.seq, 1);
        break;
      }
    }
  }
}

TEST(link_session_identify_rate_start_stop) {
  reset_fake();
  board::Identity id = left_insole();
  board::Link link;
  link.init(&id, &kHooks, 500);
  link.send_hello(10);
  send_command(link, kCmdIdentify, 2, 40, 0, 20);
  send_command(link, kCmdSetRate, 2, 41, 1000, 30);
  send_command(link, kCmdStart, 0xFF, 42, 0, 40);
  // While streaming: SET_RATE restarts the stream at the new rate, a second START is harmless.
  send_command(link, kCmdSetRate, 2, 43, 200, 50);
  CHECK_EQ(fake.starts, 2);
  CHECK_EQ(fake.stops, 1);
  CHECK(link.streaming());
  send_command(link, kCmdStart, 2, 44, 0, 60);
  send_command(link, kCmdStop, 2, 45, 0, 70);
  CHECK_EQ(fake.starts, 2);
  CHECK_EQ(fake.stops, 2);
  CHECK(!link.streaming());
  CHECK_EQ(link.rate_hz(), 200);
  CHECK_EQ(fake.rates.size(), 2u);
  // boot HELLO, HELLO + ACK, then one ACK per command
  CHECK_EQ(fake.wire.size(), 8u);
  if (fake.wire.size() != 8u) return;
  const uint8_t want_cmd[6] = {kCmdIdentify, kCmdSetRate, kCmdStart, kCmdSetRate, kCmdStart, kCmdStop};
  const uint8_t want_res[6] = {kAckOk, kAckOk, kAckOk, kAckOk, kAckOk, kAckOk};
  for (int i = 0; i < 6; ++i) {
    AckSeen a = ack_of(fake.wire[2 + i]);
    CHECK_EQ(a.command, want_cmd[i]);
    CHECK_EQ(a.command_seq, 40 + i);
    CHECK_EQ(a.result, want_res[i]);
    CHECK_EQ(a.seq, 2 + i);  // one board sequence for every frame sent
  }
  std::vector<uint8_t> storage;
  Frame hello = decode(fake.wire[1], storage);
  CHECK_EQ(hello.type, kHello);
  CHECK_EQ(get_u16(hello.payload + 6), 500);  // the rate at the time of IDENTIFY
}

TEST(link_invalid_rate_is_refused) {
  reset_fake();
  board::Identity id = left_insole();
  board::Link link;
  link.init(&id, &kHooks, 500);
  fake.rate_result = kAckInvalidArgument;
  send_command(link, kCmdSetRate, 2, 9, 5000, 0);
  CHECK_EQ(link.rate_hz(), 500);
  CHECK_EQ(fake.wire.size(), 1u);
  if (!fake.wire.empty()) CHECK_EQ(ack_of(fake.wire[0]).result, kAckInvalidArgument);
}

TEST(link_ignores_other_devices_and_flags_bad_frames) {
  reset_fake();
  board::Identity id = left_insole();
  board::Link link;
  link.init(&id, &kHooks, 500);
  send_command(link, kCmdStart, 3, 1, 0, 0);  // for the right insole
  CHECK_EQ(fake.wire.size(), 0u);
  CHECK(!link.streaming());
  // A frame with a broken CRC, then a valid unknown type (0x20): STATUS BAD_COMMAND and an ACK
  // "unsupported".
  const ValidVector& stop = vector("cmd_stop");
  std::vector<uint8_t> broken(stop.frame, stop.frame + stop.frame_len);
  broken[4] ^= 0x01;
  uint8_t wire[40];
  send_wire(link, wire, encode_wire(broken.data(), broken.size(), wire), 100);
  send_command(link, 0x20, 2, 77, 0, 200);
  CHECK_EQ(fake.wire.size(), 1u);
  if (!fake.wire.empty()) {
    AckSeen a = ack_of(fake.wire[0]);
    CHECK_EQ(a.command, 0x20);
    CHECK_EQ(a.command_seq, 77);
    CHECK_EQ(a.result, kAckUnsupported);
  }
  link.service(300);
  CHECK_EQ(fake.wire.size(), 2u);
  if (fake.wire.size() == 2u) {
    std::vector<uint8_t> storage;
    Frame s = decode(fake.wire[1], storage);
    CHECK_EQ(s.type, kStatus);
    CHECK_EQ(get_u16(s.payload), kBadCommand);
  }
  // A malformed known command (SET_RATE without its rate) is a bad command too, not acknowledged.
  uint8_t frame[16];
  FrameBuilder b(frame, sizeof frame);
  b.begin(kCmdSetRate, 2, 78, 0);
  uint16_t n = b.finish();
  send_wire(link, wire, encode_wire(frame, n, wire), 400);
  CHECK_EQ(fake.wire.size(), 2u);
  link.service(100400);
  CHECK_EQ(fake.wire.size(), 3u);
}

TEST(link_drops_whole_frames_when_tx_is_full_and_reports_them) {
  reset_fake();
  board::Identity id = left_insole();
  board::Link link;
  link.init(&id, &kHooks, 1000);
  const int16_t v[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  CHECK(link.send_data16(0, v, 8));
  fake.full = true;
  for (int i = 0; i < 5; ++i) CHECK(!link.send_data16(1000 * (i + 1), v, 8));
  link.service(6000);  // the STATUS does not fit either: dropped too, flags kept
  link.service(6500);  // and is not retried before 100 ms have passed
  CHECK_EQ(link.frames_dropped(), 6u);
  CHECK_EQ(link.next_seq(), 7);  // dropped frames spend their sequence numbers
  fake.full = false;
  link.service(7000);
  CHECK_EQ(fake.wire.size(), 1u);
  link.service(106000);
  CHECK(link.send_data16(107000, v, 8));
  CHECK_EQ(fake.wire.size(), 3u);
  if (fake.wire.size() != 3u) return;
  std::vector<uint8_t> storage;
  Frame s = decode(fake.wire[1], storage);
  CHECK_EQ(s.type, kStatus);
  CHECK_EQ(s.seq, 7);  // the host saw 1..6 missing: a gap of 6 frames, as STATUS says
  CHECK_EQ(get_u16(s.payload), kTxOverflow);
  CHECK_EQ(get_u16(s.payload + 4), 6);  // dropped frames since the last STATUS
  Frame d = decode(fake.wire[2], storage);
  CHECK_EQ(d.type, kData);
  CHECK_EQ(d.seq, 8);
}

TEST(link_status_at_most_ten_per_second_and_accumulates) {
  reset_fake();
  board::Identity id = left_insole();
  board::Link link;
  link.init(&id, &kHooks, 80);
  const uint32_t t0 = 0xFFFF0000u;  // across the 2^32 wrap of the board clock
  link.report(kAmplifierNotReady, 0x4);
  link.service(t0);
  CHECK_EQ(fake.wire.size(), 1u);
  link.report(kAmplifierNotReady, 0x1);
  link.service(t0 + 50000);
  link.report(kSampleOverrun, 0);
  link.service(t0 + 99999);
  CHECK_EQ(fake.wire.size(), 1u);
  link.service(t0 + 100000);
  CHECK_EQ(fake.wire.size(), 2u);
  link.service(t0 + 300000);  // nothing pending: nothing sent
  CHECK_EQ(fake.wire.size(), 2u);
  if (fake.wire.size() != 2u) return;
  std::vector<uint8_t> storage;
  Frame s = decode(fake.wire[1], storage);
  CHECK_EQ(get_u16(s.payload), kAmplifierNotReady | kSampleOverrun);
  CHECK_EQ(get_u16(s.payload + 2), 0x1);
  CHECK_EQ(s.timestamp_us, (uint32_t)(t0 + 100000));
}
