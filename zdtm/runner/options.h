// zdtm-run's command line.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace zdtm::runner {

struct RunnerOptions {
  std::string stasis;      // the stasis binary (default: next to the build's zdtm/ directory)
  std::string tests_dir;   // executables + .desc files (default: <runner dir>/static)
  std::string work_dir;    // one fresh subdirectory per test (default: <runner dir>/work)
  int iters = 1;           // dump+restore cycles per test
  std::string flavor = "h";                    // the flavor being run (main sets it per pass)
  std::vector<std::string> flavors{"h"};       // --flavor "h ns": every test runs in each
  std::string junit;       // JUnit XML output file, if asked
  int shard_index = 0;     // --shard i/n: run tests whose sorted index % n == i (0-based)
  int shard_count = 1;
  bool list = false;
  bool no_cr = false;      // run the tests without dump/restore
  std::string kernel;      // kernel name for known-fail globs (default: "host")
  std::string dump_to;     // start + dump only; images and work dirs go here
  std::string restore_from;  // restore from a --dump-to directory, then check
  bool verbose = false;
  bool limit_caps = false;   // --caps: keep only `caps` (a migration target's capability set)
  uint64_t caps = 0;
  std::vector<std::string> tests;  // names to run; all when empty
};

// Parses argv. On bad usage prints one line and the usage to stderr and returns nullopt;
// *exit_code tells the caller what to exit with (0 after --help).
std::optional<RunnerOptions> ParseOptions(int argc, char** argv, int* exit_code);

}  // namespace zdtm::runner
