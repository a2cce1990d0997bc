#include "control/pagination.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "control/testing/ecs_fixture.h"

namespace berth::control {
namespace {

using nlohmann::json;

TEST(PageRequestTest, Defaults) {
  auto p = pageRequestFrom(json::object());
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->nextToken, "");
  EXPECT_EQ(p->maxResults, 100);
  auto q = pageRequestFrom(json::object(), 10);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->maxResults, 10);
  // Explicit nulls are "absent".
  auto n = pageRequestFrom(json{{"nextToken", nullptr}, {"maxResults", nullptr}}, 25);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->maxResults, 25);
  EXPECT_EQ(n->nextToken, "");
}

TEST(PageRequestTest, AcceptsBoundsAndToken) {
  for (int v : {1, 50, 100}) {
    auto p = pageRequestFrom(json{{"maxResults", v}, {"nextToken", "abc"}});
    ASSERT_TRUE(p.ok()) << v;
    EXPECT_EQ(p->maxResults, v);
    EXPECT_EQ(p->nextToken, "abc");
  }
  auto wide = pageRequestFrom(json{{"maxResults", 1000}}, 100, 1000);
  ASSERT_TRUE(wide.ok());
  EXPECT_EQ(wide->maxResults, 1000);
}

TEST(PageRequestTest, RejectsOutOfRangeMaxResults) {
  for (int v : {0, -1, 101, 1000000}) {
    auto p = pageRequestFrom(json{{"maxResults", v}});
    ASSERT_FALSE(p.ok()) << v;
    EXPECT_EQ(p.error().code, ErrorCode::kInvalidParameter) << v;
    EXPECT_EQ(p.error().message, "maxResults must be between 1 and 100.");
  }
  auto custom = pageRequestFrom(json{{"maxResults", 11}}, 10, 10);
  ASSERT_FALSE(custom.ok());
  EXPECT_EQ(custom.error().code, ErrorCode::kInvalidParameter);
}

TEST(PageRequestTest, RejectsWrongTypes) {
  for (const json& bad : {json{{"maxResults", "10"}}, json{{"maxResults", 2.5}}, json{{"maxResults", true}},
                          json{{"nextToken", 5}}, json{{"nextToken", json::array()}}}) {
    auto p = pageRequestFrom(bad);
    ASSERT_FALSE(p.ok()) << bad.dump();
    EXPECT_EQ(p.error().code, ErrorCode::kSerialization) << bad.dump();
  }
}

TEST(PageTokenTest, RoundTrip) {
  for (const std::string& key : std::vector<std::string>{"", "a", "ecs/clusters/prod", "ecs/taskdefs/web/0000000012",
                                                         "ünïcødé/\x01", std::string(1000, 'k'),
                                                         std::string("nul\0inside", 10)}) {
    std::string token = encodePageToken("ListThings", key);
    // URL- and JSON-safe: base64url alphabet, no padding.
    for (char c : token) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') << token;
    auto back = decodePageToken("ListThings", token);
    ASSERT_TRUE(back.ok()) << token;
    EXPECT_EQ(*back, key);
  }
}

TEST(PageTokenTest, RejectsTokenOfAnotherScope) {
  std::string token = encodePageToken("ListClusters", "ecs/clusters/a");
  auto r = decodePageToken("ListServices", token);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameter);
}

TEST(PageTokenTest, RejectsGarbage) {
  auto b64 = [](const std::string& raw) {
    // base64url without padding, as encodePageToken writes tokens, around other JSON.
    static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < raw.size(); i += 3) {
      unsigned v = (unsigned char)raw[i] << 16 | (unsigned char)raw[i + 1] << 8 | (unsigned char)raw[i + 2];
      for (int s = 18; s >= 0; s -= 6) out.push_back(kAlphabet[(v >> s) & 63]);
    }
    if (raw.size() - i == 1) {
      unsigned v = (unsigned char)raw[i] << 16;
      out.push_back(kAlphabet[(v >> 18) & 63]);
      out.push_back(kAlphabet[(v >> 12) & 63]);
    } else if (raw.size() - i == 2) {
      unsigned v = (unsigned char)raw[i] << 16 | (unsigned char)raw[i + 1] << 8;
      for (int s = 18; s >= 6; s -= 6) out.push_back(kAlphabet[(v >> s) & 63]);
    }
    return out;
  };
  // Sanity: our encoder agrees with the real one, so the cases below reach the JSON checks.
  ASSERT_EQ(b64(json{{"s", "S"}, {"k", "x"}}.dump()), encodePageToken("S", "x"));
  ASSERT_TRUE(decodePageToken("S", b64(json{{"s", "S"}, {"k", "x"}}.dump())).ok());

  for (const std::string& bad :
       {std::string("!!!!"), std::string("abc$"), std::string("a b"), std::string("A"), std::string("====="),
        std::string(5000, 'A'), b64("not json"), b64("[1,2]"), b64(R"({"s":"S"})"), b64(R"({"k":"x"})"),
        b64(R"({"s":"S","k":7})"), b64(R"({"s":1,"k":"x"})"), b64(R"("just a string")")}) {
    auto r = decodePageToken("S", bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameter) << bad;
  }
}

class PaginateTest : public test::EcsFixture {
 protected:
  // Keys "items/NNN" with {"n": i}; odd ones are "hidden" to exercise select.
  void fill(int n) {
    for (int i = 0; i < n; ++i) {
      char key[32];
      std::snprintf(key, sizeof key, "items/%03d", i);
      env_->putDoc(key, {{"n", i}, {"hidden", i % 3 == 2}});
    }
    env_->putDoc("itemsx/outside", {{"n", -1}, {"hidden", false}});  // shares the prefix text, not the folder
  }

