#include "api/shape_checker.h"

#include <cmath>
#include <cstdio>
#include <limits>
#include <vector>

namespace berth::api {
namespace {

using nlohmann::json;

constexpr char kSerializationException[] = "SerializationException";
constexpr std::size_t kMaxEchoedValue = 1024;  // bound what we reflect back into messages

// --- layer 1 wording ---------------------------------------------------------

// "<TOKEN>_VALUE can not be converted to <article> <Target>", Coral's
// deserializer wording. The article is Coral's too, including its quirk of
// "an Boolean" for strings (measured) next to "a Boolean" for numbers.
std::string conversionMessage(const json& v, ShapeType target) {
  if (v.is_array()) return "Start of list found where not expected";
  if (v.is_object()) return "Start of structure or map found where not expected.";
  std::string token;
  if (v.is_string()) token = "STRING_VALUE";
  else if (v.is_boolean()) token = v.get<bool>() ? "TRUE_VALUE" : "FALSE_VALUE";
  else token = "NUMBER_VALUE";
  std::string to;
  switch (target) {
    case ShapeType::kInteger: to = "an Integer"; break;
    case ShapeType::kLong: to = "a Long"; break;
    case ShapeType::kFloat: to = "a Float"; break;
    case ShapeType::kDouble: to = "a Double"; break;
    case ShapeType::kBoolean: to = v.is_string() ? "an Boolean" : "a Boolean"; break;
    case ShapeType::kTimestamp: to = "a Timestamp"; break;
    case ShapeType::kBlob: to = "a Blob"; break;
    default: to = "a String"; break;
  }
  return token + " can not be converted to " + to;
}

std::string formatNumber(double d) {
  char buf[64];
  if (std::isfinite(d) && d == std::trunc(d) && std::fabs(d) < 9.2e18)
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(d));
  else
    std::snprintf(buf, sizeof buf, "%.17g", d);
  return buf;
}

std::size_t codePoints(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

// Standard base64 with padding (what botocore and the SDKs send). Returns the
// decoded length, or an error message in Coral's wording.
struct Base64Check {
  bool ok = true;
  std::size_t decodedLength = 0;
  std::string problem;
};

Base64Check checkBase64(const std::string& s) {
  Base64Check r;
  if (s.size() % 4 != 0) {
    r.ok = false;
    r.problem = "Base64 encoded length is expected a multiple of 4 bytes but found: " +
                std::to_string(s.size());
    return r;
  }
  std::size_t pad = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '+' || c == '/';
    if (c == '=' && i >= s.size() - 2 && (i == s.size() - 1 || s[s.size() - 1] == '=')) {
      ++pad;
      continue;
    }
    if (!alpha || pad > 0) {
      r.ok = false;
      r.problem = std::string("Invalid Base64 character: '") + c + "'";
      return r;
    }
  }
  r.decodedLength = s.size() / 4 * 3 - pad;
  return r;
}

// --- layer 2: constraints ----------------------------------------------------

// Coral's spelling of a member in a path: the Java property name, i.e. the
// first letter lower-cased ("SSESpecification" -> "sSESpecification").
std::string coralName(const std::string& name) {
  std::string out = name;
  if (!out.empty() && out[0] >= 'A' && out[0] <= 'Z') out[0] = static_cast<char>(out[0] - 'A' + 'a');
  return out;
}

std::string joinPath(const std::string& base, const std::string& part) {
  return base.empty() ? part : base + "." + part;
}

// "memberName" -> "Member Name" (ECS messages name parameters in words).
std::string words(const std::string& name) {
  std::string out;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (i == 0) {
      out += (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
      continue;
    }
    if (c >= 'A' && c <= 'Z' && !(name[i - 1] >= 'A' && name[i - 1] <= 'Z')) out += ' ';
    out += c;
  }
  return out;
}

struct Violation {
  std::string path;
  std::string memberName;  // last member name, for ECS wording
  const Shape* shape = nullptr;
  bool required = false;              // "Member must not be null"
  std::optional<std::string> value;   // rendered value; nullopt = not shown
  std::string constraint;             // "Member must have length ..." or "Map value must satisfy constraint: [...]"
};

class InputWalker {
 public:
  explicit InputWalker(const InputPolicy& policy) : policy_(policy) {}

