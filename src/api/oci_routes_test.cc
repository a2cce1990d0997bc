#include "api/oci_routes.h"

#include <gtest/gtest.h>

namespace berth::api::distribution {
namespace {

Route mustRoute(std::string_view path) {
  auto r = parseRoute(path);
  EXPECT_TRUE(r.has_value()) << path;
  return r.value_or(Route{});
}

TEST(OciRoutes, BaseAndCatalog) {
  EXPECT_EQ(mustRoute("/v2/").kind, RouteKind::kBase);
  EXPECT_EQ(mustRoute("/v2").kind, RouteKind::kBase);
  EXPECT_EQ(mustRoute("/v2/_catalog").kind, RouteKind::kCatalog);
  EXPECT_FALSE(parseRoute("/v1/"));
  EXPECT_FALSE(parseRoute("/v2x"));
  EXPECT_FALSE(parseRoute("/"));
}

TEST(OciRoutes, NamesWithSlashesAreReadFromTheRight) {
  auto m = mustRoute("/v2/team/app/web/manifests/latest");
  EXPECT_EQ(m.kind, RouteKind::kManifest);
  EXPECT_EQ(m.name, "team/app/web");
  EXPECT_EQ(m.reference, "latest");

  // A path component may itself be called "blobs" or "manifests".
  auto b = mustRoute("/v2/x/manifests/blobs/sha256:abc");
  EXPECT_EQ(b.kind, RouteKind::kBlob);
  EXPECT_EQ(b.name, "x/manifests");
  EXPECT_EQ(b.reference, "sha256:abc");

  auto t = mustRoute("/v2/a/blobs/tags/list");
  EXPECT_EQ(t.kind, RouteKind::kTagsList);
  EXPECT_EQ(t.name, "a/blobs");
}

TEST(OciRoutes, Uploads) {
  auto start = mustRoute("/v2/a/b/blobs/uploads/");
  EXPECT_EQ(start.kind, RouteKind::kUploadStart);
  EXPECT_EQ(start.name, "a/b");
  EXPECT_EQ(mustRoute("/v2/a/blobs/uploads").kind, RouteKind::kUploadStart);

  auto session = mustRoute("/v2/a/b/blobs/uploads/0f1e-22");
  EXPECT_EQ(session.kind, RouteKind::kUploadSession);
  EXPECT_EQ(session.name, "a/b");
  EXPECT_EQ(session.reference, "0f1e-22");
}

TEST(OciRoutes, Referrers) {
  auto r = mustRoute("/v2/ns/repo/referrers/sha256:00");
  EXPECT_EQ(r.kind, RouteKind::kReferrers);
  EXPECT_EQ(r.name, "ns/repo");
  EXPECT_EQ(r.reference, "sha256:00");
}

TEST(OciRoutes, PercentEncodedSegmentsAreDecoded) {
  auto m = mustRoute("/v2/repo/manifests/sha256%3Aab");
  EXPECT_EQ(m.reference, "sha256:ab");
}

TEST(OciRoutes, MalformedPathsMatchNothing) {
  EXPECT_FALSE(parseRoute("/v2/manifests/latest"));       // no name
  EXPECT_FALSE(parseRoute("/v2//x/manifests/latest"));    // empty component
  EXPECT_FALSE(parseRoute("/v2/x/manifests/"));           // no reference
  EXPECT_FALSE(parseRoute("/v2/x/blobs/"));               // no digest
  EXPECT_FALSE(parseRoute("/v2/x/unknown/thing"));
  EXPECT_FALSE(parseRoute("/v2/x"));
}

TEST(OciRoutes, Query) {
  auto q = parseQuery("mount=sha256%3Aab&from=a%2Fb&flag&artifactType=application/vnd.x+json");
  ASSERT_EQ(q.size(), 4u);
  EXPECT_EQ(q[0], (std::pair<std::string, std::string>{"mount", "sha256:ab"}));
  EXPECT_EQ(q[1].second, "a/b");
  EXPECT_EQ(q[2], (std::pair<std::string, std::string>{"flag", ""}));
  EXPECT_EQ(q[3].second, "application/vnd.x+json");  // '+' is not a space
  EXPECT_EQ(queryParam("n=1&n=2", "n"), "1");
  EXPECT_FALSE(queryParam("", "n"));
  EXPECT_EQ(percentDecode("%zz%4"), "%zz%4");
  EXPECT_EQ(percentEncode("a/b c"), "a%2Fb%20c");
}

}  // namespace
}  // namespace berth::api::distribution
