#include "zdtm/runner/snapshot.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <sstream>

namespace zdtm::runner {
namespace {

bool ReadFile(const std::string& path, std::string* out) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  out->clear();
  char buf[16384];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) {
    out->append(buf, static_cast<size_t>(n));
    if (out->size() > (16u << 20)) break;
  }
  close(fd);
  return n >= 0;
}

std::string Link(const std::string& path) {
  char buf[PATH_MAX];
  ssize_t n = readlink(path.c_str(), buf, sizeof(buf) - 1);
  return n < 0 ? "?" : std::string(buf, static_cast<size_t>(n));
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string l;
  while (std::getline(in, l)) out.push_back(l);
  return out;
}

// NUL-separated and binary contents become printable and unambiguous.
std::string Escape(const std::string& raw) {
  std::string out;
  for (unsigned char c : raw) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      char b[8];
      std::snprintf(b, sizeof(b), "\\x%02x", c);
      out += b;
    }
  }
  return out;
}

std::vector<pid_t> ListInts(const std::string& dir) {
  std::vector<pid_t> out;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      char* end = nullptr;
      long v = std::strtol(e->d_name, &end, 10);
      if (*end == '\0' && end != e->d_name) out.push_back(static_cast<pid_t>(v));
    }
    closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Fields of /proc/PID/stat after the comm, indexed 3.. as in proc(5).
std::vector<std::string> StatFields(const std::string& stat) {
  std::vector<std::string> f(3);
  size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return {};
  std::istringstream in(stat.substr(paren + 2));
  std::string v;
  while (in >> v) f.push_back(v);
  return f;
}

// Running, sleeping and disk sleep are all "alive"; which one is timing, not state.
std::string NormalState(const std::string& s) {
  if (s == "R" || s == "S" || s == "D" || s == "I") return "alive";
  return s;
}

std::string Field(const std::vector<std::string>& f, size_t i) { return i < f.size() ? f[i] : "?"; }

// A shared anonymous or SysV mapping gets a new shmem inode on restore; that is not a change.
bool InodeIsEphemeral(const std::string& path) {
  return path.rfind("/dev/zero", 0) == 0 || path.rfind("/SYSV", 0) == 0 ||
         path.rfind("/memfd:", 0) == 0 || path.rfind("[anon_shmem", 0) == 0;
}

struct Vma {
  unsigned long start = 0, end = 0, offset = 0;
  std::string perms, dev_ino, path, flags;
};

// Two neighbours the kernel would have merged but for history (anon_vma identity, the order
// mappings were made in) are one area as far as the process can tell; a restore may legitimately
// produce either shape, so they are compared as one.
bool Mergeable(const Vma& a, const Vma& b) {
  if (a.end != b.start || a.perms != b.perms || a.dev_ino != b.dev_ino || a.path != b.path || a.flags != b.flags)
    return false;
  // [stack], [vdso], [vvar]...: special areas are compared as they are; [heap] is plain memory.
  if (!a.path.empty() && a.path[0] == '[' && a.path != "[heap]") return false;
  return a.dev_ino == "00:00 0" || b.offset == a.offset + (a.end - a.start);
}

