#include "engine/dump/locks_collector.h"

#include <string>

#include "engine/dump/proc_files.h"
#include "engine/proc/text.h"

namespace stasis::dump {
namespace {

constexpr size_t kMaxLocksPerFd = 1u << 16;
constexpr uint64_t kOffsetMax = INT64_MAX;

Error Bad(std::string_view line, const std::string& what) {
  return Corrupt("lock line \"" + std::string(line.substr(0, 100)) + "\": " + what);
}

// "08:01:5678" -> 5678 (major and minor are hex, the inode decimal).
std::optional<uint64_t> InodeOf(std::string_view dev_ino) {
  const size_t last = dev_ino.rfind(':');
  if (last == std::string_view::npos || dev_ino.find(':') == last) return std::nullopt;
  return proc::ParseU64(dev_ino.substr(last + 1));
}

Result<FdinfoLock> ParseLockLine(std::string_view line) {
  std::string_view rest = line;
  const std::string_view id = proc::NextToken(rest);
  if (id == "->") return Bad(line, "a blocked waiter");   // fdinfo never lists them; /proc/locks does
  if (id.empty() || id.back() != ':' || !proc::ParseU64(id.substr(0, id.size() - 1))) return Bad(line, "no id");
  FdinfoLock l;
  const std::string_view kind = proc::NextToken(rest);
  if (kind == "FLOCK") l.kind = img::LOCK_FLOCK;
  else if (kind == "POSIX") l.kind = img::LOCK_POSIX;
  else if (kind == "OFDLCK") l.kind = img::LOCK_OFD;
  else return Unsupported("a " + std::string(kind) + " lock (only flock, POSIX and OFD locks are supported)");
  if (proc::NextToken(rest) != "ADVISORY") return Bad(line, "not an advisory lock");
  const std::string_view type = proc::NextToken(rest);
  if (type == "WRITE") l.write = true;
  else if (type != "READ") return Bad(line, "unknown lock type");
  auto pid = proc::ParseI64(proc::NextToken(rest));
  auto inode = InodeOf(proc::NextToken(rest));
  auto start = proc::ParseU64(proc::NextToken(rest));
  const std::string_view end = proc::NextToken(rest);
  if (!pid || !inode || !start || end.empty() || !proc::NextToken(rest).empty()) return Bad(line, "malformed");
  l.pid = *pid;
  l.inode = *inode;
  l.start = *start;
  if (end == "EOF") {
    l.to_eof = true;
  } else {
    auto e = proc::ParseU64(end);
    if (!e || *e < l.start || *e >= kOffsetMax) return Bad(line, "bad range");
    l.end = *e;
  }
  if (l.start >= kOffsetMax) return Bad(line, "bad start");
  return l;
}

}  // namespace

Result<std::vector<FdinfoLock>> ParseFdinfoLocks(std::string_view fdinfo) {
  if (fdinfo.size() > proc::kMaxProcText) return Corrupt("fdinfo of " + std::to_string(fdinfo.size()) + " bytes");
  std::vector<FdinfoLock> out;
  std::string_view line;
  while (proc::NextLine(fdinfo, &line)) {
    if (!line.starts_with("lock:")) continue;
    if (out.size() >= kMaxLocksPerFd) return Corrupt("more than " + std::to_string(kMaxLocksPerFd) + " locks");
    out.push_back(STASIS_VALUE(ParseLockLine(proc::TrimBlanks(line.substr(5)))));
  }
  return out;
}

Status CollectLocks(DumpContext& ctx, const FrozenProcess& p, ProcessImages* out) {
  const pid_t pid = p.pid;
  for (const img::FdEntry& fd : out->fds) {
    const std::string entry = "fdinfo/" + std::to_string(fd.fd());
    const std::string text = STASIS_VALUE(ReadProc(pid, entry));
    auto locks = ParseFdinfoLocks(text);
    if (!locks.ok()) return std::move(locks.error().Context(ProcPath(pid, entry)));
    for (const FdinfoLock& l : *locks) {
      const char* kind = l.kind == img::LOCK_FLOCK ? "flock" : l.kind == img::LOCK_POSIX ? "POSIX" : "OFD";
      if (!ctx.options.file_locks)
        return InvalidArg("pid " + std::to_string(pid) + " fd " + std::to_string(fd.fd()) + " holds a " + kind +
                          " lock: dump with --file-locks");
      // flock and OFD locks belong to the description: once, through its first fd seen.
      bool seen = false;
      if (l.kind != img::LOCK_POSIX)
        for (const img::FileLock& have : ctx.file_locks)
          seen |= have.kind() == l.kind && have.file_id() == fd.file_id() && have.start() == l.start &&
                  have.end() == l.end && have.to_eof() == l.to_eof;
      if (seen) continue;
      img::FileLock& lock = ctx.file_locks.emplace_back();
      lock.set_kind(l.kind);
      lock.set_write(l.write);
      lock.set_pid(static_cast<uint32_t>(pid));
      lock.set_fd(fd.fd());
      lock.set_file_id(fd.file_id());
      lock.set_start(l.start);
      lock.set_end(l.end);
      lock.set_to_eof(l.to_eof);
      ctx.log.Debug("pid %d fd %u: %s %s lock", pid, fd.fd(), l.write ? "write" : "read", kind);
    }
  }
  return Status::Ok();
}

}  // namespace stasis::dump
