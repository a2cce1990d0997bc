#include "registry/image_catalog.h"

#include "registry/keys.h"

namespace berth::registry {

const CatalogImage* ImageCatalog::find(std::string_view digest) const {
  auto it = images.find(std::string(digest));
  return it == images.end() ? nullptr : &it->second;
}

ImageCatalog loadImageCatalog(const control::StateCache& cache, std::string_view repository) {
  ImageCatalog c;
  const std::string imagePrefix = keys::imagesOf(repository);
  cache.scan(imagePrefix, "", [&](const std::string& key, const control::CachedObject& obj) {
    c.images[keySuffix(key, imagePrefix)] = CatalogImage{obj.doc, obj.modRevision, {}};
    return true;
  });
  const std::string tagPrefix = keys::tagsOf(repository);
  cache.scan(tagPrefix, "", [&](const std::string& key, const control::CachedObject& obj) {
    c.tags[keySuffix(key, tagPrefix)] = CatalogTag{obj.doc.value("imageDigest", ""), obj.modRevision};
    return true;
  });
  for (const auto& [tag, t] : c.tags)
    if (auto it = c.images.find(t.digest); it != c.images.end()) it->second.tags.push_back(tag);
  for (const auto& [digest, image] : c.images) {
    auto children = image.doc.find("children");
    if (children == image.doc.end() || !children->is_array()) continue;
    for (const auto& child : *children)
      if (child.is_string()) c.parents[child.get<std::string>()].push_back(digest);
  }
  return c;
}

}  // namespace berth::registry
