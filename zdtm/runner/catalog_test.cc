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
                       "timeout: 12x\n", "known-fail: nothing\n", "known-fail: 6.1*:\n", "flavors: vm\n",
                       "known-fail: 6.1*->: why\n", "known-fail: ->host: why\n", "known-fail: a->b->c: why\n",
                       "expect-refusal: cpu_avx512\n", "expect-refusal: cpu avx: text\n",
                       "expect-refusal: cpu_avx512:\n", "opts: --leave-running\n"};
  for (const char* text : bad) {
    TestSpec s;
    std::string error;
    EXPECT_FALSE(ParseDesc("t.desc", std::string("# ok\n") + text, &s, &error)) << text;
    EXPECT_EQ(error.rfind("t.desc:2: ", 0), 0u) << error;
  }
}

TEST(ParseDesc, ReadsStasisOpts) {
  TestSpec s;
  std::string error;
  ASSERT_TRUE(ParseDesc("t.desc", "opts: --tcp-established\n", &s, &error)) << error;
  EXPECT_EQ(s.stasis_opts, std::vector<std::string>{"--tcp-established"});
}

TEST(MatchKnownFailure, MatchesNameOrRelease) {
  TestSpec s;
  s.known_failures = {{"6.1.*", "old vdso"}, {"host", "not yet"}};
  EXPECT_EQ(MatchKnownFailure(s, "6.1.0-47-cloud-amd64", "6.18.1"), &s.known_failures[0]);
  EXPECT_EQ(MatchKnownFailure(s, "guest", "6.1.170"), &s.known_failures[0]);
  EXPECT_EQ(MatchKnownFailure(s, "host", "6.18.1"), &s.known_failures[1]);
  EXPECT_EQ(MatchKnownFailure(s, "6.12.1", "6.12.1"), nullptr);
}

TEST(ParseDesc, ReadsPairGlobsAndRefusals) {
  TestSpec s;
  std::string error;
  ASSERT_TRUE(ParseDesc("x.desc",
                        "known-fail: 6.1.* -> 6.12.*: dump side lacks it\n"
                        "expect-refusal: cpu_avx512: uses features\n",
                        &s, &error))
      << error;
  ASSERT_EQ(s.known_failures.size(), 1u);
  std::string d, r;
  ASSERT_TRUE(SplitPairGlob(s.known_failures[0].kernel_glob, &d, &r));
  EXPECT_EQ(d, "6.1.*");
  EXPECT_EQ(r, "6.12.*");
  EXPECT_FALSE(SplitPairGlob("6.1.*", &d, &r));
  ASSERT_EQ(s.expected_refusals.size(), 1u);
  EXPECT_EQ(s.expected_refusals[0].feature, "cpu_avx512");
  EXPECT_EQ(s.expected_refusals[0].message, "uses features");
}

TEST(MatchKnownFailure, PairGlobsApplyOnlyToAnotherKernelsImages) {
  TestSpec s;
  s.known_failures = {{"6.1.*", "single"}, {"6.1.*->*", "dumped on 6.1"}, {"*->host", "restored on the host"}};
  const KernelId k61{"6.1.192", "6.1.0-56-cloud-amd64"}, k612{"6.12.117", "6.12.117+deb12-cloud-amd64"},
      host{"host", "6.18.1"};
  EXPECT_EQ(MatchKnownFailure(s, k61, nullptr), &s.known_failures[0]);     // dump+restore on 6.1
  EXPECT_EQ(MatchKnownFailure(s, k612, &k61), &s.known_failures[1]);       // 6.1 -> 6.12
  EXPECT_EQ(MatchKnownFailure(s, k61, &k612), nullptr);                    // 6.12 -> 6.1: plain glob not
  EXPECT_EQ(MatchKnownFailure(s, host, &k612), &s.known_failures[2]);      // 6.12 -> host
  EXPECT_EQ(MatchKnownFailure(s, host, nullptr), nullptr);                 // host alone
  const KernelId by_release{"", "6.1.0-47-cloud-amd64"};                   // old meta: release only
  EXPECT_EQ(MatchKnownFailure(s, k612, &by_release), &s.known_failures[1]);
}

TEST(MatchKnownFailure, TheDumpPhaseOfAMigrationTakesOnlyPairsToAnywhere) {
  TestSpec s;
  s.known_failures = {{"*", "everywhere"}, {"6.1.*->host", "to the host"}, {"*->*", "the peer stays behind"}};
  const KernelId k61{"6.1.192", "6.1.0-56-cloud-amd64"};
  EXPECT_EQ(MatchDumpPhaseKnownFailure(s, k61), &s.known_failures[2]);
  TestSpec narrow;
  narrow.known_failures = {{"6.12.*->*", "dumped on 6.12"}};
  EXPECT_EQ(MatchDumpPhaseKnownFailure(narrow, k61), nullptr);
}

}  // namespace
}  // namespace zdtm::runner