void CaptureMaps(const std::string& proc, const std::string& prefix, OutsideView* v) {
  std::string smaps;
  if (!ReadFile(proc + "/smaps", &smaps)) return;
  std::vector<Vma> vmas;
  for (const std::string& line : Lines(smaps)) {
    unsigned long s, e;
    char perms[8], dev[16];
    unsigned long off, ino;
    int path_at = -1;
    if (std::sscanf(line.c_str(), "%lx-%lx %7s %lx %15s %lu %n", &s, &e, perms, &off, dev, &ino, &path_at) >= 6 &&
        line.find('-') < line.find(' ')) {
      Vma m;
      m.start = s;
      m.end = e;
      m.offset = off;
      m.perms = perms;
      m.path = path_at > 0 ? line.substr(static_cast<size_t>(path_at)) : "";
      m.dev_ino = InodeIsEphemeral(m.path) ? "*:* *" : std::string(dev) + " " + std::to_string(ino);
      vmas.push_back(m);
    } else if (!vmas.empty() && line.rfind("VmFlags:", 0) == 0) {
      std::istringstream in(line.substr(8));
      std::string flag, flags;
      // sd (soft-dirty) is tracking state that a dump may legitimately reset.
      while (in >> flag)
        if (flag != "sd") flags += (flags.empty() ? "" : " ") + flag;
      vmas.back().flags = flags;
    }
  }
  std::vector<Vma> merged;
  for (const Vma& m : vmas) {
    if (!merged.empty() && Mergeable(merged.back(), m)) merged.back().end = m.end;
    else merged.push_back(m);
  }
  for (const Vma& m : merged) {
    char head[160];
    std::snprintf(head, sizeof(head), "%lx", m.start);
    std::string key = prefix + "map " + head;
    std::snprintf(head, sizeof(head), "%lx-%lx %s %08lx ", m.start, m.end, m.perms.c_str(), m.offset);
    v->entries[key] = head + m.dev_ino + " " + m.path + " [" + m.flags + "]";
  }
}

void CaptureFds(const std::string& proc, const std::string& prefix, OutsideView* v) {
  for (pid_t fd : ListInts(proc + "/fd")) {
    const std::string n = std::to_string(fd);
    std::string target = Link(proc + "/fd/" + n);
    // pipe:[inode] and socket:[inode]: the inode number is new after restore.
    for (const char* kind : {"pipe:[", "socket:["})
      if (target.rfind(kind, 0) == 0) target = std::string(kind) + "*]";
    std::string info, pos = "?", flags = "?";
    if (ReadFile(proc + "/fdinfo/" + n, &info)) {
      for (const std::string& l : Lines(info)) {
        if (l.rfind("pos:", 0) == 0) pos = l.substr(l.find_first_not_of(" \t", 4));
        if (l.rfind("flags:", 0) == 0) flags = l.substr(l.find_first_not_of(" \t", 6));
      }
    }
    v->entries[prefix + "fd " + n] = target + " flags=" + flags + " pos=" + pos;
  }
}

void CaptureStatus(const std::string& proc, const std::string& prefix, OutsideView* v) {
  static const std::set<std::string> kProcessFields = {
      "Umask", "Uid", "Gid", "Groups", "NoNewPrivs", "Seccomp", "CapInh", "CapPrm", "CapEff",
      "CapBnd", "CapAmb", "ShdPnd", "SigIgn", "SigCgt", "Threads"};
  std::string status;
  if (!ReadFile(proc + "/status", &status)) return;
  for (const std::string& l : Lines(status)) {
    size_t colon = l.find(':');
    if (colon == std::string::npos) continue;
    std::string name = l.substr(0, colon);
    if (!kProcessFields.count(name)) continue;
    size_t b = l.find_first_not_of(" \t", colon + 1);
    v->entries[prefix + "status " + name] = b == std::string::npos ? "" : l.substr(b);
  }
}

void CaptureThreads(const std::string& proc, const std::string& prefix, OutsideView* v) {
  for (pid_t tid : ListInts(proc + "/task")) {
    const std::string task = proc + "/task/" + std::to_string(tid);
    std::string comm, status, stat;
    ReadFile(task + "/comm", &comm);
    ReadFile(task + "/stat", &stat);
    ReadFile(task + "/status", &status);
    if (!comm.empty() && comm.back() == '\n') comm.pop_back();
    std::string value = "comm=" + Escape(comm) + " state=" + NormalState(Field(StatFields(stat), 3));
    for (const std::string& l : Lines(status)) {
      if (l.rfind("SigBlk:", 0) == 0 || l.rfind("SigPnd:", 0) == 0)
        value += " " + l.substr(0, 6) + "=" + l.substr(l.find_first_not_of(" \t", 7));
    }
    v->entries[prefix + "task " + std::to_string(tid)] = value;
  }
}

