#include "oci/reference.h"

#include <cctype>

namespace berth::oci {
namespace {

constexpr std::size_t kMaxNameLength = 255;

Error invalid(std::string message, std::string_view text) {
  return Error::make(ErrorCode::kInvalidParameter, "invalid image reference: " + std::move(message),
                     std::string(text));
}

bool isLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// path-component := [a-z0-9]+ (separator [a-z0-9]+)* ; separator := [_.] | __ | [-]+
bool validPathComponent(std::string_view s) {
  if (s.empty() || !isLowerAlnum(s.front()) || !isLowerAlnum(s.back())) return false;
  std::size_t i = 0;
  while (i < s.size()) {
    if (isLowerAlnum(s[i])) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < s.size() && !isLowerAlnum(s[j])) ++j;
    std::string_view sep = s.substr(i, j - i);
    bool ok = sep == "." || sep == "_" || sep == "__" || sep.find_first_not_of('-') == std::string_view::npos;
    if (!ok) return false;
    i = j;
  }
  return true;
}

// tag := [\w][\w.-]{0,127}
bool validTag(std::string_view t) {
  if (t.empty() || t.size() > 128) return false;
  auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  if (!word(t[0])) return false;
  for (char c : t) {
    if (!word(c) && c != '.' && c != '-') return false;
  }
  return true;
}

bool validPort(std::string_view p) {
  if (p.empty() || p.size() > 5) return false;
  for (char c : p) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// domain := host [":" port]; host := domain-name | IPv4 | "[" IPv6 "]"
bool validDomain(std::string_view d) {
  if (d.empty()) return false;
  std::string_view host = d;
  if (d.front() == '[') {
    auto close = d.find(']');
    if (close == std::string_view::npos) return false;
    std::string_view inner = d.substr(1, close - 1);
    if (inner.empty()) return false;
    for (char c : inner) {
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') return false;
    }
    std::string_view rest = d.substr(close + 1);
    if (rest.empty()) return true;
    return rest.front() == ':' && validPort(rest.substr(1));
  }
  auto colon = d.rfind(':');
  if (colon != std::string_view::npos) {
    if (!validPort(d.substr(colon + 1))) return false;
    host = d.substr(0, colon);
  }
  if (host.empty()) return false;
  // Labels: alnum with inner '-', separated by '.'.
  std::size_t start = 0;
  while (true) {
    auto dot = host.find('.', start);
    std::string_view label = host.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return true;
}

}  // namespace

Result<Reference> Reference::parse(std::string_view text) {
  if (text.empty()) return invalid("empty", text);
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c)) || std::iscntrl(static_cast<unsigned char>(c))) {
      return invalid("contains whitespace or control characters", text);
    }
  }
  Reference ref;
  std::string_view rest = text;

  if (auto at = rest.find('@'); at != std::string_view::npos) {
    auto digest = Digest::parse(rest.substr(at + 1));
    if (!digest.ok()) return invalid(digest.error().message, text);
    ref.digest = *digest;
    rest = rest.substr(0, at);
  }
  // A tag is a ':' after the last '/' (a ':' before it belongs to host:port).
  auto lastSlash = rest.rfind('/');
  auto colon = rest.rfind(':');
  if (colon != std::string_view::npos && (lastSlash == std::string_view::npos || colon > lastSlash)) {
    std::string_view tag = rest.substr(colon + 1);
    if (!validTag(tag)) return invalid("bad tag '" + std::string(tag) + "'", text);
    ref.tag = std::string(tag);
    rest = rest.substr(0, colon);
  }

  std::string_view domain;
  std::string_view path = rest;
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    std::string_view first = rest.substr(0, slash);
    bool hasUpper = false;
    for (char c : first) hasUpper = hasUpper || std::isupper(static_cast<unsigned char>(c));
    if (first == "localhost" || first.find_first_of(".:") != std::string_view::npos || hasUpper ||
        first.front() == '[') {
      domain = first;
      path = rest.substr(slash + 1);
    }
  }
  if (domain.empty()) {
    ref.registry = std::string(kDockerHubDomain);
  } else {
    if (!validDomain(domain)) return invalid("bad registry host '" + std::string(domain) + "'", text);
    ref.registry = std::string(domain);
    if (ref.registry == "index.docker.io" || ref.registry == "registry-1.docker.io") {
      ref.registry = std::string(kDockerHubDomain);
    }
  }
  if (path.empty()) return invalid("no repository name", text);
  std::string repository(path);
  if (ref.registry == kDockerHubDomain && repository.find('/') == std::string::npos) {
    repository = "library/" + repository;
  }
  // Validate each component.
  std::size_t start = 0;
  while (true) {
    auto slash = repository.find('/', start);
    std::string_view comp = std::string_view(repository).substr(
        start, slash == std::string::npos ? std::string::npos : slash - start);
    if (!validPathComponent(comp)) {
      return invalid("repository name component '" + std::string(comp) +
                         "' must be lowercase letters, digits and single separators (. _ __ -)",
                     text);
    }
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  if (ref.registry.size() + 1 + repository.size() > kMaxNameLength) {
    return invalid("name longer than 255 characters", text);
  }
  ref.repository = std::move(repository);
  if (ref.tag.empty() && !ref.digest) ref.tag = "latest";
  return ref;
}

std::string Reference::str() const {
  std::string s = registry + "/" + repository;
  if (!tag.empty()) s += ":" + tag;
  if (digest) s += "@" + digest->str();
  return s;
}

std::string Reference::registryHost() const {
  if (!registry.empty() && registry.front() == '[') {
    auto close = registry.find(']');
    return registry.substr(1, close - 1);
  }
  auto colon = registry.rfind(':');
  return colon == std::string::npos ? registry : registry.substr(0, colon);
}

}  // namespace berth::oci
