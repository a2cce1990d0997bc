#include "api/shape_checker.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace berth::api {
namespace {

using nlohmann::json;

const ServiceModel& model(const char* name) {
  const ServiceModel* m = ServiceModel::byName(name);
  EXPECT_NE(m, nullptr) << name;
  return *m;
}

const Operation& op(const char* service, const char* name) {
  const Operation* o = model(service).operation(name);
  EXPECT_NE(o, nullptr) << service << "." << name;
  return *o;
}

std::optional<InputError> check(const char* service, const char* operation, const json& body) {
  return findInputError(model(service), op(service, operation), body);
}

json validTaskDefinition() {
  return json::parse(R"({
    "family": "web",
    "networkMode": "awsvpc",
    "requiresCompatibilities": ["FARGATE"],
    "cpu": "256",
    "memory": "512",
    "containerDefinitions": [{
      "name": "app",
      "image": "nginx:1.25",
      "cpu": 128,
      "memory": 256,
      "essential": true,
      "portMappings": [{"containerPort": 80, "hostPort": 80, "protocol": "tcp"}],
      "environment": [{"name": "A", "value": "b"}],
      "dockerLabels": {"team": "web"},
      "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/web"}},
      "healthCheck": {"command": ["CMD", "true"], "interval": 30}
    }],
    "tags": [{"key": "env", "value": "prod"}]
  })");
}

// --- RegisterTaskDefinition: wrong JSON types at several depths --------------

struct WrongTypeCase {
  const char* name;
  const char* pointer;  // JSON pointer into validTaskDefinition()
  json value;
  const char* message;
  const char* path;
};

class WrongTypeTest : public ::testing::TestWithParam<WrongTypeCase> {};

TEST_P(WrongTypeTest, IsASerializationExceptionWithAwsWording) {
  const auto& c = GetParam();
  json body = validTaskDefinition();
  body[json::json_pointer(c.pointer)] = c.value;
  auto err = check("ecs", "RegisterTaskDefinition", body);
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->code, ErrorCode::kSerialization);
  EXPECT_EQ(err->awsCode, "SerializationException");
  EXPECT_EQ(err->httpStatus, 400);
  EXPECT_EQ(err->message, c.message);
  EXPECT_EQ(err->path, c.path);
}

