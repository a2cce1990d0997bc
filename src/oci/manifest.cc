#include "oci/manifest.h"

#include "oci/media_types.h"

namespace berth::oci {
namespace {

using nlohmann::json;

Error invalid(std::string message, std::string context = {}) {
  return Error::make(ErrorCode::kInvalidParameter, std::move(message), std::move(context));
}

// Optional string member: absent → "", wrong type → error.
Result<std::string> optString(const json& obj, const char* key, const char* where) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::string();
  if (!it->is_string()) return invalid(std::string(where) + "." + key + " must be a string");
  return it->get<std::string>();
}

Result<std::vector<std::string>> optStringArray(const json& obj, const char* key, const char* where) {
  std::vector<std::string> out;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return out;
  if (!it->is_array()) return invalid(std::string(where) + "." + key + " must be an array of strings");
  for (const auto& v : *it) {
    if (!v.is_string()) return invalid(std::string(where) + "." + key + " must be an array of strings");
    out.push_back(v.get<std::string>());
  }
  return out;
}

Result<Platform> parsePlatform(const json& j, const char* where) {
  if (!j.is_object()) return invalid(std::string(where) + " must be an object");
  Platform p;
  auto os = optString(j, "os", where);
  if (!os.ok()) return os.takeError();
  auto arch = optString(j, "architecture", where);
  if (!arch.ok()) return arch.takeError();
  auto variant = optString(j, "variant", where);
  if (!variant.ok()) return variant.takeError();
  auto osVersion = optString(j, "os.version", where);
  if (!osVersion.ok()) return osVersion.takeError();
  auto features = optStringArray(j, "os.features", where);
  if (!features.ok()) return features.takeError();
  p.os = *os;
  p.architecture = *arch;
  p.variant = *variant;
  p.osVersion = *osVersion;
  p.osFeatures = *features;
  return p;
}

Result<Descriptor> parseDescriptor(const json& j, const std::string& where) {
  if (!j.is_object()) return invalid(where + " must be an object");
  Descriptor d;
  auto mt = j.find("mediaType");
  if (mt == j.end() || !mt->is_string() || mt->get<std::string>().empty()) {
    return invalid(where + ".mediaType is required");
  }
  d.mediaType = mt->get<std::string>();
  auto dg = j.find("digest");
  if (dg == j.end() || !dg->is_string()) return invalid(where + ".digest is required");
  auto digest = Digest::parse(dg->get<std::string>());
  if (!digest.ok()) return invalid(where + ": " + digest.error().message, digest.error().context);
  d.digest = *digest;
  auto sz = j.find("size");
  if (sz == j.end() || !sz->is_number_integer() || sz->get<std::int64_t>() < 0) {
    return invalid(where + ".size must be a non-negative integer");
  }
  d.size = sz->get<std::int64_t>();
  auto urls = optStringArray(j, "urls", where.c_str());
  if (!urls.ok()) return urls.takeError();
  d.urls = *urls;
  if (auto p = j.find("platform"); p != j.end() && !p->is_null()) {
    auto platform = parsePlatform(*p, (where + ".platform").c_str());
    if (!platform.ok()) return platform.takeError();
    d.platform = *platform;
  }
  if (auto a = j.find("annotations"); a != j.end() && !a->is_null()) {
    if (!a->is_object()) return invalid(where + ".annotations must be an object");
    d.annotations = *a;
  }
  return d;
}

// A Content-Type that says nothing specific about the document.
bool genericContentType(std::string_view ct) {
  return ct.empty() || ct == "application/json" || ct == "text/plain" || ct == "application/octet-stream";
}

std::string_view stripParams(std::string_view ct) {
  auto semi = ct.find(';');
  if (semi != std::string_view::npos) ct = ct.substr(0, semi);
  while (!ct.empty() && ct.back() == ' ') ct.remove_suffix(1);
  return ct;
}

Result<Manifest> manifestFromJson(const json& j, const std::string& mediaType) {
  Manifest m;
  m.mediaType = mediaType;
  auto cfg = j.find("config");
  if (cfg == j.end()) return invalid("manifest has no config descriptor");
  auto config = parseDescriptor(*cfg, "config");
  if (!config.ok()) return config.takeError();
  if (!isConfigMediaType(config->mediaType)) {
    return invalid("manifest config media type '" + config->mediaType +
                       "' is not a container image config (is this an artifact, not an image?)",
                   config->mediaType);
  }
  m.config = *config;
  auto layers = j.find("layers");
  if (layers == j.end() || !layers->is_array()) return invalid("manifest.layers must be an array");
  for (std::size_t i = 0; i < layers->size(); ++i) {
    auto layer = parseDescriptor((*layers)[i], "layers[" + std::to_string(i) + "]");
    if (!layer.ok()) return layer.takeError();
    if (!isLayerMediaType(layer->mediaType)) {
      return invalid("unsupported layer media type '" + layer->mediaType + "'", layer->mediaType);
    }
    m.layers.push_back(std::move(*layer));
  }
  return m;
}

Result<Index> indexFromJson(const json& j, const std::string& mediaType) {
  Index idx;
  idx.mediaType = mediaType;
  auto ms = j.find("manifests");
  if (ms == j.end() || !ms->is_array()) return invalid("index.manifests must be an array");
  for (std::size_t i = 0; i < ms->size(); ++i) {
    auto d = parseDescriptor((*ms)[i], "manifests[" + std::to_string(i) + "]");
    if (!d.ok()) return d.takeError();
    idx.manifests.push_back(std::move(*d));
  }
  return idx;
}

}  // namespace

