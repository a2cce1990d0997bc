#include "registry/layer_ops.h"

#include <algorithm>
#include <cstring>
#include <optional>

#include "common/base64.h"
#include "control/json_fields.h"
#include "registry/image_ops.h"
#include "registry/keys.h"
#include "registry/repository_ops.h"

namespace berth::registry {
namespace {

using control::optString;
using nlohmann::json;

Error invalid(std::string message) { return Error::make(ErrorCode::kInvalidParameter, std::move(message)); }

std::optional<std::uint64_t> optUnsigned(const json& request, const char* field) {
  auto it = request.find(field);
  if (it == request.end() || !it->is_number_integer() || it->get<std::int64_t>() < 0) return std::nullopt;
  return it->get<std::uint64_t>();
}

std::string repositoryNameOf(const json& request) { return control::stringOr(request, "repositoryName", ""); }

Status requireRepository(const control::EcsContext& ctx, const std::string& name) {
  auto repo = findRepository(ctx, name);
  if (!repo.ok()) return repo.takeError();
  return okStatus();
}

Error uploadNotFound(const std::string& uploadId, const std::string& repository) {
  return Error::make(ErrorCode::kUploadNotFound, "The upload with id '" + uploadId +
                                                     "' could not be found in the repository with name '" +
                                                     repository + "'. Initiate a new layer upload.");
}

// ECR's InvalidLayerPartException names the upload and the last byte it kept,
// so the client knows where to resume.
Error invalidLayerPart(const control::EcsContext& ctx, const std::string& repository, const std::string& uploadId,
                       std::uint64_t received, const std::string& why) {
  const std::uint64_t lastValid = received == 0 ? 0 : received - 1;
  json extra = {{"registryId", ctx.account.accountId},
                {"repositoryName", repository},
                {"uploadId", uploadId},
                {"lastValidByteReceived", lastValid}};
  return Error::make(ErrorCode::kUploadInvalid, why + " The last valid byte received is " + std::to_string(lastValid) + ".",
                     extra.dump());
}

Result<oci::Digest> parseLayerDigest(const std::string& text) {
  auto d = oci::Digest::parse(text);
  if (!d.ok()) return invalid("Invalid parameter at 'layerDigest' failed to satisfy constraint: '" + text +
                              "' is not a valid sha256 or sha512 digest.");
  return d;
}

// Whether one of the repository's images lists the blob (as config or layer).
bool referencedByAnImage(const control::EcsContext& ctx, const std::string& repository, const std::string& digest) {
  bool found = false;
  ctx.cache.scan(keys::imagesOf(repository), "", [&](const std::string&, const control::CachedObject& o) {
    for (const auto& b : control::arrayOrEmpty(o.doc, "blobs")) found = found || b == digest;
    return !found;
  });
  return found;
}

}  // namespace

Result<LayerUploadApi::Upload> LayerUploadApi::uploadOf(const std::string& repository, const std::string& uploadId) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = uploads_.find(uploadId);
    if (it != uploads_.end()) {
      if (it->second.repository != repository) return uploadNotFound(uploadId, repository);
      return it->second;
    }
  }
  if (uploadId.empty() || !blobs_.uploadState(uploadId).ok()) return uploadNotFound(uploadId, repository);
  // Part sizes before the restart are unknown; the parts kept were accepted then.
  Upload adopted{repository, kMinPartSize};
  std::lock_guard<std::mutex> lock(mu_);
  auto [it, inserted] = uploads_.emplace(uploadId, adopted);
  if (it->second.repository != repository) return uploadNotFound(uploadId, repository);
  return it->second;
}

void LayerUploadApi::recordPart(const std::string& uploadId, std::uint64_t partSize) {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = uploads_.find(uploadId); it != uploads_.end()) it->second.lastPartSize = partSize;
}

void LayerUploadApi::forget(const std::string& uploadId) {
  std::lock_guard<std::mutex> lock(mu_);
  uploads_.erase(uploadId);
}

