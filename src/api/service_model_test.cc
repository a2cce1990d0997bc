#include "api/service_model.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace berth::api {
namespace {

TEST(ServiceModelTest, AllEightServicesLoadWithTheirProtocols) {
  struct Expect {
    const char* name;
    const char* protocol;
    const char* targetPrefix;
    const char* signingName;
    const char* apiVersion;
  };
  const Expect expected[] = {
      {"ecs", "json", "AmazonEC2ContainerServiceV20141113", "ecs", "2014-11-13"},
      {"ecr", "json", "AmazonEC2ContainerRegistry_V20150921", "ecr", "2015-09-21"},
      {"logs", "json", "Logs_20140328", "logs", "2014-03-28"},
      {"ssm", "json", "AmazonSSM", "ssm", "2014-11-06"},
      {"application-autoscaling", "json", "AnyScaleFrontendService", "application-autoscaling", "2016-02-06"},
      {"events", "json", "AWSEvents", "events", "2015-10-07"},
      {"elbv2", "query", "", "elasticloadbalancing", "2015-12-01"},
      {"cloudwatch", "query", "", "monitoring", "2010-08-01"},
  };
  EXPECT_EQ(ServiceModel::all().size(), std::size(expected));
  for (const auto& e : expected) {
    SCOPED_TRACE(e.name);
    const ServiceModel* m = ServiceModel::byName(e.name);
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->name(), e.name);
    EXPECT_EQ(m->protocol(), e.protocol);
    EXPECT_EQ(m->targetPrefix(), e.targetPrefix);
    EXPECT_EQ(m->signingName(), e.signingName);
    EXPECT_EQ(m->apiVersion(), e.apiVersion);
    EXPECT_GT(m->operations().size(), 5u);
    if (std::string(e.protocol) == "json") EXPECT_EQ(m->jsonVersion(), "1.1");
  }
  EXPECT_EQ(ServiceModel::byName("ec2"), nullptr);
  EXPECT_EQ(ServiceModel::byName("elbv2")->xmlNamespace(),
            "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/");
  EXPECT_EQ(ServiceModel::byName("ecr")->endpointPrefix(), "api.ecr");
}

TEST(ServiceModelTest, LooksUpJsonServicesByTargetPrefixAndQueryServicesByVersion) {
  EXPECT_EQ(ServiceModel::byTargetPrefix("AmazonEC2ContainerServiceV20141113"), ServiceModel::byName("ecs"));
  EXPECT_EQ(ServiceModel::byTargetPrefix("AmazonEC2ContainerRegistry_V20150921"), ServiceModel::byName("ecr"));
  EXPECT_EQ(ServiceModel::byTargetPrefix("Logs_20140328"), ServiceModel::byName("logs"));
  EXPECT_EQ(ServiceModel::byTargetPrefix("AmazonSSM"), ServiceModel::byName("ssm"));
  EXPECT_EQ(ServiceModel::byTargetPrefix("AnyScaleFrontendService"), ServiceModel::byName("application-autoscaling"));
  EXPECT_EQ(ServiceModel::byTargetPrefix("AWSEvents"), ServiceModel::byName("events"));
  EXPECT_EQ(ServiceModel::byTargetPrefix(""), nullptr);  // Query services have no prefix
  EXPECT_EQ(ServiceModel::byTargetPrefix("amazonec2containerservicev20141113"), nullptr);  // exact match only
  EXPECT_EQ(ServiceModel::byTargetPrefix("DynamoDB_20120810"), nullptr);

  EXPECT_EQ(ServiceModel::byQueryVersion("2015-12-01"), ServiceModel::byName("elbv2"));
  EXPECT_EQ(ServiceModel::byQueryVersion("2010-08-01"), ServiceModel::byName("cloudwatch"));
  EXPECT_EQ(ServiceModel::byQueryVersion("2014-11-13"), nullptr);  // ECS is JSON, not Query
}

