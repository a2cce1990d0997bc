#include "api/sigv4.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <optional>
#include <utility>

namespace berth::api {

namespace {

using std::chrono::seconds;
using std::chrono::system_clock;

// Error texts as AWS JSON services return them, so SDK users recognise them.
constexpr std::string_view kMsgMissingToken = "Missing Authentication Token";
constexpr std::string_view kMsgUnrecognizedClient = "The security token included in the request is invalid.";
constexpr std::string_view kMsgSignatureMismatch =
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

// Bounds that keep hostile input cheap. Real Authorization headers are a few
// hundred bytes; botocore signs fewer than ten headers.
constexpr std::size_t kMaxAuthorizationLength = 16 * 1024;
constexpr std::size_t kMaxSignedHeaders = 128;
constexpr std::size_t kMaxEchoLength = 512;  // how much of a bad header we quote back

// botocore's SIGNED_HEADERS_BLACKLIST: proxies and clients rewrite these.
constexpr std::array<std::string_view, 3> kUnsignedHeaders = {"expect", "user-agent", "x-amzn-trace-id"};

Error incomplete(std::string message) { return Error::make(ErrorCode::kAuthIncompleteSignature, std::move(message)); }
Error invalid(std::string message) { return Error::make(ErrorCode::kAuthInvalidSignature, std::move(message)); }

std::string echo(std::string_view s) {
  if (s.size() <= kMaxEchoLength) return std::string(s);
  return std::string(s.substr(0, kMaxEchoLength)) + "...";
}

char lowerChar(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lowerChar(c);
  return out;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lowerChar(a[i]) != lowerChar(b[i])) return false;
  return true;
}

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && isSpace(s.back())) s.remove_suffix(1);
  return s;
}

bool isUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         c == '.' || c == '~';
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes %XX escapes; a '%' not followed by two hex digits stays literal and
// '+' stays '+' (botocore never sends '+' for a space, and AWS re-encodes it
// as %2B), so decode-then-encode is the identity on botocore's output.
std::string percentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int hi = hexValue(s[i + 1]);
      int lo = hexValue(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

// RFC 3986 section 5.2.4 plus AWS's collapsing of empty segments, exactly as
// botocore's remove_dot_segments (the test suite's normalize-path cases).
std::string removeDotSegments(std::string_view path) {
  if (path.empty()) return "";
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view seg = path.substr(start, end - start);
    if (!seg.empty() && seg != ".") {
      if (seg == "..") {
        if (!out.empty()) out.pop_back();
      } else {
        out.push_back(seg);
      }
    }
    start = end + 1;
  }
  std::string result;
  if (path.front() == '/') result.push_back('/');
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (i > 0) result.push_back('/');
    result.append(out[i]);
  }
  if (path.back() == '/' && !out.empty()) result.push_back('/');
  return result;
}

std::string skewText(seconds s) {
  auto n = s.count();
  if (n % 60 == 0) return std::to_string(n / 60) + " min.";
  return std::to_string(n) + " sec.";
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    std::size_t end = s.find(sep, start);
    if (end == std::string_view::npos) {
      parts.push_back(s.substr(start));
      return parts;
    }
    parts.push_back(s.substr(start, end - start));
    start = end + 1;
  }
}

std::string joinSignedHeaders(std::span<const std::string> names) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out.push_back(';');
    out.append(names[i]);
  }
  return out;
}

bool constantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// The authentication parameters of a request, whichever way they came.
struct AuthParams {
  bool presigned = false;
  std::string algorithm;
  std::string credential;
  std::string signedHeaders;
  std::string signature;
  std::string amzDate;
  std::string expires;  // presigned only
};

