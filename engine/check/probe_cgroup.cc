// cgroup freezers: freeze and thaw a scratch child in a scratch cgroup, as dumping a
// container by its cgroup will.
#include <sys/stat.h>
#include <sys/wait.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "engine/check/probes.h"

namespace stasis::check {
namespace {

constexpr int kFreezeTimeoutMs = 1500;
constexpr size_t kPathMax = 512;

void SleepMillis(long ms) noexcept {
  timespec ts{ms / 1000, (ms % 1000) * 1000000};
  nanosleep(&ts, nullptr);
}

// Finds the mount point of a cgroup hierarchy in /proc/self/mountinfo: v2 when `controller`
// is null, else the v1 hierarchy that has `controller` among its super options.
bool FindMount(const char* controller, char* mount_point, size_t size, char* root, size_t root_size) noexcept {
  char info[65536];
  if (ReadSmallFile("/proc/self/mountinfo", info, sizeof(info)) <= 0) return false;
  for (char* line = info; line && *line;) {
    char* next = std::strchr(line, '\n');
    if (next) *next++ = '\0';
    char mroot[256], point[256], fstype[32], source[64], opts[256];
    const char* sep = std::strstr(line, " - ");
    if (sep && std::sscanf(line, "%*s %*s %*s %255s %255s", mroot, point) == 2 &&
        std::sscanf(sep + 3, "%31s %63s %255s", fstype, source, opts) == 3) {
      bool match = false;
      if (controller == nullptr) {
        match = std::strcmp(fstype, "cgroup2") == 0;
      } else if (std::strcmp(fstype, "cgroup") == 0) {
        for (char* tok = std::strtok(opts, ","); tok; tok = std::strtok(nullptr, ","))
          if (std::strcmp(tok, controller) == 0) match = true;
      }
      if (match) {
        std::snprintf(mount_point, size, "%s", point);
        std::snprintf(root, root_size, "%s", mroot);
        return true;
      }
    }
    line = next;
  }
  return false;
}

// Our own cgroup in that hierarchy from /proc/self/cgroup ("0::/x" for v2, "N:a,freezer:/x").
bool OwnCgroup(const char* controller, char* path, size_t size) noexcept {
  char lines[8192];
  if (ReadSmallFile("/proc/self/cgroup", lines, sizeof(lines)) <= 0) return false;
  for (char* line = lines; line && *line;) {
    char* next = std::strchr(line, '\n');
    if (next) *next++ = '\0';
    char* c1 = std::strchr(line, ':');
    char* c2 = c1 ? std::strchr(c1 + 1, ':') : nullptr;
    if (c2) {
      *c2 = '\0';
      const char* list = c1 + 1;
      bool match = controller == nullptr ? *list == '\0' : false;
      if (controller) {
        for (const char* p = list; *p;) {
          size_t n = std::strcspn(p, ",");
          if (n == std::strlen(controller) && std::strncmp(p, controller, n) == 0) match = true;
          p += n + (p[n] == ',');
        }
      }
      if (match) {
        std::snprintf(path, size, "%s", c2 + 1);
        return true;
      }
    }
    line = next;
  }
  return false;
}

// Polls `file` until it contains `want`, for at most kFreezeTimeoutMs.
bool WaitForText(const char* file, const char* want) noexcept {
  char buf[1024];
  for (int waited = 0; waited < kFreezeTimeoutMs; waited += 5) {
    if (ReadSmallFile(file, buf, sizeof(buf)) > 0 && std::strstr(buf, want)) return true;
    SleepMillis(5);
  }
  return false;
}

struct Freezer {
  Feature feature;
  const char* controller;  // null for v2
  const char* procs_file;  // where a pid is written to move it
  const char* state_file;
  const char* freeze;
  const char* thaw;
  const char* check_file;  // polled until it shows frozen
  const char* frozen_text;
};

void ProbeFreezer(ProbeReport& r, const Freezer& fz) noexcept {
  char mount_point[256], root[256], own[256];
  if (!FindMount(fz.controller, mount_point, sizeof(mount_point), root, sizeof(root)))
    return r.Missing(fz.feature, "no %s hierarchy mounted", fz.controller ? "cgroup v1 freezer" : "cgroup2");
  if (!OwnCgroup(fz.controller, own, sizeof(own))) std::snprintf(own, sizeof(own), "/");
  // Inside a container the mount's root is our cgroup's ancestor: strip it.
  const char* rel = own;
  size_t root_len = std::strlen(root);
  if (std::strcmp(root, "/") != 0 && std::strncmp(own, root, root_len) == 0) rel = own + root_len;

  char dir[kPathMax + 64], file[kPathMax + 96];
  std::snprintf(dir, sizeof(dir), "%s%s/stasis-check-%d", mount_point, rel, getpid());
  if (mkdir(dir, 0755) != 0) return r.MissingErrno(fz.feature, errno, "mkdir a scratch cgroup");

  pid_t sleeper = ForkHelper([]() noexcept {
    for (;;) pause();
    return 0;
  });
  char pid_text[32];
  std::snprintf(pid_text, sizeof(pid_text), "%d", sleeper);
  int e = 0;
  if (sleeper < 0) {
    r.MissingErrno(fz.feature, -sleeper, "fork");
  } else if (std::snprintf(file, sizeof(file), "%s/%s", dir, fz.procs_file),
             (e = WriteSmallFile(file, pid_text)) != 0) {
    r.MissingErrno(fz.feature, -e, "moving a child into the scratch cgroup");
  } else if (std::snprintf(file, sizeof(file), "%s/%s", dir, fz.state_file),
             (e = WriteSmallFile(file, fz.freeze)) != 0) {
    r.MissingErrno(fz.feature, -e, fz.state_file);
  } else {
    char check[kPathMax + 96];
    std::snprintf(check, sizeof(check), "%s/%s", dir, fz.check_file);
    bool frozen = WaitForText(check, fz.frozen_text);
    WriteSmallFile(file, fz.thaw);
    if (frozen)
      r.Ok(fz.feature, "froze and thawed a child in %s", mount_point);
    else
      r.Missing(fz.feature, "the scratch cgroup never reported frozen");
  }
  if (sleeper > 0) {
    kill(sleeper, SIGKILL);
    waitpid(sleeper, nullptr, 0);
  }
  // The cgroup empties asynchronously after its last task is reaped.
  for (int i = 0; i < 100 && rmdir(dir) != 0 && errno == EBUSY; ++i) SleepMillis(5);
}

}  // namespace

void ProbeCgroup(ProbeReport& r) noexcept {
  static constexpr Freezer kV2{Feature::kCgroupV2Freezer, nullptr, "cgroup.procs", "cgroup.freeze",
                               "1", "0", "cgroup.events", "frozen 1"};
  static constexpr Freezer kV1{Feature::kCgroupV1Freezer, "freezer", "tasks", "freezer.state",
                               "FROZEN", "THAWED", "freezer.state", "FROZEN"};
  ProbeFreezer(r, kV2);
  ProbeFreezer(r, kV1);
}

}  // namespace stasis::check
