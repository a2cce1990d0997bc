#include "images/layer_unpacker.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "images/testing/tar_builder.h"

namespace berth::images {
namespace {

namespace fs = std::filesystem;
using testing::TarCompression;
using testing::TarEntry;
using testing::writeTar;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::set<std::string> listTree(const fs::path& root) {
  std::set<std::string> out;
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::none); it != fs::end(it); ++it) {
    out.insert(fs::relative(it->path(), root).string());
  }
  return out;
}

// sandbox/
//   outside/secret   the sentinel: must never change, nothing may appear next to it
//   target/          where the layer is unpacked
//   layer.tar
class LayerUnpackerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-unpack-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    sandbox_ = tmpl;
    outside_ = sandbox_ / "outside";
    target_ = sandbox_ / "target";
    fs::create_directories(outside_);
    fs::create_directories(target_);
    std::ofstream(outside_ / "secret") << "original";
    tar_ = (sandbox_ / "layer.tar").string();
  }
  void TearDown() override { fs::remove_all(sandbox_); }

  Result<UnpackStats> unpack(const std::vector<TarEntry>& entries, TarCompression c = TarCompression::kNone) {
    writeTar(tar_, entries, c);
    return unpackLayer(tar_, target_.string());
  }

  void expectOutsideUntouched() {
    EXPECT_EQ(listTree(outside_), std::set<std::string>{"secret"});
    EXPECT_EQ(slurp(outside_ / "secret"), "original");
    std::set<std::string> top;
    for (const auto& e : fs::directory_iterator(sandbox_)) top.insert(e.path().filename().string());
    EXPECT_EQ(top, (std::set<std::string>{"outside", "target", "layer.tar"}));
    // And nothing escaped to the filesystem root or /tmp under the names we use.
    EXPECT_FALSE(fs::exists("/evil"));
    EXPECT_FALSE(fs::exists("/tmp/evil"));
  }

  void expectRefused(const std::vector<TarEntry>& entries, const std::string& messagePart) {
    auto r = unpack(entries);
    ASSERT_FALSE(r.ok()) << "hostile layer was accepted";
    EXPECT_NE(r.error().message.find(messagePart), std::string::npos) << r.error().message;
    expectOutsideUntouched();
  }

  fs::path sandbox_, outside_, target_;
  std::string tar_;
};

std::vector<TarEntry> sampleLayer() {
  TarEntry owned = TarEntry::file("etc/owned", "owned by 1000", 0600);
  owned.uid = 1000;
  owned.gid = 2000;
  TarEntry setuid = TarEntry::file("bin/su", "x", 04755);
  TarEntry withXattrs = TarEntry::file("etc/attrs", "x");
  withXattrs.xattrs = {{"user.note", "hello"}, {"trusted.overlay.redirect", "/etc"}};
  return {TarEntry::dir("/"),  // umoci writes the root as "/"
          TarEntry::dir("./"),
          TarEntry::dir("bin"),
          TarEntry::file("bin/busybox", std::string(200000, 'B'), 0755),
          TarEntry::symlink("bin/sh", "busybox"),
          TarEntry::hardlink("bin/ls", "bin/busybox"),
          TarEntry::dir("etc"),
          owned,
          setuid,
          withXattrs,
          TarEntry::symlink("etc/mtab", "/proc/mounts"),  // absolute symlink content is fine
          TarEntry::file("implicit/parent/file", "made"),  // parents not listed
          TarEntry::dir("ro", 0555),
          TarEntry::file("ro/inside", "in a read-only dir"),
          {TarEntry::kFifo, "run/fifo"},
          TarEntry::file("./dot/slash//clean", "ok")};
}

