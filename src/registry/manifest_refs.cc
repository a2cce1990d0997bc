#include "registry/manifest_refs.h"

#include <set>

#include "oci/digest.h"
#include "oci/manifest.h"
#include "oci/media_types.h"

namespace berth::registry {
namespace {

using nlohmann::json;

Error invalid(std::string message) { return Error::make(ErrorCode::kManifestInvalid, std::move(message)); }

bool genericContentType(std::string_view ct) {
  return ct.empty() || ct == "application/json" || ct == "text/plain" || ct == "application/octet-stream";
}

bool schema1(std::string_view mediaType) {
  return mediaType == oci::kDockerManifestV1 || mediaType == oci::kDockerManifestV1Signed;
}

Result<ContentRef> descriptor(const json& j, const std::string& where) {
  if (!j.is_object()) return invalid(where + " must be a descriptor object");
  ContentRef d;
  auto mt = j.find("mediaType");
  if (mt == j.end() || !mt->is_string() || mt->get<std::string>().empty())
    return invalid(where + ".mediaType must be a non-empty string");
  d.mediaType = mt->get<std::string>();
  auto dg = j.find("digest");
  if (dg == j.end() || !dg->is_string()) return invalid(where + ".digest must be a string");
  auto parsed = oci::Digest::parse(dg->get<std::string>());
  if (!parsed.ok()) return invalid(where + ".digest: " + parsed.error().message);
  d.digest = parsed->str();
  auto sz = j.find("size");
  if (sz == j.end() || !sz->is_number_integer() || sz->get<std::int64_t>() < 0)
    return invalid(where + ".size must be a non-negative integer");
  d.size = sz->get<std::int64_t>();
  if (auto urls = j.find("urls"); urls != j.end() && !urls->is_null()) {
    if (!urls->is_array()) return invalid(where + ".urls must be an array of strings");
    for (const auto& u : *urls)
      if (!u.is_string()) return invalid(where + ".urls must be an array of strings");
    d.external = !urls->empty();
  }
  if (auto a = j.find("annotations"); a != j.end() && !a->is_null() && !a->is_object())
    return invalid(where + ".annotations must be an object");
  return d;
}

Result<std::vector<ContentRef>> descriptorList(const json& doc, const char* member) {
  auto it = doc.find(member);
  if (it == doc.end() || !it->is_array()) return invalid(std::string(member) + " must be an array of descriptors");
  std::vector<ContentRef> out;
  for (std::size_t i = 0; i < it->size(); ++i) {
    auto d = descriptor((*it)[i], std::string(member) + "[" + std::to_string(i) + "]");
    if (!d.ok()) return d.takeError();
    out.push_back(std::move(*d));
  }
  return out;
}

// The media type the document is, from its own "mediaType", the Content-Type,
// or (OCI lets both be absent) its shape.
Result<std::string> effectiveMediaType(const json& doc, std::string_view contentType) {
  std::string body;
  if (auto it = doc.find("mediaType"); it != doc.end() && !it->is_null()) {
    if (!it->is_string()) return invalid("mediaType must be a string");
    body = it->get<std::string>();
  }
  std::string_view ct = mediaTypeOf(contentType);
  if (schema1(body) || schema1(ct))
    return invalid("Docker image manifest schema 1 is not supported; push the image as Docker schema 2 or OCI");
  if (!genericContentType(ct)) {
    if (body.empty()) return std::string(ct);
    if (body != ct)
      return invalid("manifest mediaType '" + body + "' does not match the declared media type '" + std::string(ct) + "'");
  }
  if (!body.empty()) return body;
  bool hasManifests = doc.contains("manifests");
  bool hasConfig = doc.contains("config") || doc.contains("layers");
  if (hasManifests == hasConfig) return invalid("the manifest has no mediaType and its shape does not tell a manifest from an index");
  return std::string(hasManifests ? oci::kOciIndex : oci::kOciManifest);
}

}  // namespace

std::string_view mediaTypeOf(std::string_view contentType) {
  auto semi = contentType.find(';');
  if (semi != std::string_view::npos) contentType = contentType.substr(0, semi);
  while (!contentType.empty() && (contentType.back() == ' ' || contentType.back() == '\t')) contentType.remove_suffix(1);
  while (!contentType.empty() && (contentType.front() == ' ' || contentType.front() == '\t')) contentType.remove_prefix(1);
  return contentType;
}

std::vector<std::string> ManifestRefs::requiredBlobs() const {
  std::vector<std::string> out;
  std::set<std::string> seen;
  auto add = [&](const ContentRef& r) {
    if (!r.external && seen.insert(r.digest).second) out.push_back(r.digest);
  };
  if (config) add(*config);
  for (const auto& l : layers) add(l);
  return out;
}

Result<ManifestRefs> parseManifestRefs(std::string_view body, std::string_view contentType) {
  if (body.size() > oci::kMaxManifestBytes)
    return Error::make(ErrorCode::kPayloadTooLarge,
                       "the manifest is " + std::to_string(body.size()) + " bytes, over the 4 MiB limit");
  json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return invalid("the manifest is not a JSON object");

  auto sv = doc.find("schemaVersion");
  if (sv != doc.end() && sv->is_number_integer() && sv->get<std::int64_t>() == 1)
    return invalid("Docker image manifest schema 1 is not supported; push the image as Docker schema 2 or OCI");
  if (sv == doc.end() || !sv->is_number_integer() || sv->get<std::int64_t>() != 2)
    return invalid("schemaVersion must be 2");

  auto mediaType = effectiveMediaType(doc, contentType);
  if (!mediaType.ok()) return mediaType.takeError();

  ManifestRefs refs;
  refs.mediaType = *mediaType;
  refs.mediaTypeInferred = !doc.value("mediaType", json()).is_string() && genericContentType(mediaTypeOf(contentType));
  if (oci::isIndexMediaType(refs.mediaType)) {
    refs.isIndex = true;
    auto children = descriptorList(doc, "manifests");
    if (!children.ok()) return children.takeError();
    refs.manifests = std::move(*children);
  } else if (oci::isManifestMediaType(refs.mediaType)) {
    auto cfg = doc.find("config");
    if (cfg == doc.end()) return invalid("config must be a descriptor object");
    auto config = descriptor(*cfg, "config");
    if (!config.ok()) return config.takeError();
    refs.config = std::move(*config);
    auto layers = descriptorList(doc, "layers");
    if (!layers.ok()) return layers.takeError();
    refs.layers = std::move(*layers);
  } else {
    return invalid("unsupported manifest media type '" + refs.mediaType + "'");
  }

  if (auto s = doc.find("subject"); s != doc.end() && !s->is_null()) {
    auto subject = descriptor(*s, "subject");
    if (!subject.ok()) return subject.takeError();
    refs.subject = subject->digest;
  }
  if (auto a = doc.find("artifactType"); a != doc.end() && !a->is_null()) {
    if (!a->is_string()) return invalid("artifactType must be a string");
    refs.artifactType = a->get<std::string>();
  }
  if (refs.artifactType.empty() && refs.config) refs.artifactType = refs.config->mediaType;
  if (auto a = doc.find("annotations"); a != doc.end() && !a->is_null()) {
    if (!a->is_object()) return invalid("annotations must be an object");
    refs.annotations = *a;
  }
  return refs;
}

}  // namespace berth::registry
