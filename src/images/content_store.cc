#include "images/content_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/fs_util.h"
#include "images/layer_unpacker.h"

namespace berth::images {

namespace fs = std::filesystem;

BlobWriter::BlobWriter(oci::Digest expected, std::optional<std::int64_t> size, std::string tempPath,
                       std::string finalPath, int fd)
    : expected_(std::move(expected)),
      expectedSize_(size),
      tempPath_(std::move(tempPath)),
      finalPath_(std::move(finalPath)),
      fd_(fd),
      hasher_(expected_.algorithm()) {}

BlobWriter::~BlobWriter() { abort(); }

void BlobWriter::abort() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  if (!done_) {
    ::unlink(tempPath_.c_str());
    done_ = true;
  }
}

Status BlobWriter::write(const void* data, std::size_t size) {
  if (done_) return Error::make(ErrorCode::kInternal, "write after commit/abort", finalPath_);
  if (expectedSize_ && written_ + size > static_cast<std::uint64_t>(*expectedSize_)) {
    abort();
    return Error::make(ErrorCode::kInvalidParameter,
                       "blob " + expected_.str() + " is larger than its descriptor size " +
                           std::to_string(*expectedSize_),
                       expected_.str());
  }
  hasher_.update(data, size);
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd_, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      abort();
      return ioError("cannot write blob", tempPath_, err);
    }
    p += n;
    size -= static_cast<std::size_t>(n);
    written_ += static_cast<std::uint64_t>(n);
  }
  return okStatus();
}

Status BlobWriter::commit() {
  if (done_) return Error::make(ErrorCode::kInternal, "commit after abort", finalPath_);
  if (expectedSize_ && written_ != static_cast<std::uint64_t>(*expectedSize_)) {
    abort();
    return Error::make(ErrorCode::kInvalidParameter,
                       "blob " + expected_.str() + " is " + std::to_string(written_) + " bytes, descriptor says " +
                           std::to_string(*expectedSize_),
                       expected_.str());
  }
  oci::Digest actual = hasher_.finish();
  if (actual != expected_) {
    abort();
    return Error::make(ErrorCode::kInvalidParameter,
                       "digest mismatch: expected " + expected_.str() + ", content hashes to " + actual.str(),
                       expected_.str());
  }
  if (::fchmod(fd_, 0444) != 0 || ::fsync(fd_) != 0) {
    int err = errno;
    abort();
    return ioError("cannot fsync blob", tempPath_, err);
  }
  ::close(fd_);
  fd_ = -1;
  // rename() atomically replaces: a concurrent writer of the same digest wrote
  // identical bytes, so whichever lands last is equally correct.
  if (::rename(tempPath_.c_str(), finalPath_.c_str()) != 0) {
    int err = errno;
    abort();
    return ioError("cannot publish blob", finalPath_, err);
  }
  done_ = true;
  return fsyncDir(fs::path(finalPath_).parent_path().string());
}

nlohmann::json ImageRecord::toJson() const {
  nlohmann::json layersJson = nlohmann::json::array();
  for (std::size_t i = 0; i < layers.size(); ++i) {
    layersJson.push_back({{"digest", layers[i].str()},
                          {"mediaType", i < layerMediaTypes.size() ? layerMediaTypes[i] : std::string()}});
  }
  return {{"reference", reference},
          {"manifestDigest", manifestDigest.str()},
          {"manifestMediaType", manifestMediaType},
          {"configDigest", configDigest.str()},
          {"layers", layersJson}};
}

Result<ImageRecord> ImageRecord::fromJson(const nlohmann::json& j) {
  auto bad = [] { return Error::make(ErrorCode::kSerialization, "malformed image record"); };
  if (!j.is_object()) return bad();
  ImageRecord r;
  auto str = [&](const char* k) -> std::string {
    auto it = j.find(k);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  r.reference = str("reference");
  r.manifestMediaType = str("manifestMediaType");
  auto md = oci::Digest::parse(str("manifestDigest"));
  auto cd = oci::Digest::parse(str("configDigest"));
  if (!md.ok() || !cd.ok()) return bad();
  r.manifestDigest = *md;
  r.configDigest = *cd;
  auto layers = j.find("layers");
  if (layers == j.end() || !layers->is_array()) return bad();
  for (const auto& l : *layers) {
    if (!l.is_object() || !l.contains("digest") || !l["digest"].is_string()) return bad();
    auto d = oci::Digest::parse(l["digest"].get<std::string>());
    if (!d.ok()) return bad();
    r.layers.push_back(*d);
    r.layerMediaTypes.push_back(l.value("mediaType", ""));
  }
  return r;
}

DigestLock::~DigestLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the open file description drops the flock
}

