#include "zdtm/lib/children.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>

#include "zdtm/lib/self_proc.h"

namespace zdtm {
namespace {

std::string ReadyMarker(const Test& t, pid_t pid) {
  return t.pidfile() + ".ready." + std::to_string(pid);
}

void SleepMs(int ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, nullptr);
}

std::string DescribeStatus(int status) {
  if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("killed by ") + strsignal(WTERMSIG(status));
  return "status " + std::to_string(status);
}

}  // namespace

pid_t ForkChild(const std::function<int()>& body) {
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) _exit(body());
  return pid;
}

void MarkChildReady(const Test& t) {
  std::string marker = ReadyMarker(t, getpid());
  FILE* f = std::fopen(marker.c_str(), "we");
  if (!f) ChildFail("cannot create %s: %s", marker.c_str(), std::strerror(errno));
  std::fclose(f);
}

bool WaitChildReady(const Test& t, pid_t child, std::string* why, int timeout_ms) {
  std::string marker = ReadyMarker(t, child);
  for (int waited = 0; waited < timeout_ms; waited += 5) {
    struct stat st;
    if (stat(marker.c_str(), &st) == 0) {
      unlink(marker.c_str());
      return true;
    }
    int status;
    if (waitpid(child, &status, WNOHANG) == child) {
      *why = "child " + std::to_string(child) + " died during set-up: " + DescribeStatus(status);
      return false;
    }
    SleepMs(5);
  }
  *why = "child " + std::to_string(child) + " not ready after " + std::to_string(timeout_ms) + " ms";
  return false;
}

std::string TermAndReap(const std::vector<pid_t>& children) {
  std::string problems;
  for (pid_t c : children) kill(c, SIGTERM);
  for (pid_t c : children) {
    int status = 0;
    pid_t r;
    do r = waitpid(c, &status, 0);
    while (r < 0 && errno == EINTR);
    if (r != c) {
      problems += "waitpid(" + std::to_string(c) + "): " + std::strerror(errno) + "; ";
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      problems += "child " + std::to_string(c) + ": " + DescribeStatus(status) + "; ";
    }
  }
  return problems;
}

bool WaitForState(pid_t pid, char state, int timeout_ms) {
  for (int waited = 0; waited < timeout_ms; waited += 5) {
    auto s = StatField(pid, 3);
    if (s && !s->empty() && (*s)[0] == state) return true;
    SleepMs(5);
  }
  return false;
}

}  // namespace zdtm