// Parses "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...".
Result<AuthParams> parseAuthorizationHeader(std::string_view header, const HttpRequest& req) {
  if (header.size() > kMaxAuthorizationLength)
    return incomplete("Authorization header is too long (" + std::to_string(header.size()) + " bytes).");
  std::string_view h = trim(header);
  AuthParams p;
  std::size_t sp = 0;
  while (sp < h.size() && !isSpace(h[sp])) ++sp;
  std::string_view algorithm = h.substr(0, sp);
  std::string_view rest = trim(h.substr(sp));
  p.algorithm = std::string(algorithm);

  bool haveCredential = false, haveSignedHeaders = false, haveSignature = false;
  if (!rest.empty()) {
    for (std::string_view raw : split(rest, ',')) {
      std::string_view pair = trim(raw);
      if (pair.empty()) continue;
      std::size_t eq = pair.find('=');
      if (eq == std::string_view::npos) {
        // Other schemes ("Bearer <jwt>", "Basic <b64>") get the missing-
        // parameters message below, as from AWS; only a SigV4 header is
        // held to key=value syntax.
        if (algorithm != kSigV4Algorithm) continue;
        return incomplete("'" + echo(pair) + "' not a valid key=value pair (missing equal-sign) in Authorization header: '" +
                          echo(header) + "'.");
      }
      std::string_view key = trim(pair.substr(0, eq));
      std::string_view value = trim(pair.substr(eq + 1));
      if (key == "Credential" && !haveCredential) {
        p.credential = std::string(value);
        haveCredential = true;
      } else if (key == "SignedHeaders" && !haveSignedHeaders) {
        p.signedHeaders = std::string(value);
        haveSignedHeaders = true;
      } else if (key == "Signature" && !haveSignature) {
        p.signature = std::string(value);
        haveSignature = true;
      }
    }
  }

  // AWS reports every missing piece at once, then quotes the header.
  std::string missing;
  if (!haveCredential || p.credential.empty()) missing += "Authorization header requires 'Credential' parameter. ";
  if (!haveSignature || p.signature.empty()) missing += "Authorization header requires 'Signature' parameter. ";
  if (!haveSignedHeaders) missing += "Authorization header requires 'SignedHeaders' parameter. ";
  const std::string* date = req.header("x-amz-date");
  if (date == nullptr)
    missing += "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ";
  if (!missing.empty()) return incomplete(missing + "Authorization=" + echo(header));

  if (algorithm != kSigV4Algorithm) return incomplete("Unsupported AWS 'algorithm': '" + echo(algorithm) + "'.");
  p.amzDate = *date;
  return p;
}

// Query parameters (decoded), first occurrence of each key.
std::optional<std::string> queryParam(std::string_view rawQuery, std::string_view key) {
  if (rawQuery.empty()) return std::nullopt;
  for (std::string_view pair : split(rawQuery, '&')) {
    std::size_t eq = pair.find('=');
    std::string_view k = pair.substr(0, eq);
    if (percentDecode(k) == key)
      return eq == std::string_view::npos ? std::string() : percentDecode(pair.substr(eq + 1));
  }
  return std::nullopt;
}

Result<AuthParams> parsePresignedQuery(std::string_view rawQuery) {
  AuthParams p;
  p.presigned = true;
  auto algorithm = queryParam(rawQuery, "X-Amz-Algorithm");
  auto credential = queryParam(rawQuery, "X-Amz-Credential");
  auto signature = queryParam(rawQuery, "X-Amz-Signature");
  auto date = queryParam(rawQuery, "X-Amz-Date");
  auto signedHeaders = queryParam(rawQuery, "X-Amz-SignedHeaders");
  auto expires = queryParam(rawQuery, "X-Amz-Expires");
  if (!algorithm || !credential || !signature || !date || !signedHeaders || !expires || credential->empty() ||
      signature->empty()) {
    return incomplete(
        "AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature', "
        "'X-Amz-Date', 'X-Amz-SignedHeaders', and 'X-Amz-Expires'. Re-examine the query-string parameters.");
  }
  if (credential->size() > kMaxAuthorizationLength || signedHeaders->size() > kMaxAuthorizationLength ||
      signature->size() > kMaxAuthorizationLength)
    return incomplete("Presigned query-string parameters are too long.");
  if (*algorithm != kSigV4Algorithm) return incomplete("Unsupported AWS 'algorithm': '" + echo(*algorithm) + "'.");
  p.algorithm = std::move(*algorithm);
  p.credential = std::move(*credential);
  p.signature = std::move(*signature);
  p.amzDate = std::move(*date);
  p.signedHeaders = std::move(*signedHeaders);
  p.expires = std::move(*expires);
  return p;
}

