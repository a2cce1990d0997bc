#include "api/service_model.h"

#include <cstdio>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "api/model/embedded_models.h"

namespace berth::api {
namespace {

using nlohmann::json;

std::optional<ShapeType> parseShapeType(std::string_view s) {
  if (s == "structure") return ShapeType::kStructure;
  if (s == "list") return ShapeType::kList;
  if (s == "map") return ShapeType::kMap;
  if (s == "string") return ShapeType::kString;
  if (s == "integer") return ShapeType::kInteger;
  if (s == "long") return ShapeType::kLong;
  if (s == "float") return ShapeType::kFloat;
  if (s == "double") return ShapeType::kDouble;
  if (s == "boolean") return ShapeType::kBoolean;
  if (s == "timestamp") return ShapeType::kTimestamp;
  if (s == "blob") return ShapeType::kBlob;
  return std::nullopt;
}

std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool flag(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

std::optional<double> number(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

// The embedded registry: built once, never mutated, never destroyed (so
// pointers stay valid during static destruction of other objects too).
struct Registry {
  std::vector<std::unique_ptr<ServiceModel>> owned;
  std::vector<const ServiceModel*> all;
};

const Registry& registry() {
  static const Registry* const reg = [] {
    auto* r = new Registry();
    for (std::size_t i = 0; i < model::kEmbeddedModelCount; ++i) {
      const auto& embedded = model::kEmbeddedModels[i];
      auto parsed = ServiceModel::parse(embedded.json);
      if (!parsed.ok()) {
        // The data was generated and checked at build time; failing here is a
        // broken build, not a runtime condition.
        std::fprintf(stderr, "berth: embedded API model '%.*s' is corrupt: %s\n",
                     static_cast<int>(embedded.name.size()), embedded.name.data(),
                     parsed.error().message.c_str());
        std::abort();
      }
      r->all.push_back(parsed.value().get());
      r->owned.push_back(std::move(parsed).value());
    }
    return r;
  }();
  return *reg;
}

}  // namespace

std::string_view shapeTypeName(ShapeType type) {
  switch (type) {
    case ShapeType::kStructure: return "structure";
    case ShapeType::kList: return "list";
    case ShapeType::kMap: return "map";
    case ShapeType::kString: return "string";
    case ShapeType::kInteger: return "integer";
    case ShapeType::kLong: return "long";
    case ShapeType::kFloat: return "float";
    case ShapeType::kDouble: return "double";
    case ShapeType::kBoolean: return "boolean";
    case ShapeType::kTimestamp: return "timestamp";
    case ShapeType::kBlob: return "blob";
  }
  return "unknown";
}

const Member* Shape::findMember(std::string_view memberName) const {
  for (const auto& m : members)
    if (m.name == memberName) return &m;
  return nullptr;
}

Result<std::unique_ptr<ServiceModel>> ServiceModel::parse(std::string_view text) {
  json root = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded() || !root.is_object())
    return Error::make(ErrorCode::kInternal, "model is not a JSON object");

  std::unique_ptr<ServiceModel> model(new ServiceModel());
  try {
    model->name_ = str(root, "name");
    const json& meta = root.at("metadata");
    model->protocol_ = str(meta, "protocol");
    model->targetPrefix_ = str(meta, "targetPrefix");
    model->signingName_ = str(meta, "signingName");
    model->apiVersion_ = str(meta, "apiVersion");
    model->jsonVersion_ = str(meta, "jsonVersion");
    model->serviceId_ = str(meta, "serviceId");
    model->endpointPrefix_ = str(meta, "endpointPrefix");
    model->xmlNamespace_ = str(meta, "xmlNamespace");
    if (auto src = root.find("source"); src != root.end()) {
      model->sourcePath_ = str(*src, "path");
      model->botocoreVersion_ = str(*src, "botocoreVersion");
      model->sourceOperationCount_ = src->value("operationCount", std::size_t{0});
      model->overlayOperations_ = src->value("overlayOperations", std::vector<std::string>{});
    }

    // Two passes: create every shape, then resolve references, so shapes may
    // refer to each other in any order (and recursively).
    const json& shapes = root.at("shapes");
    for (const auto& [shapeName, s] : shapes.items()) {
      auto type = parseShapeType(str(s, "type"));
      if (!type)
        return Error::make(ErrorCode::kInternal, "shape " + shapeName + " has unknown type '" +
                                                     str(s, "type") + "'");
      auto shape = std::make_unique<Shape>();
      shape->name = shapeName;
      shape->type = *type;
      shape->min = number(s, "min");
      shape->max = number(s, "max");
      shape->pattern = str(s, "pattern");
      if (auto e = s.find("enum"); e != s.end()) shape->enumValues = e->get<std::vector<std::string>>();
      shape->exception = flag(s, "exception");
      shape->fault = flag(s, "fault");
      shape->sensitive = flag(s, "sensitive");
      shape->flattened = flag(s, "flattened");
      if (auto e = s.find("error"); e != s.end()) {
        shape->error = ErrorInfo{str(*e, "code"), e->value("httpStatusCode", 0), flag(*e, "senderFault")};
      }
      model->shapes_.emplace(shapeName, std::move(shape));
    }
    auto resolve = [&](const std::string& ref, const std::string& from) -> Result<const Shape*> {
      auto it = model->shapes_.find(ref);
      if (it == model->shapes_.end())
        return Error::make(ErrorCode::kInternal, from + " refers to unknown shape " + ref);
      return static_cast<const Shape*>(it->second.get());
    };
    for (const auto& [shapeName, s] : shapes.items()) {
      Shape& shape = *model->shapes_.at(shapeName);
      if (shape.type == ShapeType::kStructure) {
        for (const auto& m : s.at("members")) {
          Member member;
          member.name = str(m, "name");
          auto target = resolve(str(m, "shape"), shapeName + "." + member.name);
          if (!target.ok()) return target.takeError();
          member.shape = target.value();
          member.required = flag(m, "required");
          member.idempotencyToken = flag(m, "idempotencyToken");
          member.locationName = str(m, "locationName");
          shape.members.push_back(std::move(member));
        }
      } else if (shape.type == ShapeType::kList) {
        auto target = resolve(str(s, "member"), shapeName + "[]");
        if (!target.ok()) return target.takeError();
        shape.member = target.value();
      } else if (shape.type == ShapeType::kMap) {
        auto k = resolve(str(s, "key"), shapeName + ".key");
        if (!k.ok()) return k.takeError();
        auto v = resolve(str(s, "value"), shapeName + ".value");
        if (!v.ok()) return v.takeError();
        shape.key = k.value();
        shape.value = v.value();
      }
    }

    for (const auto& [opName, o] : root.at("operations").items()) {
      Operation op;
      op.name = opName;
      if (o.contains("input")) {
        auto in = resolve(str(o, "input"), opName + " input");
        if (!in.ok()) return in.takeError();
        op.input = in.value();
      }
      if (o.contains("output")) {
        auto out = resolve(str(o, "output"), opName + " output");
        if (!out.ok()) return out.takeError();
        op.output = out.value();
      }
      for (const auto& e : o.value("errors", json::array())) {
        auto err = resolve(e.get<std::string>(), opName + " errors");
        if (!err.ok()) return err.takeError();
        op.errors.push_back(err.value());
      }
      op.resultWrapper = str(o, "resultWrapper");
      model->operations_.emplace(opName, std::move(op));
    }
  } catch (const json::exception& e) {
    return Error::make(ErrorCode::kInternal, std::string("malformed model: ") + e.what());
  }
  return model;
}

const ServiceModel* ServiceModel::byName(std::string_view name) {
  for (const auto* m : registry().all)
    if (m->name() == name) return m;
  return nullptr;
}

const ServiceModel* ServiceModel::byTargetPrefix(std::string_view prefix) {
  if (prefix.empty()) return nullptr;
  for (const auto* m : registry().all)
    if (m->targetPrefix() == prefix) return m;
  return nullptr;
}

const ServiceModel* ServiceModel::byQueryVersion(std::string_view apiVersion) {
  for (const auto* m : registry().all)
    if (m->protocol() == "query" && m->apiVersion() == apiVersion) return m;
  return nullptr;
}

std::span<const ServiceModel* const> ServiceModel::all() {
  const auto& all = registry().all;
  return {all.data(), all.size()};
}

const Operation* ServiceModel::operation(std::string_view opName) const {
  auto it = operations_.find(opName);
  return it == operations_.end() ? nullptr : &it->second;
}

const Shape* ServiceModel::shape(std::string_view shapeName) const {
  auto it = shapes_.find(shapeName);
  return it == shapes_.end() ? nullptr : it->second.get();
}

}  // namespace berth::api
