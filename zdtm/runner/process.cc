#include "zdtm/runner/process.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace zdtm::runner {
namespace {

// Set by the signal handler; nothing else can be touched from there.
volatile sig_atomic_t g_interrupted = 0;

void OnInterrupt(int) { g_interrupted = 1; }

void SleepMs(int ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, nullptr);
}

std::vector<char*> CStrings(const std::vector<std::string>& v) {
  std::vector<char*> out;
  for (const std::string& s : v) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

pid_t ParentOf(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return -1;
  std::istringstream in(stat.substr(paren + 2));
  std::string state;
  pid_t ppid = -1;
  in >> state >> ppid;
  return ppid;
}

}  // namespace

void InstallInterruptHandlers() {
  struct sigaction sa = {};
  sa.sa_handler = OnInterrupt;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &sa, nullptr);
}

bool Interrupted() { return g_interrupted != 0; }

double NowSeconds() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

pid_t Spawn(const SpawnSpec& spec, std::string* error) {
  if (spec.argv.empty()) {
    *error = "empty command";
    return -1;
  }
  // Everything the child needs is prepared before fork(): after it only async-signal-safe calls.
  std::vector<char*> argv = CStrings(spec.argv);
  std::vector<char*> envp = CStrings(spec.env);
  const std::string out = spec.output_path.empty() ? "/dev/null" : spec.output_path;
  int err_pipe[2];
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    *error = std::string("pipe2: ") + std::strerror(errno);
    return -1;
  }
  pid_t pid = fork();
  if (pid < 0) {
    *error = std::string("fork: ") + std::strerror(errno);
    close(err_pipe[0]);
    close(err_pipe[1]);
    return -1;
  }
  if (pid == 0) {
    // The test must start clean: default dispositions, empty mask, no fds of ours but 0-2.
    for (int sig = 1; sig < NSIG; ++sig) signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    int in = open("/dev/null", O_RDONLY);
    int o = open(out.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    int e = 0;
    if (in < 0 || o < 0) e = errno;
    if (!e && (dup2(in, 0) < 0 || dup2(o, 1) < 0 || dup2(o, 2) < 0)) e = errno;
    if (in > 2) close(in);
    if (o > 2) close(o);
    if (!e && !spec.cwd.empty() && chdir(spec.cwd.c_str()) != 0) e = errno;
    // Keep only the error pipe (close-on-exec) beyond stdio.
    for (int fd = 3; fd < err_pipe[1]; ++fd) close(fd);
    if (!e) close_range(static_cast<unsigned>(err_pipe[1]) + 1, ~0U, 0);
    if (!e) {
      if (spec.env.empty()) execv(argv[0], argv.data());
      else execve(argv[0], argv.data(), envp.data());
      e = errno;
    }
    (void)!write(err_pipe[1], &e, sizeof(e));
    _exit(127);
  }
  close(err_pipe[1]);
  int child_errno = 0;
  ssize_t n;
  do n = read(err_pipe[0], &child_errno, sizeof(child_errno));
  while (n < 0 && errno == EINTR);
  close(err_pipe[0]);
  if (n == sizeof(child_errno)) {
    int status;
    waitpid(pid, &status, 0);
    *error = "cannot start " + spec.argv[0] + ": " + std::strerror(child_errno);
    return -1;
  }
  return pid;
}

bool WaitExit(pid_t pid, double timeout_s, int* status) {
  const double deadline = NowSeconds() + timeout_s;
  int delay = 1;
  for (;;) {
    pid_t r = waitpid(pid, status, WNOHANG);
    if (r == pid) return true;
    if (r < 0 && errno == ECHILD && !ProcessExists(pid)) {
      *status = -1;
      return true;
    }
    if (NowSeconds() >= deadline || Interrupted()) return false;
    SleepMs(delay);
    if (delay < 20) delay *= 2;
  }
}

CommandResult RunCommand(const SpawnSpec& spec, double timeout_s) {
  CommandResult r;
  const double start = NowSeconds();
  pid_t pid = Spawn(spec, &r.error);
  if (pid < 0) return r;
  r.started = true;
  if (!WaitExit(pid, timeout_s, &r.status)) {
    r.timed_out = true;
    kill(pid, SIGKILL);
    WaitExit(pid, 10, &r.status);
  }
  r.seconds = NowSeconds() - start;
  return r;
}

CommandResult RunCapture(const std::vector<std::string>& argv, double timeout_s) {
  char path[] = "/tmp/zdtm-run-capture.XXXXXX";
  int fd = mkstemp(path);
  CommandResult r;
  if (fd < 0) {
    r.error = std::string("mkstemp: ") + std::strerror(errno);
    return r;
  }
  close(fd);
  SpawnSpec spec;
  spec.argv = argv;
  spec.output_path = path;
  r = RunCommand(spec, timeout_s);
  std::ifstream f(path);
  char buf[4096];
  while (f.read(buf, sizeof(buf)) || f.gcount() > 0) {
    r.output.append(buf, static_cast<size_t>(f.gcount()));
    if (r.output.size() > (1u << 20)) break;
  }
  unlink(path);
  return r;
}

std::string DescribeStatus(int status) {
  if (status == -1) return "exited (status unknown: not our child)";
  if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("killed by signal ") + strsignal(WTERMSIG(status));
  return "wait status " + std::to_string(status);
}

bool ProcessExists(pid_t pid) {
  return access(("/proc/" + std::to_string(pid)).c_str(), F_OK) == 0;
}

std::vector<pid_t> Descendants(pid_t ancestor) {
  std::map<pid_t, pid_t> parent;
  if (DIR* d = opendir("/proc")) {
    while (dirent* e = readdir(d)) {
      char* end = nullptr;
      long pid = std::strtol(e->d_name, &end, 10);
      if (*end != '\0' || pid <= 0) continue;
      pid_t pp = ParentOf(static_cast<pid_t>(pid));
      if (pp >= 0) parent[static_cast<pid_t>(pid)] = pp;
    }
    closedir(d);
  }
  std::vector<pid_t> out;
  for (const auto& [pid, pp] : parent) {
    pid_t p = pp;
    for (int depth = 0; p > 1 && depth < 4096; ++depth) {
      if (p == ancestor) {
        out.push_back(pid);
        break;
      }
      auto it = parent.find(p);
      if (it == parent.end()) break;
      p = it->second;
    }
  }
  return out;
}

void ReapExitedChildren() {
  int status;
  while (waitpid(-1, &status, WNOHANG) > 0) {
  }
}

bool WaitVanish(const std::vector<pid_t>& pids, double timeout_s) {
  const double deadline = NowSeconds() + timeout_s;
  for (;;) {
    ReapExitedChildren();
    bool any = false;
    for (pid_t p : pids) any = any || ProcessExists(p);
    if (!any) return true;
    if (NowSeconds() >= deadline) return false;
    SleepMs(5);
  }
}

std::vector<pid_t> KillAllDescendants() {
  std::vector<pid_t> found;
  std::set<pid_t> seen;
  // Repeat: a process may fork between our scan and our kill.
  for (int round = 0; round < 5; ++round) {
    ReapExitedChildren();
    std::vector<pid_t> now = Descendants(getpid());
    if (now.empty()) break;
    for (pid_t p : now) {
      kill(p, SIGKILL);
      if (seen.insert(p).second) found.push_back(p);
    }
    WaitVanish(now, 10);
  }
  return found;
}

}  // namespace zdtm::runner
