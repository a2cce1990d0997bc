#pragma once
// Time is injected: only SystemClock reads the real clock. Tests use FakeClock.
#include <chrono>
#include <cstdint>
#include <mutex>

namespace berth {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time (used for timestamps in API objects and SigV4 skew checks).
  virtual std::chrono::system_clock::time_point now() const = 0;
  // Monotonic time for durations and timeouts.
  virtual std::chrono::steady_clock::time_point monotonicNow() const = 0;

  // Seconds since the Unix epoch with sub-second precision (the ECS wire unit).
  double epochSeconds() const;
};

class SystemClock final : public Clock {
 public:
  std::chrono::system_clock::time_point now() const override;
  std::chrono::steady_clock::time_point monotonicNow() const override;
};

class FakeClock final : public Clock {
 public:
  explicit FakeClock(std::chrono::system_clock::time_point start =
                         std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000)));
  std::chrono::system_clock::time_point now() const override;
  std::chrono::steady_clock::time_point monotonicNow() const override;
  void advance(std::chrono::nanoseconds by);
  void set(std::chrono::system_clock::time_point t);

 private:
  mutable std::mutex mu_;
  std::chrono::system_clock::time_point wall_;
  std::chrono::steady_clock::time_point mono_;
};

}  // namespace berth
