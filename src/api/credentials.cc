#include "api/credentials.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/fs_util.h"

namespace berth::api {

namespace {

// Keys and secrets are printable ASCII without whitespace; anything else
// in a credentials file or the environment is a typo we should report.
bool isPlainToken(std::string_view s) {
  if (s.empty() || s.size() > 1024) return false;
  for (unsigned char c : s)
    if (c <= 0x20 || c >= 0x7f) return false;
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// Reads a whole (small) file. Credentials files are a few hundred bytes; the
// cap stops us from slurping something that is clearly not one.
Result<std::string> readSmallFile(const std::string& path) {
  constexpr std::size_t kMaxSize = 64 * 1024;
  auto data = readFile(path, kMaxSize);
  if (!data.ok() && data.error().code == ErrorCode::kPayloadTooLarge)
    return Error::make(ErrorCode::kInvalidParameter,
                       "credentials file " + path + " is larger than 64 KiB; it is not an AWS credentials file", path);
  return data;
}



Result<BootstrapCredentials> readCredentialsFile(const std::string& path) {
  auto text = readSmallFile(path);
  if (!text.ok()) return text.takeError();
  auto parsed = parseSharedCredentials(*text, "default");
  if (!parsed.ok()) {
    Error e = parsed.takeError();
    e.message = "credentials file " + path + ": " + e.message +
                " (fix or delete the file; deleting it makes the server generate new keys)";
    e.context = path;
    return e;
  }
  return BootstrapCredentials{std::move(parsed.value()), false, path};
}

// Writes DIR/credentials without ever exposing a partial or world-readable
// file: 0600 temp file, fsync, then link() so an existing file is never
// clobbered (a concurrent creator wins and we read its keys instead).
Result<BootstrapCredentials> createCredentialsFile(const std::string& dir, const std::string& path,
                                                   const AwsCredentials& creds, Random& random) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Error::make(ErrorCode::kIo, "cannot create data directory " + dir + ": " + ec.message(), dir);

  const std::string tmp = dir + "/.credentials.tmp." + random.hex(8);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return ioError("cannot create", tmp, errno);
  // The umask can only clear bits, but be explicit: secrets are owner-only.
  Status st = ::fchmod(fd, 0600) == 0 ? okStatus() : Status(ioError("cannot chmod", tmp, errno));
  if (st.ok()) st = writeAll(fd, formatSharedCredentials(creds), tmp);
  if (st.ok() && ::fsync(fd) != 0) st = ioError("cannot fsync", tmp, errno);
  if (::close(fd) != 0 && st.ok()) st = ioError("cannot close", tmp, errno);
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st.takeError();
  }

