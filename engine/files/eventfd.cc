// eventfd: the counter and EFD_SEMAPHORE come from fdinfo; restore writes the counter back.
#include "engine/files/eventfd.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include "engine/files/fdinfo_fields.h"
#include "engine/files/kinds.h"
#include "engine/proc/text.h"
#include "engine/files/status_flags.h"

namespace stasis::files {
namespace {

constexpr uint32_t kEventfdFlags = kCommonFlags | O_NONBLOCK;
constexpr uint64_t kMaxCount = UINT64_MAX - 1;   // the kernel's ULLONG_MAX - 1 ceiling

class Eventfd final : public FileKind {
 public:
  const char* name() const override { return "eventfd"; }
  img::FileEntry::FileCase entry_case() const override { return img::FileEntry::kEventfd; }

  bool Matches(const OpenFd& f) const override { return f.link == "anon_inode:[eventfd]"; }

  Status Collect(const OpenFd& f, img::FileEntry* entry, CollectContext&) const override {
    *entry->mutable_eventfd() = STASIS_VALUE_CTX(ParseEventfdFdinfo(f.fdinfo), f.Describe());
    return CheckFlags(entry->eventfd().flags(), kEventfdFlags, f.Describe());
  }

  Status Validate(const img::FileEntry& entry, const ObjectStore&) const override {
    const img::EventfdFile& e = entry.eventfd();
    STASIS_TRY(CheckFlags(e.flags(), kEventfdFlags, "eventfd"));
    if (e.count() > kMaxCount) return Corrupt("eventfd: count " + std::to_string(e.count()) + " too large");
    return Status::Ok();
  }

  Result<UniqueFd> Open(const img::FileEntry& entry, OpenContext& ctx) const override {
    STASIS_TRY(Validate(entry, ctx.objects));
    const img::EventfdFile& e = entry.eventfd();
    // eventfd()'s initial value is only 32 bits wide: start at 0 and add the count.
    UniqueFd fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK | (e.semaphore() ? EFD_SEMAPHORE : 0)));
    if (!fd.valid()) return SysError("eventfd: create");
    if (e.count() != 0) {
      const uint64_t count = e.count();
      if (::write(fd.get(), &count, sizeof count) != sizeof count) return SysError("eventfd: set count");
    }
    STASIS_TRY(SetStatusFlags(fd.get(), e.flags(), "eventfd"));
    return fd;
  }
};

}  // namespace

Result<img::EventfdFile> ParseEventfdFdinfo(std::string_view text) {
  auto head = STASIS_VALUE(proc::ParseFdInfo(text));
  img::EventfdFile e;
  e.set_flags(head.flags);
  bool dup = false;
  auto count = FdinfoField(text, "eventfd-count", &dup);
  if (!count) return Corrupt("eventfd fdinfo: missing eventfd-count");
  if (dup) return Corrupt("eventfd fdinfo: duplicate eventfd-count");
  auto v = proc::ParseU64(*count, 16);
  if (!v || *v > kMaxCount) return Corrupt("eventfd fdinfo: bad eventfd-count \"" + std::string(*count) + "\"");
  e.set_count(*v);
  // "eventfd-semaphore" appeared in Linux 6.6; before it, the mode cannot be seen from
  // outside and the eventfd is taken to be a plain counter.
  if (auto sem = FdinfoField(text, "eventfd-semaphore", &dup)) {
    if (dup || (*sem != "0" && *sem != "1"))
      return Corrupt("eventfd fdinfo: bad eventfd-semaphore \"" + std::string(*sem) + "\"");
    e.set_semaphore(*sem == "1");
  }
  return e;
}

const FileKind& EventfdKind() {
  static const Eventfd kind;
  return kind;
}

}  // namespace stasis::files
