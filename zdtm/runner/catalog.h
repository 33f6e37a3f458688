// The test catalog: every workload of a tests directory with its typed metadata (<name>.desc).
#pragma once

#include <string>
#include <vector>

namespace zdtm::runner {

struct KnownFailure {
  // fnmatch(3) glob over the kernel name or release; `<dump-glob>-><restore-glob>` applies
  // only to images dumped on another kernel (cross-kernel migration).
  std::string kernel_glob;
  std::string reason;
};

// A restore that must be refused when the images use `feature` (a `stasis check` name) and
// the restoring kernel lacks it; the restore error must contain `message`.
struct ExpectedRefusal {
  std::string feature;
  std::string message;
};

// A kernel as the matrix names it (e.g. "6.1.192" or "host") and its uname release.
struct KernelId {
  std::string name;
  std::string release;
};

struct TestSpec {
  std::string name;
  std::string binary;
  bool needs_root = false;
  std::vector<std::string> features;  // names from `stasis check --json`
  std::vector<KnownFailure> known_failures;
  std::vector<ExpectedRefusal> expected_refusals;
  std::vector<std::string> stasis_opts;  // extra dump/restore options (--tcp-established, ...)
  std::vector<std::string> flavors{"h"};
  int timeout_s = 60;
};

// Parses a .desc file: `key: value` lines, '#' comments. Keys: needs (root), features (space
// separated), known-fail (<kernel-glob>: <reason>, repeatable), expect-refusal (<feature>:
// <text of the restore error>, repeatable), flavors (space separated), timeout (seconds), opts
// (--tcp-established, --file-locks). Unknown keys and bad values are errors naming the file and line.
bool ParseDesc(const std::string& file_name, const std::string& text, TestSpec* spec,
               std::string* error);

// Loads every executable of dir that has a .desc file beside it, sorted by name. An executable
// without .desc or a bad .desc is an error.
bool LoadCatalog(const std::string& dir, std::vector<TestSpec>* tests, std::string* error);

// Splits `a->b` into its dump and restore globs; false when glob is not a pair.
bool SplitPairGlob(const std::string& glob, std::string* dump_glob, std::string* restore_glob);

// The known failure that applies on kernel `here` to images dumped on `dumped_on` (nullptr:
// dumped here too), or nullptr. Plain globs apply only without dumped_on, pairs only with it.
const KnownFailure* MatchKnownFailure(const TestSpec& spec, const KernelId& here, const KernelId* dumped_on);
// The dump phase of a migration (--dump-to): only a pair glob whose restore side is "*" (it
// fails wherever the images go) applies, when its dump side matches `here`.
const KnownFailure* MatchDumpPhaseKnownFailure(const TestSpec& spec, const KernelId& here);
// Same as MatchKnownFailure, for a dump and restore on one kernel.
const KnownFailure* MatchKnownFailure(const TestSpec& spec, const std::string& kernel_name,
                                      const std::string& kernel_release);

}  // namespace zdtm::runner