void expectSampleLayer(const fs::path& t) {
  EXPECT_EQ(slurp(t / "bin/busybox"), std::string(200000, 'B'));
  struct stat st;
  ASSERT_EQ(::lstat((t / "bin/busybox").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  EXPECT_EQ(st.st_mtime, 1'600'000'000);
  struct stat ls;
  ASSERT_EQ(::lstat((t / "bin/ls").c_str(), &ls), 0);
  EXPECT_EQ(ls.st_ino, st.st_ino);  // a real hard link
  EXPECT_EQ(fs::read_symlink(t / "bin/sh"), "busybox");
  EXPECT_EQ(fs::read_symlink(t / "etc/mtab"), "/proc/mounts");
  ASSERT_EQ(::lstat((t / "etc/owned").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1000u);
  EXPECT_EQ(st.st_gid, 2000u);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_EQ(::lstat((t / "bin/su").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 04755u);  // setuid survives chown
  char buf[64];
  ssize_t n = ::getxattr((t / "etc/attrs").c_str(), "user.note", buf, sizeof buf);
  if (n >= 0) EXPECT_EQ(std::string(buf, static_cast<std::size_t>(n)), "hello");
  EXPECT_LT(::getxattr((t / "etc/attrs").c_str(), "trusted.overlay.redirect", buf, sizeof buf), 0);
  EXPECT_EQ(slurp(t / "implicit/parent/file"), "made");
  ASSERT_EQ(::lstat((t / "ro").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0555u);
  EXPECT_EQ(slurp(t / "ro/inside"), "in a read-only dir");
  ASSERT_EQ(::lstat((t / "run/fifo").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(slurp(t / "dot/slash/clean"), "ok");
}

TEST_F(LayerUnpackerTest, PlainTar) {
  auto r = unpack(sampleLayer(), TarCompression::kNone);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->entries, sampleLayer().size());
  expectSampleLayer(target_);
  expectOutsideUntouched();
}

TEST_F(LayerUnpackerTest, GzipTar) {
  auto r = unpack(sampleLayer(), TarCompression::kGzip);
  ASSERT_TRUE(r.ok()) << r.error().message;
  expectSampleLayer(target_);
}

TEST_F(LayerUnpackerTest, ZstdTar) {
  auto r = unpack(sampleLayer(), TarCompression::kZstd);
  ASSERT_TRUE(r.ok()) << r.error().message;
  expectSampleLayer(target_);
}

TEST_F(LayerUnpackerTest, WhiteoutsBecomeOverlayForm) {
  auto r = unpack({TarEntry::dir("etc"), TarEntry::file("etc/.wh.passwd", ""), TarEntry::dir("var/cache"),
                   TarEntry::file("var/cache/.wh..wh..opq", ""), TarEntry::file("var/cache/new", "n"),
                   TarEntry::file(".wh.toplevel", ""), TarEntry::file(".wh..wh.plnk", ""),
                   TarEntry::device(TarEntry::kChar, "already-whiteout", 0, 0)});
  ASSERT_TRUE(r.ok()) << r.error().message;
  for (const char* w : {"etc/passwd", "toplevel", "already-whiteout"}) {
    struct stat st;
    ASSERT_EQ(::lstat((target_ / w).c_str(), &st), 0) << w;
    EXPECT_TRUE(S_ISCHR(st.st_mode)) << w;
    EXPECT_EQ(st.st_rdev, ::makedev(0, 0)) << w;
  }
  EXPECT_FALSE(fs::exists(target_ / "etc/.wh.passwd"));
  EXPECT_FALSE(fs::exists(target_ / ".wh..wh.plnk"));
  char v[4];
  ASSERT_EQ(::getxattr((target_ / "var/cache").c_str(), "trusted.overlay.opaque", v, sizeof v), 1);
  EXPECT_EQ(v[0], 'y');
  EXPECT_EQ(slurp(target_ / "var/cache/new"), "n");
}

TEST_F(LayerUnpackerTest, LaterEntryReplacesPlantedSymlinkInsteadOfWritingThroughIt) {
  auto r = unpack({TarEntry::symlink("x", (outside_ / "secret").string()), TarEntry::file("x", "replaced")});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(slurp(target_ / "x"), "replaced");
  EXPECT_FALSE(fs::is_symlink(target_ / "x"));
  expectOutsideUntouched();
}

TEST_F(LayerUnpackerTest, SymlinksInsideTheLayerMayBeTraversed) {
  auto r = unpack({TarEntry::dir("real"), TarEntry::symlink("alias", "real"), TarEntry::file("alias/f", "via alias"),
                   TarEntry::dir("a/b"), TarEntry::symlink("a/b/up", "../../real"), TarEntry::file("a/b/up/g", "g")});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(slurp(target_ / "real/f"), "via alias");
  EXPECT_EQ(slurp(target_ / "real/g"), "g");
}

TEST_F(LayerUnpackerTest, RefusesDotDotTraversal) {
  expectRefused({TarEntry::file("../outside/evil", "pwned")}, "'..' path component");
  expectRefused({TarEntry::file("../../../../../../tmp/evil", "pwned")}, "'..'");
  expectRefused({TarEntry::dir("a"), TarEntry::file("a/../../outside/evil", "pwned")}, "'..'");
}

TEST_F(LayerUnpackerTest, RefusesAbsolutePaths) {
  expectRefused({TarEntry::file((outside_ / "evil").string(), "pwned")}, "absolute path");
  expectRefused({TarEntry::file("/evil", "pwned")}, "absolute path");
  expectRefused({TarEntry::dir("/.."), TarEntry::file("x", "x")}, "refused");
}

TEST_F(LayerUnpackerTest, RefusesWritingThroughAbsoluteSymlink) {
  // The classic: link -> /etc, then link/passwd.
  expectRefused({TarEntry::symlink("link", outside_.string()), TarEntry::file("link/evil", "pwned")},
                "symlink escape");
  expectRefused({TarEntry::symlink("etc", "/etc"), TarEntry::file("etc/berth-evil", "pwned")}, "symlink escape");
  EXPECT_FALSE(fs::exists("/etc/berth-evil"));
}

TEST_F(LayerUnpackerTest, RefusesWritingThroughRelativeEscapingSymlink) {
  expectRefused({TarEntry::symlink("up", "../../.."), TarEntry::file("up/tmp/evil", "pwned")}, "symlink escape");
  expectRefused({TarEntry::symlink("esc", "../outside"), TarEntry::file("esc/evil", "pwned")}, "symlink escape");
  expectRefused({TarEntry::dir("a/b"), TarEntry::symlink("a/b/c", "../../../outside"),
                 TarEntry::dir("a/b/c/d"), TarEntry::file("a/b/c/d/evil", "pwned")},
                "symlink escape");
  // Whiteouts and opaque markers go through the same parent resolution.
  expectRefused({TarEntry::symlink("w", outside_.string()), TarEntry::file("w/.wh.secret", "")}, "symlink escape");
  expectRefused({TarEntry::symlink("o", outside_.string()), TarEntry::file("o/.wh..wh..opq", "")}, "symlink escape");
}

TEST_F(LayerUnpackerTest, RefusesHardlinksOutsideTheLayer) {
  expectRefused({TarEntry::hardlink("h", (outside_ / "secret").string())}, "absolute path");
  expectRefused({TarEntry::hardlink("h", "../outside/secret")}, "'..'");
  expectRefused({TarEntry::hardlink("h", "/etc/shadow")}, "absolute path");
  expectRefused({TarEntry::symlink("l", outside_.string()), TarEntry::hardlink("h", "l/secret")}, "symlink escape");
  expectRefused({TarEntry::hardlink("h", "missing")}, "does not exist");
  expectRefused({TarEntry::dir("d"), TarEntry::hardlink("h", "d")}, "hard link to a directory");
  // A hard link to a symlink links the symlink itself (never its target).
  auto r = unpack({TarEntry::symlink("s", (outside_ / "secret").string()), TarEntry::hardlink("h", "s")});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(fs::is_symlink(target_ / "h"));
  expectOutsideUntouched();
}

TEST_F(LayerUnpackerTest, RefusesDeviceNodes) {
  expectRefused({TarEntry::device(TarEntry::kChar, "dev/mem", 1, 1)}, "character device");
  expectRefused({TarEntry::device(TarEntry::kBlock, "dev/sda", 8, 0)}, "block device");
  EXPECT_FALSE(fs::exists(target_ / "dev/mem"));
  EXPECT_FALSE(fs::exists(target_ / "dev/sda"));
}

TEST_F(LayerUnpackerTest, RefusesHugePaths) {
  std::string longName(300, 'n');
  expectRefused({TarEntry::file("dir/" + longName, "x")}, "longer than 255");
  std::string deep;
  for (int i = 0; i < 500; ++i) deep += "abcdefghi/";
  expectRefused({TarEntry::file(deep + "f", "x")}, "longer than 4096");
}

TEST_F(LayerUnpackerTest, RefusesGarbage) {
  std::ofstream(tar_) << std::string(5000, 'z');
  auto r = unpackLayer(tar_, target_.string());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameter);
  expectOutsideUntouched();
}

TEST_F(LayerUnpackerTest, EmptyLayer) {
  auto r = unpack({});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(listTree(target_).empty());
}

}  // namespace
}  // namespace berth::images
