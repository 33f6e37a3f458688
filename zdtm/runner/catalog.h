// The test catalog: every workload of a tests directory with its typed metadata (<name>.desc).
#pragma once

#include <string>
#include <vector>

namespace zdtm::runner {

struct KnownFailure {
  std::string kernel_glob;  // fnmatch(3) glob over the kernel name or release
  std::string reason;
};

struct TestSpec {
  std::string name;
  std::string binary;
  bool needs_root = false;
  std::vector<std::string> features;  // names from `stasis check --json`
  std::vector<KnownFailure> known_failures;
  std::vector<std::string> flavors{"h"};
  int timeout_s = 60;
};

// Parses a .desc file: `key: value` lines, '#' comments. Keys: needs (root), features (space
// separated), known-fail (<kernel-glob>: <reason>, repeatable), flavors (space separated),
// timeout (seconds). Unknown keys and bad values are errors naming the file and line.
bool ParseDesc(const std::string& file_name, const std::string& text, TestSpec* spec,
               std::string* error);

// Loads every executable of dir that has a .desc file beside it, sorted by name. An executable
// without .desc or a bad .desc is an error.
bool LoadCatalog(const std::string& dir, std::vector<TestSpec>* tests, std::string* error);

// The known failure that applies on this kernel, or nullptr.
const KnownFailure* MatchKnownFailure(const TestSpec& spec, const std::string& kernel_name,
                                      const std::string& kernel_release);

}  // namespace zdtm::runner