Result<json> LayerUploadApi::initiateLayerUpload(const json& request) {
  const std::string name = repositoryNameOf(request);
  BERTH_TRY(requireRepository(ctx_, name));
  auto state = blobs_.beginUpload();
  if (!state.ok()) return state.takeError();
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Abandoned uploads expire in the BlobStore (sweep); drop their entries
    // here now and then so the map stays bounded by the live uploads.
    if (uploads_.size() >= pruneAt_) {
      std::erase_if(uploads_, [&](const auto& entry) { return !blobs_.uploadState(entry.first).ok(); });
      pruneAt_ = std::max(kPruneThreshold, 2 * uploads_.size());  // amortized O(1) per upload
    }
    uploads_[state->id] = Upload{name, 0};
  }
  return json{{"uploadId", state->id}, {"partSize", kPartSize}};
}

Result<json> LayerUploadApi::uploadLayerPart(const json& request) {
  const std::string name = repositoryNameOf(request);
  const std::string uploadId = control::stringOr(request, "uploadId", "");
  auto first = optUnsigned(request, "partFirstByte");
  auto last = optUnsigned(request, "partLastByte");
  auto blobText = optString(request, "layerPartBlob");
  if (!first || !last) return invalid("partFirstByte and partLastByte must be non-negative integers.");
  if (!blobText) return invalid("layerPartBlob is required.");
  auto bytes = base64Decode(*blobText);  // strict RFC 4648, what AWS SDKs send for blobs
  if (!bytes) return Error::make(ErrorCode::kSerialization, "layerPartBlob is not valid base64.");

  BERTH_TRY(requireRepository(ctx_, name));
  auto upload = uploadOf(name, uploadId);
  if (!upload.ok()) return upload.takeError();
  auto state = blobs_.uploadState(uploadId);
  if (!state.ok()) {
    forget(uploadId);
    return uploadNotFound(uploadId, name);
  }
  const std::uint64_t received = state->size;

  if (*last < *first || *last - *first + 1 != bytes->size())
    return invalidLayerPart(ctx_, name, uploadId, received,
                            "The part's byte range " + std::to_string(*first) + "-" + std::to_string(*last) +
                                " does not match the " + std::to_string(bytes->size()) + " bytes of layerPartBlob.");
  if (*first != received)
    return invalidLayerPart(ctx_, name, uploadId, received,
                            "Layer parts must be uploaded in order without gaps or overlaps: the part starts at byte " +
                                std::to_string(*first) + " but the upload has " + std::to_string(received) + " bytes.");
  // Only the last part may be short, so a part after a short one means the
  // short one was not the last.
  if (received > 0 && upload->lastPartSize < kMinPartSize)
    return Error::make(ErrorCode::kLayerPartTooSmall,
                       "Layer part size must be at least " + std::to_string(kMinPartSize) +
                           " bytes, except for the last part; the previous part had " +
                           std::to_string(upload->lastPartSize) + " bytes.");

  std::size_t offset = 0;
  const std::string& data = *bytes;
  auto size = blobs_.append(uploadId, *first,
                            [&](char* out, std::size_t max) -> Result<std::size_t> {
                              const std::size_t n = std::min(max, data.size() - offset);
                              std::memcpy(out, data.data() + offset, n);
                              offset += n;
                              return n;
                            },
                            kMaxLayerBytes);
  if (!size.ok()) {
    Error e = size.takeError();
    switch (e.code) {
      case ErrorCode::kRangeNotSatisfiable: {  // another part landed first
        auto now = blobs_.uploadState(uploadId);
        return invalidLayerPart(ctx_, name, uploadId, now.ok() ? now->size : received,
                                "Another part of this upload was received at the same time.");
      }
      case ErrorCode::kPayloadTooLarge:  // the store cancelled the upload
        forget(uploadId);
        return Error::make(ErrorCode::kLimitExceeded, "The layer exceeds the maximum layer size of " +
                                                          std::to_string(kMaxLayerBytes) + " bytes; the upload was cancelled.");
      case ErrorCode::kUploadNotFound:
        forget(uploadId);
        return uploadNotFound(uploadId, name);
      default:
        return e;
    }
  }
  recordPart(uploadId, bytes->size());
  return json{{"registryId", ctx_.account.accountId},
              {"repositoryName", name},
              {"uploadId", uploadId},
              {"lastByteReceived", *size - 1}};
}