INSTANTIATE_TEST_SUITE_P(
    RegisterTaskDefinition, WrongTypeTest,
    ::testing::Values(
        WrongTypeCase{"NumberForString", "/family", 5, "NUMBER_VALUE can not be converted to a String", "family"},
        WrongTypeCase{"BoolForString", "/cpu", true, "TRUE_VALUE can not be converted to a String", "cpu"},
        WrongTypeCase{"ObjectForList", "/containerDefinitions", json::object(),
                      "Start of structure or map found where not expected.", "containerDefinitions"},
        WrongTypeCase{"StringForList", "/containerDefinitions", "app", "Expected list or null",
                      "containerDefinitions"},
        WrongTypeCase{"ListForString", "/family", json::array({"web"}), "Start of list found where not expected",
                      "family"},
        WrongTypeCase{"StringForInteger", "/containerDefinitions/0/cpu", "128",
                      "STRING_VALUE can not be converted to an Integer", "containerDefinitions.1.member.cpu"},
        WrongTypeCase{"StringForBoolean", "/containerDefinitions/0/essential", "yes",
                      "STRING_VALUE can not be converted to an Boolean", "containerDefinitions.1.member.essential"},
        WrongTypeCase{"NumberForBoolean", "/containerDefinitions/0/essential", 1,
                      "NUMBER_VALUE can not be converted to a Boolean", "containerDefinitions.1.member.essential"},
        WrongTypeCase{"BoolForIntegerThreeDeep", "/containerDefinitions/0/portMappings/0/containerPort", true,
                      "TRUE_VALUE can not be converted to an Integer",
                      "containerDefinitions.1.member.portMappings.1.member.containerPort"},
        WrongTypeCase{"ScalarForStructure", "/containerDefinitions/0/environment/0", "A=b", "Expected null",
                      "containerDefinitions.1.member.environment.1.member"},
        WrongTypeCase{"ListForStructure", "/containerDefinitions/0/logConfiguration", json::array(),
                      "Start of list found where not expected", "containerDefinitions.1.member.logConfiguration"},
        WrongTypeCase{"ListForMap", "/containerDefinitions/0/dockerLabels", json::array(),
                      "Start of list found where not expected", "containerDefinitions.1.member.dockerLabels"},
        WrongTypeCase{"StringForMap", "/containerDefinitions/0/dockerLabels", "team=web", "Expected map or null",
                      "containerDefinitions.1.member.dockerLabels"},
        WrongTypeCase{"NumberForMapValue", "/containerDefinitions/0/logConfiguration/options/awslogs-group", 7,
                      "NUMBER_VALUE can not be converted to a String",
                      "containerDefinitions.1.member.logConfiguration.options.awslogs-group.member"},
        WrongTypeCase{"NumberForListElement", "/containerDefinitions/0/healthCheck/command/1", 1,
                      "NUMBER_VALUE can not be converted to a String",
                      "containerDefinitions.1.member.healthCheck.command.2.member"},
        WrongTypeCase{"IntegerOutOfRange", "/containerDefinitions/0/memory", 4294967296LL,
                      "NUMBER_VALUE can not be converted to an Integer", "containerDefinitions.1.member.memory"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ShapeCheckerTest, AcceptsAValidRegisterTaskDefinition) {
  EXPECT_EQ(check("ecs", "RegisterTaskDefinition", validTaskDefinition()), std::nullopt);
  EXPECT_TRUE(checkInput(model("ecs"), op("ecs", "RegisterTaskDefinition"), validTaskDefinition()).ok());
}

TEST(ShapeCheckerTest, UnknownMembersAreIgnoredAndNullIsAbsent) {
  json body = validTaskDefinition();
  body["registeredAt"] = 1700000000;  // what describe-task-definition returns; AWS ignores it
  body["bogus"] = {{"deep", json::array({1, {{"x", nullptr}}})}};
  body["containerDefinitions"][0]["noSuchField"] = "x";
  body["taskRoleArn"] = nullptr;  // optional member set to null = absent
  body["containerDefinitions"][0]["healthCheck"]["retries"] = nullptr;
  EXPECT_EQ(check("ecs", "RegisterTaskDefinition", body), std::nullopt);
}

TEST(ShapeCheckerTest, FractionalNumbersForIntegersTruncateUnlessThePolicySaysOtherwise) {
  json body = validTaskDefinition();
  body["containerDefinitions"][0]["memory"] = 256.7;  // Coral's TruncatingBigNumber reads 256
  EXPECT_EQ(check("ecs", "RegisterTaskDefinition", body), std::nullopt);

  InputPolicy strict = inputPolicyFor(model("ecs"));
  strict.truncateFractionalIntegers = false;
  auto err = findInputError(model("ecs"), op("ecs", "RegisterTaskDefinition"), body, strict);
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->message, "NUMBER_VALUE can not be converted to an Integer");
}

TEST(ShapeCheckerTest, BodyMustBeAnObject) {
  auto list = check("ecs", "ListClusters", json::array());
  ASSERT_TRUE(list.has_value());
  EXPECT_EQ(list->awsCode, "SerializationException");
  EXPECT_EQ(list->message, "Start of list found where not expected");
  auto scalar = check("ecs", "ListClusters", json("x"));
  ASSERT_TRUE(scalar.has_value());
  EXPECT_EQ(scalar->awsCode, "SerializationException");
  EXPECT_EQ(scalar->message, "");  // AWS sends no message for this one
  EXPECT_EQ(check("ecs", "ListClusters", json::object()), std::nullopt);
}

TEST(ShapeCheckerTest, TypeErrorsWinOverValidationErrors) {
  // Missing family (validation) and a wrong type deeper down (deserialization):
  // AWS deserializes first, so the SerializationException is the answer.
  json body = validTaskDefinition();
  body.erase("family");
  body["containerDefinitions"][0]["cpu"] = "x";
  auto err = check("ecs", "RegisterTaskDefinition", body);
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->awsCode, "SerializationException");
}

// --- missing required members ---------------------------------------------------

TEST(ShapeCheckerTest, EcsReportsAMissingRequiredMemberTheEcsWay) {
  auto err = check("ecs", "RegisterTaskDefinition", json::object());
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->code, ErrorCode::kInvalidParameter);
  EXPECT_EQ(err->awsCode, "InvalidParameterException");
  EXPECT_EQ(err->message, "Family can not be blank.");
  EXPECT_EQ(err->path, "family");

  err = check("ecs", "RegisterTaskDefinition", {{"family", "web"}, {"containerDefinitions", nullptr}});
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->message, "Container Definitions cannot be empty.");

  err = check("ecs", "DescribeTasks", {{"cluster", "default"}});
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->message, "Tasks cannot be empty.");  // the wording AWS uses for DescribeTasks

  Status s = checkInput(model("ecs"), op("ecs", "DeleteTaskDefinitions"), json::object());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidParameter);
  EXPECT_EQ(s.error().context, "InvalidParameterException");
  EXPECT_EQ(s.error().message, "Task Definitions cannot be empty.");
}

