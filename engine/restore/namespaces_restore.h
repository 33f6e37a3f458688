// The namespaces of a dumped tree (ns.img), recreated around the restored tree.
//
// With a pid namespace the images keep the pids the dumper saw (file names, pstree pid) plus
// the ids inside the namespace (pstree ns_*). LoadNamespaces renumbers the loaded ImageSet to
// the inside ids, so the plan and the puppets (which all live inside the new namespace) work
// with what set_tid, setpgid and pidfd_open there expect. The coordinator stays outside: it
// keeps the host pid of every puppet in Puppet::pid (ptrace, /proc, kill) and finds it with
// HostPidOfChild/HostTidOf; Puppet::ns_pid is the inside one.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "engine/common/error.h"
#include "engine/common/log.h"
#include "engine/images/ipc.pb.h"
#include "engine/images/ns.pb.h"
#include "engine/restore/image_set.h"

namespace stasis::restore {

struct NamespacePlan {
  bool present = false;     // ns.img was in the set
  img::Namespaces image;
  img::IpcNamespace sysv;   // ipc-ns.img: the SysV objects to recreate (with image.ipc())
  bool pid() const { return present && image.pid(); }
  // CLONE_NEW* flags the root puppet is created with.
  uint64_t clone_flags() const;
};

// Pure: checks `ns` and, with a pid namespace, renumbers `set` (pstree, core pids and tids) to
// the ids inside it; ProcessImage::dumped_pid keeps the file names working.
Status ApplyNamespacesToSet(const img::Namespaces& ns, ImageSet& set);

// Reads ns.img when the inventory names it and applies it to `set`.
Result<NamespacePlan> LoadNamespaces(const std::string& images_dir, ImageSet& set, bool shell_job);

// Sets hostname/domainname, links and addresses inside the namespaces of `root` (a host pid),
// from a forked helper that enters them. Runs before any fd of the tree is restored.
Status ConfigureNamespaces(pid_t root, const NamespacePlan& ns, Logger& log);

// The host pid of the child of `parent` (host pid) whose innermost pid is `ns_pid`.
Result<pid_t> HostPidOfChild(pid_t parent, pid_t ns_pid);
// The host tid of the thread of `pid` (host pid) whose innermost tid is `ns_tid`.
Result<pid_t> HostTidOf(pid_t pid, pid_t ns_tid);

}  // namespace stasis::restore
