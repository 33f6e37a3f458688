// Progress lines, the final summary and JUnit XML.
#pragma once

#include <string>
#include <vector>

#include "zdtm/runner/driver.h"

namespace zdtm::runner {

class Report {
 public:
  explicit Report(bool verbose) : verbose_(verbose) {}

  // Prints `PASS name (1.2s)`, `FAIL name: reason` (+ details), `SKIP`, `KFAIL`, `XPASS`.
  void Add(const TestResult& result);

  // Known failures and unexpected passes on their own lines, then exactly
  // "N passed, N failed, N skipped" (known failures count as passed).
  void PrintSummary() const;

  bool WriteJunit(const std::string& path, const std::string& suite_name, std::string* error) const;

  // Non-zero iff something failed unexpectedly.
  int ExitCode() const;

 private:
  bool verbose_;
  std::vector<TestResult> results_;
};

// XML-escapes text (and drops control characters XML 1.0 cannot carry).
std::string XmlEscape(const std::string& text);

}  // namespace zdtm::runner
