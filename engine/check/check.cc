#include "engine/check/check.h"

#include <cstdio>

namespace stasis::check {

// Placeholder until the probes land.
std::vector<FeatureProbe> ProbeKernel() { return {}; }
int RunCheck(const CheckOptions&) {
  std::fputs("check: not built yet\n", stderr);
  return 1;
}

}  // namespace stasis::check
