#pragma once
// The ECR layer API (what `docker push` to ECR uses under the hood, and what
// SDK users call directly): InitiateLayerUpload, UploadLayerPart,
// CompleteLayerUpload, GetDownloadUrlForLayer. Parts land in the same BlobStore
// uploads the OCI endpoints use, so a layer pushed either way is the same blob.
//
// ECR rules: parts arrive in order with inclusive partFirstByte/partLastByte
// (gap/overlap → InvalidLayerPartException with lastValidByteReceived); every
// part but the last is at least 5 MiB (LayerPartTooSmallException); an empty
// upload → EmptyUploadException; a digest mismatch → InvalidLayerException;
// completing a layer the repository already has → LayerAlreadyExistsException.
// A completed layer is linked into the repository (keys::link). GetDownloadUrlForLayer
// answers LayersNotFoundException for a layer not linked to the repository and
// LayerInaccessibleException for one linked but not referenced by any of its
// images (ECR: unassociated layers may be cleaned up at any time).
//
// InvalidLayerPartException carries registryId, repositoryName, uploadId and
// lastValidByteReceived: the error's `context` holds them as a JSON object for
// the api layer to merge into the exception body.
#include <mutex>
#include <string>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "blobstore/blob_store.h"
#include "control/ecs_context.h"

namespace berth::registry {

class LayerUploadApi {
 public:
  // `downloadBaseUrl` is how clients reach this server ("http://127.0.0.1:8080"):
  // GetDownloadUrlForLayer answers <base>/v2/<repo>/blobs/<digest>.
  LayerUploadApi(control::EcsContext& ctx, blobstore::BlobStore& blobs, std::string downloadBaseUrl)
      : ctx_(ctx), blobs_(blobs), downloadBaseUrl_(std::move(downloadBaseUrl)) {}

  static constexpr std::uint64_t kPartSize = 10 * 1024 * 1024;       // what InitiateLayerUpload advertises
  static constexpr std::uint64_t kMinPartSize = 5 * 1024 * 1024;     // all parts but the last
  static constexpr std::uint64_t kMaxLayerBytes = std::uint64_t(52) << 30;  // ECR's 52,000 MiB layer limit, rounded
  static constexpr std::size_t kPruneThreshold = 1024;  // map size that triggers dropping finished/expired uploads

  Result<nlohmann::json> initiateLayerUpload(const nlohmann::json& request);
  Result<nlohmann::json> uploadLayerPart(const nlohmann::json& request);
  Result<nlohmann::json> completeLayerUpload(const nlohmann::json& request);
  Result<nlohmann::json> getDownloadUrlForLayer(const nlohmann::json& request);

 private:
  struct Upload {
    std::string repository;
    std::uint64_t lastPartSize = 0;  // size of the most recent part (a short one must be the last)
  };
  // The upload `uploadId` of `repository` (kUploadNotFound otherwise). An id the
  // BlobStore knows but this map does not (after a restart) is adopted: upload
  // ids are unguessable, so holding one is the capability.
  Result<Upload> uploadOf(const std::string& repository, const std::string& uploadId);
  void recordPart(const std::string& uploadId, std::uint64_t partSize);
  void forget(const std::string& uploadId);
  control::EcsContext& ctx_;
  blobstore::BlobStore& blobs_;
  const std::string downloadBaseUrl_;
  std::mutex mu_;
  std::unordered_map<std::string, Upload> uploads_;  // uploadId → repository
  std::size_t pruneAt_ = kPruneThreshold;            // guarded by mu_
};

}  // namespace berth::registry
