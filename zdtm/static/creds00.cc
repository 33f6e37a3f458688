// Credentials survive: real/effective/saved/fs uids and gids all different, supplementary
// groups, capability sets (permitted, effective, inheritable, ambient, bounding) partly
// dropped, keep-caps and the dumpable flag.
#include <linux/capability.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <grp.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "zdtm/lib/zdtm.h"

namespace {

struct Caps {
  uint64_t effective = 0, permitted = 0, inheritable = 0;
};

Caps GetCaps() {
  __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct d[2] = {};
  syscall(SYS_capget, &h, d);
  return {d[0].effective | (uint64_t{d[1].effective} << 32), d[0].permitted | (uint64_t{d[1].permitted} << 32),
          d[0].inheritable | (uint64_t{d[1].inheritable} << 32)};
}

bool SetCaps(const Caps& c) {
  __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct d[2] = {};
  d[0] = {static_cast<uint32_t>(c.effective), static_cast<uint32_t>(c.permitted), static_cast<uint32_t>(c.inheritable)};
  d[1] = {static_cast<uint32_t>(c.effective >> 32), static_cast<uint32_t>(c.permitted >> 32), static_cast<uint32_t>(c.inheritable >> 32)};
  return syscall(SYS_capset, &h, d) == 0;
}

constexpr uint64_t Bit(int cap) { return uint64_t{1} << cap; }

struct State {
  uid_t ruid, euid, suid, fsuid;
  gid_t rgid, egid, sgid, fsgid;
  std::vector<gid_t> groups;
  Caps caps;
  uint64_t bounding = 0, ambient = 0;
  int keepcaps, dumpable;
};

State Read() {
  State s;
  getresuid(&s.ruid, &s.euid, &s.suid);
  getresgid(&s.rgid, &s.egid, &s.sgid);
  s.fsuid = static_cast<uid_t>(setfsuid(-1));
  s.fsgid = static_cast<gid_t>(setfsgid(-1));
  s.groups.resize(static_cast<size_t>(getgroups(0, nullptr)));
  getgroups(static_cast<int>(s.groups.size()), s.groups.data());
  s.caps = GetCaps();
  int last = 40;
  std::ifstream("/proc/sys/kernel/cap_last_cap") >> last;
  for (int c = 0; c <= last && c < 64; ++c) {
    if (prctl(PR_CAPBSET_READ, c) == 1) s.bounding |= Bit(c);
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, c, 0, 0) == 1) s.ambient |= Bit(c);
  }
  s.keepcaps = prctl(PR_GET_KEEPCAPS);
  s.dumpable = prctl(PR_GET_DUMPABLE);
  return s;
}

std::string Describe(const State& s) {
  char buf[512];
  std::snprintf(buf, sizeof(buf),
                "uids %u/%u/%u fs %u, gids %u/%u/%u fs %u, %zu groups, caps e=%#llx p=%#llx i=%#llx "
                "bnd=%#llx amb=%#llx, keepcaps %d, dumpable %d",
                s.ruid, s.euid, s.suid, s.fsuid, s.rgid, s.egid, s.sgid, s.fsgid, s.groups.size(),
                static_cast<unsigned long long>(s.caps.effective), static_cast<unsigned long long>(s.caps.permitted),
                static_cast<unsigned long long>(s.caps.inheritable), static_cast<unsigned long long>(s.bounding),
                static_cast<unsigned long long>(s.ambient), s.keepcaps, s.dumpable);
  std::string out = buf;
  for (gid_t g : s.groups) out += " " + std::to_string(g);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  if (geteuid() != 0) t.Fail("needs root");
  // Order matters: bounding set and groups need CAP_SETPCAP/CAP_SETGID, which go away later.
  for (int c : {CAP_SYS_MODULE, CAP_SYS_BOOT, CAP_MKNOD})
    if (prctl(PR_CAPBSET_DROP, c) != 0) t.Fail("PR_CAPBSET_DROP %d", c);
  const gid_t groups[] = {1001, 1002, 1003};
  if (setgroups(3, groups) != 0) t.Fail("setgroups");
  if (setresgid(2001, 2002, 2003) != 0 || setfsgid(2003) < 0) t.Fail("setresgid");
  if (prctl(PR_SET_KEEPCAPS, 1) != 0) t.Fail("PR_SET_KEEPCAPS");
  if (setresuid(3001, 3002, 3003) != 0) t.Fail("setresuid");
  setfsuid(3003);  // the saved uid: allowed without CAP_SETUID
  Caps c;
  c.permitted = Bit(CAP_NET_BIND_SERVICE) | Bit(CAP_CHOWN) | Bit(CAP_SETUID) | Bit(CAP_KILL);
  c.effective = Bit(CAP_NET_BIND_SERVICE) | Bit(CAP_KILL);
  c.inheritable = Bit(CAP_CHOWN) | Bit(CAP_KILL);
  if (!SetCaps(c)) t.Fail("capset");
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_KILL, 0, 0) != 0) t.Fail("ambient raise");
  const State before = Read();

  t.Ready();
  t.WaitForTerm();

  const State now = Read();
  if (Describe(now) != Describe(before)) t.Fail("credentials changed:\n  was %s\n  now %s", Describe(before).c_str(), Describe(now).c_str());
  // The dropped capabilities are really gone: CAP_SYS_ADMIN cannot be raised again.
  Caps more = now.caps;
  more.effective |= Bit(CAP_SYS_ADMIN);
  if (SetCaps(more)) t.Fail("could raise CAP_SYS_ADMIN: capabilities were not dropped");
  t.Pass();
}