  static std::optional<json> visible(const std::string&, const CachedObject& o) {
    if (o.doc["hidden"].get<bool>()) return std::nullopt;
    return o.doc["n"];
  }

  // Walks every page; returns the items in order and the number of pages.
  std::pair<std::vector<int>, int> walk(std::int64_t pageSize) {
    std::vector<int> seen;
    int pages = 0;
    std::string token;
    do {
      auto page = paginate(cache(), "items/", "ListItems", PageRequest{token, pageSize}, visible);
      EXPECT_TRUE(page.ok());
      if (!page.ok()) break;
      ++pages;
      EXPECT_LE(static_cast<std::int64_t>(page->items.size()), pageSize);
      if (page->nextToken) {
        EXPECT_EQ(static_cast<std::int64_t>(page->items.size()), pageSize);
      }
      for (const auto& v : page->items) seen.push_back(v.get<int>());
      token = page->nextToken.value_or("");
      if (pages > 1000) break;
    } while (!token.empty());
    return {seen, pages};
  }
};

TEST_F(PaginateTest, EveryPageSizeCoversEverythingExactlyOnce) {
  constexpr int kItems = 23;
  fill(kItems);
  std::vector<int> expected;
  for (int i = 0; i < kItems; ++i)
    if (i % 3 != 2) expected.push_back(i);
  const auto total = static_cast<std::int64_t>(expected.size());
  for (std::int64_t size = 1; size <= total + 1; ++size) {
    auto [seen, pages] = walk(size);
    EXPECT_EQ(seen, expected) << "page size " << size;
    EXPECT_EQ(pages, (total + size - 1) / size) << "page size " << size;  // no trailing empty page
  }
}

TEST_F(PaginateTest, EmptyListing) {
  auto page = paginate(cache(), "items/", "ListItems", PageRequest{"", 10}, visible);
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->items.empty());
  EXPECT_FALSE(page->nextToken.has_value());
}

TEST_F(PaginateTest, ContinuesAfterTheTokenKeyEvenIfItWasDeleted) {
  fill(6);  // visible: 0 1 3 4
  auto first = paginate(cache(), "items/", "ListItems", PageRequest{"", 2}, visible);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->items, (std::vector<json>{0, 1}));
  ASSERT_TRUE(first->nextToken.has_value());
  env_->deleteKey("items/001");
  auto second = paginate(cache(), "items/", "ListItems", PageRequest{*first->nextToken, 2}, visible);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->items, (std::vector<json>{3, 4}));
  EXPECT_FALSE(second->nextToken.has_value());
}

TEST_F(PaginateTest, RejectsTokensOfOtherListings) {
  fill(4);
  auto first = paginate(cache(), "items/", "ListItems", PageRequest{"", 1}, visible);
  ASSERT_TRUE(first.ok() && first->nextToken);
  // Same token, other scope.
  auto other = paginate(cache(), "items/", "ListOther", PageRequest{*first->nextToken, 1}, visible);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code, ErrorCode::kInvalidParameter);
  // Right scope but a key outside the prefix (a forged token).
  auto forged = paginate(cache(), "items/", "ListItems",
                         PageRequest{encodePageToken("ListItems", "itemsx/outside"), 1}, visible);
  ASSERT_FALSE(forged.ok());
  EXPECT_EQ(forged.error().code, ErrorCode::kInvalidParameter);
  auto garbage = paginate(cache(), "items/", "ListItems", PageRequest{"%%%", 1}, visible);
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.error().code, ErrorCode::kInvalidParameter);
}

std::vector<json> names(int n) {
  std::vector<json> v;
  for (int i = 0; i < n; ++i) v.push_back("item-" + std::to_string(n - i));  // any order: used as given
  return v;
}

TEST(PaginateVectorTest, EveryPageSizeCoversEverythingExactlyOnce) {
  auto keyOf = [](const json& j) { return j.get<std::string>(); };
  for (int n : {0, 1, 2, 7, 12}) {
    const auto items = names(n);
    for (std::int64_t size = 1; size <= n + 1; ++size) {
      std::vector<json> seen;
      int pages = 0;
      std::string token;
      do {
        auto page = paginateVector(items, "Vec", PageRequest{token, size}, keyOf);
        ASSERT_TRUE(page.ok());
        ++pages;
        ASSERT_LE(static_cast<std::int64_t>(page->items.size()), size);
        seen.insert(seen.end(), page->items.begin(), page->items.end());
        token = page->nextToken.value_or("");
        ASSERT_LT(pages, 100);
      } while (!token.empty());
      EXPECT_EQ(seen, items) << "n=" << n << " size=" << size;
      EXPECT_EQ(pages, n == 0 ? 1 : (n + size - 1) / size) << "n=" << n << " size=" << size;
    }
  }
}

TEST(PaginateVectorTest, RejectsTokensOfOtherScopesAndGarbage) {
  auto keyOf = [](const json& j) { return j.get<std::string>(); };
  auto items = names(5);
  auto first = paginateVector(items, "Vec", PageRequest{"", 2}, keyOf);
  ASSERT_TRUE(first.ok() && first->nextToken);
  auto other = paginateVector(items, "Other", PageRequest{*first->nextToken, 2}, keyOf);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code, ErrorCode::kInvalidParameter);
  auto garbage = paginateVector(items, "Vec", PageRequest{"***", 2}, keyOf);
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.error().code, ErrorCode::kInvalidParameter);
}

}  // namespace
}  // namespace berth::control