TEST(ServiceModelTest, EcsOperationCountMatchesTheModelFilePlusOverlay) {
  const ServiceModel* ecs = ServiceModel::byName("ecs");
  ASSERT_NE(ecs, nullptr);
  EXPECT_EQ(ecs->operations().size(), ecs->sourceOperationCount() + ecs->overlayOperations().size());

  // Cross-check against the file the generator read, when it is plain JSON on
  // this machine (Debian ships it uncompressed).
  const std::filesystem::path source = ecs->sourcePath();
  ASSERT_FALSE(source.empty());
  if (source.extension() == ".json" && std::filesystem::exists(source)) {
    std::ifstream in(source);
    auto file = nlohmann::json::parse(in);
    EXPECT_EQ(file.at("operations").size(), ecs->sourceOperationCount());
    for (const auto& [name, op] : file.at("operations").items()) EXPECT_NE(ecs->operation(name), nullptr) << name;
  }
}

TEST(ServiceModelTest, DeleteTaskDefinitionsComesFromTheOverlay) {
  const ServiceModel* ecs = ServiceModel::byName("ecs");
  ASSERT_NE(ecs, nullptr);
  const auto& overlay = ecs->overlayOperations();
  EXPECT_NE(std::find(overlay.begin(), overlay.end(), "DeleteTaskDefinitions"), overlay.end());

  const Operation* op = ecs->operation("DeleteTaskDefinitions");
  ASSERT_NE(op, nullptr);
  ASSERT_NE(op->input, nullptr);
  EXPECT_EQ(op->input->name, "DeleteTaskDefinitionsRequest");
  const Member* defs = op->input->findMember("taskDefinitions");
  ASSERT_NE(defs, nullptr);
  EXPECT_TRUE(defs->required);
  ASSERT_EQ(defs->shape->type, ShapeType::kList);
  EXPECT_EQ(defs->shape->member->type, ShapeType::kString);

  ASSERT_NE(op->output, nullptr);
  const Member* outDefs = op->output->findMember("taskDefinitions");
  ASSERT_NE(outDefs, nullptr);
  EXPECT_EQ(outDefs->shape->member->name, "TaskDefinition");
  const Member* failures = op->output->findMember("failures");
  ASSERT_NE(failures, nullptr);
  EXPECT_EQ(failures->shape->member->name, "Failure");

  std::vector<std::string> errors;
  for (const Shape* e : op->errors) errors.push_back(e->name);
  EXPECT_NE(std::find(errors.begin(), errors.end(), "ClientException"), errors.end());
  EXPECT_NE(std::find(errors.begin(), errors.end(), "InvalidParameterException"), errors.end());

  const Shape* status = ecs->shape("TaskDefinitionStatus");
  ASSERT_NE(status, nullptr);
  EXPECT_NE(std::find(status->enumValues.begin(), status->enumValues.end(), "DELETE_IN_PROGRESS"),
            status->enumValues.end());
}

TEST(ServiceModelTest, KeepsWhatAServerNeedsFromShapes) {
  const ServiceModel* ecs = ServiceModel::byName("ecs");
  const Operation* reg = ecs->operation("RegisterTaskDefinition");
  ASSERT_NE(reg, nullptr);
  EXPECT_TRUE(reg->input->findMember("family")->required);
  EXPECT_TRUE(reg->input->findMember("containerDefinitions")->required);
  EXPECT_FALSE(reg->input->findMember("cpu")->required);
  // Members stay in model order (family is declared first).
  EXPECT_EQ(reg->input->members.front().name, "family");

  const Shape* tagKey = ecs->shape("TagKey");
  ASSERT_NE(tagKey, nullptr);
  EXPECT_EQ(tagKey->min, 1);
  EXPECT_EQ(tagKey->max, 128);
  EXPECT_FALSE(tagKey->pattern.empty());
  EXPECT_EQ(ecs->shape("Tags")->max, 50);
  EXPECT_EQ(ecs->shape("Timestamp")->type, ShapeType::kTimestamp);
  EXPECT_TRUE(ecs->shape("ClusterNotFoundException")->exception);
  EXPECT_TRUE(ecs->shape("ServerException")->fault);

  const ServiceModel* elbv2 = ServiceModel::byName("elbv2");
  const Shape* tgNotFound = elbv2->shape("TargetGroupNotFoundException");
  ASSERT_TRUE(tgNotFound->error.has_value());
  EXPECT_EQ(tgNotFound->error->code, "TargetGroupNotFound");
  EXPECT_EQ(tgNotFound->error->httpStatusCode, 400);
  EXPECT_TRUE(tgNotFound->error->senderFault);
  EXPECT_EQ(elbv2->operation("DescribeTargetHealth")->resultWrapper, "DescribeTargetHealthResult");

  const ServiceModel* ssm = ServiceModel::byName("ssm");
  EXPECT_TRUE(ssm->shape("ParameterNotFound")->exception);
  EXPECT_TRUE(ssm->shape("PSParameterValue")->sensitive);
  const Shape* map = ssm->shape("ParameterNameList");
  ASSERT_NE(map, nullptr);
  EXPECT_EQ(map->type, ShapeType::kList);
}

