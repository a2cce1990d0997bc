// Blob links: which blobs each repository may use (keys.h, ecr/links/). The
// link functions declared in image_ops.h live here.
#include <map>
#include <set>

#include "common/log.h"
#include "control/committer.h"
#include "registry/ecr_errors.h"
#include "registry/image_ops.h"
#include "registry/keys.h"

namespace berth::registry {
namespace {

using nlohmann::json;

// "ecr/links/<repo>@<digest>" → (repo, digest). Repository names never contain '@'.
std::optional<std::pair<std::string, std::string>> splitLinkKey(const std::string& key) {
  auto at = key.find('@', keys::kLinkPrefix.size());
  if (at == std::string::npos) return std::nullopt;
  return std::make_pair(key.substr(keys::kLinkPrefix.size(), at - keys::kLinkPrefix.size()), key.substr(at + 1));
}

double lastUsedAt(const json& link) {
  double t = link.value("linkedAt", 0.0);
  if (auto r = link.find("referencedAt"); r != link.end() && r->is_number()) t = std::max(t, r->get<double>());
  return t;
}

}  // namespace

std::optional<std::uint64_t> linkedBlobSize(const EcsContext& ctx, std::string_view repository,
                                            std::string_view digest) {
  auto link = ctx.cache.get(keys::link(repository, digest));
  if (!link) return std::nullopt;
  return link->doc.value("size", std::uint64_t{0});
}

Status linkBlob(EcsContext& ctx, std::string_view repository, std::string_view digest, std::uint64_t size) {
  const std::string repoKey = keys::repo(repository);
  const std::string key = keys::link(repository, digest);
  auto txn = control::commitWithRetry(ctx, [&]() -> Result<store::TxnRequest> {
    auto repo = ctx.cache.get(repoKey);
    if (!repo) return ecr_errors::repositoryNotFound(ctx.account.accountId, repository);
    auto existing = ctx.cache.get(key);
    json doc = existing ? existing->doc : json::object();
    doc["size"] = size;
    // A fresh linkedAt restarts the pruning grace period: the client that
    // just uploaded or mounted the blob is about to push a manifest using it.
    doc["linkedAt"] = ctx.clock.epochSeconds();
    return store::TxnRequest{{{repoKey, repo->modRevision}, {key, existing ? existing->modRevision : 0}},
                             {store::Op::put(key, doc.dump())}};
  });
  if (!txn.ok()) return txn.takeError();
  return okStatus();
}

Status unlinkBlob(EcsContext& ctx, std::string_view repository, std::string_view digest) {
  const std::string key = keys::link(repository, digest);
  auto txn = control::commitWithRetry(ctx, [&]() -> Result<store::TxnRequest> {
    if (!ctx.cache.get(keys::repo(repository))) return ecr_errors::repositoryNotFound(ctx.account.accountId, repository);
    auto link = ctx.cache.get(key);
    if (!link) return ecr_errors::blobUnknown(digest);
    return store::TxnRequest{{{key, link->modRevision}}, {store::Op::del(key)}};
  });
  if (!txn.ok()) return txn.takeError();
  return okStatus();
}

std::unordered_set<std::string> linkedDigests(const EcsContext& ctx) {
  std::unordered_set<std::string> out;
  ctx.cache.scan(std::string(keys::kLinkPrefix), "", [&](const std::string& key, const control::CachedObject&) {
    if (auto parts = splitLinkKey(key)) out.insert(parts->second);
    return true;
  });
  return out;
}

bool isLinkedAnywhere(const EcsContext& ctx, std::string_view digest) {
  const std::string suffix = "@" + std::string(digest);
  bool found = false;
  ctx.cache.scan(std::string(keys::kLinkPrefix), "", [&](const std::string& key, const control::CachedObject&) {
    found = key.ends_with(suffix);
    return !found;
  });
  if (found) return true;
  // The cache applies commits a moment after the store has them; a sweeper
  // must not free a blob that a just-committed link names, so ask the store.
  auto links = ctx.store.range(std::string(keys::kLinkPrefix));
  if (!links.ok()) return true;  // cannot tell: keep the blob
  for (const auto& kv : *links)
    if (kv.key.ends_with(suffix)) return true;
  return false;
}

std::size_t pruneUnreferencedLinks(EcsContext& ctx, std::chrono::seconds grace) {
  const double cutoff = ctx.clock.epochSeconds() - static_cast<double>(grace.count());
  // Links first, images second: a push that touched a link before the link
  // scan committed its image in the same revision, so the image scan sees it;
  // a push after the link scan changed the link's revision and the compare
  // below fails.
  struct Candidate {
    store::Compare compare;
    std::string repository, digest;
  };
  std::vector<Candidate> candidates;
  ctx.cache.scan(std::string(keys::kLinkPrefix), "", [&](const std::string& key, const control::CachedObject& obj) {
    auto parts = splitLinkKey(key);
    if (parts && lastUsedAt(obj.doc) <= cutoff)
      candidates.push_back({{key, obj.modRevision}, std::move(parts->first), std::move(parts->second)});
    return true;
  });
  if (candidates.empty()) return 0;
  // Blobs some manifest references, per repository.
  std::map<std::string, std::set<std::string>> referenced;
  ctx.cache.scan(std::string(keys::kImagePrefix), "", [&](const std::string& key, const control::CachedObject& obj) {
    auto at = key.find('@', keys::kImagePrefix.size());
    if (at == std::string::npos) return true;
    auto& set = referenced[key.substr(keys::kImagePrefix.size(), at - keys::kImagePrefix.size())];
    for (const auto& b : obj.doc.value("blobs", json::array()))
      if (b.is_string()) set.insert(b.get<std::string>());
    return true;
  });
  std::size_t removed = 0;
  for (const auto& candidate : candidates) {
    if (auto refs = referenced.find(candidate.repository);
        refs != referenced.end() && refs->second.count(candidate.digest))
      continue;
    const store::Compare& c = candidate.compare;
    // The compare is what makes this safe against a concurrent push: a
    // manifest that references the link rewrote it, so its revision moved.
    auto r = ctx.store.txn(store::TxnRequest{{c}, {store::Op::del(c.key)}});
    if (!r.ok()) {
      log::warn("blob link prune failed", {{"key", c.key}, {"error", r.error().message}});
      continue;
    }
    if (!r->succeeded) continue;
    ctx.cache.waitForRevision(r->revision);
    ++removed;
  }
  return removed;
}

}  // namespace berth::registry