std::string Platform::str() const {
  std::string s = os + "/" + architecture;
  if (!variant.empty()) s += "/" + variant;
  return s;
}

Result<std::variant<Manifest, Index>> parseManifestOrIndex(std::string_view body, std::string_view contentType) {
  if (body.size() > kMaxManifestBytes) {
    return Error::make(ErrorCode::kPayloadTooLarge,
                       "manifest is " + std::to_string(body.size()) + " bytes, over the 4 MiB limit");
  }
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return invalid("manifest is not a JSON object");

  auto sv = j.find("schemaVersion");
  if (sv == j.end() || !sv->is_number_integer()) return invalid("manifest has no integer schemaVersion");
  std::string_view ct = stripParams(contentType);
  if (sv->get<std::int64_t>() == 1 || ct == kDockerManifestV1Signed || ct == kDockerManifestV1) {
    return invalid("Docker image manifest schema 1 is not supported; push the image with schema 2 or OCI");
  }
  if (sv->get<std::int64_t>() != 2) {
    return invalid("unsupported manifest schemaVersion " + std::to_string(sv->get<std::int64_t>()));
  }

  auto bodyType = optString(j, "mediaType", "manifest");
  if (!bodyType.ok()) return bodyType.takeError();
  std::string mediaType = *bodyType;
  if (!genericContentType(ct)) {
    if (mediaType.empty()) {
      mediaType = std::string(ct);
    } else if (mediaType != ct) {
      return invalid("manifest mediaType '" + mediaType + "' does not match Content-Type '" + std::string(ct) + "'");
    }
  }
  if (mediaType.empty()) {
    // OCI allows omitting mediaType; infer from the shape.
    bool hasManifests = j.contains("manifests");
    bool hasLayers = j.contains("layers") || j.contains("config");
    if (hasManifests == hasLayers) return invalid("cannot tell whether the document is a manifest or an index");
    mediaType = std::string(hasManifests ? kOciIndex : kOciManifest);
  }
  if (isIndexMediaType(mediaType)) {
    auto idx = indexFromJson(j, mediaType);
    if (!idx.ok()) return idx.takeError();
    return std::variant<Manifest, Index>(std::move(*idx));
  }
  if (isManifestMediaType(mediaType)) {
    auto m = manifestFromJson(j, mediaType);
    if (!m.ok()) return m.takeError();
    return std::variant<Manifest, Index>(std::move(*m));
  }
  return invalid("unsupported manifest media type '" + mediaType + "'", mediaType);
}

Result<Manifest> parseManifest(std::string_view body, std::string_view contentType) {
  auto r = parseManifestOrIndex(body, contentType);
  if (!r.ok()) return r.takeError();
  if (auto* m = std::get_if<Manifest>(&*r)) return std::move(*m);
  return invalid("expected an image manifest, got an index");
}

Result<Index> parseIndex(std::string_view body, std::string_view contentType) {
  auto r = parseManifestOrIndex(body, contentType);
  if (!r.ok()) return r.takeError();
  if (auto* i = std::get_if<Index>(&*r)) return std::move(*i);
  return invalid("expected an image index, got a manifest");
}

Result<ImageConfig> parseImageConfig(std::string_view body) {
  if (body.size() > kMaxConfigBytes) {
    return Error::make(ErrorCode::kPayloadTooLarge, "image config is over the 8 MiB limit");
  }
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return invalid("image config is not a JSON object");
  ImageConfig c;
  auto platform = parsePlatform(j, "config");
  if (!platform.ok()) return platform.takeError();
  c.platform = *platform;
  if (c.platform.os.empty() || c.platform.architecture.empty()) {
    return invalid("image config must name os and architecture");
  }
  if (auto cfg = j.find("config"); cfg != j.end() && !cfg->is_null()) {
    if (!cfg->is_object()) return invalid("image config 'config' must be an object");
    c.config = *cfg;
  }
  auto rootfs = j.find("rootfs");
  if (rootfs == j.end() || !rootfs->is_object()) return invalid("image config has no rootfs");
  auto type = optString(*rootfs, "type", "rootfs");
  if (!type.ok()) return type.takeError();
  if (*type != "layers") return invalid("image config rootfs.type must be 'layers'");
  auto ids = rootfs->find("diff_ids");
  if (ids == rootfs->end() || !ids->is_array()) return invalid("image config rootfs.diff_ids must be an array");
  for (const auto& v : *ids) {
    if (!v.is_string()) return invalid("image config rootfs.diff_ids must hold digests");
    auto d = Digest::parse(v.get<std::string>());
    if (!d.ok()) return invalid("image config rootfs.diff_ids: " + d.error().message, d.error().context);
    c.diffIds.push_back(*d);
  }
  return c;
}

}  // namespace berth::oci
