#include "common/clock.h"

namespace berth {

double Clock::epochSeconds() const {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(now().time_since_epoch()).count();
  // Millisecond precision, as AWS reports timestamps.
  return static_cast<double>(us / 1000) / 1000.0;
}

std::chrono::system_clock::time_point SystemClock::now() const { return std::chrono::system_clock::now(); }
std::chrono::steady_clock::time_point SystemClock::monotonicNow() const { return std::chrono::steady_clock::now(); }

FakeClock::FakeClock(std::chrono::system_clock::time_point start) : wall_(start), mono_() {}

std::chrono::system_clock::time_point FakeClock::now() const {
  std::lock_guard lock(mu_);
  return wall_;
}
std::chrono::steady_clock::time_point FakeClock::monotonicNow() const {
  std::lock_guard lock(mu_);
  return mono_;
}
void FakeClock::advance(std::chrono::nanoseconds by) {
  std::lock_guard lock(mu_);
  wall_ += std::chrono::duration_cast<std::chrono::system_clock::duration>(by);
  mono_ += by;
}
void FakeClock::set(std::chrono::system_clock::time_point t) {
  std::lock_guard lock(mu_);
  wall_ = t;
}

}  // namespace berth
