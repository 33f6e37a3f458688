// timerfd on real timers: time left, interval, unread expirations (also ones that happen while
// the owner is frozen, i.e. before the dump reads fdinfo), absolute deadlines; and the parser.
#include "engine/files/timerfd.h"

#include <gtest/gtest.h>
#include <sys/timerfd.h>
#include <time.h>

#include "engine/files/files_test_util.h"

namespace stasis::files {
namespace {

using testing::DumpFds;
using testing::RestoreFds;

double Seconds(const struct timespec& ts) { return ts.tv_sec + ts.tv_nsec / 1e9; }

TEST(TimerfdKind, ArmedPeriodicTimerKeepsTimeLeftAndInterval) {
  UniqueFd t(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
  ASSERT_TRUE(t.valid());
  struct itimerspec its {{1, 500}, {30, 0}};
  ASSERT_EQ(::timerfd_settime(t.get(), 0, &its, nullptr), 0);
  auto dumped = DumpFds({t.get()});
  ASSERT_TRUE(dumped.ok()) << dumped.error().message();
  t.reset();
  LocalFdExchange exchange;
  auto fds = RestoreFds(*dumped, exchange);
  ASSERT_TRUE(fds.ok()) << fds.error().message();
  struct itimerspec now {};
  ASSERT_EQ(::timerfd_gettime((*fds)[0].get(), &now), 0);
  EXPECT_NEAR(Seconds(now.it_value), 30.0, 0.5);
  EXPECT_EQ(now.it_interval.tv_sec, 1);
  EXPECT_EQ(now.it_interval.tv_nsec, 500);
  EXPECT_EQ(testing::StatusFlags((*fds)[0].get()), O_RDWR | O_NONBLOCK);
  uint64_t ticks = 0;
  EXPECT_EQ(::read((*fds)[0].get(), &ticks, sizeof ticks), -1) << "nothing expired yet";
}

TEST(TimerfdKind, ExpirationsBeforeTheDumpAreKeptAsTicks) {
  UniqueFd t(::timerfd_create(CLOCK_BOOTTIME, TFD_CLOEXEC));
  struct itimerspec its {{0, 2000000}, {0, 1000000}};   // every 2 ms from 1 ms on
  ASSERT_EQ(::timerfd_settime(t.get(), 0, &its, nullptr), 0);
  struct timespec nap {0, 20000000};
  ::nanosleep(&nap, nullptr);                         // "frozen": nobody reads them
  auto dumped = DumpFds({t.get()});
  ASSERT_TRUE(dumped.ok()) << dumped.error().message();
  img::FileEntry entry;
  ASSERT_TRUE(entry.ParseFromString(dumped->entries[0]));
  const uint64_t dumped_ticks = entry.timerfd().ticks();
  EXPECT_GE(dumped_ticks, 5u);
  t.reset();
  LocalFdExchange exchange;
  auto fds = RestoreFds(*dumped, exchange);
  ASSERT_TRUE(fds.ok()) << fds.error().message();
  uint64_t ticks = 0;
  ASSERT_EQ(::read((*fds)[0].get(), &ticks, sizeof ticks), 8);
  EXPECT_GE(ticks, dumped_ticks);   // the restored timer runs on, so it may add some
  EXPECT_LE(ticks, dumped_ticks + 5);
}

TEST(TimerfdKind, ExpiredOneShotShowsItsTickAndStaysDisarmed) {
  UniqueFd t(::timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC));
  struct itimerspec its {{0, 0}, {0, 1000}};
  ASSERT_EQ(::timerfd_settime(t.get(), 0, &its, nullptr), 0);
  struct timespec nap {0, 5000000};
  ::nanosleep(&nap, nullptr);
  auto dumped = DumpFds({t.get()});
  ASSERT_TRUE(dumped.ok()) << dumped.error().message();
  t.reset();
  LocalFdExchange exchange;
  auto fds = RestoreFds(*dumped, exchange);
  ASSERT_TRUE(fds.ok()) << fds.error().message();
  EXPECT_NE(testing::FdinfoBody((*fds)[0].get()).find("ticks: 1\n"), std::string::npos);
  struct itimerspec now {};
  ASSERT_EQ(::timerfd_gettime((*fds)[0].get(), &now), 0);
  EXPECT_EQ(Seconds(now.it_value), 0.0);
}

TEST(TimerfdKind, AbsoluteRealtimeDeadlineIsKept) {
  UniqueFd t(::timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC));
  struct timespec wall {};
  ::clock_gettime(CLOCK_REALTIME, &wall);
  struct itimerspec its {{0, 0}, {wall.tv_sec + 100, 0}};
  ASSERT_EQ(::timerfd_settime(t.get(), TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, nullptr), 0);
  auto dumped = DumpFds({t.get()});
  ASSERT_TRUE(dumped.ok()) << dumped.error().message();
  t.reset();
  struct timespec nap {0, 300000000};
  ::nanosleep(&nap, nullptr);   // restore later: the deadline must not move with us
  LocalFdExchange exchange;
  auto fds = RestoreFds(*dumped, exchange);
  ASSERT_TRUE(fds.ok()) << fds.error().message();
  struct itimerspec now {};
  ASSERT_EQ(::timerfd_gettime((*fds)[0].get(), &now), 0);
  ::clock_gettime(CLOCK_REALTIME, &wall);
  EXPECT_NEAR(Seconds(now.it_value), (its.it_value.tv_sec - wall.tv_sec) - wall.tv_nsec / 1e9, 0.05);
  EXPECT_NE(testing::FdinfoBody((*fds)[0].get()).find("settime flags: 03\n"), std::string::npos);
}

constexpr char kHead[] = "pos:\t0\nflags:\t02\nmnt_id:\t17\nino:\t1038\n";
constexpr char kGood[] = "clockid: 1\nticks: 3\nsettime flags: 01\nit_value: (4, 999986340)\nit_interval: (1, 500)\n";

std::string ParseError(const std::string& body) {
  auto r = ParseTimerfdFdinfo(kHead + body);
  return r.ok() ? "(ok)" : r.error().message();
}

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  return s.replace(s.find(from), from.size(), to);
}

