#include "images/overlay.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "images/layer_unpacker.h"
#include "images/testing/tar_builder.h"

namespace berth::images {
namespace {

namespace fs = std::filesystem;
using testing::TarEntry;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class OverlayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "overlayfs mounts need root";
    char tmpl[] = "/tmp/berth-overlay-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (dir_.empty()) return;
    for (const auto& c : containers_) EXPECT_TRUE(removeRootfs(c).ok());
    for (const auto& c : containers_) EXPECT_FALSE(isMountPoint(c + "/merged"));
    fs::remove_all(dir_);
  }

  std::string layer(const std::string& name, const std::vector<TarEntry>& entries) {
    std::string tar = dir_ + "/" + name + ".tar";
    testing::writeTar(tar, entries);
    std::string d = dir_ + "/layers/" + name;
    fs::create_directories(d);
    auto r = unpackLayer(tar, d);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return d;
  }

  std::string container(const std::string& name) {
    std::string c = dir_ + "/containers/" + name;
    containers_.push_back(c);
    return c;
  }

  std::string dir_;
  std::vector<std::string> containers_;
};

TEST_F(OverlayTest, StacksLayersWithWhiteoutsAndOpaqueDirs) {
  std::string base = layer("base", {TarEntry::file("etc/passwd", "root"), TarEntry::file("etc/keep", "keep"),
                                    TarEntry::file("var/cache/old", "old"), TarEntry::file("bin/tool", "v1", 0755)});
  std::string top = layer("top", {TarEntry::file("etc/.wh.passwd", ""), TarEntry::file("var/cache/.wh..wh..opq", ""),
                                   TarEntry::file("var/cache/new", "new"), TarEntry::file("bin/tool", "v2", 0755)});
  Image img;
  img.layerDirs = {base, top};
  auto m = mountOverlay(img, container("c1"));
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_TRUE(isMountPoint(m->merged));
  EXPECT_FALSE(fs::exists(m->merged + "/etc/passwd"));  // whited out
  EXPECT_EQ(slurp(m->merged + "/etc/keep"), "keep");
  EXPECT_FALSE(fs::exists(m->merged + "/var/cache/old"));  // hidden by the opaque dir
  EXPECT_EQ(slurp(m->merged + "/var/cache/new"), "new");
  EXPECT_EQ(slurp(m->merged + "/bin/tool"), "v2");  // top wins

  // Writes land in upper; the shared layers never change.
  std::ofstream(m->merged + "/etc/keep") << "changed";
  EXPECT_EQ(slurp(m->upper + "/etc/keep"), "changed");
  EXPECT_EQ(slurp(base + "/etc/keep"), "keep");

  // A second container over the same layers is independent.
  auto m2 = mountOverlay(img, container("c2"));
  ASSERT_TRUE(m2.ok()) << m2.error().message;
  EXPECT_EQ(slurp(m2->merged + "/etc/keep"), "keep");

  // Mounting twice on the same dir is refused; unmount is idempotent.
  EXPECT_EQ(mountOverlay(img, m->containerDir).error().code, ErrorCode::kConflict);
  EXPECT_TRUE(unmountOverlay(m->containerDir).ok());
  EXPECT_TRUE(unmountOverlay(m->containerDir).ok());
  EXPECT_FALSE(isMountPoint(m->merged));
}

TEST_F(OverlayTest, ManyLayersBeyondTheOptionPageUseShortLinks) {
  // 150 layers with ~110-byte paths: ~16 KB of lowerdir, far over one page.
  std::vector<std::string> layers;
  std::string longPrefix = "deep-" + std::string(60, 'p');
  for (int i = 0; i < 150; ++i) {
    std::string name = longPrefix + "-" + std::to_string(i);
    layers.push_back(layer(name, {TarEntry::file("files/f" + std::to_string(i), std::to_string(i)),
                                  TarEntry::file("shared", std::to_string(i))}));
  }
  auto m = mountOverlayLayers(layers, container("deep"));
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(slurp(m->merged + "/files/f0"), "0");
  EXPECT_EQ(slurp(m->merged + "/files/f149"), "149");
  EXPECT_EQ(slurp(m->merged + "/shared"), "149");  // the last (top) layer wins
  EXPECT_TRUE(fs::exists(m->containerDir + "/l/0"));
  char cwd[4096];
  ASSERT_NE(::getcwd(cwd, sizeof cwd), nullptr);
  EXPECT_NE(std::string(cwd), m->containerDir);  // our own cwd was never changed
}

TEST_F(OverlayTest, ImageWithoutLayersGetsAnEmptyRoot) {
  auto m = mountOverlayLayers({}, container("empty"));
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_TRUE(fs::is_empty(m->merged));
}

TEST_F(OverlayTest, RemoveRootfsCleansUp) {
  std::string base = layer("base", {TarEntry::file("a", "a")});
  std::string c = container("gone");
  auto m = mountOverlayLayers({base}, c);
  ASSERT_TRUE(m.ok());
  std::ofstream(m->merged + "/written") << "x";
  ASSERT_TRUE(removeRootfs(c).ok());
  EXPECT_FALSE(fs::exists(c));
  EXPECT_EQ(slurp(base + "/a"), "a");  // the layer is untouched
  EXPECT_FALSE(fs::exists(base + "/written"));
}

}  // namespace
}  // namespace berth::images
