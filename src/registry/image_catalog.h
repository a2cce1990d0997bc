#pragma once
// One repository's images and tags as the state cache shows them, read in
// one pass and joined (tags per image, indexes per child). The revisions are
// kept so a write built from the catalog can compare on exactly what it read.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "control/state_cache.h"

namespace berth::registry {

struct CatalogImage {
  nlohmann::json doc;  // ecr/images/<repo>@<digest>, see keys.h
  std::int64_t modRevision = 0;
  std::vector<std::string> tags;  // lexical order
};

struct CatalogTag {
  std::string digest;
  std::int64_t modRevision = 0;
};

struct ImageCatalog {
  std::map<std::string, CatalogImage> images;  // by digest
  std::map<std::string, CatalogTag> tags;      // by tag
  // child digest → digests of the repository's indexes that list it
  std::map<std::string, std::vector<std::string>> parents;

  const CatalogImage* find(std::string_view digest) const;
};

ImageCatalog loadImageCatalog(const control::StateCache& cache, std::string_view repository);

// The part of a key after a repository-scoped prefix ("ecr/tags/<repo>:" → tag).
inline std::string keySuffix(const std::string& key, std::string_view prefix) { return key.substr(prefix.size()); }

}  // namespace berth::registry
