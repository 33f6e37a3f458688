#include "zdtm/runner/catalog.h"

#include <gtest/gtest.h>

namespace zdtm::runner {
namespace {

TEST(ParseDesc, ReadsEveryKey) {
  TestSpec s;
  std::string error;
  ASSERT_TRUE(ParseDesc("x.desc",
                        "# comment\n"
                        "needs: root\n"
                        "features: rseq  ptrace_rseq_config\n"
                        "known-fail: 6.1*: vvar differs: really\n"
                        "known-fail: host: other\n"
                        "flavors: h ns\n"
                        "timeout: 90\n",
                        &s, &error))
      << error;
  EXPECT_TRUE(s.needs_root);
  EXPECT_EQ(s.features, (std::vector<std::string>{"rseq", "ptrace_rseq_config"}));
  ASSERT_EQ(s.known_failures.size(), 2u);
  EXPECT_EQ(s.known_failures[0].kernel_glob, "6.1*");
  EXPECT_EQ(s.known_failures[0].reason, "vvar differs: really");
  EXPECT_EQ(s.flavors, (std::vector<std::string>{"h", "ns"}));
  EXPECT_EQ(s.timeout_s, 90);
}

TEST(ParseDesc, DefaultsWhenEmpty) {
  TestSpec s;
  std::string error;
  ASSERT_TRUE(ParseDesc("x.desc", "", &s, &error));
  EXPECT_FALSE(s.needs_root);
  EXPECT_EQ(s.flavors, std::vector<std::string>{"h"});
  EXPECT_EQ(s.timeout_s, 60);
}

TEST(ParseDesc, RejectsBadInputWithFileAndLine) {
  const char* bad[] = {"needs: magic\n", "unknown: 1\n", "no colon here\n", "timeout: 0\n",
                       "timeout: 12x\n", "known-fail: nothing\n", "known-fail: 6.1*:\n", "flavors: vm\n"};
  for (const char* text : bad) {
    TestSpec s;
    std::string error;
    EXPECT_FALSE(ParseDesc("t.desc", std::string("# ok\n") + text, &s, &error)) << text;
    EXPECT_EQ(error.rfind("t.desc:2: ", 0), 0u) << error;
  }
}

TEST(MatchKnownFailure, MatchesNameOrRelease) {
  TestSpec s;
  s.known_failures = {{"6.1.*", "old vdso"}, {"host", "not yet"}};
  EXPECT_EQ(MatchKnownFailure(s, "6.1.0-47-cloud-amd64", "6.18.1"), &s.known_failures[0]);
  EXPECT_EQ(MatchKnownFailure(s, "guest", "6.1.170"), &s.known_failures[0]);
  EXPECT_EQ(MatchKnownFailure(s, "host", "6.18.1"), &s.known_failures[1]);
  EXPECT_EQ(MatchKnownFailure(s, "6.12.1", "6.12.1"), nullptr);
}

}  // namespace
}  // namespace zdtm::runner
