// The ns flavor: each test runs under zdtm-ns-init (ns_init.cc), the init of new pid, net, ipc
// and uts namespaces, and that init is the root of the dumped tree. Pids change across a
// restore as the runner sees them; inside the namespace they must not, so the outside view of
// an ns run names processes and threads by their ids inside.
#pragma once

#include <string>
#include <vector>

#include "zdtm/runner/snapshot.h"

namespace zdtm::runner {

inline constexpr char kFlavorHost[] = "h";
inline constexpr char kFlavorNs[] = "ns";

// zdtm-ns-init next to the running zdtm-run.
std::string NsInitPath();

// The launcher command line: zdtm-ns-init ROOT_PIDFILE TEST_ARGV...
std::vector<std::string> NsLaunchArgv(const std::string& root_pidfile, const std::vector<std::string>& test_argv);

// Rewrites a view captured from the host to the ids inside the tree's pid namespace: entry keys
// ("PID ...", "PID task TID"), the "pids" entry and the ppid/pgid/sid of "tree" entries. The
// view's pids list stays as the host sees them (for waiting and killing).
void ToNamespaceIds(OutsideView* view);

// "h ns", "h,ns" -> {"h", "ns"}; false (with *error) for an unknown or repeated flavor.
bool ParseFlavorList(const std::string& text, std::vector<std::string>* flavors, std::string* error);

}  // namespace zdtm::runner
