#include "zdtm/runner/options.h"

#include <getopt.h>
#include <unistd.h>

#include <climits>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "zdtm/runner/ns_flavor.h"

namespace zdtm::runner {
namespace {

constexpr const char kUsage[] =
    "usage: zdtm-run [--stasis PATH] [--tests-dir DIR] [--work-dir DIR] [--iters N]\n"
    "                [--flavor h|ns|\"h ns\"] [--junit FILE] [--shard i/n] [--list] [--no-cr]\n"
    "                [--kernel NAME] [--dump-to DIR] [--restore-from DIR] [--caps HEX] [-v] [TEST...]\n"
    "  --shard i/n       run every n-th test starting at index i (0 <= i < n)\n"
    "  --flavor LIST     h (host), ns (new pid/net/ipc/uts namespaces) or both, e.g. \"h ns\"\n"
    "  --no-cr           run the tests without dump/restore (checks the tests themselves)\n"
    "  --dump-to DIR     start and dump each test; DIR/<test>/ gets images, work dir, outside view\n"
    "  --restore-from DIR  restore each test dumped with --dump-to DIR (same absolute path), check\n"
    "  --kernel NAME     kernel name matched by known-fail globs (default: host)\n"
    "  --caps HEX        keep only these capabilities (bounding and all sets) for the runner, the\n"
    "                    engine and the tests: the set of the machine the images will go to\n";

enum LongOnly { kStasis = 1000, kTestsDir, kWorkDir, kIters, kFlavor, kJunit, kShard, kList,
                kNoCr, kKernel, kDumpTo, kRestoreFrom, kCaps, kHelp };

std::string RunnerDir() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return ".";
  std::string exe(buf, static_cast<size_t>(n));
  size_t slash = exe.rfind('/');
  return slash == std::string::npos ? "." : exe.substr(0, slash);
}

bool ParseInt(const char* text, int min, int max, int* out) {
  char* end = nullptr;
  long v = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || v < min || v > max) return false;
  *out = static_cast<int>(v);
  return true;
}

bool ParseShard(const std::string& text, int* index, int* count) {
  size_t slash = text.find('/');
  if (slash == std::string::npos) return false;
  std::string i = text.substr(0, slash), n = text.substr(slash + 1);
  return ParseInt(i.c_str(), 0, 100000, index) && ParseInt(n.c_str(), 1, 100000, count) &&
         *index < *count;
}

std::optional<RunnerOptions> Bad(const std::string& why, int* exit_code) {
  std::fprintf(stderr, "zdtm-run: %s\n%s", why.c_str(), kUsage);
  *exit_code = 2;
  return std::nullopt;
}

}  // namespace

std::optional<RunnerOptions> ParseOptions(int argc, char** argv, int* exit_code) {
  static const option kOptions[] = {
      {"stasis", required_argument, nullptr, kStasis},
      {"tests-dir", required_argument, nullptr, kTestsDir},
      {"work-dir", required_argument, nullptr, kWorkDir},
      {"iters", required_argument, nullptr, kIters},
      {"flavor", required_argument, nullptr, kFlavor},
      {"junit", required_argument, nullptr, kJunit},
      {"shard", required_argument, nullptr, kShard},
      {"list", no_argument, nullptr, kList},
      {"no-cr", no_argument, nullptr, kNoCr},
      {"kernel", required_argument, nullptr, kKernel},
      {"dump-to", required_argument, nullptr, kDumpTo},
      {"restore-from", required_argument, nullptr, kRestoreFrom},
      {"caps", required_argument, nullptr, kCaps},
      {"verbose", no_argument, nullptr, 'v'},
      {"help", no_argument, nullptr, kHelp},
      {nullptr, 0, nullptr, 0},
  };
  RunnerOptions o;
  const std::string dir = RunnerDir();
  o.stasis = dir + "/../stasis";
  o.tests_dir = dir + "/static";
  o.work_dir = dir + "/work";
  o.kernel = "host";
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, "v", kOptions, nullptr)) != -1) {
    switch (c) {
      case kStasis: o.stasis = optarg; break;
      case kTestsDir: o.tests_dir = optarg; break;
      case kWorkDir: o.work_dir = optarg; break;
      case kIters:
        if (!ParseInt(optarg, 1, 1000, &o.iters)) return Bad("--iters needs 1..1000", exit_code);
        break;
      case kFlavor: o.flavor = optarg; break;
      case kJunit: o.junit = optarg; break;
      case kShard:
        if (!ParseShard(optarg, &o.shard_index, &o.shard_count))
          return Bad(std::string("--shard needs i/n with 0 <= i < n, got '") + optarg + "'", exit_code);
        break;
      case kList: o.list = true; break;
      case kNoCr: o.no_cr = true; break;
      case kKernel: o.kernel = optarg; break;
      case kDumpTo: o.dump_to = optarg; break;
      case kRestoreFrom: o.restore_from = optarg; break;
      case kCaps: {
        char* end = nullptr;
        errno = 0;
        o.caps = std::strtoull(optarg, &end, 16);
        if (errno != 0 || end == optarg || *end != '\0') return Bad(std::string("--caps needs a hex mask, got '") + optarg + "'", exit_code);
        o.limit_caps = true;
        break;
      }
      case 'v': o.verbose = true; break;
      case kHelp:
        std::fputs(kUsage, stdout);
        *exit_code = 0;
        return std::nullopt;
      default: return Bad("bad option", exit_code);
    }
  }
  for (int i = optind; i < argc; ++i) o.tests.push_back(argv[i]);
  std::string flavor_error;
  if (!ParseFlavorList(o.flavor, &o.flavors, &flavor_error)) return Bad(flavor_error, exit_code);
  o.flavor = o.flavors.front();
  if (o.flavors.size() > 1 && (!o.dump_to.empty() || !o.restore_from.empty()))
    return Bad("--dump-to/--restore-from take one flavor at a time", exit_code);
  int modes = !o.dump_to.empty() + !o.restore_from.empty() + o.no_cr;
  if (modes > 1) return Bad("--no-cr, --dump-to and --restore-from exclude each other", exit_code);
  if (o.iters != 1 && (!o.dump_to.empty() || !o.restore_from.empty()))
    return Bad("--iters does not combine with --dump-to/--restore-from", exit_code);
  for (std::string* d : {&o.dump_to, &o.restore_from, &o.work_dir, &o.stasis, &o.tests_dir, &o.junit}) {
    if (!d->empty() && (*d)[0] != '/') {
      char cwd[PATH_MAX];
      if (getcwd(cwd, sizeof(cwd))) *d = std::string(cwd) + "/" + *d;
    }
  }
  return o;
}

}  // namespace zdtm::runner
