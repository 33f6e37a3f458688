#include "engine/cli/commands.h"

#include <getopt.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "engine/check/check.h"
#include "engine/common/printable.h"
#include "engine/common/log.h"
#include "engine/dump/dump.h"
#include "engine/images/show.h"
#include "engine/restore/restore.h"

namespace stasis::cli {
namespace {

constexpr const char kUsage[] =
    "usage: stasis <command> [options]\n"
    "  check [--all] [--json] [--no-cache]\n"
    "  dump -t PID -D DIR [-R|--leave-running] [-j|--shell-job] [--tcp-established] [--file-locks] [-o LOG] [-v N]\n"
    "  restore -D DIR [-d|--restore-detached] [--pidfile F] [-j|--shell-job] [--tcp-established] [--file-locks] [-o LOG] [-v N]\n"
    "  show DIR|FILE [--json]\n";

// Options shared by every verb; each verb reads the ones it knows.
struct ParsedArgs {
  long pid = 0;
  std::string images_dir;
  std::string log_file;
  std::string pidfile;
  int verbosity = 2;
  bool leave_running = false;
  bool shell_job = false;
  bool detached = false;
  bool all = false;
  bool json = false;
  bool no_cache = false;
  bool tcp_established = false;
  bool file_locks = false;
  std::string positional;
};

enum LongOnly { kPidfile = 1000, kAll, kJson, kNoCache, kTcpEstablished, kFileLocks };

bool Parse(int argc, char** argv, ParsedArgs* out) {
  static const option kOptions[] = {
      {"tree", required_argument, nullptr, 't'},
      {"images-dir", required_argument, nullptr, 'D'},
      {"log-file", required_argument, nullptr, 'o'},
      {"verbosity", optional_argument, nullptr, 'v'},
      {"leave-running", no_argument, nullptr, 'R'},
      {"shell-job", no_argument, nullptr, 'j'},
      {"restore-detached", no_argument, nullptr, 'd'},
      {"pidfile", required_argument, nullptr, kPidfile},
      {"all", no_argument, nullptr, kAll},
      {"json", no_argument, nullptr, kJson},
      {"no-cache", no_argument, nullptr, kNoCache},
      {"tcp-established", no_argument, nullptr, kTcpEstablished},
      {"file-locks", no_argument, nullptr, kFileLocks},
      {nullptr, 0, nullptr, 0},
  };
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, "t:D:o:v::Rjd", kOptions, nullptr)) != -1) {
    switch (c) {
      case 't': {
        char* end = nullptr;
        out->pid = std::strtol(optarg, &end, 10);
        if (*end != '\0' || out->pid <= 0) {
          std::fprintf(stderr, "stasis: -t needs a pid, got '%s'\n", optarg);
          return false;
        }
        break;
      }
      case 'D': out->images_dir = optarg; break;
      case 'o': out->log_file = optarg; break;
      case 'v': out->verbosity = optarg ? std::atoi(optarg) : out->verbosity + 1; break;
      case 'R': out->leave_running = true; break;
      case 'j': out->shell_job = true; break;
      case 'd': out->detached = true; break;
      case kPidfile: out->pidfile = optarg; break;
      case kAll: out->all = true; break;
      case kJson: out->json = true; break;
      case kNoCache: out->no_cache = true; break;
      case kTcpEstablished: out->tcp_established = true; break;
      case kFileLocks: out->file_locks = true; break;
      default: return false;
    }
  }
  if (optind < argc) out->positional = argv[optind++];
  if (optind < argc) {
    std::fprintf(stderr, "stasis: unexpected argument '%s'\n", argv[optind]);
    return false;
  }
  return true;
}

// -o is relative to the images dir, as in CRIU.
bool SetUpLog(Logger& log, const ParsedArgs& a) {
  if (a.log_file.empty()) return true;
  std::string path = a.log_file;
  if (path[0] != '/' && !a.images_dir.empty()) path = a.images_dir + "/" + path;
  // dump creates its images dir (0700) if missing; the log inside it must not fail first.
  if (a.pid != 0 && !a.images_dir.empty()) (void)::mkdir(a.images_dir.c_str(), 0700);
  if (!log.OpenFile(path)) {
    std::fprintf(stderr, "stasis: cannot open log file %s: %s\n", path.c_str(), std::strerror(errno));
    return false;
  }
  return true;
}

int Fail(const char* verb, const Error& e) {
  // Messages may quote untrusted names from images: keep the promise of one line.
  std::fprintf(stderr, "%s: %s\n", verb, Printable(e.message(), 4096).c_str());
  return 1;
}

int RunDump(const ParsedArgs& a, Logger& log) {
  if (a.pid == 0 || a.images_dir.empty()) {
    std::fputs("dump: -t PID and -D DIR are required\n", stderr);
    return 2;
  }
  dump::DumpOptions o;
  o.pid = static_cast<pid_t>(a.pid);
  o.images_dir = a.images_dir;
  o.leave_running = a.leave_running;
  o.shell_job = a.shell_job;
  o.tcp_established = a.tcp_established;
  o.file_locks = a.file_locks;
  dump::DumpStats stats;
  Status s = dump::Dump(o, log, &stats);
  if (!s.ok()) {
    if (!a.log_file.empty()) log.Error("%s", s.error().message().c_str());
    return Fail("dump", s.error());
  }
  log.Info("dump: frozen %.3f s, %llu pages written, %llu zero pages skipped", stats.frozen_seconds,
           static_cast<unsigned long long>(stats.pages_written),
           static_cast<unsigned long long>(stats.zero_pages_skipped));
  return 0;
}

int RunRestore(const ParsedArgs& a, Logger& log) {
  if (a.images_dir.empty()) {
    std::fputs("restore: -D DIR is required\n", stderr);
    return 2;
  }
  restore::RestoreOptions o;
  o.images_dir = a.images_dir;
  o.detached = a.detached;
  o.shell_job = a.shell_job;
  o.tcp_established = a.tcp_established;
  o.file_locks = a.file_locks;
  o.pidfile = a.pidfile;
  int exit_status = 0;
  restore::RestoreStats stats;
  Status s = restore::Restore(o, log, &exit_status, &stats);
  if (!s.ok()) {
    if (!a.log_file.empty()) log.Error("%s", s.error().message().c_str());
    return Fail("restore", s.error());
  }
  log.Info("restore: %.3f s", stats.seconds);
  if (a.detached) return 0;
  if (WIFEXITED(exit_status)) return WEXITSTATUS(exit_status);
  if (WIFSIGNALED(exit_status)) return 128 + WTERMSIG(exit_status);
  return 0;
}

}  // namespace

int Main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::string verb = argv[1];
  ParsedArgs a;
  if (!Parse(argc - 1, argv + 1, &a)) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  Logger log(a.verbosity);
  if (!SetUpLog(log, a)) return 1;

  if (verb == "check") {
    check::CheckOptions o;
    o.all = a.all;
    o.json = a.json;
    o.no_cache = a.no_cache;
    return check::RunCheck(o);
  }
  if (verb == "show") {
    images::ShowOptions o;
    o.path = !a.positional.empty() ? a.positional : a.images_dir;
    o.json = a.json;
    if (o.path.empty()) {
      std::fputs("show: give an images directory or an image file\n", stderr);
      return 2;
    }
    return images::RunShow(o);
  }
  if (verb == "dump") return RunDump(a, log);
  if (verb == "restore") return RunRestore(a, log);
  std::fprintf(stderr, "stasis: unknown command '%s'\n%s", verb.c_str(), kUsage);
  return 2;
}

}  // namespace stasis::cli
