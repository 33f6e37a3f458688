#include "engine/proc/stat.h"

#include <gtest/gtest.h>

namespace stasis::proc {
namespace {

// A real `sleep` on Linux 6.18.
constexpr std::string_view kSleep =
    "9474 (sleep) S 9472 9472 5075 0 -1 4194304 137 0 1 0 0 0 0 0 20 0 1 0 302301 2990080 421 "
    "18446744073709551615 93876379144192 93876379162121 140724230095296 0 0 0 0 6 0 1 0 0 17 1 0 0 0 "
    "0 0 93876379176208 93876379177472 93877179379712 140724230101456 140724230101466 "
    "140724230101466 140724230103017 0\n";

TEST(ParseStat, RealSample) {
  auto r = ParseStat(kSleep);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->pid, 9474);
  EXPECT_EQ(r->comm, "sleep");
  EXPECT_EQ(r->state, 'S');
  EXPECT_EQ(r->ppid, 9472);
  EXPECT_EQ(r->pgrp, 9472);
  EXPECT_EQ(r->session, 5075);
  EXPECT_EQ(r->num_threads, 1u);
  EXPECT_EQ(r->start_time, 302301u);
  EXPECT_EQ(r->start_code, 93876379144192u);
  EXPECT_EQ(r->end_code, 93876379162121u);
  EXPECT_EQ(r->start_stack, 140724230095296u);
  EXPECT_EQ(r->exit_signal, 17);
  EXPECT_EQ(r->start_data, 93876379176208u);
  EXPECT_EQ(r->end_data, 93876379177472u);
  EXPECT_EQ(r->start_brk, 93877179379712u);
  EXPECT_EQ(r->arg_start, 140724230101456u);
  EXPECT_EQ(r->arg_end, 140724230101466u);
  EXPECT_EQ(r->env_start, 140724230101466u);
  EXPECT_EQ(r->env_end, 140724230103017u);
  EXPECT_EQ(r->exit_code, 0);
}

TEST(ParseStat, CommWithParensAndSpaces) {
  std::string s(kSleep);
  s.replace(s.find("(sleep)"), 7, "(a) b (c))");
  auto r = ParseStat(s);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->comm, "a) b (c)");
  EXPECT_EQ(r->ppid, 9472);
}

TEST(ParseStat, Zombie) {
  std::string s(kSleep);
  s.replace(s.find(" S "), 3, " Z ");
  s.replace(s.rfind(" 0\n"), 3, " 256\n");
  auto r = ParseStat(s);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->state, 'Z');
  EXPECT_EQ(r->exit_code, 256);
}

TEST(ParseStat, RejectsMalformed) {
  std::string truncated(kSleep.substr(0, kSleep.size() - 3));   // 51 fields
  std::string bad_ppid(kSleep);
  bad_ppid.replace(bad_ppid.find("9472"), 4, "94x2");
  std::string bad_state(kSleep);
  bad_state.replace(bad_state.find(" S "), 3, " SS ");
  std::string negative(kSleep);
  negative.replace(negative.find("9472"), 4, "-1");
  std::string overflow(kSleep);
  overflow.replace(overflow.find(" 17 "), 4, " 99999999999 ");
  const std::string bad[] = {"", "9474 sleep S", "(sleep) S 1", "x (sleep) S", "0 (sleep) S",
                             truncated, bad_ppid, bad_state, negative, overflow,
                             "1 (" + std::string(100, 'a') + ") S"};
  for (const auto& b : bad) EXPECT_FALSE(ParseStat(b).ok()) << b;
}

}  // namespace
}  // namespace stasis::proc
