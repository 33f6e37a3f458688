// Runs one test through the protocol: start, wait for its pidfile, snapshot the outside view,
// dump+restore it (N times), compare, SIGTERM, wait, read the outfile.
#pragma once

#include <string>

#include "zdtm/runner/catalog.h"
#include "zdtm/runner/features.h"
#include "zdtm/runner/options.h"

namespace zdtm::runner {

struct RunContext {
  const RunnerOptions* options = nullptr;
  const KernelFeatures* features = nullptr;
  std::string kernel_release;  // uname -r
  bool is_root = false;
};

enum class Outcome { kPass, kFail, kSkip, kKnownFail, kUnexpectedPass };

struct TestResult {
  std::string name;
  Outcome outcome = Outcome::kFail;
  std::string reason;   // one line: why it failed / was skipped / is a known failure
  std::string details;  // logs for a failure: outside-view diffs, log tails, the outfile
  double seconds = 0;
};

TestResult RunTest(const RunContext& ctx, const TestSpec& spec);

}  // namespace zdtm::runner
