// Single-producer / single-consumer byte ring for an interrupt and the main loop.
//
// The producer only writes `head`, the consumer only writes `tail`; both are 8-bit, so each update
// is one store on the AVR and no interrupt has to be disabled to move bytes. Indices run freely
// modulo 256 and are masked into the buffer, so N must be a power of two from 2 to 256; the ring
// holds N - 1 bytes.
#ifndef GAITRIG_RING_H
#define GAITRIG_RING_H

#include <stdint.h>

// Keeps the compiler from moving buffer stores past the index store that publishes them.
#define GAITRIG_COMPILER_BARRIER() __asm__ __volatile__("" ::: "memory")

template <uint16_t N>
struct ByteRing {
  static_assert(N >= 2 && N <= 256 && (N & (N - 1)) == 0, "N must be a power of two, 2..256");
  static const uint8_t kMask = (uint8_t)(N - 1);
  static const uint8_t kCapacity = (uint8_t)(N - 1);

  volatile uint8_t head;  // next slot to write (producer side)
  volatile uint8_t tail;  // next slot to read (consumer side)
  uint8_t buf[N];

  void clear() {
    head = 0;
    tail = 0;
  }
  uint8_t used() const { return (uint8_t)(head - tail); }
  uint8_t free_space() const { return (uint8_t)(kCapacity - used()); }
  bool empty() const { return head == tail; }

  bool push(uint8_t b) {
    if (free_space() == 0) return false;
    uint8_t h = head;
    buf[h & kMask] = b;
    GAITRIG_COMPILER_BARRIER();
    head = (uint8_t)(h + 1);
    return true;
  }

  // All n bytes or none: a frame is never cut short in the ring.
  bool push_all(const uint8_t* data, uint8_t n) {
    if (free_space() < n) return false;
    uint8_t h = head;
    for (uint8_t i = 0; i < n; ++i) buf[(uint8_t)(h + i) & kMask] = data[i];
    GAITRIG_COMPILER_BARRIER();
    head = (uint8_t)(h + n);
    return true;
  }

  bool pop(uint8_t* b) {
    uint8_t t = tail;
    if (head == t) return false;
    *b = buf[t & kMask];
    GAITRIG_COMPILER_BARRIER();
    tail = (uint8_t)(t + 1);
    return true;
  }
};

#endif  // GAITRIG_RING_H
