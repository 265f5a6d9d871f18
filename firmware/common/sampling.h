// Sampling logic of both boards that does not touch hardware registers, so the host tests can
// check it: HX711 bit assembly and sign extension, the amplifier readiness tracker, timer and ADC
// clock choices for a sample rate, ADC saturation.
#ifndef GAITRIG_SAMPLING_H
#define GAITRIG_SAMPLING_H

#include <stdint.h>

namespace hx711 {

static const uint8_t kChannels = 4;
// Clock pulses per reading: 24 data bits + 1 that selects channel A, gain 128, for the next one
// (26 = channel B gain 32, 27 = channel A gain 64).
static const uint8_t kDataBits = 24;
static const uint8_t kPulsesGain128 = 25;
// A channel is reported not ready when it did not signal data ready for this many sample ticks in a
// row (docs/protocol.md: "within 2 sample periods").
static const uint8_t kMissLimit = 2;

// 24-bit two's complement (as shifted out, MSB first) to a signed 32-bit value.
inline int32_t sign_extend24(uint32_t raw) {
  raw &= 0x00FFFFFFul;
  if (raw & 0x00800000ul) raw |= 0xFF000000ul;
  return (int32_t)raw;
}

// One clock pulse of a parallel read: bit c of `dout` is channel c's DOUT level sampled while SCK
// was high; only channels in `mask` are being read.
inline void shift_in(uint32_t raw[kChannels], uint8_t dout, uint8_t mask) {
  for (uint8_t c = 0; c < kChannels; ++c) {
    if (mask & (1u << c)) raw[c] = (raw[c] << 1) | ((dout >> c) & 1u);
  }
}

// Counts, per channel, the sample ticks in a row at which the amplifier was not ready.
struct ReadyTracker {
  uint8_t misses[kChannels];

  void reset() {
    for (uint8_t c = 0; c < kChannels; ++c) misses[c] = 0;
  }
  // `ready` has bit c set when channel c was read at this tick. Returns the channels that have now
  // missed kMissLimit or more ticks in a row (they keep their previous value in DATA).
  uint8_t update(uint8_t ready) {
    uint8_t late = 0;
    for (uint8_t c = 0; c < kChannels; ++c) {
      if (ready & (1u << c)) {
        misses[c] = 0;
      } else {
        if (misses[c] < 0xFF) ++misses[c];
        if (misses[c] >= kMissLimit) late |= (uint8_t)(1u << c);
      }
    }
    return late;
  }
};

}  // namespace hx711

namespace timing {

// Timer/Counter1 in CTC mode (TOP = OCR1A) for a sample tick of `rate_hz`.
struct Timer1Config {
  uint8_t cs_bits;     // CS12:CS10 clock-select value
  uint16_t prescaler;  // 1, 8, 64, 256 or 1024
  uint16_t ocr;        // OCR1A; the tick period is (ocr + 1) * prescaler / f_cpu
};

// Picks the smallest prescaler whose period fits 16 bits (best resolution) and the nearest OCR1A.
// Returns false for a rate of 0 or one too slow for the timer.
inline bool timer1_for_rate(uint32_t f_cpu, uint16_t rate_hz, Timer1Config* out) {
  static const uint16_t kPrescalers[5] = {1, 8, 64, 256, 1024};
  if (rate_hz == 0) return false;
  for (uint8_t i = 0; i < 5; ++i) {
    uint32_t clock = f_cpu / kPrescalers[i];
    uint32_t ticks = (clock + rate_hz / 2) / rate_hz;  // rounded
    if (ticks >= 2 && ticks <= 65536ul) {
      out->cs_bits = (uint8_t)(i + 1);
      out->prescaler = kPrescalers[i];
      out->ocr = (uint16_t)(ticks - 1);
      return true;
    }
  }
  return false;
}

// Tick rate actually produced by a configuration, in millihertz.
inline uint32_t timer1_rate_mhz(uint32_t f_cpu, const Timer1Config& c) {
  uint64_t period = (uint64_t)(c.ocr + 1u) * c.prescaler;
  return (uint32_t)(((uint64_t)f_cpu * 1000u + period / 2) / period);
}

// ADC clock prescaler for scanning `channels` inputs per tick at `rate_hz`.
// A conversion takes 13 ADC clocks. The slowest ADC clock (best resolution: the datasheet asks for
// 50-200 kHz for full 10 bits) is chosen whose whole scan fits in 60 % of the sample period, so the
// CPU keeps time to frame and send the sample. Returns the ADPS2:0 bits; *prescaler gets the divisor.
inline uint8_t adc_prescaler_for_rate(uint32_t f_cpu, uint16_t rate_hz, uint8_t channels,
                                      uint8_t* prescaler) {
  // ADPS bits 7..4 divide by 128, 64, 32, 16.
  for (uint8_t bits = 7; bits >= 4; --bits) {
    uint32_t div = 1ul << bits;
    // channels * 13 * div / f_cpu <= 0.6 / rate_hz
    uint64_t scan = (uint64_t)channels * 13u * div * rate_hz * 10u;
    if (scan <= (uint64_t)f_cpu * 6u || bits == 4) {
      *prescaler = (uint8_t)div;
      return bits;
    }
  }
  *prescaler = 16;
  return 4;
}

}  // namespace timing

namespace insole {

static const uint8_t kChannels = 8;
static const uint16_t kAdcFullScale = 1023;
static const uint16_t kMinRateHz = 1;
static const uint16_t kMaxRateHz = 1000;

inline bool rate_valid(uint16_t rate_hz) { return rate_hz >= kMinRateHz && rate_hz <= kMaxRateHz; }

// Channels that read full scale (the FSR divider is at its 5 V limit: the sensor is overloaded).
inline uint16_t saturated_mask(const int16_t* values, uint8_t count) {
  uint16_t mask = 0;
  for (uint8_t c = 0; c < count; ++c) {
    if (values[c] >= (int16_t)kAdcFullScale) mask |= (uint16_t)(1u << c);
  }
  return mask;
}

}  // namespace insole

namespace bars {

// The HX711 has two output data rates, chosen by its RATE pin: 10 SPS (low) and 80 SPS (high).
inline bool rate_valid(uint16_t rate_hz) { return rate_hz == 10 || rate_hz == 80; }

}  // namespace bars

#endif  // GAITRIG_SAMPLING_H
