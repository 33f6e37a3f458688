#include "engine/dump/timers_collector.h"

#include <gtest/gtest.h>

namespace stasis::dump {
namespace {

TEST(ParseProcTimers, RecordsOfEveryNotifyMode) {
  const char* text =
      "ID: 3\n"
      "signal: 34/000000000000abcd\n"
      "notify: signal/tid.4711\n"
      "ClockID: 1\n"
      "ID: 0\n"
      "signal: 14/0000000000000000\n"
      "notify: signal/pid.4700\n"
      "ClockID: 0\n"
      "ID: 1\n"
      "signal: 0/0000000000000000\n"
      "notify: none/pid.4700\n"
      "ClockID: -6\n";
  auto r = ParseProcTimers(text);
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].id, 0);   // sorted by id
  EXPECT_EQ((*r)[0].notify, img::NOTIFY_SIGNAL);
  EXPECT_EQ((*r)[0].signo, 14u);
  EXPECT_EQ((*r)[1].id, 1);
  EXPECT_EQ((*r)[1].notify, img::NOTIFY_NONE);
  EXPECT_EQ((*r)[1].clock_id, -6);
  EXPECT_EQ((*r)[2].id, 3);
  EXPECT_EQ((*r)[2].notify, img::NOTIFY_THREAD);
  EXPECT_EQ((*r)[2].notify_pid, 4711u);
  EXPECT_EQ((*r)[2].sigev_value, 0xabcdu);
}

TEST(ParseProcTimers, EmptyIsNoTimers) {
  auto r = ParseProcTimers("");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
}

TEST(ParseProcTimers, RefusesMalformedRecords) {
  const char* bad[] = {
      "signal: 14/0\n",                                                          // field before ID
      "ID: 0\nsignal: 14/0\nnotify: signal/pid.1\n",                             // incomplete
      "ID: 0\nsignal: 14/0\nnotify: signal/pid.1\nClockID: 0\nID: 0\nsignal: 14/0\nnotify: signal/pid.1\nClockID: 0\n",
      "ID: -1\nsignal: 14/0\nnotify: signal/pid.1\nClockID: 0\n",
      "ID: x\n",
      "ID: 0\nsignal: 99/0\nnotify: signal/pid.1\nClockID: 0\n",                // signal > 64
      "ID: 0\nsignal: 14\nnotify: signal/pid.1\nClockID: 0\n",                  // no value
      "ID: 0\nsignal: 14/0\nnotify: thread/pid.1\nClockID: 0\n",                // SIGEV_THREAD
      "ID: 0\nsignal: 14/0\nnotify: signal/xid.1\nClockID: 0\n",
      "ID: 0\nsignal: 14/0\nnotify: signal/pid.1\nClockID: 99999999999\n",
      "ID: 0\nno colon here\n",
  };
  for (const char* text : bad) {
    auto r = ParseProcTimers(text);
    EXPECT_FALSE(r.ok()) << text;
    if (!r.ok()) {
      EXPECT_EQ(r.error().kind(), ErrorKind::kCorruption) << text;
    }
  }
}

TEST(ParseProcTimers, IgnoresUnknownLinesOfNewerKernels) {
  auto r = ParseProcTimers("ID: 5\nsignal: 10/1\nnotify: signal/pid.2\nClockID: 7\nFuture: 1\n");
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].clock_id, 7);
}

}  // namespace
}  // namespace stasis::dump
