// For the socket unit tests: dump our own sockets through a socket FileKind, push the entries
// through their serialized form, and open them again as a restored process would.
#pragma once

#include <sys/syscall.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "engine/files/file_kind.h"
#include "engine/net/tcp_repair.h"

namespace stasis::net::testing {

inline Result<std::vector<std::string>> DumpSockets(const files::FileKind& kind, const std::vector<int>& fds) {
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, ::getpid(), 0)));
  if (!pidfd.valid()) return SysError("pidfd_open");
  files::CollectContext ctx;
  std::vector<std::string> out;
  for (int fd : fds) {
    files::OpenFd f = STASIS_VALUE(files::ReadOpenFd(::getpid(), pidfd.get(), fd));
    if (!kind.Matches(f)) return Internal(f.Describe() + ": not matched by " + kind.name());
    img::FileEntry entry;
    STASIS_TRY(kind.Collect(f, &entry, ctx));
    out.push_back(entry.SerializeAsString());
  }
  return out;
}

// Opens the entries in the given order through one in-process exchange.
inline Result<std::vector<UniqueFd>> RestoreSockets(const files::FileKind& kind,
                                                    const std::vector<std::string>& entries,
                                                    const std::vector<size_t>& order,
                                                    files::LocalFdExchange& exchange) {
  files::ObjectStore objects = STASIS_VALUE(files::ObjectStore::Parse({}));
  files::FdsAtDumpedNumbers fds;
  files::OpenContext ctx{objects, exchange, fds};
  std::vector<UniqueFd> out(entries.size());
  for (size_t i : order) {
    img::FileEntry e;
    if (!e.ParseFromString(entries[i])) return Corrupt("entry does not parse");
    if (e.file_case() != kind.entry_case()) return Corrupt("entry of another kind");
    STASIS_TRY(kind.Validate(e, objects));
    out[i] = STASIS_VALUE(kind.Open(e, ctx));
    // What the restore pipeline does once the whole tree is in place.
    if (e.has_inet_sk() && e.inet_sk().has_tcp())
      STASIS_TRY(FinishTcpConnection(out[i].get(), e.inet_sk(), "restored tcp socket"));
  }
  return out;
}

inline img::FileEntry Parse(const std::string& s) {
  img::FileEntry e;
  e.ParseFromString(s);
  return e;
}

}  // namespace stasis::net::testing
