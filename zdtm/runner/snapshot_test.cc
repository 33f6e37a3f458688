#include "zdtm/runner/snapshot.h"

#include <gtest/gtest.h>
#include <unistd.h>

namespace zdtm::runner {
namespace {

TEST(OutsideView, CapturesThisProcess) {
  OutsideView v;
  std::string error;
  ASSERT_TRUE(CaptureOutsideView(getpid(), &v, &error)) << error;
  ASSERT_FALSE(v.pids.empty());
  EXPECT_EQ(v.pids[0], getpid());
  const std::string p = std::to_string(getpid()) + " ";
  EXPECT_TRUE(v.entries.count(p + "tree"));
  EXPECT_TRUE(v.entries.count(p + "status Uid"));
  EXPECT_TRUE(v.entries.count(p + "fd 0"));
  bool has_stack = false;
  for (const auto& [k, val] : v.entries)
    if (k.rfind(p + "map ", 0) == 0 && val.find("[stack]") != std::string::npos) has_stack = true;
  EXPECT_TRUE(has_stack);
}

TEST(OutsideView, GoneProcessIsAnError) {
  OutsideView v;
  std::string error;
  EXPECT_FALSE(CaptureOutsideView(0x3fffff, &v, &error));
  EXPECT_NE(error.find("gone"), std::string::npos);
}

TEST(OutsideView, CompareReportsChangedGoneAndNew) {
  OutsideView a, b;
  a.entries = {{"1 map 1000", "1000-2000 rw-p"}, {"1 cwd", "/x"}, {"1 map 7000", "7000-8000 r-xp [vdso]"}};
  b.entries = {{"1 map 1000", "1000-2000 r--p"}, {"1 fd 3", "/y"}, {"1 map 7000", "7000-9000 r-xp [vdso]"}};
  auto d = CompareOutsideViews(a, b, {});
  ASSERT_EQ(d.size(), 4u);
  EXPECT_EQ(d[0], "1 cwd: gone (was '/x')");
  EXPECT_EQ(d[1], "1 map 1000: before '1000-2000 rw-p' after '1000-2000 r--p'");
  EXPECT_EQ(d[3], "1 fd 3: new ('/y')");
  EXPECT_EQ(CompareOutsideViews(a, b, {true}).size(), 3u);  // the vDSO line is ignored across kernels
  EXPECT_TRUE(CompareOutsideViews(a, a, {}).empty());
}

TEST(OutsideView, SerializeRoundTrips) {
  OutsideView v;
  std::string error;
  ASSERT_TRUE(CaptureOutsideView(getpid(), &v, &error));
  OutsideView back;
  ASSERT_TRUE(ParseOutsideView(SerializeOutsideView(v), &back));
  EXPECT_EQ(back.entries, v.entries);
  EXPECT_EQ(back.pids, v.pids);
  EXPECT_FALSE(ParseOutsideView("no tab\n", &back));
  EXPECT_FALSE(ParseOutsideView("a\tb\n", &back));  // no pids entry
}

}  // namespace
}  // namespace zdtm::runner
