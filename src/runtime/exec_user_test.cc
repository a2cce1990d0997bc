#include "runtime/exec_user.h"

#include <gtest/gtest.h>

namespace berth::runtime {
namespace {

constexpr const char* kPasswd =
    "# comment\n"
    "root:x:0:0:root:/root:/bin/sh\n"
    "app:x:1000:1001:App:/home/app:/bin/sh\n"
    "svc:x:999:999::/var/svc:/sbin/nologin\n";
constexpr const char* kGroup =
    "root:x:0:\n"
    "app:x:1001:\n"
    "svc:x:999:\n"
    "extra:x:2000:app,svc\n"
    "more:x:3000:app\n";

struct Case {
  const char* spec;
  bool ok;
  std::uint32_t uid, gid;
  std::vector<std::uint32_t> groups;
  const char* home;
};

TEST(ResolveExecUser, EcsUserForms) {
  const std::vector<Case> cases = {
      {"", true, 0, 0, {}, "/root"},
      {"root", true, 0, 0, {}, "/root"},
      {"app", true, 1000, 1001, {2000, 3000}, "/home/app"},
      {"1000", true, 1000, 1001, {2000, 3000}, "/home/app"},  // numeric uid with an entry: its group
      {"4242", true, 4242, 0, {}, "/"},                      // numeric uid without an entry
      {"app:extra", true, 1000, 2000, {}, "/home/app"},      // explicit group: no supplementary groups
      {"app:77", true, 1000, 77, {}, "/home/app"},
      {"4242:4343", true, 4242, 4343, {}, "/"},
      {"4242:extra", true, 4242, 2000, {}, "/"},
      {"svc:1001", true, 999, 1001, {}, "/var/svc"},
      {"ghost", false, 0, 0, {}, ""},
      {"app:ghosts", false, 0, 0, {}, ""},
      {"-1", false, 0, 0, {}, ""},
  };
  for (const auto& c : cases) {
    auto r = resolveExecUser(c.spec, kPasswd, kGroup);
    ASSERT_EQ(r.ok(), c.ok) << c.spec;
    if (!c.ok) {
      EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameter);
      continue;
    }
    EXPECT_EQ(r->uid, c.uid) << c.spec;
    EXPECT_EQ(r->gid, c.gid) << c.spec;
    EXPECT_EQ(r->additionalGids, c.groups) << c.spec;
    EXPECT_EQ(r->home, c.home) << c.spec;
  }
}

TEST(ResolveExecUser, WithoutFilesOnlyNumericIdsWork) {
  auto r = resolveExecUser("1000:1000", "", "");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->uid, 1000u);
  EXPECT_EQ(r->gid, 1000u);
  EXPECT_FALSE(resolveExecUser("app", "", "").ok());
  auto root = resolveExecUser("", "", "");
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(root->uid, 0u);
}

}  // namespace
}  // namespace berth::runtime
