#include "engine/dump/namespaces_collector.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <string>

#include "engine/common/fd.h"
#include "engine/dump/freezer.h"
#include "engine/dump/ipc_namespace.h"
#include "engine/dump/proc_files.h"
#include "engine/net/netns_links.h"
#include "engine/proc/in_namespaces.h"
#include "engine/proc/ns_ids.h"
#include "engine/proc/text.h"

namespace stasis::dump {
namespace {

struct NsKind {
  const char* name;   // entry of /proc/PID/ns
  int clone_flag;
  bool supported;
};

constexpr std::array kKinds = {
    NsKind{"pid", CLONE_NEWPID, true},     NsKind{"net", CLONE_NEWNET, true},
    NsKind{"ipc", CLONE_NEWIPC, true},     NsKind{"uts", CLONE_NEWUTS, true},
    NsKind{"mnt", CLONE_NEWNS, false},     NsKind{"user", CLONE_NEWUSER, false},
    NsKind{"cgroup", CLONE_NEWCGROUP, false}, NsKind{"time", CLONE_NEWTIME, false},
};

// The namespace's inode, or 0 when the kernel has no such namespace type.
Result<uint64_t> NsInode(const std::string& proc_dir, const char* name) {
  struct stat st;
  const std::string path = proc_dir + "/ns/" + name;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return uint64_t{0};
    return SysError("stat " + path);
  }
  return static_cast<uint64_t>(st.st_ino);
}

Result<NsPids> ReadNsPids(pid_t pid, const std::vector<pid_t>& tids) {
  NsPids out;
  const std::string status = STASIS_VALUE(ReadProc(pid, "status"));
  auto last = [&](const char* key) -> Result<uint32_t> {
    std::vector<uint32_t> ids = proc::ParseNsIdLine(status, key);
    if (ids.empty()) return Unsupported(ProcPath(pid, "status") + " has no " + key + " line (kernel too old)");
    return ids.back();
  };
  out.pid = STASIS_VALUE(last("NSpid"));
  out.pgid = STASIS_VALUE(last("NSpgid"));
  out.sid = STASIS_VALUE(last("NSsid"));
  for (pid_t tid : tids) {
    const std::string entry = "task/" + std::to_string(tid) + "/status";
    std::vector<uint32_t> ids = proc::ParseNsIdLine(STASIS_VALUE(ReadProc(pid, entry)), "NSpid");
    if (ids.empty()) return Unsupported(ProcPath(pid, entry) + " has no NSpid line");
    out.tids.push_back(ids.back());
  }
  return out;
}

// In a forked child that has entered the tree's namespaces: what they hold.
Result<img::Namespaces> CollectInside(img::Namespaces image) {
  if (image.uts()) {
    utsname u{};
    if (::uname(&u) != 0) return SysError("uname in the uts namespace");
    image.set_hostname(u.nodename);
    image.set_domainname(u.domainname);
  }
  if (image.net()) {
    for (img::NetLink& l : STASIS_VALUE(net::ReadNetLinks())) {
      if (l.name() != "lo")
        return Unsupported("the net namespace has link " + l.name() + (l.kind().empty() ? "" : " (" + l.kind() + ")") +
                           ": only the loopback link can be dumped so far");
      *image.add_links() = std::move(l);
    }
  }
  return image;
}

// Runs CollectInside (and the SysV dump) inside the root's net/uts/ipc namespaces.
Status CollectFromChild(pid_t root, img::Namespaces* image, img::IpcNamespace* sysv) {
  std::vector<std::string> names;
  if (image->net()) names.push_back("net");
  if (image->uts()) names.push_back("uts");
  if (image->ipc()) names.push_back("ipc");
  // The reply: the length of the Namespaces message (8 bytes), it, then the IpcNamespace.
  const std::string got = STASIS_VALUE(proc::RunInNamespaces(root, names, ErrorKind::kNotSupported, [&]() -> Result<std::string> {
    const img::Namespaces inside = STASIS_VALUE(CollectInside(*image));
    const img::IpcNamespace objects = image->ipc() ? STASIS_VALUE(DumpIpcNamespace()) : img::IpcNamespace();
    const std::string ns = inside.SerializeAsString();
    const uint64_t len = ns.size();
    return std::string(reinterpret_cast<const char*>(&len), sizeof len) + ns + objects.SerializeAsString();
  }));
  uint64_t len = 0;
  if (got.size() < sizeof len) return Internal("the namespace helper sent a short reply");
  std::memcpy(&len, got.data(), sizeof len);
  const size_t at = sizeof len;
  if (len > got.size() - at || !image->ParseFromArray(got.data() + at, static_cast<int>(len)) ||
      !sysv->ParseFromArray(got.data() + at + len, static_cast<int>(got.size() - at - len)))
    return Internal("the namespace helper sent a malformed reply");
  return Status::Ok();
}

}  // namespace

