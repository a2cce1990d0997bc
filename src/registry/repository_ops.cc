#include "registry/repository_ops.h"

#include <set>

#include "control/committer.h"
#include "control/json_fields.h"
#include "control/pagination.h"
#include "registry/ecr_errors.h"
#include "registry/ecr_tags.h"
#include "registry/keys.h"

namespace berth::registry {
namespace {

using control::optField;
using control::optString;
using nlohmann::json;

constexpr std::string_view kDescribeRepositoriesScope = "ecr:DescribeRepositories";

Result<std::string> tagMutabilityFrom(const json& request, const std::string& fallback) {
  auto value = optString(request, "imageTagMutability");
  if (!value) return fallback;
  if (*value != "MUTABLE" && *value != "IMMUTABLE")
    return ecr_errors::invalidParameter(
        "Invalid parameter at 'imageTagMutability' failed to satisfy constraint: 'Member must satisfy enum value set: "
        "[IMMUTABLE, MUTABLE]'");
  return *value;
}

json scanningConfigurationFrom(const json* config) {
  bool scanOnPush = false;
  if (config && config->is_object()) {
    auto it = config->find("scanOnPush");
    scanOnPush = it != config->end() && it->is_boolean() && it->get<bool>();
  }
  return json{{"scanOnPush", scanOnPush}};
}

// AES256 unless KMS is asked for; KMS without a key means ECR's AWS-managed key.
Result<json> encryptionConfigurationFrom(const EcsContext& ctx, const json* config) {
  if (!config) return json{{"encryptionType", "AES256"}};
  std::string type = control::stringOr(*config, "encryptionType", "");
  auto kmsKey = optString(*config, "kmsKey");
  if (type == "AES256") {
    if (kmsKey)
      return ecr_errors::invalidParameter(
          "Invalid parameter at 'encryptionConfiguration' failed to satisfy constraint: 'kmsKey can be specified only "
          "when encryptionType is KMS'");
    return json{{"encryptionType", "AES256"}};
  }
  if (type == "KMS") {
    std::string key = kmsKey ? *kmsKey
                             : "arn:" + ctx.account.partition + ":kms:" + ctx.account.region + ":" +
                                   ctx.account.accountId + ":alias/aws/ecr";
    return json{{"encryptionType", "KMS"}, {"kmsKey", key}};
  }
  return ecr_errors::invalidParameter(
      "Invalid parameter at 'encryptionType' failed to satisfy constraint: 'Member must satisfy enum value set: [KMS, "
      "AES256]'");
}

// Keys a repository owns besides its own document.
std::vector<std::string> ownedKeys(const control::StateCache& cache, std::string_view name) {
  std::vector<std::string> out;
  for (const auto& prefix : {keys::imagesOf(name), keys::tagsOf(name), keys::linksOf(name)})
    cache.scan(prefix, "", [&](const std::string& key, const control::CachedObject&) {
      out.push_back(key);
      return true;
    });
  if (cache.get(keys::preview(name))) out.push_back(keys::preview(name));
  return out;
}

// A push that committed between DeleteRepository's read and its commit leaves
// keys behind (it compared on the repository document, which had not changed
// yet). Once the document is gone no such write can commit, so one sweep
// conditioned on its absence finishes the job.
void sweepLeftovers(EcsContext& ctx, const std::string& name) {
  auto txn = control::commitWithRetry(ctx, [&]() -> Result<store::TxnRequest> {
    store::TxnRequest req;
    if (ctx.cache.get(keys::repo(name))) return req;  // recreated meanwhile: its keys are its own
    req.compares.push_back({keys::repo(name), 0});
    for (auto& key : ownedKeys(ctx.cache, name)) req.ops.push_back(store::Op::del(std::move(key)));
    return req;
  });
  (void)txn;  // best effort: createRepository clears anything still left
}

}  // namespace

Status checkRegistryId(const EcsContext& ctx, const json& request) {
  auto registryId = optString(request, "registryId");
  if (!registryId || *registryId == ctx.account.accountId) return okStatus();
  bool twelveDigits = registryId->size() == 12;
  for (char c : *registryId) twelveDigits = twelveDigits && c >= '0' && c <= '9';
  if (!twelveDigits)
    return ecr_errors::invalidParameter(
        "Invalid parameter at 'registryId' failed to satisfy constraint: 'must satisfy regular expression '[0-9]{12}''");
  // Another account's registry: none of its repositories is visible here.
  return ecr_errors::repositoryNotFound(*registryId, control::stringOr(request, "repositoryName", ""));
}

Result<json> findRepository(const EcsContext& ctx, std::string_view name) {
  auto obj = ctx.cache.get(keys::repo(name));
  if (!obj) return ecr_errors::repositoryNotFound(ctx.account.accountId, name);
  return obj->doc;
}

Result<RepositoryRef> repositoryFromRequest(const EcsContext& ctx, const json& request) {
  BERTH_TRY(checkRegistryId(ctx, request));
  std::string name = control::stringOr(request, "repositoryName", "");
  if (!isValidRepositoryName(name)) return ecr_errors::invalidParameter(invalidRepositoryNameMessage());
  auto obj = ctx.cache.get(keys::repo(name));
  if (!obj) return ecr_errors::repositoryNotFound(ctx.account.accountId, name);
  return RepositoryRef{name, std::move(*obj)};
}

json renderRepository(const json& stored) {
  json r = json::object();
  for (const char* member : {"repositoryArn", "registryId", "repositoryName", "repositoryUri", "createdAt",
                             "imageTagMutability", "imageScanningConfiguration", "encryptionConfiguration"})
    if (auto it = stored.find(member); it != stored.end()) r[member] = *it;
  return r;
}

Result<json> mutateRepository(EcsContext& ctx, const json& request, const std::function<Status(json& doc)>& mutate) {
  json updated;
  auto txn = control::commitWithRetry(ctx, [&]() -> Result<store::TxnRequest> {
    auto repo = repositoryFromRequest(ctx, request);
    if (!repo.ok()) return repo.takeError();
    updated = repo->stored.doc;
    BERTH_TRY(mutate(updated));
    if (updated == repo->stored.doc) return store::TxnRequest{};
    const std::string key = keys::repo(repo->name);
    return store::TxnRequest{{{key, repo->stored.modRevision}}, {store::Op::put(key, updated.dump())}};
  });
  if (!txn.ok()) return txn.takeError();
  return updated;
}

Result<json> createRepository(EcsContext& ctx, const json& request) {
  BERTH_TRY(checkRegistryId(ctx, request));
  std::string name = control::stringOr(request, "repositoryName", "");
  if (!isValidRepositoryName(name)) return ecr_errors::invalidParameter(invalidRepositoryNameMessage());
  auto mutability = tagMutabilityFrom(request, "MUTABLE");
  if (!mutability.ok()) return mutability.takeError();
  auto encryption = encryptionConfigurationFrom(ctx, optField(request, "encryptionConfiguration"));
  if (!encryption.ok()) return encryption.takeError();
  auto tags = validateEcrTags(request.value("tags", json()));
  if (!tags.ok()) return tags.takeError();

  json doc = {
      {"repositoryName", name},
      {"repositoryArn", repositoryArn(ctx.account, name)},
      {"registryId", ctx.account.accountId},
      {"repositoryUri", registryHost(ctx.account) + "/" + name},
      {"createdAt", ctx.clock.epochSeconds()},
      {"imageTagMutability", *mutability},
      {"imageScanningConfiguration", scanningConfigurationFrom(optField(request, "imageScanningConfiguration"))},
      {"encryptionConfiguration", *encryption},
      {"tags", *tags},
  };
  auto txn = control::commitWithRetry(ctx, [&]() -> Result<store::TxnRequest> {
    if (ctx.cache.get(keys::repo(name))) return ecr_errors::repositoryAlreadyExists(ctx.account.accountId, name);
    store::TxnRequest req{{{keys::repo(name), 0}}, {store::Op::put(keys::repo(name), doc.dump())}};
    // Whatever an earlier repository of this name left behind must not
    // reappear in the new one.
    for (auto& key : ownedKeys(ctx.cache, name)) req.ops.push_back(store::Op::del(std::move(key)));
    return req;
  });
  if (!txn.ok()) return txn.takeError();
  return json{{"repository", renderRepository(doc)}};
}

Result<json> describeRepositories(EcsContext& ctx, const json& request) {
  BERTH_TRY(checkRegistryId(ctx, request));
  json names = control::arrayOrEmpty(request, "repositoryNames");
  if (!names.empty()) {
    if (optField(request, "maxResults") || optField(request, "nextToken"))
      return ecr_errors::invalidParameter(
          "Invalid parameter: maxResults and nextToken cannot be used together with repositoryNames");
    json out = json::array();
    std::set<std::string> seen;
    for (const auto& n : names) {
      std::string name = n.is_string() ? n.get<std::string>() : "";
      if (!isValidRepositoryName(name)) return ecr_errors::invalidParameter(invalidRepositoryNameMessage());
      auto doc = findRepository(ctx, name);
      if (!doc.ok()) return doc.takeError();
      if (seen.insert(name).second) out.push_back(renderRepository(*doc));
    }
    return json{{"repositories", out}};
  }
  auto page = control::pageRequestFrom(request, 100, 1000);
  if (!page.ok()) return page.takeError();
  auto result = control::paginate(ctx.cache, std::string(keys::kRepoPrefix), std::string(kDescribeRepositoriesScope),
                                  *page, [](const std::string&, const control::CachedObject& obj) {
                                    return std::optional<json>(renderRepository(obj.doc));
                                  });
  if (!result.ok()) return result.takeError();
  json out = {{"repositories", result->items}};
  if (result->nextToken) out["nextToken"] = *result->nextToken;
  return out;
}

Result<json> deleteRepository(EcsContext& ctx, const json& request) {
  const json* forceFlag = optField(request, "force");
  const bool force = forceFlag && forceFlag->is_boolean() && forceFlag->get<bool>();
  json deleted;
  std::string name;
  auto txn = control::commitWithRetry(ctx, [&]() -> Result<store::TxnRequest> {
    auto repo = repositoryFromRequest(ctx, request);
    if (!repo.ok()) return repo.takeError();
    name = repo->name;
    deleted = repo->stored.doc;
    if (!force && ctx.cache.countPrefix(keys::imagesOf(name)) > 0)
      return ecr_errors::repositoryNotEmpty(ctx.account.accountId, name);
    store::TxnRequest req{{{keys::repo(name), repo->stored.modRevision}}, {store::Op::del(keys::repo(name))}};
    for (auto& key : ownedKeys(ctx.cache, name)) req.ops.push_back(store::Op::del(std::move(key)));
    return req;
  });
  if (!txn.ok()) return txn.takeError();
  sweepLeftovers(ctx, name);
  return json{{"repository", renderRepository(deleted)}};
}

Result<json> putImageTagMutability(EcsContext& ctx, const json& request) {
  auto mutability = tagMutabilityFrom(request, "");
  if (!mutability.ok()) return mutability.takeError();
  if (mutability->empty())
    return ecr_errors::invalidParameter(
        "Invalid parameter at 'imageTagMutability' failed to satisfy constraint: 'Member must not be null'");
  auto doc = mutateRepository(ctx, request, [&](json& d) {
    d["imageTagMutability"] = *mutability;
    return okStatus();
  });
  if (!doc.ok()) return doc.takeError();
  return json{{"registryId", ctx.account.accountId},
              {"repositoryName", (*doc)["repositoryName"]},
              {"imageTagMutability", *mutability}};
}

Result<json> putImageScanningConfiguration(EcsContext& ctx, const json& request) {
  json config = scanningConfigurationFrom(optField(request, "imageScanningConfiguration"));
  auto doc = mutateRepository(ctx, request, [&](json& d) {
    d["imageScanningConfiguration"] = config;
    return okStatus();
  });
  if (!doc.ok()) return doc.takeError();
  return json{{"registryId", ctx.account.accountId},
              {"repositoryName", (*doc)["repositoryName"]},
              {"imageScanningConfiguration", config}};
}

}  // namespace berth::registry
