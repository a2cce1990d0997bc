#pragma once
// Base64 (RFC 4648): standard alphabet with padding (HTTP Basic auth, AWS JSON
// blobs, ECR tokens) and the URL-safe alphabet without padding (opaque tokens).
// Decoding is strict: characters outside the alphabet, bad padding or a length
// that no encoding produces are refused (nullopt), never silently skipped.
#include <optional>
#include <string>
#include <string_view>

namespace berth {

std::string base64Encode(std::string_view data);
std::optional<std::string> base64Decode(std::string_view text);

std::string base64UrlEncode(std::string_view data);  // no padding
std::optional<std::string> base64UrlDecode(std::string_view text);  // padding optional

}  // namespace berth
