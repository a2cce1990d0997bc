#pragma once
// A Store that forwards to another and can run a hook just before the next
// transaction reaches it: tests use it to commit a competing write between an
// operation's read of the cache and its compare-on-revision commit.
#include <functional>
#include <memory>
#include <string>

#include "store/store.h"

namespace berth::registry::test {

class InterposingStore final : public store::Store {
 public:
  explicit InterposingStore(store::Store& inner) : inner_(inner) {}

  // Runs `hook` once, before the next txn() whose request `matches` (any request by default).
  void beforeNextTxn(std::function<void()> hook,
                     std::function<bool(const store::TxnRequest&)> matches = [](const store::TxnRequest&) { return true; }) {
    hook_ = std::move(hook);
    matches_ = std::move(matches);
  }
  int txnCount() const { return txns_; }

  Result<store::TxnResult> txn(const store::TxnRequest& request) override {
    ++txns_;
    if (hook_ && matches_(request)) {
      auto hook = std::move(hook_);
      hook_ = nullptr;
      hook();
    }
    return inner_.txn(request);
  }
  Result<std::optional<store::KeyValue>> get(const std::string& key) override { return inner_.get(key); }
  Result<std::vector<store::KeyValue>> range(const std::string& prefix) override { return inner_.range(prefix); }
  std::int64_t currentRevision() override { return inner_.currentRevision(); }
  Result<std::unique_ptr<store::Watch>> watch(const std::string& prefix, std::int64_t fromRevision,
                                              store::WatchCallback callback) override {
    return inner_.watch(prefix, fromRevision, std::move(callback));
  }
  Status compact(std::int64_t revision) override { return inner_.compact(revision); }
  void close() override {}

 private:
  store::Store& inner_;
  std::function<void()> hook_;
  std::function<bool(const store::TxnRequest&)> matches_;
  int txns_ = 0;
};

}  // namespace berth::registry::test
