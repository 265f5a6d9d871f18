// Sampling logic that does not touch registers (common/sampling.h, common/ring.h): HX711 bit
// assembly and sign extension, readiness tracking, timer and ADC clock choices, saturation, the
// transmit ring's whole-frame policy.
#include <cstring>

#include "check.h"
#include "protocol.h"
#include "protocol_vectors.h"
#include "ring.h"
#include "sampling.h"

namespace {

// What four HX711s put on DOUT during a parallel read: at clock pulse k (0-based) channel c shows
// bit 23 - k of its 24-bit reading; pulse 25 (k = 24) is not sampled.
void clock_out(const uint32_t readings[4], uint8_t mask, uint32_t raw[4]) {
  for (int k = 0; k < hx711::kDataBits; ++k) {
    uint8_t dout = 0;
    for (int c = 0; c < 4; ++c) dout |= (uint8_t)(((readings[c] >> (23 - k)) & 1u) << c);
    dout |= 0xF0;  // other pins of the port: must be ignored
    hx711::shift_in(raw, (uint8_t)(dout & 0x0F), mask);
  }
}

}  // namespace

TEST(hx711_sign_extension) {
  CHECK_EQ(hx711::sign_extend24(0x7FFFFF), 8388607);
  CHECK_EQ(hx711::sign_extend24(0x800000), -8388608);
  CHECK_EQ(hx711::sign_extend24(0xFFFFFF), -1);
  CHECK_EQ(hx711::sign_extend24(0x000000), 0);
  CHECK_EQ(hx711::sign_extend24(0x01E240), 123456);
  CHECK_EQ(hx711::sign_extend24(0xFFFE1DC0), -123456);  // bits above 23 are ignored
  CHECK_EQ(hx711::sign_extend24(0xAB000001), 1);
}

TEST(hx711_parallel_read_gives_the_bars_vector) {
  // data_bars_24bit: four readings at the 24-bit limits, through the bit-level read, sign
  // extension and the DATA encoder, must be the vector's wire bytes.
  const uint32_t readings[4] = {0x7FFFFF, 0x800000, 0xFFFFFF, 0x01E240};
  uint32_t raw[4] = {0, 0, 0, 0};
  clock_out(readings, 0x0F, raw);
  int32_t values[4];
  for (int c = 0; c < 4; ++c) values[c] = hx711::sign_extend24(raw[c]);
  for (const ValidVector& v : kValidVectors) {
    if (std::strcmp(v.name, "data_bars_24bit") != 0) continue;
    for (int c = 0; c < 4; ++c) CHECK_EQ(values[c], v.message.values[c]);
    uint8_t frame[64], wire[80];
    proto::FrameBuilder b(frame, sizeof frame);
    proto::build_data32(b, v.message.device_id, v.message.seq, v.message.timestamp_us, values, 4);
    uint16_t n = b.finish();
    size_t w = proto::encode_wire(frame, n, wire);
    CHECK_BYTES(wire, w, v.wire, v.wire_len);
  }
}

TEST(hx711_only_ready_channels_are_shifted) {
  const uint32_t readings[4] = {0x000001, 0x123456, 0xABCDEF, 0x800001};
  uint32_t raw[4] = {0, 0, 0, 0};
  clock_out(readings, 0x0A, raw);  // channels 1 and 3 ready
  CHECK_EQ(raw[0], 0);
  CHECK_EQ(raw[1], 0x123456);
  CHECK_EQ(raw[2], 0);
  CHECK_EQ(raw[3], 0x800001);
  CHECK_EQ(hx711::sign_extend24(raw[3]), -8388607);
}

TEST(hx711_not_ready_after_two_missed_ticks) {
  hx711::ReadyTracker t;
  t.reset();
  CHECK_EQ(t.update(0x0F), 0);
  CHECK_EQ(t.update(0x0B), 0);     // channel 2 late once: oscillator drift, not reported
  CHECK_EQ(t.update(0x0F), 0);
  CHECK_EQ(t.update(0x0B), 0);
  CHECK_EQ(t.update(0x0B), 0x04);  // twice in a row: reported
  CHECK_EQ(t.update(0x03), 0x04);  // channel 3 starts missing
  CHECK_EQ(t.update(0x03), 0x0C);
  for (int i = 0; i < 600; ++i) t.update(0x03);  // the counters saturate, never wrap
  CHECK_EQ(t.update(0x03), 0x0C);
  CHECK_EQ(t.update(0x0F), 0);     // plugged back in
}