TEST(ShapeCheckerTest, CoralServicesListEveryMissingMember) {
  auto err = check("logs", "PutLogEvents", {{"logGroupName", "g"}});
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->awsCode, "InvalidParameterException");
  EXPECT_EQ(err->message,
            "2 validation errors detected: "
            "Value null at 'logStreamName' failed to satisfy constraint: Member must not be null; "
            "Value null at 'logEvents' failed to satisfy constraint: Member must not be null");

  err = check("ssm", "GetParameter", json::object());
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->awsCode, "ValidationException");
  // Pascal-case wire names become Coral's lower-camel paths.
  EXPECT_EQ(err->message,
            "1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null");

  err = check("ecr", "CreateRepository", json::object());
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->awsCode, "InvalidParameterException");
  EXPECT_EQ(err->message, "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must not be null'");
}

TEST(ShapeCheckerTest, NullListElementsAreMissingMembers) {
  auto err = check("logs", "DeleteLogGroup", {{"logGroupName", "g"}});
  EXPECT_EQ(err, std::nullopt);
  err = check("ssm", "GetParameters", {{"Names", json::array({"a", nullptr})}});
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->message,
            "1 validation error detected: Value null at 'names.2.member' failed to satisfy constraint: "
            "Member must not be null");
}

// --- constraints ------------------------------------------------------------------

TEST(ShapeCheckerTest, ListTooLong) {
  json body = validTaskDefinition();
  body["tags"] = json::array();
  for (int i = 0; i < 51; ++i) body["tags"].push_back({{"key", "k" + std::to_string(i)}, {"value", "v"}});
  auto err = check("ecs", "RegisterTaskDefinition", body);
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->code, ErrorCode::kInvalidParameter);
  EXPECT_EQ(err->awsCode, "InvalidParameterException");
  // A list of structures is not echoed ("Value at ..."), as AWS does for complex values.
  EXPECT_EQ(err->message,
            "1 validation error detected: Value at 'tags' failed to satisfy constraint: "
            "Member must have length less than or equal to 50");

  json strings = {{"Names", json::array()}};
  for (int i = 0; i < 11; ++i) strings["Names"].push_back("p" + std::to_string(i));
  err = check("ssm", "GetParameters", strings);
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->message,
            "1 validation error detected: Value '[p0, p1, p2, p3, p4, p5, p6, p7, p8, p9, p10]' at 'names' "
            "failed to satisfy constraint: Member must have length less than or equal to 10");
}

TEST(ShapeCheckerTest, LengthAndRangeViolationsAreCollected) {
  auto err = check("logs", "PutLogEvents",
                   {{"logGroupName", ""}, {"logStreamName", "s"}, {"logEvents", json::array()}});
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->awsCode, "InvalidParameterException");
  EXPECT_EQ(err->message,
            "2 validation errors detected: "
            "Value '' at 'logGroupName' failed to satisfy constraint: Member must have length greater than or equal to 1; "
            "Value '[]' at 'logEvents' failed to satisfy constraint: Member must have length greater than or equal to 1");

  err = check("logs", "DescribeLogGroups", {{"limit", 0}});
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->message,
            "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: "
            "Member must have value greater than or equal to 1");

  err = check("ecr", "CreateRepository", {{"repositoryName", "a"}});
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->message,
            "Invalid parameter at 'repositoryName' failed to satisfy constraint: "
            "'must have length greater than or equal to 2'");

  json body = validTaskDefinition();
  body["tags"][0]["key"] = std::string(129, 'k');
  err = check("ecs", "RegisterTaskDefinition", body);
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->message, "1 validation error detected: Value '" + std::string(129, 'k') +
                              "' at 'tags.1.member.key' failed to satisfy constraint: "
                              "Member must have length less than or equal to 128");
}

TEST(ShapeCheckerTest, StringLengthCountsCodePoints) {
  // 128 three-byte characters: 384 bytes but 128 code points, within TagKey's max.
  std::string key;
  for (int i = 0; i < 128; ++i) key += "\xe2\x82\xac";  // U+20AC
  json body = validTaskDefinition();
  body["tags"][0]["key"] = key;
  EXPECT_EQ(check("ecs", "RegisterTaskDefinition", body), std::nullopt);
}