Result<std::vector<std::string>> parseSignedHeaders(std::string_view list) {
  std::vector<std::string> names;
  if (list.empty()) return incomplete("Authorization header requires 'SignedHeaders' parameter. SignedHeaders is empty.");
  for (std::string_view name : split(list, ';')) {
    if (names.size() >= kMaxSignedHeaders)
      return incomplete("SignedHeaders lists more than " + std::to_string(kMaxSignedHeaders) + " headers.");
    if (name.empty()) return incomplete("SignedHeaders '" + echo(list) + "' contains an empty header name.");
    names.push_back(lower(name));
  }
  return names;
}

std::string dateOnly(std::string_view amzDate) { return std::string(amzDate.substr(0, std::min<std::size_t>(8, amzDate.size()))); }

}  // namespace

// ---------------------------------------------------------------------------
// Primitives

std::string hexEncode(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xf]);
  }
  return out;
}

std::string sha256Hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  // EVP_Digest only fails on allocation failure or a broken provider.
  if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1) {
    std::fputs("fatal: EVP_Digest(sha256) failed\n", stderr);
    std::abort();
  }
  return hexEncode(std::string_view(reinterpret_cast<const char*>(md), len));
}

std::string hmacSha256(std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
           data.size(), md, &len) == nullptr) {
    std::fputs("fatal: HMAC(sha256) failed\n", stderr);
    std::abort();
  }
  return std::string(reinterpret_cast<const char*>(md), len);
}

std::string uriEncode(std::string_view s, bool keepSlash) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (isUnreserved(c) || (keepSlash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kDigits[c >> 4]);
      out.push_back(kDigits[c & 0xf]);
    }
  }
  return out;
}

std::string formatAmzDate(system_clock::time_point t) {
  using namespace std::chrono;
  auto secs = floor<seconds>(t);
  auto day = floor<days>(secs);
  year_month_day ymd{day};
  hh_mm_ss hms{secs - day};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d%02u%02u%s%02d%02d%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), "T",
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

bool parseAmzDate(std::string_view s, system_clock::time_point& out) {
  using namespace std::chrono;
  if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z') return false;
  auto num = [&](std::size_t pos, std::size_t len, int& v) {
    v = 0;
    for (std::size_t i = pos; i < pos + len; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      v = v * 10 + (s[i] - '0');
    }
    return true;
  };
  int y, mo, d, h, mi, se;
  if (!num(0, 4, y) || !num(4, 2, mo) || !num(6, 2, d) || !num(9, 2, h) || !num(11, 2, mi) || !num(13, 2, se))
    return false;
  if (h > 23 || mi > 59 || se > 59) return false;
  // system_clock counts nanoseconds in 64 bits (about ±292 years around 1970):
  // a date far outside that would overflow, so it is simply not a valid date.
  if (y < 1970 || y > 2200) return false;
  year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return false;
  out = sys_days{ymd} + hours{h} + minutes{mi} + seconds{se};
  return true;
}

// ---------------------------------------------------------------------------
// Canonicalisation

std::string canonicalUri(std::string_view rawPath, bool s3Path) {
  if (rawPath.empty()) return "/";
  // S3 signs the path as sent; other services sign the normalised path
  // encoded once more, so an on-the-wire "%20" becomes "%2520".
  if (s3Path) return std::string(rawPath);
  std::string normalized = removeDotSegments(rawPath);
  if (normalized.empty()) return "/";
  return uriEncode(normalized, /*keepSlash=*/true);
}

std::string canonicalQueryString(std::string_view rawQuery, std::string_view omitKey) {
  if (rawQuery.empty()) return "";
  std::vector<std::pair<std::string, std::string>> pairs;
  for (std::string_view pair : split(rawQuery, '&')) {
    if (pair.empty()) continue;
    std::size_t eq = pair.find('=');
    std::string key = percentDecode(pair.substr(0, eq));
    if (!omitKey.empty() && key == omitKey) continue;
    std::string value = eq == std::string_view::npos ? std::string() : percentDecode(pair.substr(eq + 1));
    pairs.emplace_back(uriEncode(key), uriEncode(value));
  }
  // Sorted by encoded key, then by encoded value for repeated keys.
  std::sort(pairs.begin(), pairs.end());
  std::string out;
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    if (i > 0) out.push_back('&');
    out.append(pairs[i].first);
    out.push_back('=');
    out.append(pairs[i].second);
  }
  return out;
}

