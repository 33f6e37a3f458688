#include "zdtm/runner/driver.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "zdtm/runner/ns_flavor.h"
#include "zdtm/runner/process.h"
#include "zdtm/runner/snapshot.h"
#include "zdtm/runner/workdir.h"

namespace zdtm::runner {
namespace {

// The files of one test run, all under its work directory.
struct TestPaths {
  std::string work;     // the test's cwd; holds pidfile, outfile and logs
  std::string images;   // images of iteration i are images + "-" + i (or exactly images for --dump-to)
  std::string pidfile, outfile, launch_log;
};

TestPaths PathsFor(const RunContext& ctx, const TestSpec& spec) {
  const RunnerOptions& o = *ctx.options;
  TestPaths p;
  const std::string cross = !o.dump_to.empty() ? o.dump_to : o.restore_from;
  p.work = cross.empty() ? o.work_dir + "/" + spec.name : cross + "/" + spec.name + "/work";
  p.images = cross.empty() ? p.work + "/img" : cross + "/" + spec.name + "/images";
  p.pidfile = p.work + "/" + spec.name + ".pid";
  p.outfile = p.work + "/" + spec.name + ".out";
  p.launch_log = p.work + "/" + spec.name + ".launch.log";
  return p;
}

// Where --restore-from images were dumped, from their meta file.
struct DumpOrigin {
  KernelId kernel;
  std::string boot_id;                // /proc/sys/kernel/random/boot_id of the dumping machine
  std::vector<std::string> features;  // what `stasis check` found available there
};

std::string BootId() {
  std::ifstream f("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(f, id);
  return id;
}

bool InNs(const RunnerOptions& o) { return o.flavor == kFlavorNs; }

// The outside view; in the ns flavor with the ids inside the test's pid namespace.
bool CaptureView(const RunnerOptions& o, pid_t root, OutsideView* view, std::string* error) {
  if (!CaptureOutsideView(root, view, error)) return false;
  if (InNs(o)) ToNamespaceIds(view);
  return true;
}

// The state a run carries from step to step; Fail() records the first failure only.
class Run {
 public:
  Run(const RunContext& ctx, const TestSpec& spec) : ctx_(ctx), spec_(spec), paths_(PathsFor(ctx, spec)) {
    deadline_ = NowSeconds() + spec.timeout_s;
  }

  TestResult Execute();
  // Set once a --restore-from run has read its images' meta file.
  const DumpOrigin* origin() const { return origin_known_ ? &origin_ : nullptr; }

 private:
  void Fail(const std::string& reason) {
    if (failed_) return;
    failed_ = true;
    result_.reason = reason;
  }
  void AddDetails(const std::string& text) { result_.details += text; }
  double Remaining() const { return std::max(1.0, deadline_ - NowSeconds()); }

  bool Start();
  bool Dump(const std::string& images, int iter);
  bool Restore(const std::string& images, int iter);
  bool CheckOutside(int iter, const CompareOptions& compare);
  void TerminateAndCheck();
  void CleanUp();
  bool SaveForCrossKernel();
  bool LoadFromCrossKernel();
  // Images from another kernel or boot: what may legitimately differ in the outside view.
  CompareOptions CrossKernelCompare() const {
    CompareOptions c;
    c.ignore_vdso = origin_.kernel.release != ctx_.kernel_release;
    // Another boot cannot have the same files: the work dir travelled as a copy (new inodes,
    // maybe another device). Migration promises the same path and contents, not the same inode.
    c.files_copied = !origin_.boot_id.empty() && origin_.boot_id != BootId();
    return c;
  }
  int RunStasis(const std::vector<std::string>& args, const std::string& out, const std::string& log,
                const char* verb, int iter);

  const RunContext& ctx_;
  const TestSpec& spec_;
  TestPaths paths_;
  TestResult result_;
  bool failed_ = false;
  double deadline_ = 0;
  pid_t pid_ = -1;
  bool running_ = false;  // pid_ is a live test we must SIGTERM
  OutsideView before_;
  DumpOrigin origin_;  // --restore-from: where the images come from
  bool origin_known_ = false;
};

// --dump-to leaves DIR/<test>/{images,work,outside.txt,meta}; --restore-from picks them up,
// possibly on another kernel, with DIR at the same absolute path (open files name it).
bool Run::SaveForCrossKernel() {
  const std::string base = ctx_.options->dump_to + "/" + spec_.name;
  std::string error;
  std::string features;
  for (const auto& [name, available] : ctx_.features->available)
    if (available) features += (features.empty() ? "" : " ") + name;
  if (!WriteFile(base + "/outside.txt", SerializeOutsideView(before_), &error) ||
      !WriteFile(base + "/meta", "pid " + std::to_string(pid_) + "\nwork " + paths_.work + "\nrelease " +
                                     ctx_.kernel_release + "\nkernel " + ctx_.options->kernel + "\nboot " +
                                     (BootId().empty() ? "-" : BootId()) + "\nfeatures " +
                                     (features.empty() ? "-" : features) + "\n", &error)) {
    Fail(error);
    return false;
  }
  return true;
}

bool Run::LoadFromCrossKernel() {
  const std::string base = ctx_.options->restore_from + "/" + spec_.name;
  std::string meta, outside, error;
  if (!ReadSmallFile(base + "/meta", &meta, &error) || !ReadSmallFile(base + "/outside.txt", &outside, &error)) {
    Fail(error + " (was the test dumped with --dump-to?)");
    return false;
  }
  std::istringstream in(meta);
  std::string key, value, work;
  while (in >> key && std::getline(in >> std::ws, value)) {
    if (key == "pid") pid_ = static_cast<pid_t>(std::atol(value.c_str()));
    if (key == "work") work = value;
    if (key == "release") origin_.kernel.release = value;
    if (key == "kernel") origin_.kernel.name = value;
    if (key == "boot" && value != "-") origin_.boot_id = value;
    if (key == "features" && value != "-") {
      std::istringstream words(value);
      for (std::string w; words >> w;) origin_.features.push_back(w);
    }
  }
  if (pid_ <= 0 || work.empty() || !ParseOutsideView(outside, &before_)) {
    Fail(base + "/meta or outside.txt is malformed");
    return false;
  }
  origin_known_ = true;
  if (work != paths_.work) {
    Fail("images were dumped with work dir " + work + " but it is " + paths_.work +
         " here: make the dump directory available at the same absolute path");
    return false;
  }
  return true;
}

bool Run::Start() {
  std::string error;
  if (!ResetDirectory(paths_.work, &error)) {
    Fail(error);
    return false;
  }
  SpawnSpec s;
  s.argv = {spec_.binary, "--pidfile=" + paths_.pidfile, "--outfile=" + paths_.outfile};
  // ns: the dumped root is our init of the test's namespaces; its pid comes in a pidfile of its own.
  const std::string root_pidfile = InNs(*ctx_.options) ? paths_.pidfile + ".init" : paths_.pidfile;
  if (InNs(*ctx_.options)) s.argv = NsLaunchArgv(root_pidfile, s.argv);
  s.cwd = paths_.work;
  s.output_path = paths_.launch_log;
  // A fixed environment: tests compare /proc/self/environ, and runs must be reproducible.
  s.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C",
           "ZDTM_TEST=" + spec_.name};
  // ...plus the migration baseline the operator set for a lesser (or different) target machine:
  // CPU features masked for glibc, and eager binding (see kernels/run-vm.sh).
  for (const char* name : {"GLIBC_TUNABLES", "LD_BIND_NOW"})
    if (const char* v = getenv(name)) s.env.push_back(std::string(name) + "=" + v);
  pid_t launcher = Spawn(s, &error);
  if (launcher < 0) {
    Fail(error);
    return false;
  }
  int status = 0;
  if (!WaitExit(launcher, Remaining(), &status)) {
    Fail("test did not become ready within " + std::to_string(spec_.timeout_s) + " s");
    return false;
  }
  if (status != 0) {
    Fail("test set-up failed (" + DescribeStatus(status) + ")");
    return false;
  }
  if (!ReadPidfile(root_pidfile, &pid_, &error)) {
    Fail(error);
    return false;
  }
  running_ = true;
  return true;
}

int Run::RunStasis(const std::vector<std::string>& args, const std::string& out, const std::string& log,
                   const char* verb, int iter) {
  SpawnSpec s;
  s.argv = {ctx_.options->stasis};
  s.argv.insert(s.argv.end(), args.begin(), args.end());
  if (std::string_view(verb) == "dump" || std::string_view(verb) == "restore")
    s.argv.insert(s.argv.end(), spec_.stasis_opts.begin(), spec_.stasis_opts.end());
  s.cwd = paths_.work;
  s.output_path = out;
  if (ctx_.options->verbose) std::fprintf(stderr, "  %s %s (iteration %d)\n", spec_.name.c_str(), verb, iter);
  CommandResult r = RunCommand(s, Remaining());
  if (!r.started) {
    Fail(std::string(verb) + " " + std::to_string(iter) + ": " + r.error);
    return -1;
  }
  if (r.timed_out || r.status != 0) {
    std::string why = r.timed_out ? "timed out" : DescribeStatus(r.status);
    std::string last = LastLine(out);
    Fail(std::string(verb) + " " + std::to_string(iter) + " failed (" + why + ")" + (last.empty() ? "" : ": " + last));
    AddDetails(Tail(out, "stasis " + std::string(verb) + " output", 10) + Tail(log, std::string(verb) + " log", 25));
    return -1;
  }
  return 0;
}

bool Run::Dump(const std::string& images, int iter) {
  std::string error;
  if (!ResetDirectory(images, &error)) {
    Fail(error);
    return false;
  }
  if (RunStasis({"dump", "-t", std::to_string(pid_), "-D", images, "-o", "dump.log", "-v4"},
                images + "/dump.out", images + "/dump.log", "dump", iter) != 0) {
    // A failed dump must leave the tree running exactly as before: the test's verdict still counts.
    return false;
  }
  running_ = false;
  // The dumped tree is killed by stasis; its pids must be free (reaped) before the restore.
  if (!WaitVanish(before_.pids, 10)) {
    Fail("dump " + std::to_string(iter) + " succeeded but the tree is still there after 10 s");
    return false;
  }
  return true;
}

bool Run::Restore(const std::string& images, int iter) {
  const std::string restore_pidfile = paths_.work + "/restore-" + std::to_string(iter) + ".pid";
  unlink(restore_pidfile.c_str());
  if (RunStasis({"restore", "-D", images, "-d", "-o", "restore.log", "-v4", "--pidfile", restore_pidfile},
                images + "/restore.out", images + "/restore.log", "restore", iter) != 0)
    return false;
  pid_t restored = -1;
  std::string error;
  if (!ReadPidfile(restore_pidfile, &restored, &error)) {
    Fail("restore " + std::to_string(iter) + ": " + error);
    return false;
  }
  // ns: only the pids inside the namespace are restored; the outside view compares those.
  if (restored != pid_ && !InNs(*ctx_.options)) {
    Fail("restore " + std::to_string(iter) + ": root restored as pid " + std::to_string(restored) +
         ", dumped as " + std::to_string(pid_));
    return false;
  }
  pid_ = restored;
  running_ = true;
  return true;
}

bool Run::CheckOutside(int iter, const CompareOptions& compare) {
  const std::string when = iter == 0 ? "while idle (no dump)" : "after restore " + std::to_string(iter);
  OutsideView after;
  std::string error;
  if (!CaptureView(*ctx_.options, pid_, &after, &error)) {
    Fail(when + ": " + error);
    return false;
  }
  std::string ignored;
  WriteFile(paths_.work + "/outside-" + std::to_string(iter) + ".txt", SerializeOutsideView(after), &ignored);
  std::vector<std::string> diffs = CompareOutsideViews(before_, after, compare);
  if (!diffs.empty()) {
    // Once more, a moment later: a process may have a thread of its own for a moment (glibc
    // runs each SIGEV_THREAD notification in a new thread), which is not restored state. A
    // difference the restore made stays.
    usleep(300 * 1000);
    OutsideView again;
    if (CaptureView(*ctx_.options, pid_, &again, &error)) {
      std::vector<std::string> still = CompareOutsideViews(before_, again, compare);
      if (still.empty()) return true;
      diffs = std::move(still);
    }
  }
  if (diffs.empty()) return true;
  // The one-line reason stays readable; the details below carry every difference in full.
  std::string first = diffs[0].size() > 300 ? diffs[0].substr(0, 300) + "..." : diffs[0];
  Fail("outside view differs " + when + " (" + std::to_string(diffs.size()) + " entries): " + first);
  std::string text = "--- outside view differences " + when + "\n";
  for (size_t i = 0; i < diffs.size() && i < 40; ++i) text += "  " + diffs[i] + "\n";
  AddDetails(text);
  return false;
}

void Run::TerminateAndCheck() {
  if (!running_) return;
  kill(pid_, SIGTERM);
  int status = 0;
  if (!WaitExit(pid_, Remaining(), &status)) {
    Fail("test did not exit within its timeout after SIGTERM");
    AddDetails(Tail(paths_.outfile, "outfile", 20));
    return;
  }
  running_ = false;
  std::ifstream f(paths_.outfile);
  std::string line, first_fail;
  bool pass = false;
  while (std::getline(f, line)) {
    if (line == "PASS") pass = true;
    if (first_fail.empty() && line.find("FAIL") != std::string::npos) first_fail = line;
  }
  if (!first_fail.empty()) Fail("test says " + first_fail);
  else if (!pass) Fail("no PASS in the outfile (" + DescribeStatus(status) + ")");
  if (failed_) AddDetails(Tail(paths_.outfile, "outfile", 20));
}

void Run::CleanUp() {
  std::vector<pid_t> left = KillAllDescendants();
  if (!left.empty()) {
    std::string pids;
    for (pid_t p : left) pids += " " + std::to_string(p);
    Fail("left processes behind (killed):" + pids);
  }
}

TestResult Run::Execute() {
  const RunnerOptions& o = *ctx_.options;
  const double start = NowSeconds();
  result_.name = spec_.name;
  if (!o.restore_from.empty()) {
    if (LoadFromCrossKernel() && Restore(paths_.images, 1)) CheckOutside(1, CrossKernelCompare());
  } else if (Start()) {
    std::string error;
    if (!o.no_cr && !CaptureView(*ctx_.options, pid_, &before_, &error)) Fail("before dump: " + error);
    if (!o.no_cr) WriteFile(paths_.work + "/outside-before.txt", SerializeOutsideView(before_), &error);
    if (!o.dump_to.empty()) {
      if (!failed_ && Dump(paths_.images, 1)) SaveForCrossKernel();
    } else if (o.no_cr) {
      // Nothing happens to the test, so its outside view must not change either: this proves
      // the comparison done around a real dump has no noise of the test's own making.
      if (!failed_ && CaptureView(*ctx_.options, pid_, &before_, &error) &&
          WriteFile(paths_.work + "/outside-before.txt", SerializeOutsideView(before_), &error)) {
        struct timespec ts = {0, 200 * 1000 * 1000};
        nanosleep(&ts, nullptr);
        CheckOutside(0, CompareOptions{});
      }
    } else {
      for (int i = 1; i <= o.iters && !failed_; ++i) {
        const std::string images = paths_.images + "-" + std::to_string(i);
        if (Dump(images, i) && Restore(images, i)) CheckOutside(i, CompareOptions{});
      }
    }
  }
  TerminateAndCheck();
  CleanUp();
  result_.seconds = NowSeconds() - start;
  result_.outcome = failed_ ? Outcome::kFail : Outcome::kPass;
  if (!failed_ && !o.dump_to.empty()) result_.reason = "dumped to " + paths_.images;
  return result_;
}

// A restore of images that use a feature this machine lacks must be refused, clearly: that
// refusal is the result under test. True when an expectation applied (r is then final).
bool ApplyExpectedRefusal(const RunContext& ctx, const TestSpec& spec, const DumpOrigin& origin, TestResult* r) {
  for (const ExpectedRefusal& e : spec.expected_refusals) {
    const bool there = std::find(origin.features.begin(), origin.features.end(), e.feature) != origin.features.end();
    auto here = ctx.features->available.find(e.feature);
    // Only a probe that answered "no" counts as missing; an unprobed kernel proves nothing.
    if (!there || !ctx.features->probed || here == ctx.features->available.end() || here->second) continue;
    const std::string why = "dumped where " + e.feature + " is available, restored where it is not";
    if (r->outcome == Outcome::kFail && r->reason.rfind("restore 1 failed", 0) == 0 &&
        r->reason.find(e.message) != std::string::npos) {
      r->outcome = Outcome::kPass;
      r->details.clear();
      r->reason = "refused as expected (" + why + "): " + r->reason;
    } else if (r->outcome == Outcome::kPass) {
      r->outcome = Outcome::kFail;
      r->reason = "restore should have been refused (" + why + ", error with '" + e.message + "') but it succeeded";
    } else {
      r->reason += " [expected a refusal mentioning '" + e.message + "': " + why + "]";
    }
    return true;
  }
  return false;
}

}  // namespace

TestResult RunTest(const RunContext& ctx, const TestSpec& spec) {
  const RunnerOptions& o = *ctx.options;
  TestResult skipped;
  skipped.name = spec.name;
  skipped.outcome = Outcome::kSkip;
  if (spec.needs_root && !ctx.is_root) {
    skipped.reason = "needs root";
    return skipped;
  }
  if (std::find(spec.flavors.begin(), spec.flavors.end(), o.flavor) == spec.flavors.end()) {
    skipped.reason = "not for flavor " + o.flavor;
    return skipped;
  }
  if (!o.no_cr) {
    std::string missing = MissingFeatures(*ctx.features, spec.features);
    if (!missing.empty()) {
      skipped.reason = missing;
      return skipped;
    }
  }
  Run run(ctx, spec);
  TestResult r = run.Execute();
  const DumpOrigin* origin = run.origin();
  if (origin && ApplyExpectedRefusal(ctx, spec, *origin, &r)) return r;
  // Known failures describe checkpoint/restore; --no-cr checks only the tests themselves.
  const KnownFailure* k = nullptr;
  if (!o.no_cr && !o.dump_to.empty())
    k = MatchDumpPhaseKnownFailure(spec, {o.kernel, ctx.kernel_release});
  else if (!o.no_cr)
    k = MatchKnownFailure(spec, {o.kernel, ctx.kernel_release}, origin ? &origin->kernel : nullptr);
  if (k) {
    if (r.outcome == Outcome::kFail) {
      r.outcome = Outcome::kKnownFail;
      r.details.clear();
      r.reason = k->reason + " (got: " + r.reason + ")";
    } else if (r.outcome == Outcome::kPass && o.dump_to.empty()) {
      r.outcome = Outcome::kUnexpectedPass;
      r.reason = "listed as known failure (" + k->reason + ") but passed";
    }
  }
  return r;
}

}  // namespace zdtm::runner
