// The environment and the command line survive: /proc/self/cmdline and /proc/self/environ read
// the same bytes (including an argv[0] rewritten in place, as setproctitle does), getenv()
// finds both the exec-time variables and one added at run time.
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "zdtm/lib/self_proc.h"
#include "zdtm/lib/zdtm.h"

int main(int argc, char** argv) {
  // Re-exec once with an environment and arguments that are not plain ASCII words.
  if (!getenv("ZDTM_ENV00")) {
    std::vector<char*> args(argv, argv + argc);
    std::string extra = "--zdtm-extra=tab\there \x01 end";
    args.push_back(extra.data());
    args.push_back(nullptr);
    std::string e1 = "ZDTM_ENV00=value with spaces = and equals";
    std::string e2 = "EMPTY=";
    std::string e3 = "LONG=" + std::string(3000, 'x');
    // The runner's CPU baseline (GLIBC_TUNABLES masking CPU features, for a restore on a lesser
    // CPU) is the operator's, not the test's: it must outlive the re-exec like any inherited setting.
    // LD_BIND_NOW likewise (set for images that go from a guest to a host with a larger XSAVE area).
    std::vector<std::string> kept;
    for (const char* name : {"GLIBC_TUNABLES", "LD_BIND_NOW"})
      if (const char* v = getenv(name)) kept.push_back(std::string(name) + "=" + v);
    std::vector<char*> env = {e1.data(), e2.data(), e3.data()};
    for (std::string& k : kept) env.push_back(k.data());
    env.push_back(nullptr);
    execve("/proc/self/exe", args.data(), env.data());
    return 1;
  }
  auto t = zdtm::Test::Init(argc, argv);
  // Rewrite argv[0] in place: /proc/self/cmdline shows the process's own memory.
  std::memset(argv[0], 'Z', std::strlen(argv[0]) - 2);
  setenv("ADDED_AT_RUNTIME", "yes", 1);
  const auto cmdline = zdtm::ReadWholeFile("/proc/self/cmdline");
  const auto environ_text = zdtm::ReadWholeFile("/proc/self/environ");
  if (!cmdline || !environ_text || cmdline->find("tab\there") == std::string::npos) t.Fail("set-up: cmdline not as expected");

  t.Ready();
  t.WaitForTerm();

  auto now_cmdline = zdtm::ReadWholeFile("/proc/self/cmdline");
  auto now_environ = zdtm::ReadWholeFile("/proc/self/environ");
  if (!now_cmdline || *now_cmdline != *cmdline) t.Fail("/proc/self/cmdline changed");
  if (!now_environ || *now_environ != *environ_text) t.Fail("/proc/self/environ changed");
  const char* v = getenv("ZDTM_ENV00");
  if (!v || std::string(v) != "value with spaces = and equals") t.Fail("getenv(ZDTM_ENV00) is '%s'", v ? v : "(null)");
  if (!getenv("EMPTY") || *getenv("EMPTY")) t.Fail("getenv(EMPTY)");
  if (!getenv("LONG") || std::strlen(getenv("LONG")) != 3000) t.Fail("getenv(LONG)");
  if (!getenv("ADDED_AT_RUNTIME")) t.Fail("variable added at run time is gone");
  if (t.Option("zdtm-extra") != "tab\there \x01 end") t.Fail("argument changed");
  t.Pass();
}