std::string canonicalHeaderValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  bool pendingSpace = false;
  for (char c : trim(value)) {
    if (isSpace(c)) {
      pendingSpace = true;
      continue;
    }
    if (pendingSpace) out.push_back(' ');
    pendingSpace = false;
    out.push_back(c);
  }
  return out;
}

std::string canonicalRequest(const HttpRequest& req, std::span<const std::string> signedHeaders,
                             std::string_view payloadHash, const CanonicalOptions& opts) {
  std::string out;
  out.reserve(256 + req.target.size());
  out.append(req.method);
  out.push_back('\n');
  out.append(canonicalUri(req.path(), opts.s3Path));
  out.push_back('\n');
  out.append(canonicalQueryString(req.query(), opts.omitQueryKey));
  out.push_back('\n');
  for (const std::string& name : signedHeaders) {
    out.append(name);
    out.push_back(':');
    bool first = true;
    for (const auto& [k, v] : req.headers) {
      if (!equalsIgnoreCase(k, name)) continue;
      if (!first) out.push_back(',');
      out.append(canonicalHeaderValue(v));
      first = false;
    }
    out.push_back('\n');
  }
  out.push_back('\n');
  out.append(joinSignedHeaders(signedHeaders));
  out.push_back('\n');
  out.append(payloadHash);
  return out;
}

std::string stringToSign(std::string_view amzDate, std::string_view credentialScope,
                         std::string_view canonicalRequestText) {
  std::string out(kSigV4Algorithm);
  out.push_back('\n');
  out.append(amzDate);
  out.push_back('\n');
  out.append(credentialScope);
  out.push_back('\n');
  out.append(sha256Hex(canonicalRequestText));
  return out;
}

std::string deriveSigningKey(std::string_view secretAccessKey, std::string_view date, std::string_view region,
                             std::string_view service) {
  std::string kSecret = "AWS4";
  kSecret.append(secretAccessKey);
  std::string kDate = hmacSha256(kSecret, date);
  std::string kRegion = hmacSha256(kDate, region);
  std::string kService = hmacSha256(kRegion, service);
  return hmacSha256(kService, "aws4_request");
}

std::string computeSignature(std::string_view signingKey, std::string_view stringToSignText) {
  return hexEncode(hmacSha256(signingKey, stringToSignText));
}

// ---------------------------------------------------------------------------
// Verification

