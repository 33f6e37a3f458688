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
  a.entries["1 map ffffffffff600000"] = "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0 [vsyscall] [ex]";
  EXPECT_EQ(CompareOutsideViews(a, b, {}).size(), 5u);
  EXPECT_EQ(CompareOutsideViews(a, b, {true}).size(), 3u);  // so is a [vsyscall] page one kernel lacks
  EXPECT_TRUE(CompareOutsideViews(a, a, {}).empty());
}

TEST(OutsideView, CopiedFilesAreComparedByPathNotInode) {
  OutsideView a, b;
  a.entries = {{"1 map 1000", "1000-2000 r--p 00000000 00:02 579 /w/data.bin [rd mr mw me]"},
               {"1 map 3000", "3000-4000 rw-p 00000000 00:00 0  [rd wr mr mw me ac]"}};
  b.entries = {{"1 map 1000", "1000-2000 r--p 00000000 00:02 1536 /w/data.bin [rd mr mw me]"},
               {"1 map 3000", "3000-4000 rw-p 00000000 00:00 0  [rd wr mr mw me ac]"}};
  CompareOptions copied;
  copied.files_copied = true;
  EXPECT_EQ(CompareOutsideViews(a, b, {}).size(), 1u);  // same boot: a new inode is another file
  EXPECT_TRUE(CompareOutsideViews(a, b, copied).empty());
  // Still compared: the path, the offset, and anonymous memory turning into a file.
  b.entries["1 map 1000"] = "1000-2000 r--p 00000000 00:02 1536 /w/other.bin [rd mr mw me]";
  b.entries["1 map 3000"] = "3000-4000 rw-p 00000000 00:02 77 /w/data.bin [rd wr mr mw me ac]";
  EXPECT_EQ(CompareOutsideViews(a, b, copied).size(), 2u);
  b.entries = a.entries;
  b.entries["1 map 1000"] = "1000-2000 r--p 00001000 00:02 1536 /w/data.bin [rd mr mw me]";
  EXPECT_EQ(CompareOutsideViews(a, b, copied).size(), 1u);
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
