// Resource limits, root directory, credentials, capabilities and the prctl bits of a process.
// Raw syscalls act on one thread only, so the credentials are set in every thread.
#include <linux/capability.h>
#include <linux/securebits.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "engine/restore/target.h"

namespace stasis::restore {
namespace {

constexpr size_t kMaxGroupsInDataPages = Target::kDataSize / sizeof(uint32_t);

struct CapHeader {
  uint32_t version;
  int32_t pid;
};
struct CapData {
  uint32_t effective;
  uint32_t permitted;
  uint32_t inheritable;
};

struct Rlimit64 {
  uint64_t cur;
  uint64_t max;
};

Status Call(inject::SyscallInjector& inj, const std::string& who, const char* what, long nr, uint64_t a1 = 0,
            uint64_t a2 = 0, uint64_t a3 = 0, uint64_t a4 = 0, uint64_t a5 = 0) {
  auto r = inj.Checked(what, nr, a1, a2, a3, a4, a5);
  if (!r.ok()) return std::move(r.error().Context(who));
  return Status::Ok();
}

// The order matters: keep capabilities across the uid change (SECURE_NO_SETUID_FIXUP), change
// ids, then trim the bounding set while CAP_SETPCAP is still effective, and only then set the
// dumped capability sets.
Status RestoreThreadCreds(const RestoreContext& ctx, Target& t, size_t i) {
  const img::ThreadCore& th = t.image().core.threads(static_cast<int>(i));
  inject::SyscallInjector& inj = t.injectors()[i];
  const std::string who = t.who() + ": thread " + std::to_string(th.tid());
  STASIS_TRY(Call(inj, who, "personality", SYS_personality, t.image().core.personality()));
  // 0 would mean "reset to the default"; real-time threads report 0 and ignore the setting.
  if (th.timer_slack_ns() != 0)
    STASIS_TRY(Call(inj, who, "prctl(PR_SET_TIMERSLACK)", SYS_prctl, PR_SET_TIMERSLACK, th.timer_slack_ns()));
  if (!th.has_creds()) return Status::Ok();
  const img::Credentials& c = th.creds();

  if (static_cast<size_t>(c.groups_size()) > kMaxGroupsInDataPages)
    return Unsupported(who + ": " + std::to_string(c.groups_size()) + " supplementary groups");
  std::vector<uint32_t> groups(c.groups().begin(), c.groups().end());
  const uint64_t remote_groups = groups.empty() ? 0 : STASIS_VALUE(t.Put(0, groups.data(), groups.size() * 4));
  STASIS_TRY(Call(inj, who, "setgroups", SYS_setgroups, groups.size(), remote_groups));
  STASIS_TRY(Call(inj, who, "keep capabilities across setresuid", SYS_prctl, PR_SET_SECUREBITS,
                  1u << SECURE_NO_SETUID_FIXUP));
  STASIS_TRY(Call(inj, who, "setresgid", SYS_setresgid, c.gid(), c.egid(), c.sgid()));
  STASIS_TRY(Call(inj, who, "setresuid", SYS_setresuid, c.uid(), c.euid(), c.suid()));
  // setfs[ug]id return the previous id, never an error.
  (void)inj.Syscall(SYS_setfsgid, c.fsgid());
  (void)inj.Syscall(SYS_setfsuid, c.fsuid());
  STASIS_TRY(Call(inj, who, "prctl(PR_SET_SECUREBITS)", SYS_prctl, PR_SET_SECUREBITS, c.securebits()));
  for (int cap = 0; cap <= ctx.cap_last_cap && cap < 64; ++cap) {
    if (c.cap_bnd() & (1ull << cap)) continue;
    STASIS_TRY(Call(inj, who, "prctl(PR_CAPBSET_DROP)", SYS_prctl, PR_CAPBSET_DROP, static_cast<uint64_t>(cap)));
  }
  struct {
    CapHeader header;
    CapData data[2];
  } caps{{_LINUX_CAPABILITY_VERSION_3, 0},
         {{static_cast<uint32_t>(c.cap_eff()), static_cast<uint32_t>(c.cap_prm()), static_cast<uint32_t>(c.cap_inh())},
          {static_cast<uint32_t>(c.cap_eff() >> 32), static_cast<uint32_t>(c.cap_prm() >> 32),
           static_cast<uint32_t>(c.cap_inh() >> 32)}}};
  const uint64_t remote_caps = STASIS_VALUE(t.Put(0, &caps, sizeof caps));
  STASIS_TRY(Call(inj, who, "capset", SYS_capset, remote_caps, remote_caps + sizeof(CapHeader)));
  for (int cap = 0; cap < 64; ++cap) {
    if (!(c.cap_amb() & (1ull << cap))) continue;
    STASIS_TRY(Call(inj, who, "raise ambient capability", SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE,
                    static_cast<uint64_t>(cap)));
  }
  if (c.no_new_privs()) STASIS_TRY(Call(inj, who, "prctl(PR_SET_NO_NEW_PRIVS)", SYS_prctl, PR_SET_NO_NEW_PRIVS, 1));
  return Status::Ok();
}

}  // namespace

Status RestoreRlimits(const RestoreContext& ctx, Target& t) {
  for (const img::Rlimit& r : t.image().core.rlimits()) {
    Rlimit64 want{r.cur(), r.max()};
    const uint64_t remote = STASIS_VALUE(t.Put(0, &want, sizeof want));
    auto set = t.main().Syscall(SYS_prlimit64, 0, r.resource(), remote, 0);
    if (!set.ok()) return std::move(set.error().Context(t.who()));
    if (*set == 0) continue;
    rlimit ours{};
    if (*set != -EPERM || ::getrlimit(static_cast<__rlimit_resource>(r.resource()), &ours) != 0)
      return SysError(t.who() + ": setrlimit " + std::to_string(r.resource()), static_cast<int>(-*set));
    // Raising a hard limit needs CAP_SYS_RESOURCE: keep ours, as close to the dumped one as it allows.
    Rlimit64 capped{std::min<uint64_t>(r.cur(), ours.rlim_max), ours.rlim_max};
    const uint64_t remote_capped = STASIS_VALUE(t.Put(0, &capped, sizeof capped));
    STASIS_TRY(Call(t.main(), t.who(), "setrlimit", SYS_prlimit64, 0, r.resource(), remote_capped, 0));
    ctx.log->Warn("%s: rlimit %u hard limit %llu is above ours (%llu); kept ours", t.who().c_str(), r.resource(),
                  static_cast<unsigned long long>(r.max()), static_cast<unsigned long long>(ours.rlim_max));
  }
  return Status::Ok();
}

Status RestoreCredsAndProcessState(const RestoreContext& ctx, Target& t) {
  const img::TaskCore& core = t.image().core;
  // The control socket is the puppet's last trace of us.
  STASIS_TRY(Call(t.main(), t.who(), "close control socket", SYS_close,
                  static_cast<uint64_t>(t.puppet().control_fd_inside)));
  if (!core.root().empty() && core.root() != "/") {
    const uint64_t path = STASIS_VALUE(t.PutString(0, core.root()));
    STASIS_TRY(Call(t.main(), t.who(), ("chroot " + core.root()).c_str(), SYS_chroot, path));
  }
  for (size_t i = 0; i < t.injectors().size(); ++i) STASIS_TRY(RestoreThreadCreds(ctx, t, i));

  // Credential changes reset these two, so they come after.
  if (core.dumpable() <= 1) {
    STASIS_TRY(Call(t.main(), t.who(), "prctl(PR_SET_DUMPABLE)", SYS_prctl, PR_SET_DUMPABLE, core.dumpable()));
  } else {
    ctx.log->Warn("%s: dumpable mode %u cannot be set with prctl; left as is", t.who().c_str(), core.dumpable());
  }
  // Bit 0 is the switch; the bits above it are PR_SET_THP_DISABLE's flags argument (6.18+).
  if (core.thp_disable() & 1)
    STASIS_TRY(Call(t.main(), t.who(), "prctl(PR_SET_THP_DISABLE)", SYS_prctl, PR_SET_THP_DISABLE, 1,
                    core.thp_disable() & ~1u, 0, 0));
  STASIS_TRY(Call(t.main(), t.who(), "prctl(PR_SET_PDEATHSIG)", SYS_prctl, PR_SET_PDEATHSIG, core.pdeath_signal()));
  STASIS_TRY(Call(t.main(), t.who(), "prctl(PR_SET_CHILD_SUBREAPER)", SYS_prctl, PR_SET_CHILD_SUBREAPER,
                  core.child_subreaper() ? 1 : 0));
  return Status::Ok();
}

}  // namespace stasis::restore
