#include "engine/restore/timers_checks.h"

#include <gtest/gtest.h>

namespace stasis::restore {
namespace {

struct Fixture {
  img::TaskCore core;
  img::TaskTimers timers;
  Fixture() {
    core.add_threads()->set_tid(42);
    core.add_threads()->set_tid(43);
    img::Itimer* real = timers.add_itimers();
    real->set_which(0);
    real->set_value_us(1000);
    real->set_interval_us(1000);
    img::PosixTimer* a = timers.add_posix();
    a->set_id(0);
    a->set_clock_id(1);
    a->set_signo(34);
    a->set_value_ns(5);
    img::PosixTimer* b = timers.add_posix();
    b->set_id(3);
    b->set_clock_id(-6);
    b->set_notify(img::NOTIFY_THREAD);
    b->set_notify_tid(43);
    b->set_signo(10);
    img::PosixTimer* c = timers.add_posix();
    c->set_id(7);
    c->set_notify(img::NOTIFY_NONE);
  }
};

void ExpectCorrupt(const Fixture& f, const char* part) {
  Status s = CheckTimers(f.timers, f.core, "timers-42.img");
  ASSERT_FALSE(s.ok()) << "accepted: " << part;
  EXPECT_EQ(s.error().kind(), ErrorKind::kCorruption);
  EXPECT_NE(s.error().message().find(part), std::string::npos) << s.error().message();
  EXPECT_NE(s.error().message().find("timers-42.img"), std::string::npos) << s.error().message();
}

TEST(CheckTimers, AcceptsAValidImage) {
  Fixture f;
  Status s = CheckTimers(f.timers, f.core, "timers-42.img");
  EXPECT_TRUE(s.ok()) << s.error().message();
}

TEST(CheckTimers, RefusesWhatTheKernelWouldNot) {
  { Fixture f; f.timers.mutable_itimers(0)->set_which(3); ExpectCorrupt(f, "unknown kind"); }
  { Fixture f; *f.timers.add_itimers() = f.timers.itimers(0); ExpectCorrupt(f, "twice"); }
  { Fixture f; f.timers.mutable_itimers(0)->set_value_us(0); ExpectCorrupt(f, "time out of range"); }
  { Fixture f; f.timers.mutable_posix(1)->set_id(0); ExpectCorrupt(f, "ascending"); }
  { Fixture f; f.timers.mutable_posix(0)->set_clock_id(4); ExpectCorrupt(f, "unknown clock"); }
  { Fixture f; f.timers.mutable_posix(0)->set_notify(static_cast<img::TimerNotify>(9)); ExpectCorrupt(f, "notify"); }
  { Fixture f; f.timers.mutable_posix(0)->set_signo(65); ExpectCorrupt(f, "signal 65"); }
  { Fixture f; f.timers.mutable_posix(1)->set_notify_tid(44); ExpectCorrupt(f, "thread 44"); }
  { Fixture f; f.timers.mutable_posix(0)->set_interval_ns(~0ull); ExpectCorrupt(f, "time out of range"); }
  {
    Fixture f;
    f.timers.clear_posix();
    for (size_t i = 0; i <= kMaxPosixTimersInImage; ++i) f.timers.add_posix()->set_id(static_cast<int32_t>(i));
    ExpectCorrupt(f, "POSIX timers");
  }
}

}  // namespace
}  // namespace stasis::restore