TEST(TimerfdFdinfo, ParsesAndRefusesMalformedText) {
  auto ok = ParseTimerfdFdinfo(std::string(kHead) + kGood);
  ASSERT_TRUE(ok.ok()) << ok.error().message();
  EXPECT_EQ(ok->clockid(), 1u);
  EXPECT_EQ(ok->ticks(), 3u);
  EXPECT_EQ(ok->settime_flags(), 1u);
  EXPECT_EQ(ok->value_sec(), 4u);
  EXPECT_EQ(ok->value_nsec(), 999986340u);
  EXPECT_EQ(ok->interval_sec(), 1u);
  EXPECT_EQ(ok->interval_nsec(), 500u);
  const std::string good = kGood;
  EXPECT_EQ(ParseError(Replace(good, "clockid: 1\n", "")), "timerfd fdinfo: missing clockid");
  EXPECT_EQ(ParseError(Replace(good, "clockid: 1", "clockid: 3")), "timerfd fdinfo: bad clockid \"3\"");
  EXPECT_EQ(ParseError(Replace(good, "ticks: 3", "ticks: -3")), "timerfd fdinfo: bad ticks \"-3\"");
  EXPECT_EQ(ParseError(Replace(good, "settime flags: 01", "settime flags: 08")),
            "timerfd fdinfo: bad settime flags \"08\"");
  EXPECT_EQ(ParseError(Replace(good, "settime flags: 01", "settime flags: 04")),
            "timerfd fdinfo: bad settime flags \"04\"");
  EXPECT_EQ(ParseError(Replace(good, "(4, 999986340)", "(4, 1000000000)")),
            "timerfd fdinfo: bad it_value \"(4, 1000000000)\"");
  EXPECT_EQ(ParseError(Replace(good, "(4, 999986340)", "(4 999986340)")),
            "timerfd fdinfo: bad it_value \"(4 999986340)\"");
  EXPECT_EQ(ParseError(Replace(good, "(1, 500)", "(1, 500")), "timerfd fdinfo: bad it_interval \"(1, 500\"");
  EXPECT_EQ(ParseError(Replace(good, "(1, 500)", "(99999999999999, 0)")),
            "timerfd fdinfo: bad it_interval \"(99999999999999, 0)\"");
  EXPECT_EQ(ParseError(good + "ticks: 4\n"), "timerfd fdinfo: duplicate ticks");
}

}  // namespace
}  // namespace stasis::files