Result<SigV4Identity> verifySigV4(const HttpRequest& req, const CredentialProvider& creds, system_clock::time_point now,
                                  const SigV4Options& opts) {
  const std::string* authorization = req.header("authorization");
  std::string_view rawQuery = req.query();
  bool hasQueryAlgorithm = queryParam(rawQuery, "X-Amz-Algorithm").has_value();

  AuthParams p;
  if (authorization != nullptr && hasQueryAlgorithm) {
    return Error::make(ErrorCode::kAuthIncompleteSignature,
                       "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the "
                       "Authorization header should be specified.");
  } else if (authorization != nullptr) {
    auto parsed = parseAuthorizationHeader(*authorization, req);
    if (!parsed.ok()) return parsed.takeError();
    p = std::move(parsed.value());
  } else if (hasQueryAlgorithm) {
    auto parsed = parsePresignedQuery(rawQuery);
    if (!parsed.ok()) return parsed.takeError();
    p = std::move(parsed.value());
  } else {
    return Error::make(ErrorCode::kAuthMissing, std::string(kMsgMissingToken));
  }

  // Date: format, then clock skew (AWS checks these before the scope).
  system_clock::time_point signedAt;
  if (!parseAmzDate(p.amzDate, signedAt))
    return incomplete("Date must be in ISO-8601 'basic format'. Got '" + echo(p.amzDate) +
                      "'. See http://en.wikipedia.org/wiki/ISO_8601");
  const std::string nowText = formatAmzDate(now);
  if (!p.presigned && now - signedAt > opts.maxClockSkew) {
    return invalid("Signature expired: " + p.amzDate + " is now earlier than " +
                   formatAmzDate(now - opts.maxClockSkew) + " (" + nowText + " - " + skewText(opts.maxClockSkew) +
                   ")");
  }
  if (signedAt - now > opts.maxClockSkew) {
    return invalid("Signature not yet current: " + p.amzDate + " is still later than " +
                   formatAmzDate(now + opts.maxClockSkew) + " (" + nowText + " + " + skewText(opts.maxClockSkew) +
                   ")");
  }
  if (p.presigned) {
    // X-Amz-Expires: decimal seconds, at most a week.
    if (p.expires.empty() || p.expires.size() > 10 ||
        !std::all_of(p.expires.begin(), p.expires.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return incomplete("X-Amz-Expires should be a number, got '" + echo(p.expires) + "'.");
    seconds expires{std::stoll(p.expires)};
    if (expires > opts.maxPresignExpiry)
      return incomplete("X-Amz-Expires must be less than a week (in seconds) that is " +
                        std::to_string(opts.maxPresignExpiry.count()));
    if (now - signedAt > expires) return invalid("Request has expired");
  }

  auto signedHeaders = parseSignedHeaders(p.signedHeaders);
  if (!signedHeaders.ok()) return signedHeaders.takeError();
  if (std::find(signedHeaders->begin(), signedHeaders->end(), "host") == signedHeaders->end())
    return incomplete("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");

  std::vector<std::string_view> scope = split(p.credential, '/');
  if (scope.size() != 5 || scope[0].empty() || scope[2].empty() || scope[3].empty())
    return incomplete(
        "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '" +
        echo(p.credential) + "'");
  std::string scopeErrors;
  if (scope[4] != "aws4_request")
    scopeErrors += "Credential should be scoped with a valid terminator: 'aws4_request', not '" + echo(scope[4]) + "'. ";
  if (scope[1] != dateOnly(p.amzDate))
    scopeErrors += "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '" +
                   echo(scope[1]) + "' != '" + dateOnly(p.amzDate) + "', from '" + p.amzDate + "'.";
  if (!scopeErrors.empty()) return invalid(std::string(trim(scopeErrors)));

  // Session credentials (task roles) carry X-Amz-Security-Token, in the query
  // when presigned; the token must be the one minted with the key id.
  std::optional<std::string> token;
  if (const std::string* t = req.header("x-amz-security-token")) token = *t;
  else if (p.presigned) token = queryParam(rawQuery, "X-Amz-Security-Token");
  std::optional<std::string> secret = token ? creds.sessionSecretFor(scope[0], *token) : creds.secretFor(scope[0]);
  if (!secret) return Error::make(ErrorCode::kAuthUnrecognizedClient, std::string(kMsgUnrecognizedClient));

  for (const std::string& name : *signedHeaders) {
    bool present = std::any_of(req.headers.begin(), req.headers.end(),
                               [&](const auto& h) { return equalsIgnoreCase(h.first, name); });
    if (!present) return incomplete("Signed header '" + echo(name) + "' is not present in the request.");
  }

  SigV4Identity identity{std::string(scope[0]), std::string(scope[1]), std::string(scope[2]), std::string(scope[3]),
                         p.presigned};
  CanonicalOptions copts;
  copts.s3Path = identity.service == "s3";
  if (p.presigned) copts.omitQueryKey = "X-Amz-Signature";

  const std::string credentialScope = identity.date + "/" + identity.region + "/" + identity.service + "/aws4_request";
  const std::string signingKey = deriveSigningKey(*secret, identity.date, identity.region, identity.service);

  // Payload hash candidates: the declared x-amz-content-sha256 wins. Presigned
  // URLs normally sign UNSIGNED-PAYLOAD (S3/ECR style) but botocore's generic
  // presigner signs the body hash, so both are tried.
  std::vector<std::string> payloadHashes;
  if (const std::string* declared = req.header("x-amz-content-sha256")) {
    payloadHashes.push_back(*declared);
  } else if (p.presigned) {
    payloadHashes.emplace_back(kUnsignedPayload);
    payloadHashes.push_back(sha256Hex(req.body));
  } else {
    payloadHashes.push_back(sha256Hex(req.body));
  }

  std::string firstCanonical, firstStringToSign;
  for (const std::string& payloadHash : payloadHashes) {
    std::string creq = canonicalRequest(req, *signedHeaders, payloadHash, copts);
    std::string sts = stringToSign(p.amzDate, credentialScope, creq);
    if (constantTimeEquals(computeSignature(signingKey, sts), p.signature)) return identity;
    if (firstCanonical.empty()) {
      firstCanonical = std::move(creq);
      firstStringToSign = std::move(sts);
    }
  }
  return Error::make(ErrorCode::kAuthInvalidSignature, std::string(kMsgSignatureMismatch),
                     "canonical request:\n" + firstCanonical + "\nstring to sign:\n" + firstStringToSign);
}

// ---------------------------------------------------------------------------
// Signing

void signSigV4(HttpRequest& req, const AwsCredentials& creds, std::string_view region, std::string_view service,
               system_clock::time_point now) {
  std::erase_if(req.headers, [](const auto& h) {
    return equalsIgnoreCase(h.first, "authorization") || equalsIgnoreCase(h.first, "x-amz-date");
  });
  const std::string amzDate = formatAmzDate(now);
  req.headers.emplace_back("x-amz-date", amzDate);

  std::vector<std::string> names;
  for (const auto& [k, v] : req.headers) {
    std::string name = lower(k);
    if (std::find(kUnsignedHeaders.begin(), kUnsignedHeaders.end(), name) != kUnsignedHeaders.end()) continue;
    names.push_back(std::move(name));
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());

  std::string payloadHash;
  auto declared = std::find_if(req.headers.begin(), req.headers.end(),
                               [](const auto& h) { return equalsIgnoreCase(h.first, "x-amz-content-sha256"); });
  payloadHash = declared != req.headers.end() ? declared->second : sha256Hex(req.body);

  CanonicalOptions copts;
  copts.s3Path = service == "s3";
  const std::string date = amzDate.substr(0, 8);
  const std::string scope = date + "/" + std::string(region) + "/" + std::string(service) + "/aws4_request";
  const std::string sts = stringToSign(amzDate, scope, canonicalRequest(req, names, payloadHash, copts));
  const std::string signature = computeSignature(deriveSigningKey(creds.secretAccessKey, date, region, service), sts);
  req.headers.emplace_back("authorization", std::string(kSigV4Algorithm) + " Credential=" + creds.accessKeyId + "/" +
                                                scope + ", SignedHeaders=" + joinSignedHeaders(names) +
                                                ", Signature=" + signature);
}

void presignSigV4(HttpRequest& req, const AwsCredentials& creds, std::string_view region, std::string_view service,
                  system_clock::time_point now, seconds expires) {
  const std::string amzDate = formatAmzDate(now);
  const std::string date = amzDate.substr(0, 8);
  const std::string scope = date + "/" + std::string(region) + "/" + std::string(service) + "/aws4_request";
  const std::vector<std::string> names = {"host"};

  std::string params = "X-Amz-Algorithm=" + std::string(kSigV4Algorithm) +
                       "&X-Amz-Credential=" + uriEncode(creds.accessKeyId + "/" + scope) + "&X-Amz-Date=" + amzDate +
                       "&X-Amz-Expires=" + std::to_string(expires.count()) + "&X-Amz-SignedHeaders=host";
  req.target += (req.target.find('?') == std::string::npos ? "?" : "&");
  req.target += params;

  CanonicalOptions copts;
  copts.s3Path = service == "s3";
  const std::string sts = stringToSign(amzDate, scope, canonicalRequest(req, names, kUnsignedPayload, copts));
  req.target += "&X-Amz-Signature=" +
                computeSignature(deriveSigningKey(creds.secretAccessKey, date, region, service), sts);
}

}  // namespace berth::api
