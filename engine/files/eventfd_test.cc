// eventfd and signalfd on real kernel objects, and their fdinfo parsers on malformed text.
#include "engine/files/eventfd.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>

#include "engine/files/files_test_util.h"
#include "engine/files/signalfd.h"

namespace stasis::files {
namespace {

using testing::DumpFds;
using testing::FdinfoBody;
using testing::RestoreFds;

TEST(EventfdKind, CounterSemaphoreAndFlagsSurvive) {
  UniqueFd e(::eventfd(0, EFD_SEMAPHORE | EFD_NONBLOCK | EFD_CLOEXEC));
  ASSERT_TRUE(e.valid());
  const uint64_t count = (uint64_t{1} << 40) + 42;   // wider than eventfd()'s initial value
  ASSERT_EQ(::write(e.get(), &count, sizeof count), 8);
  UniqueFd plain(::eventfd(7, EFD_CLOEXEC));
  const std::string before = FdinfoBody(e.get()), before_plain = FdinfoBody(plain.get());
  auto dumped = DumpFds({e.get(), plain.get()});
  ASSERT_TRUE(dumped.ok()) << dumped.error().message();
  e.reset();
  plain.reset();

  LocalFdExchange exchange;
  auto fds = RestoreFds(*dumped, exchange);
  ASSERT_TRUE(fds.ok()) << fds.error().message();
  const int r = (*fds)[0].get();
  // The "eventfd-id" line differs (a new object); the rest must match.
  auto strip_id = [](std::string s) { return s.substr(0, s.find("eventfd-id")) + s.substr(s.find('\n', s.find("eventfd-id")) + 1); };
  EXPECT_EQ(strip_id(FdinfoBody(r)), strip_id(before));
  EXPECT_EQ(strip_id(FdinfoBody((*fds)[1].get())), strip_id(before_plain));
  EXPECT_EQ(testing::StatusFlags(r), O_RDWR | O_NONBLOCK);
  EXPECT_EQ(testing::StatusFlags((*fds)[1].get()), O_RDWR);
  uint64_t v = 0;
  ASSERT_EQ(::read(r, &v, sizeof v), 8);
  EXPECT_EQ(v, 1u) << "semaphore mode reads 1 at a time";
  ASSERT_EQ(::read((*fds)[1].get(), &v, sizeof v), 8);
  EXPECT_EQ(v, 7u);
}

constexpr char kHead[] = "pos:\t0\nflags:\t04002\nmnt_id:\t17\nino:\t1038\n";

std::string EventfdError(const std::string& tail) {
  auto r = ParseEventfdFdinfo(kHead + tail);
  return r.ok() ? "(ok)" : r.error().message();
}

TEST(EventfdFdinfo, ParsesAndRefusesMalformedText) {
  auto ok = ParseEventfdFdinfo(std::string(kHead) + "eventfd-count:               2a\neventfd-id: 1\neventfd-semaphore: 1\n");
  ASSERT_TRUE(ok.ok()) << ok.error().message();
  EXPECT_EQ(ok->count(), 42u);
  EXPECT_TRUE(ok->semaphore());
  EXPECT_EQ(ok->flags(), 04002u);
  // Kernels before 6.6 print no semaphore line.
  EXPECT_EQ(EventfdError("eventfd-count: 0\n"), "(ok)");
  EXPECT_EQ(EventfdError(""), "eventfd fdinfo: missing eventfd-count");
  EXPECT_EQ(EventfdError("eventfd-count: 1\neventfd-count: 2\n"), "eventfd fdinfo: duplicate eventfd-count");
  EXPECT_EQ(EventfdError("eventfd-count: xyz\n"), "eventfd fdinfo: bad eventfd-count \"xyz\"");
  EXPECT_EQ(EventfdError("eventfd-count: ffffffffffffffff\n"),
            "eventfd fdinfo: bad eventfd-count \"ffffffffffffffff\"");
  EXPECT_EQ(EventfdError("eventfd-count: 1ffffffffffffffff\n"),
            "eventfd fdinfo: bad eventfd-count \"1ffffffffffffffff\"");
  EXPECT_EQ(EventfdError("eventfd-count: 1\neventfd-semaphore: 2\n"), "eventfd fdinfo: bad eventfd-semaphore \"2\"");
  auto no_head = ParseEventfdFdinfo("eventfd-count: 1\n");
  ASSERT_FALSE(no_head.ok());
  EXPECT_EQ(no_head.error().message(), "fdinfo: missing pos");
}

TEST(SignalfdKind, MaskAndFlagsSurvive) {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGUSR1);
  sigaddset(&mask, SIGRTMIN + 2);
  sigaddset(&mask, 64);
  UniqueFd s(::signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC));
  ASSERT_TRUE(s.valid());
  const std::string before = FdinfoBody(s.get());
  EXPECT_NE(before.find("sigmask:\t8000000800000200"), std::string::npos) << before;
  auto dumped = DumpFds({s.get()});
  ASSERT_TRUE(dumped.ok()) << dumped.error().message();
  s.reset();

  LocalFdExchange exchange;
  auto fds = RestoreFds(*dumped, exchange);
  ASSERT_TRUE(fds.ok()) << fds.error().message();
  EXPECT_EQ(FdinfoBody((*fds)[0].get()), before);
  EXPECT_EQ(testing::StatusFlags((*fds)[0].get()), O_RDWR | O_NONBLOCK);
}

TEST(SignalfdFdinfo, ParsesAndRefusesMalformedText) {
  auto ok = ParseSignalfdFdinfo(std::string(kHead) + "sigmask:\t0000000800000200\n");
  ASSERT_TRUE(ok.ok()) << ok.error().message();
  EXPECT_EQ(ok->signal_mask(), 0x800000200u);
  auto err = [](const std::string& tail) {
    auto r = ParseSignalfdFdinfo(kHead + tail);
    return r.ok() ? "(ok)" : r.error().message();
  };
  EXPECT_EQ(err(""), "signalfd fdinfo: missing sigmask");
  EXPECT_EQ(err("sigmask:\t\n"), "signalfd fdinfo: bad sigmask \"\"");
  EXPECT_EQ(err("sigmask:\t-1\n"), "signalfd fdinfo: bad sigmask \"-1\"");
  EXPECT_EQ(err("sigmask:\t10000000000000000\n"), "signalfd fdinfo: bad sigmask \"10000000000000000\"");
  EXPECT_EQ(err("sigmask:\t1\nsigmask:\t2\n"), "signalfd fdinfo: duplicate sigmask");
}

}  // namespace
}  // namespace stasis::files