TEST(ShapeCheckerTest, MapConstraintsAreReportedPerMap) {
  json tags = json::object();
  tags["ok"] = "v";
  tags["long"] = std::string(257, 'v');
  auto err = check("logs", "CreateLogGroup", {{"logGroupName", "g"}, {"tags", tags}});
  ASSERT_TRUE(err.has_value());
  EXPECT_NE(err->message.find("at 'tags' failed to satisfy constraint: Map value must satisfy constraint: "
                              "[Member must have length less than or equal to 256]"),
            std::string::npos)
      << err->message;
}

TEST(ShapeCheckerTest, EnumsAreCheckedPerService) {
  json body = validTaskDefinition();
  body["networkMode"] = "warp";  // ECS reports bad enums itself, with its own message
  EXPECT_EQ(check("ecs", "RegisterTaskDefinition", body), std::nullopt);

  auto err = check("logs", "DescribeLogStreams", {{"logGroupName", "g"}, {"orderBy", "Size"}});
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->message,
            "1 validation error detected: Value 'Size' at 'orderBy' failed to satisfy constraint: "
            "Member must satisfy enum value set: [LogStreamName, LastEventTime]");

  err = check("ssm", "PutParameter", {{"Name", "n"}, {"Value", "v"}, {"Type", "Number"}});
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->awsCode, "ValidationException");
  EXPECT_EQ(err->message,
            "1 validation error detected: Value 'Number' at 'type' failed to satisfy constraint: "
            "Member must satisfy enum value set: [String, StringList, SecureString]");

  err = check("application-autoscaling", "RegisterScalableTarget",
              {{"ServiceNamespace", "kafka2"}, {"ResourceId", "service/c/s"}, {"ScalableDimension", "ecs:service:DesiredCount"}});
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->awsCode, "ValidationException");
  EXPECT_NE(err->message.find("at 'serviceNamespace' failed to satisfy constraint: Member must satisfy enum "
                              "value set: ['ecs', 'elasticmapreduce'"),
            std::string::npos)
      << err->message;
}

TEST(ShapeCheckerTest, SensitiveValuesAreNotEchoed) {
  auto err = check("ssm", "PutParameter", {{"Name", std::string(2049, 'n')}, {"Value", "secret"}});
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->message.find("secret"), std::string::npos);
  EXPECT_NE(err->message.find("at 'name' failed to satisfy constraint: Member must have length less than or equal to 2048"),
            std::string::npos);
  // Echoed values are bounded, whatever the client sent.
  EXPECT_LT(err->message.size(), 1300u);
}

// --- timestamps and blobs ------------------------------------------------------------

TEST(ShapeCheckerTest, TimestampsAreEpochSecondNumbers) {
  json body = {{"pullStartedAt", 1700000000.25}, {"pullStoppedAt", 1700000001}};
  EXPECT_EQ(check("ecs", "SubmitTaskStateChange", body), std::nullopt);
  body["executionStoppedAt"] = "2023-11-14T22:13:20Z";
  auto err = check("ecs", "SubmitTaskStateChange", body);
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->awsCode, "SerializationException");
  EXPECT_EQ(err->message, "STRING_VALUE can not be converted to a Timestamp");
}

TEST(ShapeCheckerTest, BlobsMustBeBase64) {
  json body = {{"repositoryName", "repo"}, {"uploadId", "u"}, {"partFirstByte", 0}, {"partLastByte", 2}};
  for (const char* good : {"YWJj", "YWI=", "YQ==", ""}) {
    body["layerPartBlob"] = good;
    EXPECT_EQ(check("ecr", "UploadLayerPart", body), std::nullopt) << good;
  }
  struct Bad {
    const char* value;
    const char* message;
  };
  for (const Bad& bad : {Bad{"abc", "'abc' can not be converted to a Blob: Base64 encoded length is expected a "
                                    "multiple of 4 bytes but found: 3"},
                         Bad{"=+/=", "'=+/=' can not be converted to a Blob: Invalid Base64 character: '='"},
                         Bad{"ab!d", "'ab!d' can not be converted to a Blob: Invalid Base64 character: '!'"}}) {
    body["layerPartBlob"] = bad.value;
    auto err = check("ecr", "UploadLayerPart", body);
    ASSERT_TRUE(err.has_value()) << bad.value;
    EXPECT_EQ(err->awsCode, "SerializationException");
    EXPECT_EQ(err->message, bad.message);
  }
  body["layerPartBlob"] = 12;
  auto err = check("ecr", "UploadLayerPart", body);
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->message, "NUMBER_VALUE can not be converted to a Blob");
}

