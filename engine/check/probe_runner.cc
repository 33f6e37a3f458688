#include "engine/check/probe_runner.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "engine/common/fd.h"

namespace stasis::check {
namespace {

void SetSlot(bool* reported, bool* available, char* detail, bool ok, const char* fmt,
             va_list ap) noexcept {
  std::vsnprintf(detail, kDetailMax, fmt, ap);
  *available = ok;
  *reported = true;
}

void SleepMicros(long us) noexcept {
  timespec ts{us / 1000000, (us % 1000000) * 1000};
  nanosleep(&ts, nullptr);
}

long NowMillis() noexcept {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace

void ProbeReport::Ok(Feature f, const char* fmt, ...) noexcept {
  Slot& s = slots_[Index(f)];
  va_list ap;
  va_start(ap, fmt);
  SetSlot(&s.reported, &s.available, s.detail, true, fmt, ap);
  va_end(ap);
}

void ProbeReport::Missing(Feature f, const char* fmt, ...) noexcept {
  Slot& s = slots_[Index(f)];
  va_list ap;
  va_start(ap, fmt);
  SetSlot(&s.reported, &s.available, s.detail, false, fmt, ap);
  va_end(ap);
}

void ProbeReport::MissingErrno(Feature f, int err, const char* what) noexcept {
  Missing(f, "%s: %s", what, strerrordesc_np(err) ? strerrordesc_np(err) : "unknown error");
}

ssize_t ReadSmallFile(const char* path, char* buf, size_t size) noexcept {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  size_t len = 0;
  while (len + 1 < size) {
    ssize_t n = read(fd, buf + len, size - 1 - len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      close(fd);
      return -e;
    }
    if (n == 0) break;
    len += static_cast<size_t>(n);
  }
  buf[len] = '\0';
  close(fd);
  return static_cast<ssize_t>(len);
}

int WriteSmallFile(const char* path, const char* text) noexcept {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  ssize_t len = static_cast<ssize_t>(std::strlen(text));
  ssize_t n = write(fd, text, static_cast<size_t>(len));
  int e = errno;
  close(fd);
  if (n < 0) return -e;
  return n == len ? 0 : -EIO;
}

int WaitChild(pid_t pid, int timeout_ms, bool* timed_out) noexcept {
  if (timed_out) *timed_out = false;
  const long deadline = NowMillis() + timeout_ms;
  long pause_us = 50;
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG | __WALL);
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) return -1;
    if (NowMillis() >= deadline) break;
    SleepMicros(pause_us);
    if (pause_us < 5000) pause_us *= 2;
  }
  kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, __WALL) < 0 && errno == EINTR) {
  }
  if (timed_out) *timed_out = true;
  return -1;
}

std::vector<FeatureProbe> RunProbeGroup(const ProbeGroup& group) {
  std::vector<FeatureProbe> out;
  out.reserve(group.features.size());
  auto fail_all = [&](const std::string& why) {
    for (Feature f : group.features)
      out.push_back({Spec(f).name, false, Spec(f).required, why});
    return out;
  };

  void* shared = mmap(nullptr, sizeof(ProbeReport), PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (shared == MAP_FAILED)
    return fail_all(std::string("probe group ") + group.name + ": mmap: " + std::strerror(errno));
  ScopedMapping mapping(shared, sizeof(ProbeReport));
  auto* report = new (shared) ProbeReport();

  std::fflush(nullptr);  // the child must not flush our buffered output a second time
  const ProbeBody body = group.body;
  pid_t pid = ForkHelper([body, report]() noexcept {
    body(*report);
    return 0;
  });
  if (pid < 0)
    return fail_all(std::string("probe group ") + group.name + ": fork: " + std::strerror(-pid));

  bool timed_out = false;
  int status = WaitChild(pid, group.timeout_ms, &timed_out);
  std::string why;
  if (timed_out) {
    why = std::string("probe timed out after ") + std::to_string(group.timeout_ms) + " ms";
  } else if (status < 0) {
    why = "probe child lost";
  } else if (WIFSIGNALED(status)) {
    why = std::string("probe crashed: ") + strsignal(WTERMSIG(status));
  } else {
    why = "probe did not report";
  }

  for (Feature f : group.features) {
    FeatureProbe p{Spec(f).name, false, Spec(f).required, why};
    if (report->reported(f)) {
      p.available = report->available(f);
      p.detail.assign(report->detail(f), strnlen(report->detail(f), kDetailMax));
    }
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace stasis::check