Result<json> LayerUploadApi::completeLayerUpload(const json& request) {
  const std::string name = repositoryNameOf(request);
  const std::string uploadId = control::stringOr(request, "uploadId", "");
  const json digests = control::arrayOrEmpty(request, "layerDigests");
  if (digests.size() != 1 || !digests[0].is_string())
    return invalid("layerDigests must contain exactly one layer digest; this registry completes one layer per upload.");
  auto digest = parseLayerDigest(digests[0].get<std::string>());
  if (!digest.ok()) return digest.takeError();

  BERTH_TRY(requireRepository(ctx_, name));
  auto upload = uploadOf(name, uploadId);
  if (!upload.ok()) return upload.takeError();
  auto state = blobs_.uploadState(uploadId);
  if (!state.ok()) {
    forget(uploadId);
    return uploadNotFound(uploadId, name);
  }
  if (state->size == 0)
    return Error::make(ErrorCode::kEmptyUpload, "The layer upload with id '" + uploadId + "' contains no layer parts.");

  const std::string linkKey = keys::link(name, digest->str());
  if (ctx_.cache.get(linkKey) && blobs_.exists(*digest)) {
    // The client's copy is redundant; free its disk now rather than at expiry.
    (void)blobs_.cancelUpload(uploadId);
    forget(uploadId);
    return Error::make(ErrorCode::kLayerAlreadyExists, "The layer '" + digest->str() +
                                                           "' already exists in the repository with name '" + name +
                                                           "' in the registry with id '" + ctx_.account.accountId + "'");
  }

  // The link is written under the digest's lock (publish), so a sweep cannot
  // remove the blob between its commit and the link that keeps it.
  auto publish = [&](const blobstore::BlobInfo& info) -> Status {
    return linkBlob(ctx_, name, info.digest.str(), info.size);
  };
  auto committed = blobs_.commitUpload(uploadId, *digest, publish);
  forget(uploadId);  // gone from the store either way
  if (!committed.ok()) {
    Error e = committed.takeError();
    if (e.code == ErrorCode::kDigestInvalid)
      return Error::make(ErrorCode::kDigestInvalid,
                         "The layer digest calculated for the uploaded parts does not match the digest specified: " +
                             digest->str() + ".");
    if (e.code == ErrorCode::kUploadNotFound) return uploadNotFound(uploadId, name);
    return e;
  }
  return json{{"registryId", ctx_.account.accountId},
              {"repositoryName", name},
              {"uploadId", uploadId},
              {"layerDigest", digest->str()}};
}

Result<json> LayerUploadApi::getDownloadUrlForLayer(const json& request) {
  const std::string name = repositoryNameOf(request);
  auto digest = parseLayerDigest(control::stringOr(request, "layerDigest", ""));
  if (!digest.ok()) return digest.takeError();
  BERTH_TRY(requireRepository(ctx_, name));

  if (!ctx_.cache.get(keys::link(name, digest->str())) || !blobs_.exists(*digest))
    return Error::make(ErrorCode::kLayersNotFound, "The layer with digest '" + digest->str() +
                                                       "' does not exist in the repository with name '" + name +
                                                       "' in the registry with id '" + ctx_.account.accountId + "'");
  if (!referencedByAnImage(ctx_, name, digest->str()))
    return Error::make(ErrorCode::kLayerInaccessible,
                       "The layer with digest '" + digest->str() +
                           "' is not available because it is not associated with an image in the repository with name '" +
                           name + "'. Unassociated image layers may be cleaned up at any time.");
  return json{{"downloadUrl", downloadBaseUrl_ + "/v2/" + name + "/blobs/" + digest->str()},
              {"layerDigest", digest->str()}};
}

}  // namespace berth::registry
