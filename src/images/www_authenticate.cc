#include "images/www_authenticate.h"

#include <cctype>

namespace berth::images {
namespace {

bool isTokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("!#$%&'*+-.^_`|~/").find(c) != std::string_view::npos;
}

class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {}
  void skipSpace() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t')) ++i_;
  }
  bool done() {
    skipSpace();
    return i_ >= s_.size();
  }
  bool consume(char c) {
    skipSpace();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  std::string token() {
    skipSpace();
    std::size_t start = i_;
    while (i_ < s_.size() && isTokenChar(s_[i_])) ++i_;
    return std::string(s_.substr(start, i_ - start));
  }
  // token68 may end in '=' padding; it is only used for schemes we do not parse.
  std::string quoted() {
    std::string out;
    ++i_;  // opening quote
    while (i_ < s_.size() && s_[i_] != '"') {
      if (s_[i_] == '\\' && i_ + 1 < s_.size()) ++i_;
      out.push_back(s_[i_++]);
    }
    if (i_ < s_.size()) ++i_;  // closing quote
    return out;
  }
  bool peekQuote() {
    skipSpace();
    return i_ < s_.size() && s_[i_] == '"';
  }
  std::size_t pos() const { return i_; }
  void reset(std::size_t p) { i_ = p; }
  void skipToComma() {
    while (i_ < s_.size() && s_[i_] != ',') ++i_;
  }

 private:
  std::string_view s_;
  std::size_t i_ = 0;
};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

std::vector<AuthChallenge> parseWwwAuthenticate(std::string_view header) {
  std::vector<AuthChallenge> out;
  Lexer lx(header);
  while (!lx.done()) {
    if (lx.consume(',')) continue;
    std::string scheme = lx.token();
    if (scheme.empty()) {  // garbage: skip one char and resync
      lx.reset(lx.pos() + 1);
      continue;
    }
    AuthChallenge ch;
    ch.scheme = lower(scheme);
    // auth-params until a token that is not followed by '=' (the next scheme).
    while (!lx.done()) {
      std::size_t save = lx.pos();
      lx.consume(',');
      std::string key = lx.token();
      if (key.empty() || !lx.consume('=')) {
        lx.reset(save);
        break;
      }
      std::string value;
      if (lx.peekQuote()) {
        value = lx.quoted();
      } else {
        value = lx.token();
      }
      ch.params[lower(key)] = value;
    }
    out.push_back(std::move(ch));
    // Anything unparsable up to the next comma is skipped.
    if (!lx.done() && !lx.consume(',')) {
      std::size_t before = lx.pos();
      std::string next = lx.token();
      lx.reset(before);
      if (next.empty()) lx.skipToComma();
    }
  }
  return out;
}

}  // namespace berth::images
