// One module per class of open file (pipe, eventfd, epoll, ...) behind one interface, found
// through one table (registry.cc). The dump pipeline hands each open file description of a
// frozen task to the module that Matches it; the restore pipeline hands each FileEntry to the
// module whose oneof member it holds, and that module's Open runs inside the restored process.
//
// Adding a class: one file with a FileKind, one oneof member in files.proto, one line in
// registry.cc.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <map>
#include <string>

#include "engine/common/error.h"
#include "engine/common/fd.h"
#include "engine/files/object_store.h"
#include "engine/files/sharing.h"
#include "engine/images/files.pb.h"
#include "engine/proc/fdinfo.h"

namespace stasis::files {

// One open fd of a (frozen) task, as the dump side sees it.
struct OpenFd {
  pid_t pid = 0;
  int fd = -1;
  std::string link;        // readlink /proc/PID/fd/N: "pipe:[123]", "/memfd:x (deleted)", ...
  std::string fdinfo;      // /proc/PID/fdinfo/N, whole text (type-specific lines included)
  proc::FdInfo head;       // the parsed common head of `fdinfo` (pos, flags, mnt_id, ino)
  struct stat st {};       // fstat(local_fd)
  UniqueFd local_fd;       // our own fd on the same open file description (pidfd_getfd)

  // "fd 5 of pid 42 (pipe:[123])": how every error about this fd starts.
  std::string Describe() const;
};

// Builds an OpenFd for fd `fd` of `pid`, whose pidfd (pidfd_open) is `pidfd`. The task should
// be frozen so the fd does not change under us. Works on our own pid too (tests).
Result<OpenFd> ReadOpenFd(pid_t pid, int pidfd, int fd);

// Where this process's already restored fds are now. Epoll needs its targets: the pipeline
// opens epolls last (OpenPhase::kAfterOthers), once every other fd sits at its dumped number.
class RestoredFds {
 public:
  virtual ~RestoredFds() = default;
  // The fd in this process that is the dumped fd `dumped_fd`, or -1 when there is none.
  virtual int Find(int dumped_fd) const = 0;
};

// The usual case: every other fd is already at its dumped number.
class FdsAtDumpedNumbers final : public RestoredFds {
 public:
  int Find(int dumped_fd) const override;
};

// What Open may use. Open runs inside a restored process after clone(): it must not throw;
// small allocations are fine.
struct OpenContext {
  const ObjectStore& objects;   // per-object images (pipe data, memfd contents), validated
  FdExchange& exchange;         // hands the other end of a pipe (etc.) to its opener
  const RestoredFds& fds;       // this process's fds opened so far
  // Every file of the image set by id, for objects that refer to another one by something
  // other than its inode (a unix client to its listener, by name); may be null in tests.
  const std::map<uint64_t, img::FileEntry>* files = nullptr;
};

// Open order within one process: every kNormal file first, then kAfterOthers (epoll, which
// registers the others).
enum class OpenPhase { kNormal = 0, kAfterOthers = 1 };

class FileKind {
 public:
  virtual ~FileKind() = default;

  // Short lower-case name, used in errors and as the FdExchange key's kind: "pipe", "eventfd".
  virtual const char* name() const = 0;
  // The FileEntry oneof member this module writes and reads.
  virtual img::FileEntry::FileCase entry_case() const = 0;
  virtual OpenPhase phase() const { return OpenPhase::kNormal; }

  // Dump side. Matches looks only at link/st/head; it must not fail.
  virtual bool Matches(const OpenFd& f) const = 0;
  // Fills this module's oneof member of *entry (not entry->id: the pipeline owns ids) and
  // records per-object data in ctx. Called once per open file description. Errors start with
  // f.Describe().
  virtual Status Collect(const OpenFd& f, img::FileEntry* entry, CollectContext& ctx) const = 0;

  // Restore side, before any process exists: checks one entry against the loaded images
  // (flags known, sizes sane, data consistent). Pure: no syscalls.
  virtual Status Validate(const img::FileEntry& entry, const ObjectStore& objects) const = 0;
  // Inside the restored process: recreates the open file description with its state and
  // flags. The result's fd number is arbitrary; the pipeline moves it and sets FD_CLOEXEC.
  virtual Result<UniqueFd> Open(const img::FileEntry& entry, OpenContext& ctx) const = 0;
};

}  // namespace stasis::files
