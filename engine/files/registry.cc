#include "engine/files/registry.h"

#include "engine/files/kinds.h"
#include "engine/net/socket_kinds.h"

namespace stasis::files {

const std::vector<const FileKind*>& AllFileKinds() {
  static const std::vector<const FileKind*> kinds = {
      &PipeKind(),
      &FifoKind(),
      &EventfdKind(),
      &SignalfdKind(),
      &TimerfdKind(),
      &EpollKind(),
      &InotifyKind(),
      &MemfdKind(),
      &net::UnixSocketKind(),
      &net::InetSocketKind(),
  };
  return kinds;
}

const FileKind* FindKindFor(const OpenFd& f) {
  for (const FileKind* kind : AllFileKinds())
    if (kind->Matches(f)) return kind;
  return nullptr;
}

const FileKind* FindKindFor(const img::FileEntry& entry) {
  for (const FileKind* kind : AllFileKinds())
    if (kind->entry_case() == entry.file_case()) return kind;
  return nullptr;
}

}  // namespace stasis::files