Status CollectNamespaces(const FrozenTree& tree, Logger& log, NamespaceDump* out) {
  const pid_t root = tree.root();
  const std::string root_dir = "/proc/" + std::to_string(root);
  img::Namespaces& image = out->image;
  std::array<uint64_t, kKinds.size()> root_ns{};
  for (size_t k = 0; k < kKinds.size(); ++k) {
    const NsKind& kind = kKinds[k];
    const uint64_t ours = STASIS_VALUE(NsInode("/proc/self", kind.name));
    root_ns[k] = STASIS_VALUE(NsInode(root_dir, kind.name));
    if (ours == root_ns[k]) continue;
    if (!kind.supported)
      return Unsupported("pid " + std::to_string(root) + " lives in its own " + kind.name +
                         " namespace: dumping " + kind.name + " namespaces is not supported yet");
    out->any = true;
    if (kind.clone_flag == CLONE_NEWPID) image.set_pid(true);
    if (kind.clone_flag == CLONE_NEWNET) image.set_net(true);
    if (kind.clone_flag == CLONE_NEWIPC) image.set_ipc(true);
    if (kind.clone_flag == CLONE_NEWUTS) image.set_uts(true);
  }
  // Every process must live where the root lives: one set of namespaces is restored.
  for (const FrozenProcess& p : tree.processes()) {
    if (p.zombie || p.pid == root) continue;
    const std::string dir = "/proc/" + std::to_string(p.pid);
    for (size_t k = 0; k < kKinds.size(); ++k) {
      const uint64_t ino = STASIS_VALUE(NsInode(dir, kKinds[k].name));
      if (ino != root_ns[k])
        return Unsupported("pid " + std::to_string(p.pid) + " is in another " + kKinds[k].name +
                           " namespace than the root pid " + std::to_string(root) + ": not supported yet");
    }
  }
  if (!out->any) return Status::Ok();

  if (image.pid()) {
    for (const FrozenProcess& p : tree.processes()) {
      std::vector<pid_t> tids;
      for (const auto& t : p.threads) tids.push_back(t->tid());
      NsPids ids = STASIS_VALUE(ReadNsPids(p.pid, tids));
      if (p.pid == root && ids.pid != 1)
        return Unsupported("pid " + std::to_string(root) + " is pid " + std::to_string(ids.pid) +
                           " in its pid namespace: only a tree rooted at the namespace's init (pid 1) can be dumped");
      out->pids[p.pid] = std::move(ids);
    }
  }
  if (image.net() || image.uts() || image.ipc()) STASIS_TRY(CollectFromChild(root, &image, &out->sysv));
  log.Debug("namespaces of pid %d:%s%s%s%s", root, image.pid() ? " pid" : "", image.net() ? " net" : "",
            image.ipc() ? " ipc" : "", image.uts() ? " uts" : "");
  return Status::Ok();
}

NetNsGuard::~NetNsGuard() {
  // Failing to go back would leave the dumper in the tree's namespace: nothing sane follows.
  if (back_.valid() && ::setns(back_.get(), CLONE_NEWNET) != 0) std::abort();
}

Result<NetNsGuard> EnterTreeNetNs(const NamespaceDump& ns, pid_t root) {
  if (!ns.image.net()) return NetNsGuard();
  UniqueFd back = STASIS_VALUE(OpenFile("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  UniqueFd tree = STASIS_VALUE(OpenFile(ProcPath(root, "ns/net"), O_RDONLY | O_CLOEXEC));
  if (::setns(tree.get(), CLONE_NEWNET) != 0) return SysError("enter the net namespace of pid " + std::to_string(root));
  return NetNsGuard(std::move(back));
}

Status AddNsPids(const NamespaceDump& ns, std::vector<img::ProcessEntry>* pstree) {
  if (!ns.image.pid()) return Status::Ok();
  for (img::ProcessEntry& e : *pstree) {
    auto it = ns.pids.find(static_cast<pid_t>(e.pid()));
    if (it == ns.pids.end()) return Internal("pid " + std::to_string(e.pid()) + " has no ids in its pid namespace");
    e.set_ns_pid(it->second.pid);
    e.set_ns_pgid(it->second.pgid);
    e.set_ns_sid(it->second.sid);
    for (uint32_t tid : it->second.tids) e.add_ns_threads(tid);
  }
  return Status::Ok();
}

}  // namespace stasis::dump