TEST(timer1_rates) {
  timing::Timer1Config c;
  CHECK(timing::timer1_for_rate(16000000ul, 80, &c));
  CHECK_EQ(c.prescaler, 8);
  CHECK_EQ(c.ocr, 24999);
  CHECK_EQ(c.cs_bits, 2);
  CHECK(timing::timer1_for_rate(16000000ul, 10, &c));
  CHECK_EQ(c.prescaler, 64);
  CHECK_EQ(c.ocr, 24999);
  CHECK(timing::timer1_for_rate(16000000ul, 1000, &c));
  CHECK_EQ(c.prescaler, 1);
  CHECK_EQ(c.ocr, 15999);
  CHECK(timing::timer1_for_rate(16000000ul, 1, &c));
  CHECK_EQ(c.prescaler, 256);
  CHECK_EQ(c.ocr, 62499);
  CHECK(!timing::timer1_for_rate(16000000ul, 0, &c));
  // Every insole rate is produced within 0.01 % (the HIL test allows 0.5 %).
  for (uint32_t hz = 1; hz <= 1000; ++hz) {
    CHECK(timing::timer1_for_rate(16000000ul, (uint16_t)hz, &c));
    uint32_t mhz = timing::timer1_rate_mhz(16000000ul, c);
    int64_t err = (int64_t)mhz - (int64_t)hz * 1000;
    if (err < 0) err = -err;
    CHECK(err * 10000 <= (int64_t)hz * 1000);
  }
}

TEST(adc_prescaler_fits_the_scan_in_the_period) {
  uint8_t div = 0;
  CHECK_EQ(timing::adc_prescaler_for_rate(16000000ul, 100, 8, &div), 7);
  CHECK_EQ(div, 128);
  CHECK_EQ(timing::adc_prescaler_for_rate(16000000ul, 500, 8, &div), 7);
  CHECK_EQ(timing::adc_prescaler_for_rate(16000000ul, 721, 8, &div), 7);
  CHECK_EQ(timing::adc_prescaler_for_rate(16000000ul, 722, 8, &div), 6);
  CHECK_EQ(timing::adc_prescaler_for_rate(16000000ul, 1000, 8, &div), 6);
  CHECK_EQ(div, 64);
  for (uint32_t hz = 1; hz <= 1000; ++hz) {
    timing::adc_prescaler_for_rate(16000000ul, (uint16_t)hz, 8, &div);
    double scan_s = 8 * 13.0 * div / 16e6;
    CHECK(scan_s <= 0.6 / hz);
    CHECK(div >= 64);  // ADC clock at most 250 kHz
  }
}

TEST(insole_rates_and_saturation) {
  CHECK(!insole::rate_valid(0));
  CHECK(insole::rate_valid(1));
  CHECK(insole::rate_valid(1000));
  CHECK(!insole::rate_valid(1001));
  CHECK(bars::rate_valid(80));
  CHECK(bars::rate_valid(10));
  CHECK(!bars::rate_valid(100));
  const int16_t v[8] = {0, 1023, 512, 1022, 1023, 0, 0, 1023};
  CHECK_EQ(insole::saturated_mask(v, 8), 0x92);
}

TEST(tx_ring_takes_whole_frames_only) {
  static ByteRing<256> ring;
  ring.clear();
  CHECK_EQ(ring.free_space(), 255);
  uint8_t frame[100];
  for (int i = 0; i < 100; ++i) frame[i] = (uint8_t)i;
  CHECK(ring.push_all(frame, 100));
  CHECK(ring.push_all(frame, 100));
  CHECK(!ring.push_all(frame, 100));  // 55 bytes free: refused whole, nothing written
  CHECK_EQ(ring.used(), 200);
  uint8_t b;
  for (int i = 0; i < 150; ++i) {
    CHECK(ring.pop(&b));
    CHECK_EQ(b, i % 100);
  }
  CHECK(ring.push_all(frame, 100));  // wraps around the end of the buffer
  for (int i = 150; i < 300; ++i) {
    CHECK(ring.pop(&b));
    CHECK_EQ(b, i % 100);
  }
  CHECK(!ring.pop(&b));
  CHECK(ring.empty());

  static ByteRing<32> small;
  small.clear();
  for (int i = 0; i < 31; ++i) CHECK(small.push((uint8_t)i));
  CHECK(!small.push(99));
  for (int i = 0; i < 31; ++i) {
    CHECK(small.pop(&b));
    CHECK_EQ(b, i);
  }
  for (int round = 0; round < 20; ++round) {  // indices run past 255 and wrap
    CHECK(small.push_all(frame, 20));
    for (int i = 0; i < 20; ++i) {
      CHECK(small.pop(&b));
      CHECK_EQ(b, i);
    }
  }
}
