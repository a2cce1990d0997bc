#pragma once
// Test helper: writes tar archives (plain, gzip, zstd) with libarchive's writer,
// including entries no well-behaved tool would produce (hostile layers).
// Header-only so berth_module's glob keeps it out of the library.
#include <archive.h>
#include <archive_entry.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace berth::images::testing {

enum class TarCompression { kNone, kGzip, kZstd };

struct TarEntry {
  enum Type { kFile, kDir, kSymlink, kHardlink, kChar, kBlock, kFifo } type = kFile;
  std::string path;
  std::string data;  // file content
  std::string link;  // symlink or hard link target
  unsigned mode = 0644;
  unsigned uid = 0, gid = 0;
  unsigned major = 0, minor = 0;
  long mtime = 1'600'000'000;
  std::vector<std::pair<std::string, std::string>> xattrs;

  static TarEntry file(std::string p, std::string d, unsigned mode = 0644) {
    TarEntry e;
    e.path = std::move(p);
    e.data = std::move(d);
    e.mode = mode;
    return e;
  }
  static TarEntry dir(std::string p, unsigned mode = 0755) {
    TarEntry e;
    e.type = kDir;
    e.path = std::move(p);
    e.mode = mode;
    return e;
  }
  static TarEntry symlink(std::string p, std::string target) {
    TarEntry e;
    e.type = kSymlink;
    e.path = std::move(p);
    e.link = std::move(target);
    e.mode = 0777;
    return e;
  }
  static TarEntry hardlink(std::string p, std::string target) {
    TarEntry e;
    e.type = kHardlink;
    e.path = std::move(p);
    e.link = std::move(target);
    return e;
  }
  static TarEntry device(Type t, std::string p, unsigned major, unsigned minor) {
    TarEntry e;
    e.type = t;
    e.path = std::move(p);
    e.major = major;
    e.minor = minor;
    return e;
  }
};

inline void writeTar(const std::string& path, const std::vector<TarEntry>& entries,
                     TarCompression compression = TarCompression::kNone) {
  struct archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  if (compression == TarCompression::kGzip) archive_write_add_filter_gzip(a);
  if (compression == TarCompression::kZstd) archive_write_add_filter_zstd(a);
  if (compression == TarCompression::kNone) archive_write_add_filter_none(a);
  if (archive_write_open_filename(a, path.c_str()) != ARCHIVE_OK) {
    throw std::runtime_error(std::string("archive_write_open_filename: ") + archive_error_string(a));
  }
  for (const auto& t : entries) {
    struct archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, t.path.c_str());
    archive_entry_set_perm(e, t.mode);
    archive_entry_set_uid(e, t.uid);
    archive_entry_set_gid(e, t.gid);
    archive_entry_set_mtime(e, t.mtime, 0);
    for (const auto& [k, v] : t.xattrs) archive_entry_xattr_add_entry(e, k.c_str(), v.data(), v.size());
    switch (t.type) {
      case TarEntry::kFile:
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_size(e, static_cast<la_int64_t>(t.data.size()));
        break;
      case TarEntry::kDir:
        archive_entry_set_filetype(e, AE_IFDIR);
        break;
      case TarEntry::kSymlink:
        archive_entry_set_filetype(e, AE_IFLNK);
        archive_entry_set_symlink(e, t.link.c_str());
        break;
      case TarEntry::kHardlink:
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_hardlink(e, t.link.c_str());
        archive_entry_set_size(e, 0);
        break;
      case TarEntry::kChar:
      case TarEntry::kBlock:
        archive_entry_set_filetype(e, t.type == TarEntry::kChar ? AE_IFCHR : AE_IFBLK);
        archive_entry_set_rdevmajor(e, t.major);
        archive_entry_set_rdevminor(e, t.minor);
        break;
      case TarEntry::kFifo:
        archive_entry_set_filetype(e, AE_IFIFO);
        break;
    }
    if (archive_write_header(a, e) != ARCHIVE_OK) {
      std::string err = archive_error_string(a) ? archive_error_string(a) : "?";
      archive_entry_free(e);
      throw std::runtime_error("archive_write_header(" + t.path + "): " + err);
    }
    if (t.type == TarEntry::kFile && !t.data.empty()) archive_write_data(a, t.data.data(), t.data.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
}

}  // namespace berth::images::testing
