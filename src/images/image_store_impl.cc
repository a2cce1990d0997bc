#include "images/image_store_impl.h"

#include <algorithm>

#include "common/log.h"
#include "images/registry_client.h"
#include "oci/media_types.h"
#include "oci/platform.h"

namespace berth::images {

namespace {

bool isLoopbackHost(const std::string& host) {
  return host == "localhost" || host.starts_with("127.") || host == "::1" || host.ends_with(".localhost");
}

Error pullError(const std::string& ref, Error e) {
  e.message = "pull " + ref + ": " + e.message;
  return e;
}

// Streams one blob into the store unless it is already there. The per-digest
// lock makes concurrent pulls of the same image download each blob once.
Status fetchBlob(ContentStore& store, RegistryClient& client, const std::string& repository,
                 const oci::Descriptor& desc) {
  if (store.hasBlob(desc.digest)) return okStatus();
  auto lock = store.lockDigest(desc.digest);
  if (!lock.ok()) return lock.takeError();
  if (store.hasBlob(desc.digest)) return okStatus();
  auto writer = store.beginWrite(desc.digest, desc.size);
  if (!writer.ok()) return writer.takeError();
  BlobWriter& w = **writer;
  BodySink sink = [&w](std::string_view chunk) { return w.write(chunk); };
  auto st = client.getBlob(repository, desc.digest, sink);
  if (!st.ok()) return st;  // the writer's destructor deletes the partial file
  auto committed = w.commit();
  if (!committed.ok()) {
    Error e = committed.takeError();
    e.message = "blob " + desc.digest.str() + " from " + client.baseUrl().hostPort() + " refused: " + e.message;
    return e;
  }
  return okStatus();
}

}  // namespace

ImageStoreImpl::ImageStoreImpl(ImageStoreOptions options, std::unique_ptr<ContentStore> store)
    : options_(std::move(options)), store_(std::move(store)) {
  clock_ = options_.clock ? options_.clock : &systemClock_;
  if (options_.platform.os.empty()) options_.platform = oci::defaultPlatform();
}

Result<std::unique_ptr<ImageStoreImpl>> ImageStoreImpl::open(ImageStoreOptions options) {
  ContentStoreOptions cs;
  cs.syncLayers = options.syncLayers;
  auto store = ContentStore::open(options.root, cs);
  if (!store.ok()) return store.takeError();
  return std::unique_ptr<ImageStoreImpl>(new ImageStoreImpl(std::move(options), std::move(*store)));
}

Result<std::string> ImageStoreImpl::endpointFor(const oci::Reference& ref) const {
  if (options_.resolveRegistry) {
    if (auto url = options_.resolveRegistry(ref.registry)) return *url;
  }
  if (auto it = options_.registryOverride.find(ref.registry); it != options_.registryOverride.end()) {
    auto url = Url::parse(it->second);
    if (!url.ok()) return url.takeError();
    return url->scheme + "://" + url->hostPort();
  }
  if (ref.registry == oci::kDockerHubDomain) return "https://" + std::string(oci::kDockerHubEndpointHost);
  bool insecure = isLoopbackHost(ref.registryHost()) ||
                  std::find(options_.insecureRegistries.begin(), options_.insecureRegistries.end(), ref.registry) !=
                      options_.insecureRegistries.end();
  return std::string(insecure ? "http://" : "https://") + ref.registry;
}

Result<Image> ImageStoreImpl::pull(const PullRequest& request) {
  auto ref = oci::Reference::parse(request.image);
  if (!ref.ok()) return ref.takeError();
  const std::string key = ref->str();
  switch (request.behavior) {
    case PullBehavior::kOnce:
    case PullBehavior::kPreferCached: {
      auto cachedImage = loadCached(key);
      if (cachedImage.ok()) return cachedImage;
      return pullRemote(*ref, request);
    }
    case PullBehavior::kAlways:
      return pullRemote(*ref, request);
    case PullBehavior::kDefault: {
      auto pulled = pullRemote(*ref, request);
      if (pulled.ok()) return pulled;
      auto cachedImage = loadCached(key);
      if (cachedImage.ok()) {
        log::warn("image pull failed; using the cached image",
                  {{"image", key}, {"error", pulled.error().message}, {"manifestDigest", cachedImage->manifestDigest}});
        return cachedImage;
      }
      return pulled;
    }
  }
  return Error::make(ErrorCode::kInternal, "unknown pull behavior");
}

Result<Image> ImageStoreImpl::cached(const std::string& image) {
  auto ref = oci::Reference::parse(image);
  if (!ref.ok()) return ref.takeError();
  return loadCached(ref->str());
}

Result<Image> ImageStoreImpl::loadCached(const std::string& key) {
  auto record = store_->getImage(key);
  if (!record.ok()) return record.takeError();
  return imageFromRecord(*record);
}

Result<Image> ImageStoreImpl::imageFromRecord(const ImageRecord& record) {
  auto configBytes = store_->readBlob(record.configDigest, oci::kMaxConfigBytes);
  if (!configBytes.ok()) return configBytes.takeError();
  auto config = oci::parseImageConfig(*configBytes);
  if (!config.ok()) return config.takeError();
  Image img;
  img.reference = record.reference;
  img.manifestDigest = record.manifestDigest.str();
  img.configDigest = record.configDigest.str();
  img.config = config->config;
  for (const auto& layer : record.layers) {
    // A layer directory survives even if its blob was pruned; otherwise unpack again.
    auto dir = store_->hasLayer(layer) ? Result<std::string>(store_->layerPath(layer)) : store_->ensureUnpacked(layer);
    if (!dir.ok()) return dir.takeError();
    img.layerDirs.push_back(*dir);
    img.layerDigests.push_back(layer.str());
  }
  return img;
}

Result<Image> ImageStoreImpl::pullRemote(const oci::Reference& ref, const PullRequest& request) {
  const std::string key = ref.str();
  auto endpoint = endpointFor(ref);
  if (!endpoint.ok()) return pullError(key, endpoint.takeError());
  auto base = Url::parse(*endpoint);
  if (!base.ok()) return pullError(key, base.takeError());
  RegistryClientOptions copts;
  copts.http = options_.http;
  copts.credentials = request.credentials;
  if (!copts.credentials && options_.credentialsFor) copts.credentials = options_.credentialsFor(ref.registry);
  RegistryClient client(*base, copts, *clock_);

  auto fetched = client.getManifest(ref.repository, ref.manifestReference());
  if (!fetched.ok()) return pullError(key, fetched.takeError());
  auto parsed = oci::parseManifestOrIndex(fetched->body, fetched->contentType);
  if (!parsed.ok()) return pullError(key, parsed.takeError());

  oci::Digest manifestDigest = fetched->digest;
  std::string manifestBody = std::move(fetched->body);
  if (auto* index = std::get_if<oci::Index>(&*parsed)) {
    auto chosen = oci::selectManifest(*index, options_.platform);
    if (!chosen.ok()) return pullError(key, chosen.takeError());
    auto child = client.getManifest(ref.repository, chosen->digest.str());
    if (!child.ok()) return pullError(key, child.takeError());
    auto m = oci::parseManifest(child->body, child->contentType);
    if (!m.ok()) return pullError(key, m.takeError());
    manifestDigest = child->digest;
    manifestBody = std::move(child->body);
    parsed = std::variant<oci::Manifest, oci::Index>(std::move(*m));
  }
  const oci::Manifest& manifest = std::get<oci::Manifest>(*parsed);

  // Config: small, verified, parsed, checked against the node's platform.
  if (manifest.config.size > static_cast<std::int64_t>(oci::kMaxConfigBytes)) {
    return pullError(key, Error::make(ErrorCode::kPayloadTooLarge, "image config is over the 8 MiB limit"));
  }
  BERTH_TRY(([&]() -> Status {
    auto st = fetchBlob(*store_, client, ref.repository, manifest.config);
    if (!st.ok()) return pullError(key, st.takeError());
    return okStatus();
  }()));
  auto configBytes = store_->readBlob(manifest.config.digest, oci::kMaxConfigBytes);
  if (!configBytes.ok()) return pullError(key, configBytes.takeError());
  auto config = oci::parseImageConfig(*configBytes);
  if (!config.ok()) return pullError(key, config.takeError());
  if (!oci::platformMatches(config->platform, options_.platform)) {
    return pullError(key, Error::make(ErrorCode::kInvalidParameter,
                                      "image is for " + oci::normalizePlatform(config->platform).str() +
                                          ", this node runs " + oci::normalizePlatform(options_.platform).str()));
  }
  if (config->diffIds.size() != manifest.layers.size()) {
    return pullError(key, Error::make(ErrorCode::kInvalidParameter,
                                      "image config lists " + std::to_string(config->diffIds.size()) +
                                          " layer diff_ids but the manifest has " +
                                          std::to_string(manifest.layers.size()) + " layers"));
  }

  // Layers: download (verified), then unpack once each.
  ImageRecord record;
  record.reference = key;
  record.manifestDigest = manifestDigest;
  record.manifestMediaType = manifest.mediaType;
  record.configDigest = manifest.config.digest;
  for (const auto& layer : manifest.layers) {
    auto st = fetchBlob(*store_, client, ref.repository, layer);
    if (!st.ok()) return pullError(key, st.takeError());
    auto dir = store_->ensureUnpacked(layer.digest);
    if (!dir.ok()) return pullError(key, dir.takeError());
    record.layers.push_back(layer.digest);
    record.layerMediaTypes.push_back(layer.mediaType);
  }
  if (!store_->hasBlob(manifestDigest)) {
    auto st = store_->putBlob(manifestDigest, manifestBody);
    if (!st.ok()) return pullError(key, st.takeError());
  }
  // Re-pulling an unchanged tag (the `default` behaviour checks the registry
  // for every task) must not cost an fsynced rewrite of the same record.
  auto existing = store_->getImage(key);
  if (!existing.ok() || existing->toJson() != record.toJson()) {
    auto st = store_->putImage(record);
    if (!st.ok()) return pullError(key, st.takeError());
  }

  Image img;
  img.reference = key;
  img.manifestDigest = manifestDigest.str();
  img.configDigest = manifest.config.digest.str();
  img.config = config->config;
  for (const auto& layer : record.layers) {
    img.layerDirs.push_back(store_->layerPath(layer));
    img.layerDigests.push_back(layer.str());
  }
  log::info("image pulled", {{"image", key}, {"manifestDigest", img.manifestDigest}, {"layers", img.layerDirs.size()}});
  return img;
}

}  // namespace berth::images
