// `stasis check`: probe which kernel features the engine can use on the running kernel.
#pragma once

#include <string>
#include <vector>

namespace stasis::check {

struct FeatureProbe {
  std::string name;        // e.g. "clone3_set_tid"
  bool available = false;
  bool required = false;   // dump/restore cannot work at all without it
  std::string detail;      // why it is missing, or what was found
};

// Runs every probe once. Probes actually exercise the feature (syscalls on a scratch child,
// a throwaway socket, ...), never read the version number.
std::vector<FeatureProbe> ProbeKernel();

struct CheckOptions {
  bool all = false;   // also list optional features
  bool json = false;
};

// Prints the report; returns the process exit code (0 when every required feature is there).
int RunCheck(const CheckOptions& options);

}  // namespace stasis::check
