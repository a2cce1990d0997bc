#pragma once
// Randomness is injected. SystemRandom draws from the OS; SeededRandom replays.
#include <cstdint>
#include <mutex>
#include <random>
#include <string>

namespace berth {

class Random {
 public:
  virtual ~Random() = default;
  virtual std::uint64_t next() = 0;
  // n random bytes as lowercase hex (2n characters).
  std::string hex(std::size_t bytes);
  // A new-format ECS id: 32 lowercase hex characters.
  std::string ecsId() { return hex(16); }
  // RFC 4122 version-4 UUID (request ids).
  std::string uuid();
};

class SystemRandom final : public Random {
 public:
  std::uint64_t next() override;
};

class SeededRandom final : public Random {
 public:
  explicit SeededRandom(std::uint64_t seed) : engine_(seed) {}
  std::uint64_t next() override;

 private:
  std::mutex mu_;
  std::mt19937_64 engine_;
};

}  // namespace berth
