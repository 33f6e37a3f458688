// epoll on real targets: its registrations (events, data) survive, re-added at the targets'
// new fd numbers; a target whose fd was closed is refused; the parser on malformed text.
#include "engine/files/epoll.h"

#include <gtest/gtest.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/sysmacros.h>

#include "engine/files/files_test_util.h"

namespace stasis::files {
namespace {

using testing::DumpFds;
using testing::RestoreFds;

TEST(EpollKind, TargetsEventsAndDataSurvive) {
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  UniqueFd r(p[0]), w(p[1]);
  UniqueFd ev(::eventfd(3, EFD_CLOEXEC));
  UniqueFd ep(::epoll_create1(EPOLL_CLOEXEC));
  struct epoll_event e1 {EPOLLIN | EPOLLET, {.u64 = 0x1234567890abcdefull}};
  struct epoll_event e2 {EPOLLOUT | EPOLLONESHOT, {.u64 = 7}};
  ASSERT_EQ(::epoll_ctl(ep.get(), EPOLL_CTL_ADD, r.get(), &e1), 0);
  ASSERT_EQ(::epoll_ctl(ep.get(), EPOLL_CTL_ADD, ev.get(), &e2), 0);
  const int dumped_r = r.get(), dumped_ev = ev.get();

  // As the pipeline would: targets first, the epoll last.
  auto dumped = DumpFds({r.get(), w.get(), ev.get(), ep.get()});
  ASSERT_TRUE(dumped.ok()) << dumped.error().message();
  img::FileEntry entry;
  ASSERT_TRUE(entry.ParseFromString(dumped->entries[3]));
  ASSERT_EQ(entry.epoll().targets_size(), 2);
  EXPECT_EQ(FindKindFor(entry)->phase(), OpenPhase::kAfterOthers);

  // Restore with the targets at other numbers than at dump (the originals still hold theirs).
  auto dumped_targets = *dumped;
  dumped_targets.entries.pop_back();
  auto dumped_epoll = *dumped;
  dumped_epoll.entries.erase(dumped_epoll.entries.begin(), dumped_epoll.entries.begin() + 3);
  LocalFdExchange exchange;
  auto targets = RestoreFds(dumped_targets, exchange);
  ASSERT_TRUE(targets.ok()) << targets.error().message();
  testing::MappedFds where;
  where.map[dumped_r] = (*targets)[0].get();
  where.map[dumped_ev] = (*targets)[2].get();
  r.reset();
  w.reset();
  ev.reset();
  ep.reset();
  auto restored = RestoreFds(dumped_epoll, exchange, where);
  ASSERT_TRUE(restored.ok()) << restored.error().message();
  const int rep = (*restored)[0].get();

  const std::string body = testing::FdinfoBody(rep);
  EXPECT_NE(body.find("events: 80000019 data: 1234567890abcdef"), std::string::npos) << body;
  EXPECT_NE(body.find("events: 4000001c data:                7"), std::string::npos) << body;
  struct epoll_event out[4];
  ASSERT_EQ(::epoll_wait(rep, out, 4, 0), 1) << "the eventfd is writable, the pipe empty";
  EXPECT_EQ(out[0].data.u64, 7u);
  EXPECT_EQ(::epoll_wait(rep, out, 4, 0), 0) << "EPOLLONESHOT fired once";
  ASSERT_EQ(::write((*targets)[1].get(), "x", 1), 1);
  ASSERT_EQ(::epoll_wait(rep, out, 4, 0), 1);
  EXPECT_EQ(out[0].data.u64, 0x1234567890abcdefull);
}

TEST(EpollKind, TargetWhoseFdWasClosedIsRefused) {
  UniqueFd ev(::eventfd(0, EFD_CLOEXEC));
  UniqueFd ep(::epoll_create1(EPOLL_CLOEXEC));
  struct epoll_event e {EPOLLIN, {.u64 = 1}};
  ASSERT_EQ(::epoll_ctl(ep.get(), EPOLL_CTL_ADD, ev.get(), &e), 0);
  const int old = ev.get();
  UniqueFd keep(::fcntl(ev.get(), F_DUPFD_CLOEXEC, 100));   // the file lives on under another fd
  ev.reset();
  UniqueFd other(::eventfd(0, EFD_CLOEXEC));                // and the old number is reused
  ASSERT_EQ(other.get(), old);
  auto dumped = DumpFds({ep.get()});
  ASSERT_FALSE(dumped.ok());
  EXPECT_NE(dumped.error().message().find("epoll target fd " + std::to_string(old) +
                                          " was closed or replaced after it was added"),
            std::string::npos) << dumped.error().message();
}

TEST(EpollKind, MissingTargetAtRestoreIsOneClearError) {
  img::FileEntry e;
  auto* t = e.mutable_epoll()->add_targets();
  t->set_fd(12345);
  t->set_events(EPOLLIN);
  testing::DumpedFiles dumped;
  dumped.entries.push_back(e.SerializeAsString());
  LocalFdExchange exchange;
  testing::MappedFds none;
  auto r = RestoreFds(dumped, exchange, none);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(),
            "epoll target fd 12345: not open in this process (an epoll nested in one opened later?)");
}

constexpr char kHead[] = "pos:\t0\nflags:\t02\nmnt_id:\t17\nino:\t1038\n";

std::string ParseError(const std::string& body) {
  std::vector<uint64_t> devs;
  auto r = ParseEpollFdinfo(kHead + body, &devs);
  return r.ok() ? "(ok)" : r.error().message();
}

TEST(EpollFdinfo, ParsesAndRefusesMalformedText) {
  std::vector<uint64_t> devs;
  auto ok = ParseEpollFdinfo(std::string(kHead) +
                             "tfd:        5 events:       1c data:                7  pos:0 ino:40e sdev:10\n"
                             "tfd:        3 events: 80000019 data:       1234567890  pos:0 ino:8b37 sdev:fe00001\n",
                             &devs);
  ASSERT_TRUE(ok.ok()) << ok.error().message();
  ASSERT_EQ(ok->targets_size(), 2);
  EXPECT_EQ(ok->targets(1).fd(), 3u);
  EXPECT_EQ(ok->targets(1).events(), 0x80000019u);
  EXPECT_EQ(ok->targets(1).data(), 0x1234567890u);
  EXPECT_EQ(ok->targets(1).inode(), 0x8b37u);
  ASSERT_EQ(devs.size(), 2u);
  EXPECT_EQ(KernelDevToUser(devs[1]), makedev(254, 1));
  EXPECT_EQ(ParseError(""), "(ok)");
  EXPECT_EQ(ParseError("tfd: 5 events: 1c data: 7 pos:0 ino:40e\n"),
            "epoll fdinfo: bad target line \"tfd: 5 events: 1c data: 7 pos:0 ino:40e\"");
  EXPECT_EQ(ParseError("tfd: x events: 1c data: 7 ino:40e sdev:10\n"),
            "epoll fdinfo: bad target line \"tfd: x events: 1c data: 7 ino:40e sdev:10\"");
  EXPECT_EQ(ParseError("tfd: 5 events: 1c events: 1c data: 7 ino:40e sdev:10\n"),
            "epoll fdinfo: bad target line \"tfd: 5 events: 1c events: 1c data: 7 ino:40e sdev:10\"");
  EXPECT_EQ(ParseError("tfd: 5 events: 100000000 data: 7 ino:40e sdev:10\n"),
            "epoll fdinfo: bad target line \"tfd: 5 events: 100000000 data: 7 ino:40e sdev:10\"");
  EXPECT_EQ(ParseError("tfd: 99999999999 events: 1 data: 7 ino:40e sdev:10\n"),
            "epoll fdinfo: bad target line \"tfd: 99999999999 events: 1 data: 7 ino:40e sdev:10\"");
  EXPECT_EQ(ParseError("tfd:"), "epoll fdinfo: bad target line \"tfd:\"");
}

}  // namespace
}  // namespace stasis::files
