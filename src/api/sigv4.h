#pragma once
// AWS Signature Version 4: server-side verification of AWS-protocol requests
// (Authorization header or presigned query string) and client-side signing
// the way botocore does it (used by the agent and by tests).
//
// References: AWS SigV4 signing process and test suite (aws-sig-v4-test-suite,
// 2015-08-30 vectors); botocore 1.29 auth.py (SigV4Auth, SigV4QueryAuth);
// error texts as returned by AWS JSON services (see sigv4.cc).
#include <chrono>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "api/credentials.h"
#include "api/http_types.h"
#include "common/result.h"

namespace berth::api {

inline constexpr std::string_view kSigV4Algorithm = "AWS4-HMAC-SHA256";
inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";
// Hex SHA-256 of the empty string.
inline constexpr std::string_view kEmptySha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// Who signed a request and for what scope; the caller decides whether the
// region/service are acceptable (e.g. the router checks service vs target).
struct SigV4Identity {
  std::string accessKeyId;
  std::string date;     // YYYYMMDD, from the credential scope
  std::string region;
  std::string service;
  bool presigned = false;  // authenticated by query string rather than header
};

struct SigV4Options {
  // Allowed distance between X-Amz-Date and now, both directions (inclusive).
  std::chrono::seconds maxClockSkew{15 * 60};
  // Longest X-Amz-Expires accepted for presigned requests (AWS: 7 days).
  std::chrono::seconds maxPresignExpiry{7 * 24 * 3600};
};

// Verifies the SigV4 authentication of an AWS-protocol request.
// Errors (message texts follow AWS):
//  - kAuthMissing: neither an Authorization header nor X-Amz-Algorithm query.
//  - kAuthIncompleteSignature: malformed Authorization / presign parameters,
//    unsupported algorithm, missing or malformed X-Amz-Date, credential not
//    5 '/'-separated parts, host not signed, a signed header absent.
//  - kAuthUnrecognizedClient: unknown access key id.
//  - kAuthInvalidSignature: signature mismatch, X-Amz-Date outside
//    ±maxClockSkew, presigned URL expired, scope date != X-Amz-Date date,
//    scope terminator not aws4_request (AWS reports the last two as
//    signature errors, not incomplete signatures).
// On a mismatch the error context holds the canonical request and the
// string to sign we computed (for server logs; the client gets the message).
// Never throws; every length and index is bounded.
Result<SigV4Identity> verifySigV4(const HttpRequest& req, const CredentialProvider& creds,
                                  std::chrono::system_clock::time_point now,
                                  const SigV4Options& opts = {});

// Signs `req` in place like botocore's SigV4Auth: replaces any Authorization
// and X-Amz-Date headers, then signs every header present except
// user-agent, expect and x-amzn-trace-id. The payload hash is the
// x-amz-content-sha256 header if present, else SHA-256 of the body.
// Precondition: the host header is set (as it will be sent, with :port).
void signSigV4(HttpRequest& req, const AwsCredentials& creds, std::string_view region,
               std::string_view service, std::chrono::system_clock::time_point now);

// Appends presign parameters (X-Amz-Algorithm ... X-Amz-Signature) to
// req.target so the URL alone authenticates it for `expires`. Signs only the
// host header and uses UNSIGNED-PAYLOAD, as S3/ECR-style presigned URLs do.
void presignSigV4(HttpRequest& req, const AwsCredentials& creds, std::string_view region,
                  std::string_view service, std::chrono::system_clock::time_point now,
                  std::chrono::seconds expires);

// ---- The pieces, exposed for tests and for other signers. ----

struct CanonicalOptions {
  // S3 signs the path exactly as sent (no dot-segment removal, no second
  // encoding); every other service normalises and re-encodes it.
  bool s3Path = false;
  // A query parameter (raw key) left out of the canonical query string:
  // X-Amz-Signature when verifying a presigned request.
  std::string_view omitQueryKey;
};

// The canonical URI of a raw request path (as received, before decoding).
std::string canonicalUri(std::string_view rawPath, bool s3Path = false);
// The canonical query string of a raw query (without '?').
std::string canonicalQueryString(std::string_view rawQuery, std::string_view omitKey = {});
// Canonical header value: trimmed, inner whitespace runs collapsed to one space.
std::string canonicalHeaderValue(std::string_view value);
// The full canonical request. `signedHeaders` are lowercase names in the order
// they are to be listed (sorted, as clients send them); values of repeated
// headers are joined with ',' in arrival order.
std::string canonicalRequest(const HttpRequest& req, std::span<const std::string> signedHeaders,
                             std::string_view payloadHash, const CanonicalOptions& opts = {});
// "AWS4-HMAC-SHA256\n<amzDate>\n<scope>\n<hex sha256(canonical request)>".
std::string stringToSign(std::string_view amzDate, std::string_view credentialScope,
                         std::string_view canonicalRequest);
// kSigning (32 raw bytes) for secret/date(YYYYMMDD)/region/service.
std::string deriveSigningKey(std::string_view secretAccessKey, std::string_view date,
                             std::string_view region, std::string_view service);
// Hex HMAC-SHA256(signingKey, stringToSign).
std::string computeSignature(std::string_view signingKey, std::string_view stringToSign);

// Primitives (OpenSSL EVP/HMAC).
std::string sha256Hex(std::string_view data);
std::string hmacSha256(std::string_view key, std::string_view data);  // raw 32 bytes
std::string hexEncode(std::string_view bytes);                        // lowercase
// RFC 3986 percent-encoding keeping only A-Za-z0-9-_.~ (and '/' if keepSlash).
std::string uriEncode(std::string_view s, bool keepSlash = false);

// "YYYYMMDDTHHMMSSZ" for a time point (UTC, truncated to seconds).
std::string formatAmzDate(std::chrono::system_clock::time_point t);
// Parses "YYYYMMDDTHHMMSSZ"; false if malformed or out of range.
bool parseAmzDate(std::string_view s, std::chrono::system_clock::time_point& out);

}  // namespace berth::api