void CaptureProcess(pid_t pid, OutsideView* v) {
  const std::string proc = "/proc/" + std::to_string(pid);
  const std::string prefix = std::to_string(pid) + " ";
  std::string stat, text;
  ReadFile(proc + "/stat", &stat);
  std::vector<std::string> f = StatFields(stat);
  // The root's parent is this runner (its subreaper), which is another process in a
  // --restore-from run: name it by role, not by pid.
  std::string ppid = Field(f, 4);
  if (ppid == std::to_string(getpid())) ppid = "zdtm-run";
  v->entries[prefix + "tree"] = "ppid=" + ppid + " pgid=" + Field(f, 5) + " sid=" + Field(f, 6) +
                                " state=" + NormalState(Field(f, 3));
  if (Field(f, 3) == "Z") {
    v->entries[prefix + "exit_code"] = Field(f, 52);
    return;  // a zombie has no mm, files or creds left to look at
  }
  // mm boundaries: code, stack start, data, brk start, argument and environment areas.
  v->entries[prefix + "mm"] = "code=" + Field(f, 26) + "-" + Field(f, 27) + " stack=" + Field(f, 28) +
                              " data=" + Field(f, 45) + "-" + Field(f, 46) + " brk=" + Field(f, 47) +
                              " arg=" + Field(f, 48) + "-" + Field(f, 49) + " env=" + Field(f, 50) + "-" +
                              Field(f, 51);
  v->entries[prefix + "cwd"] = Link(proc + "/cwd");
  v->entries[prefix + "root"] = Link(proc + "/root");
  v->entries[prefix + "exe"] = Link(proc + "/exe");
  if (ReadFile(proc + "/cmdline", &text)) v->entries[prefix + "cmdline"] = Escape(text);
  if (ReadFile(proc + "/environ", &text)) v->entries[prefix + "environ"] = Escape(text);
  if (ReadFile(proc + "/personality", &text)) v->entries[prefix + "personality"] = Lines(text).empty() ? "" : Lines(text)[0];
  if (ReadFile(proc + "/auxv", &text)) {
    std::string hex;
    for (unsigned char c : text) {
      char b[3];
      std::snprintf(b, sizeof(b), "%02x", c);
      hex += b;
    }
    v->entries[prefix + "auxv"] = hex;
  }
  if (ReadFile(proc + "/limits", &text)) {
    for (const std::string& l : Lines(text)) {
      if (l.rfind("Limit", 0) == 0 || l.size() < 26) continue;
      std::string name = l.substr(0, 25);
      name.erase(name.find_last_not_of(' ') + 1);
      std::istringstream in(l.substr(25));
      std::string soft, hard;
      in >> soft >> hard;
      v->entries[prefix + "limit " + name] = soft + " " + hard;
    }
  }
  CaptureStatus(proc, prefix, v);
  CaptureThreads(proc, prefix, v);
  CaptureMaps(proc, prefix, v);
  CaptureFds(proc, prefix, v);
}

void WalkTree(pid_t pid, OutsideView* v, int depth) {
  if (depth > 64 || std::find(v->pids.begin(), v->pids.end(), pid) != v->pids.end()) return;
  v->pids.push_back(pid);
  const std::string task_dir = "/proc/" + std::to_string(pid) + "/task";
  std::vector<pid_t> children;
  for (pid_t tid : ListInts(task_dir)) {
    std::string text;
    if (!ReadFile(task_dir + "/" + std::to_string(tid) + "/children", &text)) continue;
    std::istringstream in(text);
    pid_t c;
    while (in >> c) children.push_back(c);
  }
  std::sort(children.begin(), children.end());
  for (pid_t c : children) WalkTree(c, v, depth + 1);
}

