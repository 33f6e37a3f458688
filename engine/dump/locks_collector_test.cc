#include "engine/dump/locks_collector.h"

#include <gtest/gtest.h>

namespace stasis::dump {
namespace {

TEST(ParseFdinfoLocks, EveryKind) {
  const char* text =
      "pos:\t0\nflags:\t0100002\nmnt_id:\t25\nino:\t5678\n"
      "lock:\t1: FLOCK  ADVISORY  WRITE 4711 08:01:5678 0 EOF\n"
      "lock:\t2: POSIX  ADVISORY  READ 4711 08:01:5678 200 EOF\n"
      "lock:\t3: POSIX  ADVISORY  WRITE 4711 08:01:5678 0 99\n"
      "lock:\t4: OFDLCK ADVISORY  READ -1 00:1a:5678 10 19\n";
  auto r = ParseFdinfoLocks(text);
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_EQ(r->size(), 4u);
  EXPECT_EQ((*r)[0].kind, img::LOCK_FLOCK);
  EXPECT_TRUE((*r)[0].write);
  EXPECT_TRUE((*r)[0].to_eof);
  EXPECT_EQ((*r)[1].kind, img::LOCK_POSIX);
  EXPECT_FALSE((*r)[1].write);
  EXPECT_EQ((*r)[1].start, 200u);
  EXPECT_TRUE((*r)[1].to_eof);
  EXPECT_EQ((*r)[2].end, 99u);
  EXPECT_FALSE((*r)[2].to_eof);
  EXPECT_EQ((*r)[3].kind, img::LOCK_OFD);
  EXPECT_EQ((*r)[3].pid, -1);
  EXPECT_EQ((*r)[3].inode, 5678u);
  EXPECT_EQ((*r)[3].start, 10u);
  EXPECT_EQ((*r)[3].end, 19u);
}

TEST(ParseFdinfoLocks, NoLocks) {
  auto r = ParseFdinfoLocks("pos:\t0\nflags:\t02\nmnt_id:\t1\nino:\t2\n");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
}

TEST(ParseFdinfoLocks, LeasesAreNotSupported) {
  auto r = ParseFdinfoLocks("lock:\t1: LEASE  ACTIVE    READ 4711 08:01:5678 0 EOF\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::kNotSupported);
}

TEST(ParseFdinfoLocks, RefusesMalformedLines) {
  const char* bad[] = {
      "lock:\t1: POSIX  ADVISORY  WRITE 4711 08:01:5678 99 0\n",     // end before start
      "lock:\t1: POSIX  ADVISORY  WRITE 4711 08:01:5678 0\n",        // no end
      "lock:\t1: POSIX  ADVISORY  WRITE 4711 5678 0 EOF\n",          // no dev
      "lock:\t1: POSIX  ADVISORY  BOTH 4711 08:01:5678 0 EOF\n",
      "lock:\t1: POSIX  MANDATORY WRITE 4711 08:01:5678 0 EOF\n",
      "lock:\tx: FLOCK  ADVISORY  WRITE 4711 08:01:5678 0 EOF\n",
      "lock:\t1: FLOCK  ADVISORY  WRITE 4711 08:01:5678 0 EOF extra\n",
      "lock:\t-> FLOCK  ADVISORY  WRITE 4711 08:01:5678 0 EOF\n",
      "lock:\t1: POSIX  ADVISORY  WRITE 4711 08:01:5678 0 99999999999999999999\n",
  };
  for (const char* text : bad) {
    auto r = ParseFdinfoLocks(text);
    EXPECT_FALSE(r.ok()) << text;
    if (!r.ok()) {
      EXPECT_EQ(r.error().kind(), ErrorKind::kCorruption) << text;
    }
  }
}

}  // namespace
}  // namespace stasis::dump