  std::optional<InputError> run(const Shape* input, const json& body) {
    if (!body.is_object()) {
      // Measured: a JSON array body gets the list wording, any other non-object no message.
      return InputError{ErrorCode::kSerialization, kSerializationException,
                        body.is_array() ? "Start of list found where not expected" : "", 400, ""};
    }
    if (input != nullptr) walkStructureMembers(*input, body, "", 1);
    if (fatal_) return fatal_;
    if (violations_.empty()) return std::nullopt;
    return formatViolations();
  }

 private:
  void serialization(std::string message, const std::string& path) {
    if (!fatal_) fatal_ = InputError{ErrorCode::kSerialization, kSerializationException, std::move(message), 400, path};
  }

  bool tooDeep(std::size_t depth, const std::string& path) {
    if (depth <= policy_.maxDepth) return false;
    serialization("Request nesting exceeds the maximum depth of " + std::to_string(policy_.maxDepth), path);
    return true;
  }

  void walkStructureMembers(const Shape& shape, const json& obj, const std::string& path, std::size_t depth) {
    for (const Member& m : shape.members) {
      if (fatal_) return;
      std::string memberPath = joinPath(path, coralName(m.name));
      auto it = obj.find(m.name);
      if (it == obj.end() || it->is_null()) {
        if (m.required) violations_.push_back(Violation{memberPath, m.name, m.shape, true, std::nullopt, ""});
        continue;
      }
      walk(*m.shape, *it, memberPath, m.name, depth);
    }
  }

  void walk(const Shape& shape, const json& v, const std::string& path, const std::string& memberName,
            std::size_t depth) {
    switch (shape.type) {
      case ShapeType::kStructure:
        if (v.is_array()) return serialization("Start of list found where not expected", path);
        if (!v.is_object()) return serialization("Expected null", path);
        if (tooDeep(depth + 1, path)) return;
        walkStructureMembers(shape, v, path, depth + 1);
        return;
      case ShapeType::kList: {
        if (v.is_object()) return serialization("Start of structure or map found where not expected.", path);
        if (!v.is_array()) return serialization("Expected list or null", path);
        if (tooDeep(depth + 1, path)) return;
        checkSize(shape, v, v.size(), path, memberName);
        for (std::size_t i = 0; i < v.size() && !fatal_; ++i) {
          std::string elemPath = path + "." + std::to_string(i + 1) + ".member";
          if (v[i].is_null()) {
            violations_.push_back(Violation{elemPath, memberName, shape.member, true, std::nullopt, ""});
            continue;
          }
          walk(*shape.member, v[i], elemPath, memberName, depth + 1);
        }
        return;
      }
      case ShapeType::kMap: {
        if (v.is_array()) return serialization("Start of list found where not expected", path);
        if (!v.is_object()) return serialization("Expected map or null", path);
        if (tooDeep(depth + 1, path)) return;
        checkSize(shape, v, v.size(), path, memberName);
        for (auto it = v.begin(); it != v.end() && !fatal_; ++it) {
          const json& val = it.value();
          std::string valuePath = path + "." + it.key() + ".member";
          // Keys are strings by construction; only their constraints can fail.
          if (!scalarConstraints(*shape.key, json(it.key())).empty())
            mapViolation(shape, v, path, memberName, "Map keys", *shape.key);
          if (val.is_null()) {
            violations_.push_back(Violation{valuePath, memberName, shape.value, true, std::nullopt, ""});
            continue;
          }
          if (isScalar(*shape.value)) {
            if (!acceptScalar(*shape.value, val, valuePath)) return;
            if (!scalarConstraints(*shape.value, val).empty())
              mapViolation(shape, v, path, memberName, "Map value", *shape.value);
          } else {
            walk(*shape.value, val, valuePath, memberName, depth + 1);
          }
        }
        return;
      }
      default:
        if (!acceptScalar(shape, v, path)) return;
        for (auto& c : scalarConstraints(shape, v))
          violations_.push_back(Violation{path, memberName, &shape, false, render(shape, v), std::move(c)});
        return;
    }
  }

