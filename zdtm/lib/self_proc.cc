#include "zdtm/lib/self_proc.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <sstream>

namespace zdtm {

std::optional<std::string> ReadWholeFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0) {
      close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

std::optional<MapEntry> FindMapping(const void* addr) {
  auto smaps = ReadWholeFile("/proc/self/smaps");
  if (!smaps) return std::nullopt;
  const unsigned long a = reinterpret_cast<unsigned long>(addr);
  std::istringstream in(*smaps);
  std::string line;
  std::optional<MapEntry> found;
  while (std::getline(in, line)) {
    unsigned long s, e, off;
    char perms[8];
    int path_at = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx %7s %lx %*s %*s %n", &s, &e, perms, &off, &path_at) >= 4 &&
        line.find('-') < line.find(' ')) {
      if (found) return found;  // the VmFlags line of the found entry came already
      if (a >= s && a < e) {
        found = MapEntry{s, e, perms, off, path_at > 0 ? line.substr(path_at) : "", ""};
      }
      continue;
    }
    if (found && line.rfind("VmFlags:", 0) == 0) {
      found->vm_flags = line.substr(8);
      return found;
    }
  }
  return found;
}

bool HasVmFlag(const MapEntry& m, const char* flag) {
  std::istringstream in(m.vm_flags);
  std::string f;
  while (in >> f)
    if (f == flag) return true;
  return false;
}

namespace {

ino_t PidNsInode(const std::string& proc_dir) {
  struct stat st {};
  return stat((proc_dir + "/ns/pid").c_str(), &st) == 0 ? st.st_ino : 0;
}

long InnermostNsPid(const std::string& status) {
  size_t at = status.find("\nNSpid:");
  if (at == std::string::npos) return -1;
  std::istringstream in(status.substr(at + 8, status.find('\n', at + 8) - at - 8));
  long id = -1, v;
  while (in >> v) id = v;
  return id;
}

}  // namespace

std::string ProcDirOf(pid_t id, const std::string& dir) {
  const std::string direct = dir + "/" + std::to_string(id);
  const ino_t ours = PidNsInode("/proc/self");
  if (ours == PidNsInode("/proc/1")) return direct;   // /proc speaks our pids
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return direct;
  std::string found = direct;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    const std::string entry = dir + "/" + e->d_name;
    auto status = ReadWholeFile(entry + "/status");
    if (status && InnermostNsPid(*status) == id && PidNsInode(entry) == ours) {
      found = entry;
      break;
    }
  }
  closedir(d);
  return found;
}

std::optional<std::string> StatField(pid_t pid, int field) {
  auto stat = ReadWholeFile(ProcDirOf(pid) + "/stat");
  if (!stat) return std::nullopt;
  size_t close_paren = stat->rfind(')');
  if (close_paren == std::string::npos) return std::nullopt;
  std::istringstream in(stat->substr(close_paren + 2));
  std::string v;
  for (int i = 3; i <= field; ++i)
    if (!(in >> v)) return std::nullopt;
  return v;
}

}  // namespace zdtm

#include <sys/syscall.h>

#include <cstdlib>
#include <ctime>

namespace zdtm {

pid_t Gettid() { return static_cast<pid_t>(syscall(SYS_gettid)); }

bool WaitUntilInSyscall(pid_t tid, long nr, int timeout_ms) {
  const std::string task = ProcDirOf(tid, "/proc/self/task");
  const std::string path = task + "/syscall";
  const std::string state_path = task + "/stat";
  for (int waited = 0; waited < timeout_ms; waited += 2) {
    auto text = ReadWholeFile(path);
    auto stat = ReadWholeFile(state_path);
    if (text && stat) {
      size_t paren = stat->rfind(')');
      char state = paren != std::string::npos && paren + 2 < stat->size() ? (*stat)[paren + 2] : '?';
      if (state == 'S' && std::strtol(text->c_str(), nullptr, 10) == nr) return true;
    }
    struct timespec ts = {0, 2 * 1000 * 1000};
    nanosleep(&ts, nullptr);
  }
  return false;
}

}  // namespace zdtm
