#include "control/task_reports.h"

#include <gtest/gtest.h>

#include <regex>

namespace berth::control {
namespace {

using nlohmann::json;

// A task with containers a (essential, checked), b (essential, unchecked),
// c (non-essential, checked).
json taskWith(const std::string& a, const std::string& b, const std::string& c) {
  return {{"containers", {{{"name", "a"}, {"healthStatus", a}}, {{"name", "b"}, {"healthStatus", b}}, {{"name", "c"}, {"healthStatus", c}}}},
          {"berth", {{"essential", {"a", "b"}}, {"healthChecked", {"a", "c"}}}}};
}

TEST(TaskReportsTest, TaskHealthFollowsEssentialContainers) {
  struct Row {
    const char *a, *b, *c, *task;
  };
  for (const Row& r : {Row{"UNKNOWN", "UNKNOWN", "UNKNOWN", "UNKNOWN"},
                       Row{"HEALTHY", "UNKNOWN", "UNKNOWN", "HEALTHY"},      // b has no check: ignored
                       Row{"HEALTHY", "UNKNOWN", "UNHEALTHY", "HEALTHY"},    // c is not essential
                       Row{"UNHEALTHY", "UNKNOWN", "HEALTHY", "UNHEALTHY"},
                       Row{"UNKNOWN", "UNHEALTHY", "HEALTHY", "UNHEALTHY"},  // an essential UNHEALTHY always counts
                       Row{"UNKNOWN", "UNKNOWN", "HEALTHY", "UNKNOWN"}}) {   // only a non-essential check
    EXPECT_EQ(deriveTaskHealth(taskWith(r.a, r.b, r.c)), r.task) << r.a << " " << r.b << " " << r.c;
  }
  // Two checked essentials: HEALTHY only when both are.
  json t = taskWith("HEALTHY", "UNKNOWN", "UNKNOWN");
  t["berth"]["healthChecked"] = {"a", "b"};
  EXPECT_EQ(deriveTaskHealth(t), "UNKNOWN");
  t["containers"][1]["healthStatus"] = "HEALTHY";
  EXPECT_EQ(deriveTaskHealth(t), "HEALTHY");
  // No essential container has a check: UNKNOWN whatever the others say.
  t["berth"]["healthChecked"] = {"c"};
  EXPECT_EQ(deriveTaskHealth(t), "UNKNOWN");
  // Documents from before healthChecked existed: a reported value implies a check.
  t["berth"].erase("healthChecked");
  t["containers"][1]["healthStatus"] = "UNKNOWN";
  EXPECT_EQ(deriveTaskHealth(t), "HEALTHY");
}

TEST(TaskReportsTest, HealthCheckedContainersComeFromTheDefinition) {
  json td = {{"containerDefinitions", {{{"name", "a"}, {"healthCheck", {{"command", {"CMD", "true"}}}}}, {{"name", "b"}}}}};
  EXPECT_EQ(healthCheckedContainers(td), (json{"a"}));
  EXPECT_TRUE(validHealthStatus("HEALTHY"));
  EXPECT_TRUE(validHealthStatus("UNKNOWN"));
  EXPECT_FALSE(validHealthStatus("healthy"));
  EXPECT_FALSE(validHealthStatus(""));
}

TEST(TaskReportsTest, EniNamesLookLikeEc2s) {
  const std::string id = "0a1b2c3d-4e5f-6789-abcd-ef0123456789";
  EXPECT_EQ(eniIdFor(id), "eni-0a1b2c3d4e5f6789a");
  EXPECT_EQ(eniIdFor(id), eniIdFor(id));
  EXPECT_NE(eniIdFor(id), eniIdFor("1a1b2c3d-4e5f-6789-abcd-ef0123456789"));
  EXPECT_EQ(privateDnsName("10.214.0.5", "us-east-1"), "ip-10-214-0-5.ec2.internal");
  EXPECT_EQ(privateDnsName("10.214.0.5", "eu-west-3"), "ip-10-214-0-5.eu-west-3.compute.internal");
}

TEST(TaskReportsTest, EniAttachmentLifecycle) {
  json task = {{"attachments", {newEniAttachment("att-1", "subnet-9")}},
               {"containers", {{{"name", "a"}, {"networkInterfaces", json::array()}}}},
               {"berth", json::object()}};
  EXPECT_EQ(task["attachments"][0],
            (json{{"id", "att-1"}, {"type", "ElasticNetworkInterface"}, {"status", "PRECREATED"},
                  {"details", {{{"name", "subnetId"}, {"value", "subnet-9"}}}}}));
  json report = {{"privateIPv4Address", "10.214.0.5"}, {"macAddress", "02:42:0a:d6:00:05"},
                 {"ipv4SubnetCidrBlock", "10.214.0.0/24"}, {"gatewayIpv4Address", "10.214.0.1"}};
  EXPECT_FALSE(applyNetworkInterface(task, json{{"macAddress", "x"}}, "us-east-1"));  // no address: nothing to show
  EXPECT_TRUE(applyNetworkInterface(task, report, "us-east-1"));
  const json& a = task["attachments"][0];
  EXPECT_EQ(a["status"], "ATTACHED");
  EXPECT_EQ(a["details"], (json{{{"name", "subnetId"}, {"value", "subnet-9"}},
                                {{"name", "networkInterfaceId"}, {"value", eniIdFor("att-1")}},
                                {{"name", "macAddress"}, {"value", "02:42:0a:d6:00:05"}},
                                {{"name", "privateDnsName"}, {"value", "ip-10-214-0-5.ec2.internal"}},
                                {{"name", "privateIPv4Address"}, {"value", "10.214.0.5"}}}));
  EXPECT_EQ(task["containers"][0]["networkInterfaces"], (json{{{"attachmentId", "att-1"}, {"privateIpv4Address", "10.214.0.5"}}}));
  EXPECT_FALSE(applyNetworkInterface(task, report, "us-east-1"));  // the same report again changes nothing
  EXPECT_TRUE(deleteEniAttachments(task));
  EXPECT_EQ(task["attachments"][0]["status"], "DELETED");
  EXPECT_FALSE(deleteEniAttachments(task));
  // A late report does not bring a deleted attachment back.
  json later = report;
  later["privateIPv4Address"] = "10.214.0.9";
  applyNetworkInterface(task, later, "us-east-1");
  EXPECT_EQ(task["attachments"][0]["status"], "DELETED");
}

TEST(TaskReportsTest, BridgeTasksKeepTheAddressInternally) {
  json task = {{"attachments", json::array()}, {"containers", {{{"name", "a"}, {"networkInterfaces", json::array()}}}}};
  json report = {{"privateIPv4Address", "172.31.0.7"}, {"macAddress", "m"}};
  EXPECT_TRUE(applyNetworkInterface(task, report, "us-east-1"));
  EXPECT_EQ(task["attachments"], json::array());
  EXPECT_EQ(task["containers"][0]["networkInterfaces"], json::array());
  EXPECT_EQ(task["berth"]["networkInterface"], report);
  EXPECT_FALSE(deleteEniAttachments(task));
}

}  // namespace
}  // namespace berth::control
