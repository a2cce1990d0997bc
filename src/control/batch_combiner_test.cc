#include "control/batch_combiner.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace berth::control {
namespace {

struct CountingJob : BatchJob {
  int value = 0;
  int result = 0;
};

// Every job runs exactly once, batches never overlap on a lane, and under
// contention jobs share batches (fewer batches than jobs).
TEST(BatchCombinerTest, RunsEveryJobOnceInNonOverlappingBatches) {
  BatchCombiner combiner(8);
  std::atomic<int> running{0}, overlaps{0}, batches{0};
  std::vector<std::thread> threads;
  constexpr int kThreads = 8, kJobsEach = 200;
  std::atomic<long> sum{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kJobsEach; ++i) {
        CountingJob job;
        job.value = t * kJobsEach + i;
        combiner.submit("lane", job, [&](std::vector<BatchJob*>& jobs) {
          if (running.fetch_add(1) != 0) overlaps++;
          batches++;
          EXPECT_LE(jobs.size(), 8u);
          for (auto* j : jobs) {
            auto* c = static_cast<CountingJob*>(j);
            c->result = c->value * 2;
          }
          std::this_thread::sleep_for(std::chrono::microseconds(200));
          running.fetch_sub(1);
        });
        EXPECT_EQ(job.result, job.value * 2);
        sum += job.result;
      }
    });
  }
  for (auto& t : threads) t.join();
  const long n = kThreads * kJobsEach;
  EXPECT_EQ(sum.load(), n * (n - 1));  // 2 * (0 + ... + n-1)
  EXPECT_EQ(overlaps.load(), 0);
  EXPECT_LT(batches.load(), n);
}

// Lanes are independent: a slow batch on one key does not hold another key.
TEST(BatchCombinerTest, LanesDoNotBlockEachOther) {
  BatchCombiner combiner;
  std::atomic<bool> release{false};
  std::thread slow([&] {
    CountingJob job;
    combiner.submit("a", job, [&](std::vector<BatchJob*>&) {
      while (!release.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    });
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CountingJob other;
  bool ran = false;
  combiner.submit("b", other, [&](std::vector<BatchJob*>&) { ran = true; });
  EXPECT_TRUE(ran);
  release = true;
  slow.join();
}

}  // namespace
}  // namespace berth::control
