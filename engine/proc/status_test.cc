#include "engine/proc/status.h"

#include <gtest/gtest.h>

namespace stasis::proc {
namespace {

// A real /proc/PID/status from Linux 6.18 (a few memory lines trimmed).
constexpr std::string_view kStatus =
    "Name:\tcat\n"
    "Umask:\t0022\n"
    "State:\tS (sleeping)\n"
    "Tgid:\t8630\n"
    "Ngid:\t0\n"
    "Pid:\t8631\n"
    "PPid:\t8621\n"
    "TracerPid:\t0\n"
    "Uid:\t1000\t1001\t1002\t1003\n"
    "Gid:\t100\t101\t102\t103\n"
    "FDSize:\t256\n"
    "Groups:\t4 24 27 \n"
    "NStgid:\t8630\n"
    "NSpid:\t8631\n"
    "VmPeak:\t    3060 kB\n"
    "Threads:\t2\n"
    "SigQ:\t0/96365\n"
    "SigPnd:\t0000000000000100\n"
    "ShdPnd:\t0000000000004000\n"
    "SigBlk:\t0000000000010000\n"
    "SigIgn:\t0000000000001000\n"
    "SigCgt:\t0000000180000002\n"
    "CapInh:\t0000000000000000\n"
    "CapPrm:\t000001fffeffffff\n"
    "CapEff:\t000001fffeffffff\n"
    "CapBnd:\t000001ffffffffff\n"
    "CapAmb:\t0000000000000000\n"
    "NoNewPrivs:\t1\n"
    "Seccomp:\t2\n"
    "Seccomp_filters:\t1\n"
    "Cpus_allowed_list:\t0-1\n";

TEST(ParseStatus, RealSample) {
  auto r = ParseStatus(kStatus);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->name, "cat");
  EXPECT_EQ(r->umask, 022u);
  EXPECT_EQ(r->state, 'S');
  EXPECT_EQ(r->tgid, 8630);
  EXPECT_EQ(r->pid, 8631);
  EXPECT_EQ(r->ppid, 8621);
  EXPECT_EQ(r->tracer_pid, 0);
  EXPECT_EQ(r->uid, (std::array<uint32_t, 4>{1000, 1001, 1002, 1003}));
  EXPECT_EQ(r->gid, (std::array<uint32_t, 4>{100, 101, 102, 103}));
  EXPECT_EQ(r->groups, (std::vector<uint32_t>{4, 24, 27}));
  EXPECT_EQ(r->threads, 2u);
  EXPECT_EQ(r->sig_pnd, 0x100u);
  EXPECT_EQ(r->shd_pnd, 0x4000u);
  EXPECT_EQ(r->sig_blk, 0x10000u);
  EXPECT_EQ(r->sig_ign, 0x1000u);
  EXPECT_EQ(r->sig_cgt, 0x180000002u);
  EXPECT_EQ(r->cap_prm, 0x1fffeffffffu);
  EXPECT_EQ(r->cap_bnd, 0x1ffffffffffu);
  EXPECT_TRUE(r->no_new_privs);
  EXPECT_EQ(r->seccomp, 2u);
}

TEST(ParseStatus, EmptyGroupsAndNameWithBlanks) {
  std::string s(kStatus);
  s.replace(s.find("4 24 27 "), 8, " ");
  s.replace(s.find("Name:\tcat"), 9, "Name:\tmy prog ");
  auto r = ParseStatus(s);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_TRUE(r->groups.empty());
  EXPECT_EQ(r->name, "my prog ");
}

std::string Replace(std::string_view from, std::string_view to) {
  std::string s(kStatus);
  size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  s.replace(at, from.size(), to);
  return s;
}

TEST(ParseStatus, RejectsMalformed) {
  const std::string bad[] = {
      Replace("Umask:\t0022\n", ""),                          // missing key
      Replace("Umask:\t0022", "Umask:\t0999"),                // not octal
      Replace("Uid:\t1000\t1001\t1002\t1003", "Uid:\t1000\t1001\t1002"),   // three ids
      Replace("Uid:\t1000\t1001\t1002\t1003", "Uid:\t1\t2\t3\t4\t5"),      // five ids
      Replace("Gid:\t100", "Gid:\t-100"),
      Replace("Groups:\t4 24 27", "Groups:\t4 x 27"),
      Replace("SigBlk:\t0000000000010000", "SigBlk:\t10000"),              // short mask
      Replace("CapEff:\t000001fffeffffff", "CapEff:\t000001fffeffffgf"),
      Replace("NoNewPrivs:\t1", "NoNewPrivs:\t2"),
      Replace("Seccomp:\t2", "Seccomp:\t3"),
      Replace("State:\tS (sleeping)", "State:\tSleeping"),
      Replace("Pid:\t8631", "Pid:\t99999999999"),
      Replace("Threads:\t2\n", "Threads:\t2\nThreads:\t2\n"),               // duplicate
      Replace("Threads:\t2\n", "Threads:\t2\ngarbage\n"),                   // no colon
      "",
  };
  for (const auto& b : bad) EXPECT_FALSE(ParseStatus(b).ok()) << b;
}

}  // namespace
}  // namespace stasis::proc
