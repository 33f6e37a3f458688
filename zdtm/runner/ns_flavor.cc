#include "zdtm/runner/ns_flavor.h"

#include <limits.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

namespace zdtm::runner {
namespace {

// The innermost id of "KEY:\tA\tB..." in /proc/.../status, or "" when absent.
std::string InnermostId(const std::string& status_path, const std::string& key) {
  std::ifstream f(status_path);
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind(key + ":", 0) != 0) continue;
    std::istringstream in(line.substr(key.size() + 1));
    std::string id, last;
    while (in >> id) last = id;
    return last;
  }
  return "";
}

}  // namespace

std::string NsInitPath() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return "zdtm-ns-init";
  std::string exe(buf, static_cast<size_t>(n));
  const size_t slash = exe.rfind('/');
  return (slash == std::string::npos ? std::string(".") : exe.substr(0, slash)) + "/zdtm-ns-init";
}

std::vector<std::string> NsLaunchArgv(const std::string& root_pidfile, const std::vector<std::string>& test_argv) {
  std::vector<std::string> argv = {NsInitPath(), root_pidfile};
  argv.insert(argv.end(), test_argv.begin(), test_argv.end());
  return argv;
}

void ToNamespaceIds(OutsideView* view) {
  std::map<std::string, std::string> inside;   // host pid or tid -> inside id
  std::map<std::string, std::pair<std::string, std::string>> group_session;   // inside pid -> (pgid, sid)
  for (pid_t pid : view->pids) {
    const std::string proc = "/proc/" + std::to_string(pid);
    const std::string id = InnermostId(proc + "/status", "NSpid");
    if (id.empty()) continue;
    inside[std::to_string(pid)] = id;
    group_session[id] = {InnermostId(proc + "/status", "NSpgid"), InnermostId(proc + "/status", "NSsid")};
  }
  for (const auto& [key, value] : view->entries) {
    const size_t task = key.find(" task ");
    if (task == std::string::npos) continue;
    const std::string pid = key.substr(0, task), tid = key.substr(task + 6);
    const std::string id = InnermostId("/proc/" + pid + "/task/" + tid + "/status", "NSpid");
    if (!id.empty()) inside[tid] = id;
  }
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : view->entries) {
    std::string k = key, v = value;
    const size_t space = k.find(' ');
    if (space != std::string::npos) {
      auto it = inside.find(k.substr(0, space));
      if (it != inside.end()) k = it->second + k.substr(space);
    }
    const size_t task = k.find(" task ");
    if (task != std::string::npos) {
      auto it = inside.find(k.substr(task + 6));
      if (it != inside.end()) k = k.substr(0, task + 6) + it->second;
    }
    if (k.size() > 5 && k.compare(k.size() - 5, 5, " tree") == 0) {
      // "ppid=P pgid=G sid=S state=X": the parent by its inside id (the root's parent, outside,
      // keeps its name), group and session as the namespace sees them.
      auto gs = group_session.find(k.substr(0, k.size() - 5));
      std::istringstream in(v);
      std::string field, rebuilt;
      while (in >> field) {
        const size_t eq = field.find('=');
        const std::string name = eq == std::string::npos ? "" : field.substr(0, eq);
        if (name == "ppid") {
          auto it = inside.find(field.substr(eq + 1));
          if (it != inside.end()) field = "ppid=" + it->second;
        } else if (name == "pgid" && gs != group_session.end()) {
          field = "pgid=" + gs->second.first;
        } else if (name == "sid" && gs != group_session.end()) {
          field = "sid=" + gs->second.second;
        }
        rebuilt += (rebuilt.empty() ? "" : " ") + field;
      }
      v = rebuilt;
    }
    // The init is the runner's: SIGCHLD waits in its signalfd until it reaps an orphan, so
    // whether one is pending when the view is taken is timing, not state of the test.
    if (k == "1 status ShdPnd") continue;
    out[k] = v;
  }
  // Sorted by the id inside, for the same reason as CaptureOutsideView sorts host pids.
  std::vector<std::pair<long, std::string>> ids;
  for (pid_t p : view->pids) {
    auto it = inside.find(std::to_string(p));
    const std::string id = it != inside.end() ? it->second : std::to_string(p);
    ids.emplace_back(std::strtol(id.c_str(), nullptr, 10), id);
  }
  std::sort(ids.begin(), ids.end());
  std::string pids;
  for (const auto& [n, id] : ids) pids += (pids.empty() ? "" : " ") + id;
  out["pids"] = pids;
  view->entries = std::move(out);
}

bool ParseFlavorList(const std::string& text, std::vector<std::string>* flavors, std::string* error) {
  flavors->clear();
  std::string t = text;
  std::replace(t.begin(), t.end(), ',', ' ');
  std::istringstream in(t);
  std::string f;
  while (in >> f) {
    if (f != kFlavorHost && f != kFlavorNs) {
      *error = "unknown flavor '" + f + "' (known: h ns)";
      return false;
    }
    if (std::find(flavors->begin(), flavors->end(), f) != flavors->end()) {
      *error = "flavor '" + f + "' given twice";
      return false;
    }
    flavors->push_back(f);
  }
  if (flavors->empty()) {
    *error = "--flavor needs h, ns or a list of them";
    return false;
  }
  return true;
}

}  // namespace zdtm::runner
