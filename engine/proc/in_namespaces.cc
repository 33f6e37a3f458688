#include "engine/proc/in_namespaces.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "engine/common/fd.h"

namespace stasis::proc {

Result<std::string> RunInNamespaces(pid_t pid, const std::vector<std::string>& names, ErrorKind error_kind,
                                    const std::function<Result<std::string>()>& work) {
  std::vector<UniqueFd> ns_fds;
  for (const std::string& name : names)
    ns_fds.push_back(STASIS_VALUE(OpenFile("/proc/" + std::to_string(pid) + "/ns/" + name, O_RDONLY | O_CLOEXEC)));
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return SysError("pipe for the namespace helper");
  UniqueFd reader(fds[0]), writer(fds[1]);
  const pid_t child = ::fork();
  if (child < 0) return SysError("fork the namespace helper");
  if (child == 0) {
    // The reply: 'O' and the work's bytes, or 'E' and one error message.
    reader.reset();
    std::string out;
    for (size_t i = 0; i < ns_fds.size() && out.empty(); ++i)
      if (::setns(ns_fds[i].get(), 0) != 0)
        out = "E" + SysError("setns into the " + names[i] + " namespace of pid " + std::to_string(pid)).message();
    if (out.empty()) {
      Result<std::string> r = work();
      out = r.ok() ? "O" + *r : "E" + r.error().message();
    }
    (void)WriteAll(writer.get(), out.data(), out.size(), "namespace helper pipe");
    ::_exit(0);
  }
  writer.reset();
  std::string got;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(reader.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (got.empty()) return Internal("the namespace helper died (wait status " + std::to_string(status) + ")");
  if (got[0] != 'O') return Error(error_kind, got.substr(1));
  return got.substr(1);
}

}  // namespace stasis::proc
