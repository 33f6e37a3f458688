// Image round trips and corrupt input for timers-PID.img, file-locks.img and ipc-ns.img.
#include <gtest/gtest.h>

#include <google/protobuf/util/message_differencer.h>

#include "engine/images/image_io.h"
#include "engine/images/ipc.pb.h"
#include "engine/images/lock.pb.h"
#include "engine/images/show.h"
#include "engine/images/timer.pb.h"

namespace stasis::images {
namespace {

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

img::TaskTimers SampleTimers() {
  img::TaskTimers t;
  img::Itimer* it = t.add_itimers();
  it->set_which(2);
  it->set_value_us(600000000);
  it->set_interval_us(250000);
  img::PosixTimer* p = t.add_posix();
  p->set_id(5);
  p->set_clock_id(-6);
  p->set_notify(img::NOTIFY_THREAD);
  p->set_signo(34);
  p->set_sigev_value(0x1234abcd);
  p->set_notify_tid(4711);
  p->set_value_ns(999999999);
  p->set_interval_ns(20000000);
  p->set_overrun(3);
  return t;
}

template <typename Msg>
void RoundTrip(ImageKind kind, const std::vector<Msg>& msgs, const std::string& name) {
  std::vector<std::string> bodies;
  for (const Msg& m : msgs) bodies.push_back(m.SerializeAsString());
  const std::string file = EncodeMessageImage(kind, bodies);
  auto back = ParseMessages<Msg>(Bytes(file), kind, name);
  ASSERT_TRUE(back.ok()) << back.error().message();
  ASSERT_EQ(back->size(), msgs.size());
  for (size_t i = 0; i < msgs.size(); ++i)
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals((*back)[i], msgs[i]));
  // Every truncation and every single flipped byte is refused, never accepted silently.
  for (size_t cut = 0; cut < file.size(); ++cut)
    EXPECT_FALSE((ParseMessages<Msg>(Bytes(file.substr(0, cut)), kind, name).ok())) << "cut at " << cut;
  for (size_t i = 0; i < file.size(); ++i) {
    std::string bad = file;
    bad[i] = static_cast<char>(bad[i] ^ 0x41);
    EXPECT_FALSE((ParseMessages<Msg>(Bytes(bad), kind, name).ok())) << "flipped byte " << i;
  }
  // The wrong kind is named.
  auto wrong = ParseMessages<Msg>(Bytes(file), ImageKind::kCore, name);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().message().find(name), std::string::npos);
}

TEST(TimerImage, RoundTripAndCorruption) { RoundTrip(ImageKind::kTimers, std::vector{SampleTimers()}, "timers-42.img"); }

TEST(FileLockImage, RoundTripAndCorruption) {
  std::vector<img::FileLock> locks(2);
  locks[0].set_kind(img::LOCK_OFD);
  locks[0].set_write(true);
  locks[0].set_pid(42);
  locks[0].set_fd(3);
  locks[0].set_file_id(17);
  locks[0].set_start(10);
  locks[0].set_end(19);
  locks[1].set_kind(img::LOCK_FLOCK);
  locks[1].set_pid(43);
  locks[1].set_to_eof(true);
  RoundTrip(ImageKind::kFileLocks, locks, "file-locks.img");
}

TEST(IpcImage, RoundTripAndCorruption) {
  img::IpcNamespace ns;
  img::SysvShm* shm = ns.add_shm();
  shm->mutable_perm()->set_key(0x5151);
  shm->mutable_perm()->set_id(32769);
  shm->set_size(8192);
  shm->set_contents(std::string("\0\1\2", 3));
  img::SysvMsg* m = ns.add_msg()->add_messages();
  m->set_type(3);
  m->set_data("hello");
  ns.add_sem()->add_values(7);
  RoundTrip(ImageKind::kIpcNamespace, std::vector{ns}, "ipc-ns.img");
  ASSERT_NE(FindImageKindByName("ipc-ns.img"), nullptr);
  EXPECT_EQ(FindImageKindByName("ipc-ns.img")->kind, ImageKind::kIpcNamespace);
}

TEST(TimerImage, ShowKnowsTheNewKinds) {
  uint32_t pid = 0;
  const ImageKindInfo* t = FindImageKindByName("timers-42.img", &pid);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->kind, ImageKind::kTimers);
  EXPECT_EQ(pid, 42u);
  const ImageKindInfo* l = FindImageKindByName("file-locks.img");
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(l->kind, ImageKind::kFileLocks);
  const std::vector<std::string> bodies{SampleTimers().SerializeAsString()};
  const std::string file = EncodeMessageImage(ImageKind::kTimers, bodies);
  auto decoded = DecodeImage(*t, Bytes(file), file.size(), "timers-42.img");
  ASSERT_TRUE(decoded.ok()) << decoded.error().message();
  const std::string text = FormatImageText(*decoded);
  EXPECT_NE(text.find("notify: NOTIFY_THREAD"), std::string::npos) << text;
  EXPECT_NE(text.find("notify_tid: 4711"), std::string::npos) << text;
  auto json = FormatImageJson(*decoded);
  ASSERT_TRUE(json.ok());
  EXPECT_NE(json->find("4711"), std::string::npos) << *json;
}

}  // namespace
}  // namespace stasis::images
