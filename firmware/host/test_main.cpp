// Runs every TEST() of the firmware's host tests; exit status 0 when all checks pass.
#include <cstring>

#include "check.h"

namespace check {

std::vector<Case>& registry() {
  static std::vector<Case> cases;
  return cases;
}
int failures = 0;
std::string context;

std::string hex(const uint8_t* data, size_t n) {
  static const char digits[] = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s += digits[data[i] >> 4];
    s += digits[data[i] & 15];
  }
  return s;
}

}  // namespace check

int main(int argc, char** argv) {
  int run = 0;
  for (const check::Case& c : check::registry()) {
    if (argc > 1 && std::strstr(c.name, argv[1]) == nullptr) continue;
    int before = check::failures;
    check::context.clear();
    c.fn();
    ++run;
    std::printf("%-48s %s\n", c.name, check::failures == before ? "ok" : "FAILED");
  }
  std::printf("host tests: %d run, %d failed checks\n", run, check::failures);
  return check::failures == 0 && run > 0 ? 0 : 1;
}