TEST(ServiceModelTest, EveryReferenceResolves) {
  for (const ServiceModel* m : ServiceModel::all()) {
    SCOPED_TRACE(m->name());
    for (const auto& [name, op] : m->operations()) {
      EXPECT_EQ(op.name, name);
      if (op.input) EXPECT_EQ(op.input->type, ShapeType::kStructure) << name;
      if (op.output) EXPECT_EQ(op.output->type, ShapeType::kStructure) << name;
      for (const Shape* e : op.errors) EXPECT_TRUE(e->exception) << name << " " << e->name;
    }
    for (const auto& [name, shape] : m->shapes()) {
      for (const Member& member : shape->members) EXPECT_NE(member.shape, nullptr) << name;
      if (shape->type == ShapeType::kList) EXPECT_NE(shape->member, nullptr) << name;
      if (shape->type == ShapeType::kMap) {
        EXPECT_NE(shape->key, nullptr) << name;
        EXPECT_NE(shape->value, nullptr) << name;
      }
    }
  }
}

TEST(ServiceModelTest, ParseRejectsMalformedModels) {
  EXPECT_FALSE(ServiceModel::parse("not json").ok());
  EXPECT_FALSE(ServiceModel::parse("[]").ok());
  EXPECT_FALSE(ServiceModel::parse(R"({"name":"x"})").ok());  // no metadata/shapes
  auto dangling = ServiceModel::parse(R"({"name":"x","metadata":{},"shapes":{
      "In":{"type":"structure","members":[{"name":"a","shape":"Missing"}]}},"operations":{}})");
  ASSERT_FALSE(dangling.ok());
  EXPECT_NE(dangling.error().message.find("Missing"), std::string::npos);
  EXPECT_FALSE(ServiceModel::parse(R"({"name":"x","metadata":{},"shapes":{"S":{"type":"bigdecimal"}},
      "operations":{}})").ok());

  auto ok = ServiceModel::parse(R"({"name":"x","metadata":{"protocol":"json","targetPrefix":"X_1"},
      "shapes":{"In":{"type":"structure","members":[{"name":"self","shape":"In"}]}},
      "operations":{"Op":{"input":"In","errors":[]}}})");
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  const Shape* in = ok.value()->shape("In");
  EXPECT_EQ(in->members.at(0).shape, in);  // recursive shapes resolve to themselves
  EXPECT_EQ(ok.value()->operation("Op")->output, nullptr);
}

TEST(ServiceModelTest, ConcurrentFirstUseSeesOneRegistry) {
  std::vector<const ServiceModel*> seen(8, nullptr);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < seen.size(); ++i)
    threads.emplace_back([&seen, i] { seen[i] = ServiceModel::byTargetPrefix("AmazonSSM"); });
  for (auto& t : threads) t.join();
  for (const auto* m : seen) EXPECT_EQ(m, ServiceModel::byName("ssm"));
}

}  // namespace
}  // namespace berth::api