  static bool isScalar(const Shape& s) {
    return s.type != ShapeType::kStructure && s.type != ShapeType::kList && s.type != ShapeType::kMap;
  }

  // Layer 1 for scalars: is v a JSON value Coral can deserialize as shape?
  bool acceptScalar(const Shape& shape, const json& v, const std::string& path) {
    switch (shape.type) {
      case ShapeType::kString:
        if (v.is_string()) return true;
        break;
      case ShapeType::kBoolean:
        if (v.is_boolean()) return true;
        break;
      case ShapeType::kFloat:
      case ShapeType::kDouble:
      case ShapeType::kTimestamp:
        if (v.is_number()) return true;
        break;
      case ShapeType::kInteger:
      case ShapeType::kLong: {
        if (!v.is_number()) break;
        const bool isInt = shape.type == ShapeType::kInteger;
        const double lo = isInt ? std::numeric_limits<std::int32_t>::min() : -9223372036854775808.0;
        const double hi = isInt ? std::numeric_limits<std::int32_t>::max() : 9223372036854775807.0;
        bool fits;
        if (v.is_number_integer() && !v.is_number_unsigned()) {
          auto n = v.get<std::int64_t>();
          fits = !isInt || (n >= lo && n <= hi);
        } else if (v.is_number_unsigned()) {
          auto n = v.get<std::uint64_t>();
          fits = isInt ? n <= static_cast<std::uint64_t>(hi)
                       : n <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
        } else {
          double d = v.get<double>();
          double t = std::trunc(d);
          // Long: 2^63 itself is out of range, hence < rather than <=.
          fits = std::isfinite(d) && (policy_.truncateFractionalIntegers || t == d) && t >= lo &&
                 (isInt ? t <= hi : t < hi);
        }
        if (fits) return true;
        break;
      }
      case ShapeType::kBlob: {
        if (!v.is_string()) break;
        auto b64 = checkBase64(v.get_ref<const std::string&>());
        if (b64.ok) return true;
        serialization("'" + echo(v.get_ref<const std::string&>()) + "' can not be converted to a Blob: " +
                          b64.problem,
                      path);
        return false;
      }
      default:
        return true;
    }
    serialization(conversionMessage(v, shape.type), path);
    return false;
  }

  // The constraint phrases v violates ("Member must have length less than or equal to 255").
  std::vector<std::string> scalarConstraints(const Shape& shape, const json& v) const {
    std::vector<std::string> out;
    std::optional<double> measure;
    bool isLength = false;
    if (shape.type == ShapeType::kString && v.is_string()) {
      measure = static_cast<double>(codePoints(v.get_ref<const std::string&>()));
      isLength = true;
    } else if (shape.type == ShapeType::kBlob && v.is_string()) {
      measure = static_cast<double>(checkBase64(v.get_ref<const std::string&>()).decodedLength);
      isLength = true;
    } else if (v.is_number() && shape.type != ShapeType::kTimestamp) {
      double d = v.get<double>();
      if ((shape.type == ShapeType::kInteger || shape.type == ShapeType::kLong) && v.is_number_float())
        d = std::trunc(d);
      measure = d;
    }
    if (measure) {
      const char* what = isLength ? "length" : "value";
      if (shape.max && *measure > *shape.max)
        out.push_back(std::string("Member must have ") + what + " less than or equal to " + formatNumber(*shape.max));
      if (shape.min && *measure < *shape.min)
        out.push_back(std::string("Member must have ") + what + " greater than or equal to " +
                      formatNumber(*shape.min));
    }
    if (policy_.checkEnums && shape.type == ShapeType::kString && !shape.enumValues.empty() && v.is_string()) {
      const auto& s = v.get_ref<const std::string&>();
      bool found = false;
      for (const auto& e : shape.enumValues) found = found || e == s;
      if (!found) out.push_back("Member must satisfy enum value set: " + enumSet(shape));
    }
    return out;
  }

