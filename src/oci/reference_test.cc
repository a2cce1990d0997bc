#include "oci/reference.h"

#include <gtest/gtest.h>

namespace berth::oci {
namespace {

const std::string kHex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

struct Case {
  std::string input;
  std::string registry, repository, tag;
  bool hasDigest;
  std::string canonical;
};

TEST(ReferenceTest, NormalisationTable) {
  std::vector<Case> cases = {
      {"busybox", "docker.io", "library/busybox", "latest", false, "docker.io/library/busybox:latest"},
      {"busybox:1.36", "docker.io", "library/busybox", "1.36", false, "docker.io/library/busybox:1.36"},
      {"user/app", "docker.io", "user/app", "latest", false, "docker.io/user/app:latest"},
      {"docker.io/busybox", "docker.io", "library/busybox", "latest", false, "docker.io/library/busybox:latest"},
      {"index.docker.io/library/busybox", "docker.io", "library/busybox", "latest", false,
       "docker.io/library/busybox:latest"},
      {"localhost/app", "localhost", "app", "latest", false, "localhost/app:latest"},
      {"localhost:5000/a/b:v1", "localhost:5000", "a/b", "v1", false, "localhost:5000/a/b:v1"},
      {"127.0.0.1:5000/test/busybox", "127.0.0.1:5000", "test/busybox", "latest", false,
       "127.0.0.1:5000/test/busybox:latest"},
      {"[::1]:5000/app:x", "[::1]:5000", "app", "x", false, "[::1]:5000/app:x"},
      {"quay.io/org/app", "quay.io", "org/app", "latest", false, "quay.io/org/app:latest"},
      {"myhost:5000/app", "myhost:5000", "app", "latest", false, "myhost:5000/app:latest"},
      {"123456789012.dkr.ecr.us-east-1.amazonaws.com/web:prod", "123456789012.dkr.ecr.us-east-1.amazonaws.com", "web",
       "prod", false, "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:prod"},
      {"busybox@sha256:" + kHex, "docker.io", "library/busybox", "", true, "docker.io/library/busybox@sha256:" + kHex},
      {"r.io/a:t@sha256:" + kHex, "r.io", "a", "t", true, "r.io/a:t@sha256:" + kHex},
      {"a-b.c-d/e_f-g__h", "a-b.c-d", "e_f-g__h", "latest", false, "a-b.c-d/e_f-g__h:latest"},
      {"foo/bar--baz", "docker.io", "foo/bar--baz", "latest", false, "docker.io/foo/bar--baz:latest"},
  };
  for (const auto& c : cases) {
    auto r = Reference::parse(c.input);
    ASSERT_TRUE(r.ok()) << c.input << ": " << r.error().message;
    EXPECT_EQ(r->registry, c.registry) << c.input;
    EXPECT_EQ(r->repository, c.repository) << c.input;
    EXPECT_EQ(r->tag, c.tag) << c.input;
    EXPECT_EQ(r->digest.has_value(), c.hasDigest) << c.input;
    EXPECT_EQ(r->str(), c.canonical) << c.input;
  }
}

TEST(ReferenceTest, RejectsInvalid) {
  for (std::string bad :
       {std::string(""), std::string("Busybox"), std::string("busybox:"), std::string(":tag"), std::string("a//b"),
        std::string("a/"), std::string("a b"), std::string("host:port/app"), std::string("busybox@sha256:abc"),
        std::string("-foo"), std::string("foo-"), std::string("foo..bar"), std::string("foo/.bar"),
        std::string("busybox:" + std::string(129, 'a')), std::string("r.io/" + std::string(260, 'a')),
        std::string("busybox:-x"), std::string("reg.io/"), std::string("a@md5:d41d8cd98f00b204e9800998ecf8427e")}) {
    EXPECT_FALSE(Reference::parse(bad).ok()) << bad;
  }
}

TEST(ReferenceTest, ManifestReferenceAndHost) {
  auto r = Reference::parse("127.0.0.1:5000/x:t@sha256:" + kHex);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->manifestReference(), "sha256:" + kHex);
  EXPECT_EQ(r->registryHost(), "127.0.0.1");
  auto v6 = Reference::parse("[::1]:5000/x");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->registryHost(), "::1");
  EXPECT_EQ(v6->manifestReference(), "latest");
  EXPECT_EQ(Reference::parse("localhost/x")->registryHost(), "localhost");
}

}  // namespace
}  // namespace berth::oci
