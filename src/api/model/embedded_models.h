#pragma once
// The botocore models embedded at build time by gen_models.py (see
// src/api/CMakeLists.txt). Only service_model.cc reads these; everything else
// goes through ServiceModel.
#include <cstddef>
#include <string_view>

namespace berth::api::model {

struct EmbeddedModel {
  std::string_view name;  // "ecs", "ecr", "logs", ...
  std::string_view json;  // compact model JSON, format documented in gen_models.py
};

extern const EmbeddedModel kEmbeddedModels[];
extern const std::size_t kEmbeddedModelCount;

}  // namespace berth::api::model
