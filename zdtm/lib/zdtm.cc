#include "zdtm/lib/zdtm.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pthread.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace zdtm {
namespace {

// Written by the SIGTERM handler; a signal handler can reach nothing else.
volatile sig_atomic_t g_term_requested = 0;

void OnTerm(int) { g_term_requested = 1; }

void VLogLine(const char* prefix, const char* fmt, va_list ap) {
  char line[2048];
  int n = std::snprintf(line, sizeof(line), "%s", prefix);
  if (n < 0) n = 0;
  int m = std::vsnprintf(line + n, sizeof(line) - n, fmt, ap);
  if (m < 0) m = 0;
  size_t len = std::min(sizeof(line) - 2, static_cast<size_t>(n + m));
  line[len++] = '\n';
  // One write per line: lines from several processes and threads do not interleave.
  (void)!write(STDERR_FILENO, line, len);
}

[[noreturn]] void Usage(const char* argv0, const char* why) {
  std::fprintf(stderr, "%s: %s\nusage: %s --pidfile=FILE --outfile=FILE [--key=value ...]\n",
               argv0, why, argv0);
  std::exit(2);
}

// The launching process: exit 0 once the daemon wrote the pidfile, non-zero if it died first.
[[noreturn]] void WaitUntilReady(pid_t child, const std::string& pidfile) {
  for (;;) {
    struct stat st;
    if (stat(pidfile.c_str(), &st) == 0) _exit(0);
    int status = 0;
    pid_t r = waitpid(child, &status, WNOHANG);
    if (r == child) {
      if (WIFEXITED(status)) _exit(WEXITSTATUS(status) ? WEXITSTATUS(status) : 1);
      _exit(128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0));
    }
    if (r < 0 && errno != EINTR) _exit(1);
    struct timespec ts = {0, 5 * 1000 * 1000};
    nanosleep(&ts, nullptr);
  }
}

}  // namespace

Test Test::Init(int argc, char** argv) {
  Test t;
  for (int i = 1; i < argc; ++i) {
    const char* a = argv[i];
    if (std::strncmp(a, "--", 2) != 0) Usage(argv[0], "options are --key=value");
    const char* eq = std::strchr(a, '=');
    std::string key = eq ? std::string(a + 2, eq) : std::string(a + 2);
    std::string value = eq ? std::string(eq + 1) : std::string("1");
    if (key == "pidfile") t.pidfile_ = value;
    else if (key == "outfile") t.outfile_ = value;
    else t.options_[key] = value;
  }
  if (t.pidfile_.empty() || t.outfile_.empty()) Usage(argv[0], "--pidfile and --outfile are required");

  int out = open(t.outfile_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
  if (out < 0) {
    std::fprintf(stderr, "%s: open %s: %s\n", argv[0], t.outfile_.c_str(), std::strerror(errno));
    std::exit(1);
  }
  if (dup2(out, STDOUT_FILENO) < 0 || dup2(out, STDERR_FILENO) < 0) {
    std::fprintf(stderr, "%s: dup2: %s\n", argv[0], std::strerror(errno));
    std::exit(1);
  }
  close(out);
  setvbuf(stdout, nullptr, _IOLBF, 0);

  struct sigaction sa = {};
  sa.sa_handler = OnTerm;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);

  pid_t child = fork();
  if (child < 0) {
    std::fprintf(stderr, "%s: fork: %s\n", argv[0], std::strerror(errno));
    std::exit(1);
  }
  if (child > 0) WaitUntilReady(child, t.pidfile_);
  if (setsid() < 0) {
    Log("setsid: %s", std::strerror(errno));
    std::exit(1);
  }
  return t;
}

void Test::Ready() {
  std::string tmp = pidfile_ + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "we");
  if (!f || std::fprintf(f, "%d\n", getpid()) < 0 || std::fclose(f) != 0 ||
      rename(tmp.c_str(), pidfile_.c_str()) != 0) {
    Fail("cannot write pidfile %s: %s", pidfile_.c_str(), std::strerror(errno));
  }
}

void Test::WaitForTerm() {
  // Polling instead of sigsuspend(): the test's own signal mask stays untouched, and a SIGTERM
  // that lands on any thread is seen within 50 ms.
  while (!g_term_requested) {
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, nullptr);
  }
}

bool Test::TermRequested() { return g_term_requested != 0; }

void Test::Pass() {
  std::fflush(stdout);
  (void)!write(STDOUT_FILENO, "PASS\n", 5);
  _exit(0);  // not exit(): the test's threads may still run; static destructors must not
}

void Test::Fail(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::fflush(stdout);
  VLogLine("FAIL: ", fmt, ap);
  va_end(ap);
  _exit(1);
}

std::string Test::Option(const std::string& key, const std::string& fallback) const {
  auto it = options_.find(key);
  return it == options_.end() ? fallback : it->second;
}

void Log(const char* fmt, ...) {
  char prefix[32];
  std::snprintf(prefix, sizeof(prefix), "%d: ", getpid());
  va_list ap;
  va_start(ap, fmt);
  VLogLine(prefix, fmt, ap);
  va_end(ap);
}

void ChildFail(const char* fmt, ...) {
  char prefix[48];
  std::snprintf(prefix, sizeof(prefix), "FAIL: (child %d) ", getpid());
  va_list ap;
  va_start(ap, fmt);
  VLogLine(prefix, fmt, ap);
  va_end(ap);
  _exit(1);
}

void BlockTermInThisThread() {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &s, nullptr);
}

}  // namespace zdtm