// --- hostile input ------------------------------------------------------------------

TEST(ShapeCheckerTest, DeepNestingIsRejectedWithoutCrashing) {
  // SSM's InventoryAggregator is recursive, so the model itself allows unbounded depth.
  constexpr int kLevels = 20000;
  std::string raw;
  for (int i = 0; i < kLevels; ++i) raw += R"({"Aggregators":[)";
  raw += "{}";
  for (int i = 0; i < kLevels; ++i) raw += "]}";
  EXPECT_EQ(jsonNestingDepth(raw), 2u * kLevels + 1);
  EXPECT_EQ(jsonNestingDepth(R"({"a":"[[[[{{{{","b":[1]})"), 2u);  // brackets in strings don't count
  EXPECT_EQ(jsonNestingDepth(R"({"a":"\"[[[","b":1})"), 1u);

  json body = json::parse(raw);  // nlohmann parses iteratively
  auto err = check("ssm", "GetInventory", body);
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->awsCode, "SerializationException");
  EXPECT_NE(err->message.find("maximum depth of 64"), std::string::npos);

  // Within the bound it is walked normally.
  json shallow = json::object();
  json* cursor = &shallow;
  for (int i = 0; i < 10; ++i) {
    (*cursor)["Aggregators"] = json::array({json::object()});
    cursor = &(*cursor)["Aggregators"][0];
  }
  (*cursor)["Expression"] = "AWS:Application.Name";
  EXPECT_EQ(check("ssm", "GetInventory", shallow), std::nullopt);
}

// --- every operation ------------------------------------------------------------------

TEST(ShapeCheckerTest, EveryEcsOperationAcceptsAnEmptyBodyOrOnlyReportsMissingRequired) {
  const ServiceModel& ecs = model("ecs");
  ASSERT_GT(ecs.operations().size(), 50u);
  for (const auto& [name, operation] : ecs.operations()) {
    auto err = findInputError(ecs, operation, json::object());
    if (!err) continue;
    SCOPED_TRACE(name);
    EXPECT_EQ(err->code, ErrorCode::kInvalidParameter);
    EXPECT_EQ(err->awsCode, "InvalidParameterException");
    const Member* member = operation.input->findMember(err->path);
    ASSERT_NE(member, nullptr) << err->path;
    EXPECT_TRUE(member->required);
    const std::string& m = err->message;
    EXPECT_TRUE(m.ends_with(" can not be blank.") || m.ends_with(" cannot be empty.")) << m;
  }
}

TEST(ShapeCheckerTest, EveryJsonOperationAcceptsAnEmptyBodyOrOnlyReportsMissingRequired) {
  for (const ServiceModel* m : ServiceModel::all()) {
    if (m->protocol() != "json" || m->name() == "ecs") continue;
    for (const auto& [name, operation] : m->operations()) {
      auto err = findInputError(*m, operation, json::object());
      if (!err) continue;
      SCOPED_TRACE(m->name() + "." + name);
      EXPECT_EQ(err->code, ErrorCode::kInvalidParameter);
      EXPECT_EQ(err->awsCode, inputPolicyFor(*m).validationCode);
      // Every sentence is a "must not be null" one.
      std::string rest = err->message;
      std::size_t sentences = 0, pos = 0;
      while ((pos = rest.find("failed to satisfy constraint: ", pos)) != std::string::npos) {
        ++sentences;
        pos += 30;
        std::string tail = rest.substr(pos, 24);
        EXPECT_TRUE(tail.starts_with("Member must not be null") || tail.starts_with("'must not be null'")) << rest;
      }
      EXPECT_GE(sentences, 1u) << rest;
    }
  }
}

// A valid instance of a shape, honouring min/max/enum, to run every operation's
// input and output through the checkers.
json exampleOf(const Shape& shape, int depth) {
  switch (shape.type) {
    case ShapeType::kStructure: {
      json obj = json::object();
      for (const Member& m : shape.members) {
        // Optional members only near the top, so recursive shapes stay finite;
        // required ones always (no model has a required cycle).
        if (!m.required && depth > 4) continue;
        obj[m.name] = exampleOf(*m.shape, depth + 1);
      }
      return obj;
    }
    case ShapeType::kList: {
      json arr = json::array();
      std::size_t n = shape.min ? static_cast<std::size_t>(*shape.min) : 1;
      if (shape.max && n > *shape.max) n = static_cast<std::size_t>(*shape.max);
      for (std::size_t i = 0; i < n && i < 3; ++i) arr.push_back(exampleOf(*shape.member, depth + 1));
      return arr;
    }
    case ShapeType::kMap: {
      json obj = json::object();
      if (shape.max && *shape.max < 1) return obj;
      obj[exampleOf(*shape.key, depth + 1).get<std::string>()] = exampleOf(*shape.value, depth + 1);
      return obj;
    }
    case ShapeType::kString: {
      if (!shape.enumValues.empty()) return shape.enumValues.front();
      std::size_t n = shape.min ? static_cast<std::size_t>(*shape.min) : 3;
      if (shape.max && n > *shape.max) n = static_cast<std::size_t>(*shape.max);
      return std::string(std::max<std::size_t>(n, shape.min.value_or(0)), 'a');
    }
    case ShapeType::kInteger:
    case ShapeType::kLong:
      return static_cast<std::int64_t>(shape.min.value_or(shape.max ? std::min(1.0, *shape.max) : 1));
    case ShapeType::kFloat:
    case ShapeType::kDouble:
      return shape.min.value_or(0.5);
    case ShapeType::kBoolean:
      return true;
    case ShapeType::kTimestamp:
      return 1700000000.5;
    case ShapeType::kBlob:
      return "YWJj";
  }
  return nullptr;
}

TEST(ShapeCheckerTest, EveryJsonOperationAcceptsAPopulatedValidBodyAndItsOutputChecks) {
  for (const ServiceModel* m : ServiceModel::all()) {
    if (m->protocol() != "json") continue;
    for (const auto& [name, operation] : m->operations()) {
      SCOPED_TRACE(m->name() + "." + name);
      if (operation.input) {
        json body = exampleOf(*operation.input, 0);
        auto err = findInputError(*m, operation, body);
        EXPECT_EQ(err, std::nullopt) << (err ? err->message : "") << "\n" << body.dump();
      }
      if (operation.output) {
        json out = exampleOf(*operation.output, 0);
        Status s = checkOutput(*m, operation, out);
        EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
      }
    }
  }
}

// --- checkOutput ----------------------------------------------------------------------

TEST(ShapeCheckerTest, CheckOutputCatchesEncodingBugs) {
  const Operation& describe = op("ecs", "DescribeClusters");
  json good = json::parse(R"({
    "clusters": [{"clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/default", "clusterName": "default",
                  "status": "ACTIVE", "activeServicesCount": 0, "runningTasksCount": 2,
                  "tags": [], "settings": [{"name": "containerInsights", "value": "disabled"}]}],
    "failures": []
  })");
  EXPECT_TRUE(checkOutput(model("ecs"), describe, good).ok());

  struct Bad {
    const char* pointer;
    json value;
    const char* expect;
  };
  for (const Bad& bad : {Bad{"/clusters/0/runningTasksCount", "2",
                             "clusters[0].runningTasksCount: expected integer (Integer), got string"},
                         Bad{"/clusters/0/runningTasksCount", 2.5,
                             "clusters[0].runningTasksCount: expected integer (Integer), got number"},
                         Bad{"/clusters/0/clusterName", nullptr, "clusters[0].clusterName: null value"},
                         Bad{"/clusters/0/clusterNmae", "typo", "member 'clusterNmae' is not in shape Cluster"},
                         Bad{"/failures", json::object(), "failures: expected list (Failures), got object"}}) {
    json body = good;
    body[json::json_pointer(bad.pointer)] = bad.value;
    Status s = checkOutput(model("ecs"), describe, body);
    ASSERT_FALSE(s.ok()) << bad.pointer;
    EXPECT_EQ(s.error().code, ErrorCode::kInternal);
    EXPECT_NE(s.error().message.find(bad.expect), std::string::npos) << s.error().message;
  }

  json task = {{"tasks", json::array({{{"createdAt", "2023-01-01T00:00:00Z"}}})}};
  Status ts = checkOutput(model("ecs"), op("ecs", "DescribeTasks"), task);
  ASSERT_FALSE(ts.ok());
  EXPECT_NE(ts.error().message.find("tasks[0].createdAt: expected timestamp (epoch seconds)"), std::string::npos);
}

}  // namespace
}  // namespace berth::api
