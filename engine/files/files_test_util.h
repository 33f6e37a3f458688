// For the unit tests of engine/files: dump some of our own fds through the registry's modules,
// push everything through its serialized form, and open it again as a restored process would.
#pragma once

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <map>
#include <string>
#include <vector>

#include "engine/files/registry.h"

namespace stasis::files::testing {

// What a dump of some fds leaves on disk: the FileEntry messages and the object images.
struct DumpedFiles {
  std::vector<std::string> entries;                    // serialized img::FileEntry, in fd order
  std::map<std::string, std::string> object_images;    // file name -> encoded image
};

inline Result<OpenFd> SelfOpenFd(int fd) {
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, ::getpid(), 0)));
  if (!pidfd.valid()) return SysError("pidfd_open");
  return ReadOpenFd(::getpid(), pidfd.get(), fd);
}

inline Result<DumpedFiles> DumpFds(const std::vector<int>& fds) {
  DumpedFiles out;
  CollectContext ctx;
  for (int fd : fds) {
    OpenFd f = STASIS_VALUE(SelfOpenFd(fd));
    const FileKind* kind = FindKindFor(f);
    if (kind == nullptr) return Unsupported(f.Describe() + ": no module claims it");
    img::FileEntry entry;
    entry.set_id(static_cast<uint64_t>(out.entries.size() + 1));
    STASIS_TRY(kind->Collect(f, &entry, ctx));
    out.entries.push_back(entry.SerializeAsString());
  }
  out.object_images = ctx.EncodeImages();
  return out;
}

// The dumped fd numbers mapped to where the test restored them.
class MappedFds final : public RestoredFds {
 public:
  std::map<int, int> map;
  int Find(int dumped_fd) const override {
    auto it = map.find(dumped_fd);
    return it == map.end() ? -1 : it->second;
  }
};

// Parses, validates and opens every entry, in entry order (the caller orders epolls last).
inline Result<std::vector<UniqueFd>> RestoreFds(const DumpedFiles& dumped, FdExchange& exchange,
                                                const RestoredFds& fds) {
  ObjectStore objects = STASIS_VALUE(ObjectStore::Parse(dumped.object_images));
  std::vector<img::FileEntry> entries(dumped.entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    if (!entries[i].ParseFromString(dumped.entries[i])) return Corrupt("entry does not parse");
    const FileKind* kind = FindKindFor(entries[i]);
    if (kind == nullptr) return Corrupt("entry of no module");
    STASIS_TRY(kind->Validate(entries[i], objects));
  }
  OpenContext ctx{objects, exchange, fds};
  std::vector<UniqueFd> out;
  for (const auto& e : entries) out.push_back(STASIS_VALUE(FindKindFor(e)->Open(e, ctx)));
  return out;
}

inline Result<std::vector<UniqueFd>> RestoreFds(const DumpedFiles& dumped, FdExchange& exchange) {
  return RestoreFds(dumped, exchange, FdsAtDumpedNumbers());
}

// /proc/self/fdinfo/N without its pos/flags/mnt_id/ino head, for comparing state.
inline std::string FdinfoBody(int fd) {
  auto text = ReadFileToString("/proc/self/fdinfo/" + std::to_string(fd));
  if (!text.ok()) return "(unreadable)";
  std::string out, line;
  for (char c : *text) {
    if (c != '\n') {
      line.push_back(c);
      continue;
    }
    if (!line.starts_with("pos:") && !line.starts_with("flags:") && !line.starts_with("mnt_id:") &&
        !line.starts_with("ino:"))
      out += line + "\n";
    line.clear();
  }
  return out;
}

inline int StatusFlags(int fd) { return ::fcntl(fd, F_GETFL); }

}  // namespace stasis::files::testing
