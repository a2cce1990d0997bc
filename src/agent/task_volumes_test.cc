#include "agent/task_volumes.h"

#include <gtest/gtest.h>

namespace berth::agent {
namespace {

using nlohmann::json;

TaskPlan planWith(json volumes, std::vector<json> defs) {
  TaskPlan p;
  p.taskId = "t1";
  p.volumes = std::move(volumes);
  for (auto& d : defs) {
    ContainerPlan c;
    c.name = d["name"];
    c.image = "busybox";
    c.definition = d;
    p.containers.push_back(c);
  }
  return p;
}

std::string errorOf(const TaskPlan& p) {
  auto r = resolveTaskVolumes(p, "/data/tasks/t1", "/data/volumes");
  return r.ok() ? "ok" : r.error().message;
}

TEST(TaskVolumes, ResolvesEachKindAndVolumesFromChains) {
  auto plan = planWith(
      {{{"name", "scratch"}},
       {{"name", "hostv"}, {"host", {{"sourcePath", "/srv/data"}}}},
       {{"name", "dv"}, {"dockerVolumeConfiguration", {{"scope", "task"}, {"driver", "local"}}}},
       {{"name", "shared"}, {"dockerVolumeConfiguration", {{"scope", "shared"}, {"autoprovision", true}}}}},
      {json{{"name", "a"}, {"mountPoints", {{{"sourceVolume", "scratch"}, {"containerPath", "/s"}},
                                            {{"sourceVolume", "hostv"}, {"containerPath", "/h"}, {"readOnly", true}}}}},
       json{{"name", "b"}, {"volumesFrom", {{{"sourceContainer", "a"}}}},
            {"mountPoints", {{{"sourceVolume", "dv"}, {"containerPath", "/s"}}}}},
       json{{"name", "c"}, {"volumesFrom", {{{"sourceContainer", "b"}, {"readOnly", true}}}}}});
  auto r = resolveTaskVolumes(plan, "/data/tasks/t1", "/data/volumes");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->volumes["scratch"].hostPath, "/data/tasks/t1/volumes/scratch");
  EXPECT_TRUE(r->volumes["scratch"].taskScoped);
  EXPECT_EQ(r->volumes["hostv"].hostPath, "/srv/data");
  EXPECT_FALSE(r->volumes["hostv"].taskScoped);
  EXPECT_EQ(r->volumes["dv"].hostPath, "/data/tasks/t1/volumes/dv");
  EXPECT_EQ(r->volumes["shared"].hostPath, "/data/volumes/shared");
  EXPECT_FALSE(r->volumes["shared"].mustExist);

  auto str = [](const std::vector<runtime::BindMount>& ms) {
    std::string out;
    for (const auto& m : ms) out += m.source + ":" + m.destination + (m.readOnly ? ":ro " : ":rw ");
    return out;
  };
  EXPECT_EQ(str(r->mountsByContainer["a"]), "/data/tasks/t1/volumes/scratch:/s:rw /srv/data:/h:ro ");
  // b's own /s wins over a's; c gets everything b has, read-only.
  EXPECT_EQ(str(r->mountsByContainer["b"]), "/data/tasks/t1/volumes/dv:/s:rw /srv/data:/h:ro ");
  EXPECT_EQ(str(r->mountsByContainer["c"]), "/data/tasks/t1/volumes/dv:/s:ro /srv/data:/h:ro ");
}

TEST(TaskVolumes, RejectsWhatCannotBeMounted) {
  auto one = [](json volumes, json def) { return errorOf(planWith(std::move(volumes), {std::move(def)})); };
  EXPECT_EQ(one({{{"name", "../x"}}}, {{"name", "a"}}),
            "volume name '../x' must be 1-255 letters, digits, hyphens or underscores");
  EXPECT_EQ(one({{{"name", "v"}, {"efsVolumeConfiguration", {{"fileSystemId", "fs-1"}}}}}, {{"name", "a"}}),
            "volume v: efsVolumeConfiguration is not supported on Berth");
  EXPECT_EQ(one({{{"name", "v"}, {"dockerVolumeConfiguration", {{"driver", "rexray"}}}}}, {{"name", "a"}}),
            "volume v: volume driver 'rexray' is not supported (only local)");
  EXPECT_EQ(one({}, {{"name", "a"}, {"mountPoints", {{{"sourceVolume", "v"}, {"containerPath", "/x"}}}}}),
            "container a: mountPoints sourceVolume 'v' is not a task volume");
  EXPECT_EQ(one({{{"name", "v"}}}, {{"name", "a"}, {"mountPoints", {{{"sourceVolume", "v"}, {"containerPath", "x"}}}}}),
            "container a: mountPoints containerPath must be absolute (got 'x')");
  EXPECT_EQ(one({}, {{"name", "a"}, {"volumesFrom", {{{"sourceContainer", "zz"}}}}}),
            "container a: volumesFrom sourceContainer 'zz' is not in the task");
}

}  // namespace
}  // namespace berth::agent