  // Every constraint of a shape, as Coral lists them inside "Map value must satisfy constraint: [...]".
  std::string allConstraints(const Shape& shape) const {
    std::vector<std::string> parts;
    const char* what = (shape.type == ShapeType::kString || shape.type == ShapeType::kBlob) ? "length" : "value";
    if (shape.max) parts.push_back(std::string("Member must have ") + what + " less than or equal to " + formatNumber(*shape.max));
    if (shape.min) parts.push_back(std::string("Member must have ") + what + " greater than or equal to " + formatNumber(*shape.min));
    if (policy_.checkEnums && !shape.enumValues.empty()) parts.push_back("Member must satisfy enum value set: " + enumSet(shape));
    std::string out = "[";
    for (std::size_t i = 0; i < parts.size(); ++i) out += (i ? ", " : "") + parts[i];
    return out + "]";
  }

  std::string enumSet(const Shape& shape) const {
    std::string out = "[";
    for (std::size_t i = 0; i < shape.enumValues.size(); ++i) {
      if (i) out += ", ";
      out += policy_.quoteEnumValues ? "'" + shape.enumValues[i] + "'" : shape.enumValues[i];
    }
    return out + "]";
  }

  void checkSize(const Shape& shape, const json& v, std::size_t size, const std::string& path,
                 const std::string& memberName) {
    auto d = static_cast<double>(size);
    if (shape.max && d > *shape.max)
      violations_.push_back(Violation{path, memberName, &shape, false, render(shape, v),
                                      "Member must have length less than or equal to " + formatNumber(*shape.max)});
    if (shape.min && d < *shape.min)
      violations_.push_back(Violation{path, memberName, &shape, false, render(shape, v),
                                      "Member must have length greater than or equal to " + formatNumber(*shape.min)});
  }

  void mapViolation(const Shape& mapShape, const json& map, const std::string& path, const std::string& memberName,
                    const char* which, const Shape& constrained) {
    // One violation per map and kind, however many entries fail (as Coral does).
    std::string constraint = std::string(which) + " must satisfy constraint: " + allConstraints(constrained);
    for (const auto& existing : violations_)
      if (existing.path == path && existing.constraint == constraint) return;
    violations_.push_back(Violation{path, memberName, &mapShape, false, render(mapShape, map), std::move(constraint)});
  }

  static std::string echo(const std::string& s) {
    return s.size() <= kMaxEchoedValue ? s : s.substr(0, kMaxEchoedValue) + "...";
  }

  // Java-toString-like rendering Coral puts in "Value '...'"; nullopt when the
  // value is sensitive or a structure (AWS then writes "Value at '...'").
  static std::optional<std::string> render(const Shape& shape, const json& v) {
    if (shape.sensitive) return std::nullopt;
    if (v.is_string()) return echo(v.get_ref<const std::string&>());
    if (v.is_number_float()) return formatNumber(v.get<double>());
    if (v.is_number() || v.is_boolean()) return v.dump();
    if (v.is_array() && shape.type == ShapeType::kList) {
      if (v.empty()) return std::string("[]");  // as in "Value '[]' at 'logEvents'"
      if (!isScalar(*shape.member) || shape.member->sensitive) return std::nullopt;
      std::string out = "[";
      for (std::size_t i = 0; i < v.size(); ++i) {
        auto r = render(*shape.member, v[i]);
        out += (i ? ", " : "") + (r ? *r : std::string("null"));
        if (out.size() > kMaxEchoedValue) return echo(out);
      }
      return out + "]";
    }
    if (v.is_object() && shape.type == ShapeType::kMap) {
      if (!isScalar(*shape.value) || shape.value->sensitive) return std::nullopt;
      std::string out = "{";
      bool first = true;
      for (auto it = v.begin(); it != v.end(); ++it) {
        auto r = render(*shape.value, it.value());
        out += (first ? "" : ", ") + it.key() + "=" + (r ? *r : std::string("null"));
        first = false;
        if (out.size() > kMaxEchoedValue) return echo(out);
      }
      return out + "}";
    }
    return std::nullopt;
  }

