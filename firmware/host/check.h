// A minimal test runner for the firmware's host tests (no dependencies beyond the C++ library).
#pragma once
#include <stdint.h>

#include <cstdio>
#include <string>
#include <vector>

namespace check {

struct Case {
  const char* name;
  void (*fn)();
};

std::vector<Case>& registry();
extern int failures;
extern std::string context;  // printed with each failure (e.g. the vector's name)

struct Register {
  Register(const char* name, void (*fn)()) { registry().push_back({name, fn}); }
};

std::string hex(const uint8_t* data, size_t n);

}  // namespace check

#define TEST(name)                                          \
  static void test_##name();                                \
  static check::Register register_##name(#name, test_##name); \
  static void test_##name()

#define CHECK(cond)                                                                      \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      ++check::failures;                                                                 \
      std::fprintf(stderr, "%s:%d: CHECK(%s) failed %s\n", __FILE__, __LINE__, #cond,    \
                   check::context.c_str());                                              \
    }                                                                                    \
  } while (0)

#define CHECK_EQ(a, b)                                                                           \
  do {                                                                                           \
    long long va_ = (long long)(a), vb_ = (long long)(b);                                        \
    if (va_ != vb_) {                                                                            \
      ++check::failures;                                                                         \
      std::fprintf(stderr, "%s:%d: CHECK_EQ(%s, %s) failed: %lld != %lld %s\n", __FILE__,        \
                   __LINE__, #a, #b, va_, vb_, check::context.c_str());                          \
    }                                                                                            \
  } while (0)

#define CHECK_BYTES(got, got_len, want, want_len)                                           \
  do {                                                                                      \
    std::string g_ = check::hex((got), (got_len)), w_ = check::hex((want), (want_len));     \
    if (g_ != w_) {                                                                         \
      ++check::failures;                                                                    \
      std::fprintf(stderr, "%s:%d: bytes differ %s\n  got  %s\n  want %s\n", __FILE__,      \
                   __LINE__, check::context.c_str(), g_.c_str(), w_.c_str());               \
    }                                                                                       \
  } while (0)
