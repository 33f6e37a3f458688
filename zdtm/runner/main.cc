// zdtm-run: runs zdtm tests through dump and restore and reports what survived.
#include <sys/prctl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>

#include "zdtm/runner/caps.h"
#include "zdtm/runner/catalog.h"
#include "zdtm/runner/driver.h"
#include "zdtm/runner/features.h"
#include "zdtm/runner/ns_flavor.h"
#include "zdtm/runner/options.h"
#include "zdtm/runner/process.h"
#include "zdtm/runner/report.h"

namespace zdtm::runner {
namespace {

bool SelectTests(const RunnerOptions& o, std::vector<TestSpec> all, std::vector<TestSpec>* out) {
  if (!o.tests.empty()) {
    std::vector<TestSpec> chosen;
    for (const std::string& name : o.tests) {
      auto it = std::find_if(all.begin(), all.end(), [&](const TestSpec& t) { return t.name == name; });
      if (it == all.end()) {
        std::fprintf(stderr, "zdtm-run: no test named '%s' in %s (see --list)\n", name.c_str(), o.tests_dir.c_str());
        return false;
      }
      chosen.push_back(*it);
    }
    all = std::move(chosen);
    std::sort(all.begin(), all.end(), [](const TestSpec& a, const TestSpec& b) { return a.name < b.name; });
  }
  out->clear();
  for (size_t i = 0; i < all.size(); ++i)
    if (static_cast<int>(i % o.shard_count) == o.shard_index) out->push_back(all[i]);
  return true;
}

void List(const std::vector<TestSpec>& tests) {
  for (const TestSpec& t : tests) {
    std::string extra;
    if (t.needs_root) extra += " needs=root";
    for (const std::string& f : t.features) extra += " feature=" + f;
    for (const KnownFailure& k : t.known_failures) extra += " known-fail=" + k.kernel_glob;
    std::printf("%s%s\n", t.name.c_str(), extra.c_str());
  }
}

int Main(int argc, char** argv) {
  int exit_code = 2;
  std::optional<RunnerOptions> options = ParseOptions(argc, argv, &exit_code);
  if (!options) return exit_code;
  const RunnerOptions& o = *options;
  if (o.limit_caps) {
    std::string caps_error;
    if (!LimitCapabilities(o.caps, &caps_error)) {
      std::fprintf(stderr, "zdtm-run: --caps: %s\n", caps_error.c_str());
      return 2;
    }
  }

  std::vector<TestSpec> catalog, tests;
  std::string error;
  if (!LoadCatalog(o.tests_dir, &catalog, &error)) {
    std::fprintf(stderr, "zdtm-run: %s\n", error.c_str());
    return 2;
  }
  if (!SelectTests(o, catalog, &tests)) return 2;
  if (o.list) {
    List(tests);
    return 0;
  }
  bool needs_stasis = !o.no_cr;
  if (needs_stasis && access(o.stasis.c_str(), X_OK) != 0) {
    std::fprintf(stderr, "zdtm-run: no stasis binary at %s (build it, or pass --stasis PATH)\n", o.stasis.c_str());
    return 2;
  }
  // Every orphan of a test, and every tree `stasis restore -d` leaves, becomes our child.
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
    std::perror("zdtm-run: PR_SET_CHILD_SUBREAPER");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  InstallInterruptHandlers();

  KernelFeatures features;
  if (needs_stasis) {
    features = ProbeFeatures(o.stasis);
    if (!features.probed) std::fprintf(stderr, "zdtm-run: warning: %s\n", features.error.c_str());
  }
  struct utsname u;
  uname(&u);
  RunContext ctx;
  ctx.options = &o;
  ctx.features = &features;
  ctx.kernel_release = u.release;
  ctx.is_root = geteuid() == 0;

  const char* mode = o.no_cr ? "no C/R" : !o.dump_to.empty() ? "dump only" : !o.restore_from.empty() ? "restore only" : "dump+restore";
  std::string flavors;
  for (const std::string& f : o.flavors) flavors += (flavors.empty() ? "" : "+") + f;
  std::printf("zdtm-run: %zu tests, flavor %s, %s, iters %d, kernel %s (%s)\n", tests.size(), flavors.c_str(),
              mode, o.iters, o.kernel.c_str(), u.release);
  std::fflush(stdout);
  Report report(o.verbose);
  for (const std::string& flavor : o.flavors) {
    // Each flavor is a pass over the tests with its own options; ns runs work in <work>/ns and
    // report as ns/<test>.
    RunnerOptions pass = o;
    pass.flavor = flavor;
    if (flavor != kFlavorHost) pass.work_dir = o.work_dir + "/" + flavor;
    ctx.options = &pass;
    for (const TestSpec& t : tests) {
      if (Interrupted()) break;
      TestResult r = RunTest(ctx, t);
      if (flavor != kFlavorHost) r.name = flavor + "/" + r.name;
      report.Add(std::move(r));
    }
  }
  ctx.options = &o;
  if (Interrupted()) std::printf("zdtm-run: interrupted; the remaining tests did not run\n");
  if (!o.junit.empty() && !report.WriteJunit(o.junit, "zdtm." + flavors + "." + o.kernel, &error))
    std::fprintf(stderr, "zdtm-run: %s\n", error.c_str());
  report.PrintSummary();
  return Interrupted() ? 130 : report.ExitCode();
}

}  // namespace
}  // namespace zdtm::runner

int main(int argc, char** argv) { return zdtm::runner::Main(argc, argv); }
