// Blob downloads, deletes and uploads (distribution-spec v1.1 end-2, end-4a/b,
// end-5, end-6, end-10, end-11, end-13, end-14).
//
// Upload sessions live in the BlobStore and are not tied to a repository; the
// repository named in the URL is the one the blob is linked into when the
// session is closed. A blob becomes visible in a repository only through
// commitUpload's publish callback (the bytes verified against the digest) or a
// mount of a blob already linked elsewhere, so content never shows up under a
// digest it does not hash to.
#include <limits>

#include "api/blob_range.h"
#include "api/oci_errors.h"
#include "api/oci_handlers.h"
#include "registry/image_ops.h"
#include "registry/repository_ops.h"

namespace berth::api::distribution {
namespace {

constexpr std::size_t kMaxUploadIdLength = 128;

// Upload ids come from the URL and name a directory in the BlobStore: only
// plain tokens are passed on (no '/', no "..").
bool isPlausibleUploadId(std::string_view id) {
  if (id.empty() || id.size() > kMaxUploadIdLength) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

HttpResponse uploadUnknown(std::string_view id) {
  return errorResponse(404, "BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry", id);
}

// 202/204 answer describing an upload in progress.
HttpResponse uploadProgress(int status, std::string_view name, const std::string& id, std::uint64_t size) {
  HttpResponse r;
  r.status = status;
  r.setHeader("Location", uploadLocation(name, id));
  r.setHeader("Docker-Upload-UUID", id);
  if (auto range = uploadRangeHeader(size)) r.setHeader("Range", *range);
  return r;
}

// An error during an upload. A 416 also says where the upload stands, so the
// client can resume from there (spec: "GET … to retrieve the current valid offset").
HttpResponse uploadError(const OciEnv& env, const Error& error, std::string_view name, const std::string& id) {
  auto r = errorResponse(error, ErrorSite::kUpload);
  if (r.status == 416) {
    if (auto state = env.blobs.uploadState(id); state.ok()) {
      r.setHeader("Location", uploadLocation(name, id));
      r.setHeader("Docker-Upload-UUID", id);
      if (auto range = uploadRangeHeader(state->size)) r.setHeader("Range", *range);
    }
  }
  return r;
}

// Appends the request body to an upload at `offset`. With a chunk range the
// body must be exactly that chunk: a Content-Length that disagrees is refused
// before anything is read, and a streamed body longer or shorter than the
// range is an error (the bytes already appended stay, as BlobStore::append
// documents; the client learns the real offset from GET or the 416).
Result<std::uint64_t> appendBody(const OciEnv& env, const std::string& id, std::uint64_t offset,
                                 RequestBody& body, std::optional<ChunkRange> chunk) {
  auto declared = body.declaredLength();
  if (declared && *declared > env.options.maxBlobBytes)
    return Error::make(ErrorCode::kPayloadTooLarge, "blob larger than the registry's limit of " +
                                                        std::to_string(env.options.maxBlobBytes) + " bytes");
  std::uint64_t limit = std::numeric_limits<std::uint64_t>::max();
  if (chunk) {
    if (declared && *declared != chunk->length())
      return Error::make(ErrorCode::kUploadInvalid, "Content-Length " + std::to_string(*declared) +
                                                        " does not match Content-Range " + std::to_string(chunk->start) +
                                                        "-" + std::to_string(chunk->end));
    limit = chunk->length();
  }
  std::uint64_t received = 0;
  blobstore::ByteSource source = [&](char* out, std::size_t max) -> Result<std::size_t> {
    if (received == limit) {
      char probe;
      auto extra = body.read(&probe, 1);
      if (!extra.ok()) return extra;
      if (*extra != 0) return Error::make(ErrorCode::kUploadInvalid, "chunk is longer than its Content-Range");
      return std::size_t{0};
    }
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(max, limit - received));
    auto n = body.read(out, want);
    if (n.ok()) received += *n;
    return n;
  };
  auto size = env.blobs.append(id, offset, source, env.options.maxBlobBytes);
  if (!size.ok()) return size;
  if (chunk && *size != chunk->end + 1)
    return Error::make(ErrorCode::kUploadInvalid, "chunk is shorter than its Content-Range " +
                                                      std::to_string(chunk->start) + "-" + std::to_string(chunk->end));
  return size;
}

// Verifies and publishes the upload as `digest`, linking it into `name` under
// the digest's lock (so a concurrent sweep cannot drop the fresh blob).
HttpResponse commit(const OciEnv& env, std::string_view name, const std::string& id, const oci::Digest& digest) {
  auto info = env.blobs.commitUpload(id, digest, [&](const blobstore::BlobInfo& blob) {
    return registry::linkBlob(env.ctx, name, blob.digest.str(), blob.size);
  });
  if (!info.ok()) return errorResponse(info.error(), ErrorSite::kUpload);
  HttpResponse r;
  r.status = 201;
  r.setHeader("Location", blobLocation(name, digest.str()));
  r.setHeader("Docker-Content-Digest", digest.str());
  return r;
}

// Chunk range from Content-Range, if the request has one.
Result<std::optional<ChunkRange>> requestChunk(const HttpRequest& request) {
  const std::string* header = request.header("content-range");
  if (!header) return std::optional<ChunkRange>();
  auto chunk = parseChunkRange(*header);
  if (!chunk)
    return Error::make(ErrorCode::kUploadInvalid, "malformed Content-Range: expected <start>-<end> (inclusive)",
                       *header);
  return std::optional<ChunkRange>(*chunk);
}

// Cross-repository mount (end-11): the blob must be linked into `from` (or
// already into `name` when `from` is absent) and still present in the store.
Result<bool> tryMount(const OciEnv& env, std::string_view name, const oci::Digest& digest,
                      const std::optional<std::string>& from) {
  std::string source = from ? *from : std::string(name);
  if (!registry::isValidRepositoryName(source)) return false;
  auto size = registry::linkedBlobSize(env.ctx, source, digest.str());
  if (!size) return false;
  bool mounted = false;
  auto status = env.blobs.withBlobLocked(digest, [&]() -> Status {
    if (!env.blobs.exists(digest)) return okStatus();  // swept after the link was read
    BERTH_TRY(registry::linkBlob(env.ctx, name, digest.str(), *size));
    mounted = true;
    return okStatus();
  });
  if (!status.ok()) return status.takeError();
  return mounted;
}

HttpResponse startMonolithic(const OciEnv& env, std::string_view name, const HttpRequest& request,
                             const std::string& digestText) {
  auto digest = parseDigest(digestText);
  if (!digest.ok()) return errorResponse(digest.error(), ErrorSite::kUpload);
  auto state = env.blobs.beginUpload();
  if (!state.ok()) return errorResponse(state.error(), ErrorSite::kUpload);
  RequestBody body(request);
  auto size = appendBody(env, state->id, 0, body, std::nullopt);
  if (!size.ok()) {
    // A failed monolithic push has no session the client knows about: drop it.
    (void)env.blobs.cancelUpload(state->id);
    return errorResponse(size.error(), ErrorSite::kUpload);
  }
  return commit(env, name, state->id, *digest);  // the upload is gone afterwards either way
}

HttpResponse getBlob(const OciEnv& env, std::string_view name, const oci::Digest& digest, const HttpRequest& request,
                     bool head) {
  if (!registry::linkedBlobSize(env.ctx, name, digest.str()))
    return errorResponse(404, "BLOB_UNKNOWN", "blob unknown to registry", digest.str());
  std::unique_ptr<blobstore::BlobReader> reader;
  std::uint64_t size = 0;
  if (head) {
    auto s = env.blobs.stat(digest);
    if (!s.ok()) return errorResponse(s.error(), ErrorSite::kBlob);
    size = *s;
  } else {
    auto opened = env.blobs.openBlob(digest);
    if (!opened.ok()) return errorResponse(opened.error(), ErrorSite::kBlob);
    reader = std::move(*opened);
    size = reader->size();
  }

  HttpResponse r;
  r.setHeader("Docker-Content-Digest", digest.str());
  r.setHeader("Accept-Ranges", "bytes");
  ByteRange range{0, size};
  const std::string* rangeHeader = head ? nullptr : request.header("range");
  if (rangeHeader) {
    auto decision = evaluateRange(*rangeHeader, size);
    if (decision.outcome == RangeOutcome::kUnsatisfiable) {
      HttpResponse bad;
      bad.status = 416;
      bad.setHeader("Content-Range", "bytes */" + std::to_string(size));
      bad.setHeader("Docker-Content-Digest", digest.str());
      return bad;
    }
    if (decision.outcome == RangeOutcome::kPartial) {
      range = decision.range;
      r.status = 206;
      r.setHeader("Content-Range", "bytes " + std::to_string(range.start) + "-" + std::to_string(range.end()) + "/" +
                                       std::to_string(size));
    }
  }
  r.setHeader("Content-Type", "application/octet-stream");
  r.setHeader("Content-Length", std::to_string(range.length));
  if (reader && range.length > 0) r.stream = blobBodySource(std::move(reader), range);
  return r;
}

}  // namespace

HttpResponse handleBlob(const OciEnv& env, const Route& route, const HttpRequest& request) {
  const auto& m = request.method;
  if (m != "GET" && m != "HEAD" && m != "DELETE") return methodNotAllowed("GET, HEAD, DELETE");
  auto digest = parseDigest(route.reference);
  if (!digest.ok()) return errorResponse(digest.error(), ErrorSite::kBlob);
  if (auto s = requireRepository(env, route.name); !s.ok()) return errorResponse(s.error(), ErrorSite::kBlob);
  if (m == "DELETE") {
    auto s = registry::unlinkBlob(env.ctx, route.name, digest->str());
    if (!s.ok()) return errorResponse(s.error(), ErrorSite::kBlob);
    HttpResponse r;
    r.status = 202;
    return r;
  }
  return getBlob(env, route.name, *digest, request, m == "HEAD");
}

HttpResponse handleUploadStart(const OciEnv& env, const Route& route, const HttpRequest& request) {
  if (request.method != "POST") return methodNotAllowed("POST");
  if (auto s = ensureRepositoryForPush(env, route.name); !s.ok()) return errorResponse(s.error(), ErrorSite::kUpload);
  auto query = request.query();

  if (auto mount = queryParam(query, "mount")) {
    auto digest = parseDigest(*mount);
    if (!digest.ok()) return errorResponse(digest.error(), ErrorSite::kUpload);
    auto mounted = tryMount(env, route.name, *digest, queryParam(query, "from"));
    if (!mounted.ok()) return errorResponse(mounted.error(), ErrorSite::kUpload);
    if (*mounted) {
      HttpResponse r;
      r.status = 201;
      r.setHeader("Location", blobLocation(route.name, digest->str()));
      r.setHeader("Docker-Content-Digest", digest->str());
      return r;
    }
    // Not mountable: fall through to a new session (spec: 202, the client uploads).
  } else if (auto digest = queryParam(query, "digest")) {
    return startMonolithic(env, route.name, request, *digest);
  }

  auto state = env.blobs.beginUpload();
  if (!state.ok()) return errorResponse(state.error(), ErrorSite::kUpload);
  return uploadProgress(202, route.name, state->id, 0);
}

HttpResponse handleUploadSession(const OciEnv& env, const Route& route, const HttpRequest& request) {
  const auto& m = request.method;
  if (m != "GET" && m != "PATCH" && m != "PUT" && m != "DELETE") return methodNotAllowed("GET, PATCH, PUT, DELETE");
  const std::string& id = route.reference;
  if (!isPlausibleUploadId(id)) return uploadUnknown(id);
  if (auto s = requireRepository(env, route.name); !s.ok()) return errorResponse(s.error(), ErrorSite::kUpload);

  if (m == "DELETE") {
    auto s = env.blobs.cancelUpload(id);
    if (!s.ok()) return errorResponse(s.error(), ErrorSite::kUpload);
    HttpResponse r;
    r.status = 204;
    return r;
  }

  // The closing PUT's digest is checked before any byte is read, so a typo
  // leaves the session usable.
  std::optional<oci::Digest> digest;
  if (m == "PUT") {
    auto text = queryParam(request.query(), "digest");
    if (!text)
      return errorResponse(400, "DIGEST_INVALID", "the closing PUT must carry ?digest=<digest of the whole blob>");
    auto parsed = parseDigest(*text);
    if (!parsed.ok()) return errorResponse(parsed.error(), ErrorSite::kUpload);
    digest = *parsed;
  }

  auto state = env.blobs.uploadState(id);
  if (!state.ok()) return errorResponse(state.error(), ErrorSite::kUpload);
  if (m == "GET") return uploadProgress(204, route.name, id, state->size);

  auto chunk = requestChunk(request);
  if (!chunk.ok()) return errorResponse(chunk.error(), ErrorSite::kUpload);
  RequestBody body(request);
  std::uint64_t size = state->size;
  bool append = m == "PATCH" || chunk->has_value() || body.mayHaveBytes();
  if (append) {
    // Without Content-Range the chunk goes at the end (docker's streamed PATCH).
    std::uint64_t offset = chunk->has_value() ? (*chunk)->start : state->size;
    if (offset != state->size)
      return uploadError(env,
                         Error::make(ErrorCode::kRangeNotSatisfiable,
                                     "chunk starts at " + std::to_string(offset) + " but the upload has " +
                                         std::to_string(state->size) + " bytes: chunks must be sent in order"),
                         route.name, id);
    auto appended = appendBody(env, id, offset, body, *chunk);
    if (!appended.ok()) return uploadError(env, appended.error(), route.name, id);
    size = *appended;
  }
  if (m == "PATCH") return uploadProgress(202, route.name, id, size);
  return commit(env, route.name, id, *digest);
}

}  // namespace berth::api::distribution
