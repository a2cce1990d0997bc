#include "registry/repository_name.h"

namespace berth::registry {
namespace {

bool lowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// One path component: [a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)*
bool validComponent(std::string_view c) {
  std::size_t i = 0;
  auto alnumRun = [&] {
    std::size_t start = i;
    while (i < c.size() && lowerAlnum(c[i])) ++i;
    return i > start;
  };
  if (!alnumRun()) return false;
  while (i < c.size()) {
    if (c[i] == '.') {
      ++i;
    } else if (c[i] == '_') {
      ++i;
      if (i < c.size() && c[i] == '_') ++i;
    } else if (c[i] == '-') {
      while (i < c.size() && c[i] == '-') ++i;
    } else {
      return false;
    }
    if (!alnumRun()) return false;
  }
  return true;
}

}  // namespace

bool isValidRepositoryName(std::string_view name) {
  if (name.size() < 2 || name.size() > 256) return false;
  std::size_t start = 0;
  while (true) {
    auto slash = name.find('/', start);
    if (!validComponent(name.substr(start, slash == std::string_view::npos ? name.npos : slash - start)))
      return false;
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

bool isValidTag(std::string_view tag) {
  if (tag.empty() || tag.size() > 128) return false;
  auto word = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'; };
  if (!word(tag[0])) return false;
  for (char c : tag.substr(1))
    if (!word(c) && c != '.' && c != '-') return false;
  return true;
}

std::string registryHost(const control::AccountInfo& account) {
  return account.accountId + ".dkr.ecr." + account.region + ".amazonaws.com";
}

std::string repositoryArn(const control::AccountInfo& account, std::string_view name) {
  return "arn:" + account.partition + ":ecr:" + account.region + ":" + account.accountId + ":repository/" +
         std::string(name);
}

std::string invalidRepositoryNameMessage() {
  return "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy regular expression '" +
         std::string(kRepositoryNamePattern) + "''";
}

std::string invalidImageTagMessage() {
  return "Invalid parameter at 'imageTag' failed to satisfy constraint: 'must satisfy regular expression '" +
         std::string(kImageTagPattern) + "''";
}

}  // namespace berth::registry