  static std::string coralSentence(const Violation& v) {
    if (v.required) return "Value null at '" + v.path + "' failed to satisfy constraint: Member must not be null";
    std::string value = v.value ? "Value '" + *v.value + "' at '" : "Value at '";
    return value + v.path + "' failed to satisfy constraint: " + v.constraint;
  }

  InputError formatViolations() const {
    InputError err{ErrorCode::kInvalidParameter, policy_.validationCode, "", 400, violations_.front().path};
    switch (policy_.style) {
      case ValidationStyle::kEcr: {
        const Violation& v = violations_.front();
        std::string constraint = v.required ? "Member must not be null" : v.constraint;
        // "Member must ..." -> "must ...", quoted.
        if (constraint.rfind("Member ", 0) == 0) constraint = constraint.substr(7);
        err.message = "Invalid parameter at '" + v.path + "' failed to satisfy constraint: '" + constraint + "'";
        return err;
      }
      case ValidationStyle::kEcs:
        for (const auto& v : violations_) {
          if (!v.required) continue;
          bool collection = v.shape && (v.shape->type == ShapeType::kList || v.shape->type == ShapeType::kMap);
          err.path = v.path;
          err.message = words(v.memberName) + (collection ? " cannot be empty." : " can not be blank.");
          return err;
        }
        [[fallthrough]];
      case ValidationStyle::kCoral: {
        std::size_t n = violations_.size();
        err.message = std::to_string(n) + (n == 1 ? " validation error detected: " : " validation errors detected: ");
        std::size_t listed = std::min(n, policy_.maxListedErrors);
        for (std::size_t i = 0; i < listed; ++i) err.message += (i ? "; " : "") + coralSentence(violations_[i]);
        return err;
      }
    }
    return err;
  }

  const InputPolicy& policy_;
  std::vector<Violation> violations_;
  std::optional<InputError> fatal_;
};

// --- output ------------------------------------------------------------------

class OutputWalker {
 public:
  std::optional<std::string> walk(const Shape& shape, const json& v, const std::string& path, std::size_t depth) {
    if (depth > kMaxDepth) return at(path) + "nesting deeper than " + std::to_string(kMaxDepth);
    if (v.is_null()) return at(path) + "null value (omit the member instead)";
    switch (shape.type) {
      case ShapeType::kStructure: {
        if (!v.is_object()) return mismatch(shape, v, path);
        for (auto it = v.begin(); it != v.end(); ++it) {
          const Member* m = shape.findMember(it.key());
          if (!m) return at(path) + "member '" + it.key() + "' is not in shape " + shape.name;
          if (auto e = walk(*m->shape, it.value(), path.empty() ? it.key() : path + "." + it.key(), depth + 1)) return e;
        }
        return std::nullopt;
      }
      case ShapeType::kList:
        if (!v.is_array()) return mismatch(shape, v, path);
        for (std::size_t i = 0; i < v.size(); ++i)
          if (auto e = walk(*shape.member, v[i], path + "[" + std::to_string(i) + "]", depth + 1)) return e;
        return std::nullopt;
      case ShapeType::kMap:
        if (!v.is_object()) return mismatch(shape, v, path);
        for (auto it = v.begin(); it != v.end(); ++it)
          if (auto e = walk(*shape.value, it.value(), path + "[\"" + it.key() + "\"]", depth + 1)) return e;
        return std::nullopt;
      case ShapeType::kString:
        return v.is_string() ? std::nullopt : mismatch(shape, v, path);
      case ShapeType::kBoolean:
        return v.is_boolean() ? std::nullopt : mismatch(shape, v, path);
      case ShapeType::kInteger:
      case ShapeType::kLong:
        return v.is_number_integer() ? std::nullopt : mismatch(shape, v, path);
      case ShapeType::kFloat:
      case ShapeType::kDouble:
      case ShapeType::kTimestamp:
        return v.is_number() ? std::nullopt : mismatch(shape, v, path);
      case ShapeType::kBlob:
        if (!v.is_string()) return mismatch(shape, v, path);
        if (!checkBase64(v.get_ref<const std::string&>()).ok) return at(path) + "blob is not valid base64";
        return std::nullopt;
    }
    return std::nullopt;
  }