bool IsVdsoEntry(const std::string& key, const std::string& value) {
  if (key.find(" auxv") != std::string::npos) return true;  // AT_SYSINFO_EHDR, AT_HWCAP*, ...
  // [vsyscall] is the kernel's, not the process's: present or not per kernel config and the
  // vsyscall= boot option (Debian's cloud kernels have none, this host has xonly).
  return key.find(" map ") != std::string::npos &&
         (value.find("[vdso]") != std::string::npos || value.find("[vvar") != std::string::npos ||
          value.find("[vsyscall]") != std::string::npos);
}

// "map" entries are "start-end perms offset dev ino path [flags]": masks dev and ino of a file.
std::string WithoutFileIdentity(const std::string& key, const std::string& value) {
  if (key.find("map ") == std::string::npos) return value;
  size_t at = 0;
  for (int field = 0; field < 3 && at != std::string::npos; ++field) at = value.find(' ', at + 1);
  if (at == std::string::npos) return value;
  size_t ino_end = value.find(' ', value.find(' ', at + 1) + 1);
  if (ino_end == std::string::npos) ino_end = value.size();
  const std::string dev_ino = value.substr(at + 1, ino_end - at - 1);
  if (dev_ino == "00:00 0") return value;  // anonymous memory has no identity to lose
  return value.substr(0, at + 1) + "*:* *" + value.substr(ino_end);
}

}  // namespace

bool CaptureOutsideView(pid_t root, OutsideView* view, std::string* error) {
  view->entries.clear();
  view->pids.clear();
  if (access(("/proc/" + std::to_string(root) + "/stat").c_str(), R_OK) != 0) {
    *error = "process " + std::to_string(root) + " is gone";
    return false;
  }
  WalkTree(root, view, 0);
  // Sorted: the walk follows /proc's children lists, whose order is creation order, and a
  // restore may create siblings in another order without changing the tree.
  std::vector<pid_t> sorted = view->pids;
  std::sort(sorted.begin(), sorted.end());
  std::string pids;
  for (pid_t p : sorted) pids += (pids.empty() ? "" : " ") + std::to_string(p);
  view->entries["pids"] = pids;
  for (pid_t p : view->pids) CaptureProcess(p, view);
  return true;
}

std::vector<std::string> CompareOutsideViews(const OutsideView& before, const OutsideView& after,
                                             const CompareOptions& options) {
  std::vector<std::string> diffs;
  auto skip = [&](const std::string& k, const std::string& v) { return options.ignore_vdso && IsVdsoEntry(k, v); };
  auto same = [&](const std::string& k, const std::string& a, const std::string& b) {
    return a == b || (options.files_copied && WithoutFileIdentity(k, a) == WithoutFileIdentity(k, b));
  };
  for (const auto& [k, v] : before.entries) {
    if (skip(k, v)) continue;
    auto it = after.entries.find(k);
    if (it == after.entries.end()) diffs.push_back(k + ": gone (was '" + v + "')");
    else if (!same(k, v, it->second)) diffs.push_back(k + ": before '" + v + "' after '" + it->second + "'");
  }
  for (const auto& [k, v] : after.entries) {
    if (skip(k, v)) continue;
    if (!before.entries.count(k)) diffs.push_back(k + ": new ('" + v + "')");
  }
  return diffs;
}

std::string SerializeOutsideView(const OutsideView& view) {
  std::string out;
  for (const auto& [k, v] : view.entries) out += k + "\t" + v + "\n";
  return out;
}

bool ParseOutsideView(const std::string& text, OutsideView* view) {
  view->entries.clear();
  view->pids.clear();
  for (const std::string& l : Lines(text)) {
    size_t tab = l.find('\t');
    if (tab == std::string::npos) return false;
    view->entries[l.substr(0, tab)] = l.substr(tab + 1);
  }
  auto it = view->entries.find("pids");
  if (it == view->entries.end()) return false;
  std::istringstream in(it->second);
  pid_t p;
  while (in >> p) view->pids.push_back(p);
  return !view->pids.empty();
}

}  // namespace zdtm::runner