Result<std::unique_ptr<ContentStore>> ContentStore::open(const std::string& rootIn, ContentStoreOptions options) {
  std::error_code ec;
  std::string root = fs::absolute(rootIn, ec).lexically_normal().string();
  if (ec) return ioError("cannot resolve", rootIn, ec.value());
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  for (const char* sub : {"blobs/sha256", "blobs/sha512", "ingest", "layers/sha256", "layers/sha512", "images",
                          "locks"}) {
    BERTH_TRY(makeDirs(root + "/" + sub, 0700));
  }
  // One agent owns a root: whatever is in ingest/ or a layers temp dir now was
  // left by a crash.
  for (const auto& e : fs::directory_iterator(root + "/ingest", ec)) fs::remove_all(e.path(), ec);
  for (const char* alg : {"sha256", "sha512"}) {
    for (const auto& e : fs::directory_iterator(root + "/layers/" + alg, ec)) {
      if (e.path().filename().string().starts_with(".tmp-")) fs::remove_all(e.path(), ec);
    }
  }
  return std::unique_ptr<ContentStore>(new ContentStore(root, options));
}

std::string ContentStore::blobPath(const oci::Digest& d) const {
  return root_ + "/blobs/" + std::string(d.algorithmName()) + "/" + d.hex();
}

std::string ContentStore::layerPath(const oci::Digest& d) const {
  return root_ + "/layers/" + std::string(d.algorithmName()) + "/" + d.hex();
}

bool ContentStore::hasBlob(const oci::Digest& d) const {
  struct stat st;
  return ::stat(blobPath(d).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool ContentStore::hasLayer(const oci::Digest& d) const {
  struct stat st;
  return ::stat(layerPath(d).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

Result<std::unique_ptr<BlobWriter>> ContentStore::beginWrite(const oci::Digest& expected,
                                                             std::optional<std::int64_t> size) {
  std::string tmpl = root_ + "/ingest/" + expected.hex().substr(0, 16) + "-XXXXXX";
  int fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
  if (fd < 0) return ioError("cannot create ingest file", tmpl, errno);
  return std::unique_ptr<BlobWriter>(new BlobWriter(expected, size, tmpl, blobPath(expected), fd));
}

Status ContentStore::putBlob(const oci::Digest& expected, std::string_view data) {
  auto w = beginWrite(expected, static_cast<std::int64_t>(data.size()));
  if (!w.ok()) return w.takeError();
  BERTH_TRY((*w)->write(data));
  return (*w)->commit();
}

Result<std::string> ContentStore::readBlob(const oci::Digest& d, std::size_t maxBytes) const {
  return readFile(blobPath(d), maxBytes);
}

Result<DigestLock> ContentStore::lockDigest(const oci::Digest& d) {
  std::string path = root_ + "/locks/" + std::string(d.algorithmName()) + "-" + d.hex();
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return ioError("cannot open lock", path, errno);
  while (::flock(fd, LOCK_EX) != 0) {
    if (errno == EINTR) continue;
    int err = errno;
    ::close(fd);
    return ioError("cannot lock", path, err);
  }
  return DigestLock(fd);
}

Result<std::string> ContentStore::ensureUnpacked(const oci::Digest& layer) {
  std::string dest = layerPath(layer);
  if (hasLayer(layer)) return dest;
  auto lock = lockDigest(layer);
  if (!lock.ok()) return lock.takeError();
  if (hasLayer(layer)) return dest;  // another thread finished while we waited
  if (!hasBlob(layer)) {
    return Error::make(ErrorCode::kNotFound, "layer blob " + layer.str() + " is not in the content store",
                       layer.str());
  }
  std::string tmpl = root_ + "/layers/" + std::string(layer.algorithmName()) + "/.tmp-" + layer.hex().substr(0, 16) +
                     "-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) return ioError("cannot create temp layer dir", tmpl, errno);
  auto stats = unpackLayer(blobPath(layer), tmpl);
  if (!stats.ok()) {
    (void)removeTree(tmpl);
    Error e = stats.takeError();
    e.message = "layer " + layer.str() + ": " + e.message;
    return e;
  }
  // The layer root becomes an overlay lower root: readable by everyone, like "/".
  ::chmod(tmpl.c_str(), 0755);
  if (options_.syncLayers) {
    int fd = ::open(tmpl.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
      ::syncfs(fd);
      ::close(fd);
    }
  }
  if (::rename(tmpl.c_str(), dest.c_str()) != 0) {
    int err = errno;
    (void)removeTree(tmpl);
    // Another process published it first (we hold the flock, but be tolerant).
    if ((err == EEXIST || err == ENOTEMPTY) && hasLayer(layer)) return dest;
    return ioError("cannot publish layer", dest, err);
  }
  BERTH_TRY(fsyncDir(fs::path(dest).parent_path().string()));
  return dest;
}

std::string ContentStore::imageRecordPath(const std::string& reference) const {
  return root_ + "/images/" + oci::digestOf(reference).hex() + ".json";
}

Status ContentStore::putImage(const ImageRecord& record) {
  return writeFileAtomic(imageRecordPath(record.reference), record.toJson().dump(2));
}

Result<ImageRecord> ContentStore::getImage(const std::string& reference) const {
  auto text = readFile(imageRecordPath(reference), 1 << 20);
  if (!text.ok()) return text.takeError();
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded()) return Error::make(ErrorCode::kSerialization, "corrupt image record for " + reference);
  auto r = ImageRecord::fromJson(j);
  if (!r.ok()) return r.takeError();
  if (r->reference != reference) {
    return Error::make(ErrorCode::kNotFound, "no image record for " + reference, reference);
  }
  return r;
}

}  // namespace berth::images