 private:
  static constexpr std::size_t kMaxDepth = 64;

  static std::string at(const std::string& path) { return (path.empty() ? std::string("<body>") : path) + ": "; }

  static std::optional<std::string> mismatch(const Shape& shape, const json& v, const std::string& path) {
    std::string want(shapeTypeName(shape.type));
    if (shape.type == ShapeType::kTimestamp) want += " (epoch seconds)";
    return at(path) + "expected " + want + " (" + shape.name + "), got " + v.type_name();
  }
};

}  // namespace

Error InputError::toError() const { return Error::make(code, message, awsCode); }

InputPolicy inputPolicyFor(const ServiceModel& model) {
  InputPolicy p;
  const std::string& n = model.name();
  if (n == "ecs") {
    p.validationCode = "InvalidParameterException";
    p.style = ValidationStyle::kEcs;
    p.checkEnums = false;
  } else if (n == "ecr") {
    p.validationCode = "InvalidParameterException";
    p.style = ValidationStyle::kEcr;
  } else if (n == "logs") {
    p.validationCode = "InvalidParameterException";
  } else if (n == "application-autoscaling") {
    p.quoteEnumValues = true;
  } else if (model.protocol() == "query") {
    p.validationCode = "ValidationError";
  }
  return p;
}

std::optional<InputError> findInputError(const ServiceModel& model, const Operation& op, const json& body,
                                         const InputPolicy& policy) {
  (void)model;
  return InputWalker(policy).run(op.input, body);
}

std::optional<InputError> findInputError(const ServiceModel& model, const Operation& op, const json& body) {
  return findInputError(model, op, body, inputPolicyFor(model));
}

Status checkInput(const ServiceModel& model, const Operation& op, const json& body) {
  if (auto err = findInputError(model, op, body)) return err->toError();
  return okStatus();
}

Status checkOutput(const ServiceModel& model, const Operation& op, const json& body) {
  if (op.output == nullptr) {
    if (body.is_object() && body.empty()) return okStatus();
    return Error::make(ErrorCode::kInternal,
                       model.name() + " " + op.name + " has no output shape; the body must be {}");
  }
  if (auto e = OutputWalker().walk(*op.output, body, "", 0))
    return Error::make(ErrorCode::kInternal, model.name() + " " + op.name + " response does not match " +
                                                 op.output->name + ": " + *e);
  return okStatus();
}

std::size_t jsonNestingDepth(std::string_view raw) {
  std::size_t depth = 0, deepest = 0;
  bool inString = false, escaped = false;
  for (char c : raw) {
    if (inString) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') inString = false;
      continue;
    }
    if (c == '"') inString = true;
    else if (c == '[' || c == '{') deepest = std::max(deepest, ++depth);
    else if ((c == ']' || c == '}') && depth > 0) --depth;
  }
  return deepest;
}

}  // namespace berth::api