  if (::link(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    if (err == EEXIST) {
      ::unlink(tmp.c_str());
      return readCredentialsFile(path);
    }
    // Filesystems without hard links: fall back to rename (last writer wins).
    if (err == EPERM || err == ENOTSUP || err == EOPNOTSUPP || err == EXDEV) {
      if (::rename(tmp.c_str(), path.c_str()) != 0) {
        int rerr = errno;
        ::unlink(tmp.c_str());
        return ioError("cannot rename " + tmp + " to", path, rerr);
      }
    } else {
      ::unlink(tmp.c_str());
      return ioError("cannot link " + tmp + " to", path, err);
    }
  } else {
    ::unlink(tmp.c_str());
  }
  BERTH_TRY(fsyncDir(dir));
  return BootstrapCredentials{creds, true, path};
}

}  // namespace

StaticCredentialProvider::StaticCredentialProvider(const std::vector<AwsCredentials>& credentials) {
  for (const auto& c : credentials) secrets_.emplace(c.accessKeyId, c.secretAccessKey);
}

std::optional<std::string> StaticCredentialProvider::secretFor(std::string_view accessKeyId) const {
  auto it = secrets_.find(std::string(accessKeyId));
  if (it == secrets_.end()) return std::nullopt;
  return it->second;
}

AwsCredentials generateCredentials(Random& random) {
  // Access key ids look like AWS's long-term keys: "AKIA" + 16 chars of the
  // base32 alphabet. Secrets are 40 chars of the base64 alphabet, as AWS's.
  static constexpr char kBase32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  static constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  AwsCredentials c;
  c.accessKeyId = "AKIA";
  // Both alphabets have a power-of-two size, so taking bits is unbiased.
  std::uint64_t word = random.next();
  int bitsLeft = 64;
  auto take = [&](int bits) {
    if (bitsLeft < bits) {
      word = random.next();
      bitsLeft = 64;
    }
    auto v = static_cast<unsigned>(word & ((1u << bits) - 1));
    word >>= bits;
    bitsLeft -= bits;
    return v;
  };
  for (int i = 0; i < 16; ++i) c.accessKeyId.push_back(kBase32[take(5)]);
  for (int i = 0; i < 40; ++i) c.secretAccessKey.push_back(kBase64[take(6)]);
  return c;
}

std::string formatSharedCredentials(const AwsCredentials& credentials, std::string_view profile) {
  std::string out = "[" + std::string(profile) + "]\n";
  out += "aws_access_key_id = " + credentials.accessKeyId + "\n";
  out += "aws_secret_access_key = " + credentials.secretAccessKey + "\n";
  return out;
}

Result<AwsCredentials> parseSharedCredentials(std::string_view text, std::string_view profile) {
  bool sawProfile = false;
  bool inProfile = false;
  std::optional<std::string> keyId, secret;
  std::size_t lineNo = 0;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = trim(text.substr(pos, end - pos));
    pos = end + 1;
    ++lineNo;
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    if (line.front() == '[') {
      if (line.back() != ']')
        return Error::make(ErrorCode::kInvalidParameter,
                           "line " + std::to_string(lineNo) + ": section header is missing its closing ']'");
      std::string_view name = trim(line.substr(1, line.size() - 2));
      inProfile = name == profile;
      // A repeated section continues the same profile, as in botocore.
      sawProfile = sawProfile || inProfile;
      continue;
    }
    std::size_t eq = line.find('=');
    if (eq == std::string_view::npos)
      return Error::make(ErrorCode::kInvalidParameter,
                         "line " + std::to_string(lineNo) + ": expected 'key = value' or '[profile]'");
    if (!inProfile) continue;
    std::string key = lower(trim(line.substr(0, eq)));
    std::string_view value = trim(line.substr(eq + 1));
    if (key == "aws_access_key_id") keyId = std::string(value);
    if (key == "aws_secret_access_key") secret = std::string(value);
  }
  if (!sawProfile)
    return Error::make(ErrorCode::kInvalidParameter, "profile [" + std::string(profile) + "] not found");
  if (!keyId || keyId->empty())
    return Error::make(ErrorCode::kInvalidParameter,
                       "profile [" + std::string(profile) + "] has no aws_access_key_id");
  if (!secret || secret->empty())
    return Error::make(ErrorCode::kInvalidParameter,
                       "profile [" + std::string(profile) + "] has no aws_secret_access_key");
  if (!isPlainToken(*keyId))
    return Error::make(ErrorCode::kInvalidParameter,
                       "profile [" + std::string(profile) + "]: aws_access_key_id contains whitespace or control characters");
  if (!isPlainToken(*secret))
    return Error::make(ErrorCode::kInvalidParameter, "profile [" + std::string(profile) +
                                                         "]: aws_secret_access_key contains whitespace or control characters");
  return AwsCredentials{std::move(*keyId), std::move(*secret)};
}

Result<BootstrapCredentials> loadOrCreateBootstrapCredentials(const std::string& dataDir, Random& random,
                                                              const std::function<const char*(const char*)>& getenv) {
  const char* envKey = getenv(kAccessKeyIdEnv);
  const char* envSecret = getenv(kSecretAccessKeyEnv);
  bool haveKey = envKey != nullptr && *envKey != '\0';
  bool haveSecret = envSecret != nullptr && *envSecret != '\0';
  if (haveKey != haveSecret) {
    return Error::make(ErrorCode::kInvalidParameter,
                       std::string(haveKey ? kAccessKeyIdEnv : kSecretAccessKeyEnv) + " is set but " +
                           (haveKey ? kSecretAccessKeyEnv : kAccessKeyIdEnv) +
                           " is not; set both or neither (neither uses the data dir's credentials file)");
  }
  if (haveKey) {
    if (!isPlainToken(envKey) || !isPlainToken(envSecret))
      return Error::make(ErrorCode::kInvalidParameter,
                         std::string(kAccessKeyIdEnv) + "/" + kSecretAccessKeyEnv +
                             " must not contain whitespace or control characters");
    return BootstrapCredentials{AwsCredentials{envKey, envSecret}, false, "env"};
  }

  const std::string path = dataDir + "/credentials";
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) return readCredentialsFile(path);
  if (errno != ENOENT) return ioError("cannot stat credentials file", path, errno);
  return createCredentialsFile(dataDir, path, generateCredentials(random), random);
}

}  // namespace berth::api
