// signalfd: only its mask; the signals it reads are pending on the task, which the core
// restores.
#include "engine/files/signalfd.h"

#include <signal.h>
#include <sys/signalfd.h>

#include "engine/files/fdinfo_fields.h"
#include "engine/files/kinds.h"
#include "engine/proc/text.h"
#include "engine/files/status_flags.h"

namespace stasis::files {
namespace {

constexpr uint32_t kSignalfdFlags = kCommonFlags | O_NONBLOCK;

class Signalfd final : public FileKind {
 public:
  const char* name() const override { return "signalfd"; }
  img::FileEntry::FileCase entry_case() const override { return img::FileEntry::kSignalfd; }

  bool Matches(const OpenFd& f) const override { return f.link == "anon_inode:[signalfd]"; }

  Status Collect(const OpenFd& f, img::FileEntry* entry, CollectContext&) const override {
    *entry->mutable_signalfd() = STASIS_VALUE_CTX(ParseSignalfdFdinfo(f.fdinfo), f.Describe());
    return CheckFlags(entry->signalfd().flags(), kSignalfdFlags, f.Describe());
  }

  Status Validate(const img::FileEntry& entry, const ObjectStore&) const override {
    return CheckFlags(entry.signalfd().flags(), kSignalfdFlags, "signalfd");
  }

  Result<UniqueFd> Open(const img::FileEntry& entry, OpenContext& ctx) const override {
    STASIS_TRY(Validate(entry, ctx.objects));
    const img::SignalfdFile& s = entry.signalfd();
    sigset_t mask;
    sigemptyset(&mask);
    for (int sig = 1; sig <= 64; ++sig)
      if (s.signal_mask() & (uint64_t{1} << (sig - 1))) sigaddset(&mask, sig);
    UniqueFd fd(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!fd.valid()) return SysError("signalfd: create");
    STASIS_TRY(SetStatusFlags(fd.get(), s.flags(), "signalfd"));
    return fd;
  }
};

}  // namespace

Result<img::SignalfdFile> ParseSignalfdFdinfo(std::string_view text) {
  auto head = STASIS_VALUE(proc::ParseFdInfo(text));
  img::SignalfdFile s;
  s.set_flags(head.flags);
  bool dup = false;
  auto mask = FdinfoField(text, "sigmask", &dup);
  if (!mask) return Corrupt("signalfd fdinfo: missing sigmask");
  if (dup) return Corrupt("signalfd fdinfo: duplicate sigmask");
  auto v = proc::ParseU64(*mask, 16);
  if (!v) return Corrupt("signalfd fdinfo: bad sigmask \"" + std::string(*mask) + "\"");
  s.set_signal_mask(*v);
  return s;
}

const FileKind& SignalfdKind() {
  static const Signalfd kind;
  return kind;
}

}  // namespace stasis::files
