// Namespaces of the dumped tree: which of them are not the dumper's own, what they hold
// (hostname, network links and addresses, SysV objects), and every task's ids as seen inside
// its pid namespace. Supported: pid (the root must be the namespace's init), net, ipc, uts;
// anything else that differs from ours is refused with one clear line.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <vector>

#include "engine/common/error.h"
#include "engine/common/fd.h"
#include "engine/common/log.h"
#include "engine/images/ipc.pb.h"
#include "engine/images/ns.pb.h"
#include "engine/images/pstree.pb.h"

namespace stasis::dump {

class FrozenTree;

// Ids of one process inside the tree's pid namespace.
struct NsPids {
  uint32_t pid = 0;
  uint32_t pgid = 0;   // 0: the group lives outside the namespace
  uint32_t sid = 0;    // 0: the session lives outside the namespace
  std::vector<uint32_t> tids;   // in FrozenProcess::threads order
};

struct NamespaceDump {
  bool any = false;              // some namespace differs from ours: ns.img is written
  img::Namespaces image;
  std::map<pid_t, NsPids> pids;  // host pid -> ids inside (only with image.pid())
  img::IpcNamespace sysv;        // the SysV objects of the tree's ipc namespace (image.ipc())
};

// Runs right after the tree is frozen, before anything else is collected.
Status CollectNamespaces(const FrozenTree& tree, Logger& log, NamespaceDump* out);

// While alive, the calling thread is inside the tree's network namespace (when the tree has
// its own): sock_diag only reports the sockets of the namespace the asking socket lives in.
// Destroying it returns the thread to the namespace it came from.
class NetNsGuard {
 public:
  NetNsGuard() = default;
  explicit NetNsGuard(UniqueFd back) : back_(std::move(back)) {}
  NetNsGuard(NetNsGuard&&) = default;
  NetNsGuard& operator=(NetNsGuard&&) = delete;
  ~NetNsGuard();

 private:
  UniqueFd back_;
};
Result<NetNsGuard> EnterTreeNetNs(const NamespaceDump& ns, pid_t root);

// Adds the ns_* fields to pstree entries (matched by pid) when the tree has its own pid ns.
Status AddNsPids(const NamespaceDump& ns, std::vector<img::ProcessEntry>* pstree);

}  // namespace stasis::dump
