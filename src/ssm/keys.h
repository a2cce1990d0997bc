#pragma once
// Where Parameter Store keeps its state in the store, and what each document holds.
//
// ssm/parameters/<canonical name>  (one per parameter; canonicalName() in
//   parameter_name.h: "x" and "/x" are the same parameter, as on AWS)
//   { "Name": string (as created),
//     "Tier": "Standard"|"Advanced",
//     "DataType": "text"|"aws:ec2:image"|"aws:ssm:integration",
//     "Tags": [{"Key","Value"}],
//     "versions": [ oldest first, at most kMaxVersions:
//       { "Version": int, "Type": "String"|"StringList"|"SecureString",
//         "Value"?: string             (String, StringList),
//         "Ciphertext"?: base64 string (SecureString; AES-256-GCM, see parameter_cipher.h),
//         "KeyId"?: string (SecureString), "Description"?: string, "AllowedPattern"?: string,
//         "LastModifiedDate": <epoch seconds, double>, "LastModifiedUser": string,
//         "Labels": [string] } ] }
//   A SecureString's plaintext is never stored.
#include <string>
#include <string_view>

namespace berth::ssm::keys {

inline constexpr std::string_view kParameterPrefix = "ssm/parameters/";

// AWS keeps 100 versions of a parameter; Berth drops the oldest beyond that.
inline constexpr std::size_t kMaxVersions = 100;

inline std::string parameter(std::string_view canonicalName) {
  return std::string(kParameterPrefix).append(canonicalName);
}

}  // namespace berth::ssm::keys
