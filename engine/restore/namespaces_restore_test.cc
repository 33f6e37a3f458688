#include "engine/restore/namespaces_restore.h"

#include <gtest/gtest.h>

#include "engine/images/image_format.h"
#include "engine/images/image_io.h"

namespace stasis::restore {
namespace {

// A dumped init (host pid 500, pid 1 inside) with a two-threaded child (600/601 -> 3/4) and
// a zombie grandchild (700 -> 5).
ImageSet NamespacedSet() {
  ImageSet set;
  auto add = [&](uint32_t pid, uint32_t ppid, uint32_t ns_pid, std::vector<std::pair<uint32_t, uint32_t>> threads,
                 bool zombie) {
    ProcessImage p;
    p.entry.set_pid(pid);
    p.entry.set_ppid(ppid);
    p.entry.set_pgid(pid);
    p.entry.set_sid(500);
    p.entry.set_ns_pid(ns_pid);
    p.entry.set_ns_pgid(ns_pid);
    p.entry.set_ns_sid(1);
    if (zombie) p.entry.set_state(img::TASK_ZOMBIE);
    p.core.set_pid(pid);
    for (auto [tid, ns_tid] : threads) {
      p.entry.add_threads(tid);
      p.entry.add_ns_threads(ns_tid);
      p.core.add_threads()->set_tid(tid);
    }
    set.processes.push_back(std::move(p));
    set.index_by_pid.emplace(pid, static_cast<int>(set.processes.size() - 1));
  };
  add(500, 0, 1, {{500, 1}}, false);
  add(600, 500, 3, {{600, 3}, {601, 4}}, false);
  add(700, 600, 5, {}, true);
  return set;
}

img::Namespaces PidNs() {
  img::Namespaces ns;
  ns.set_pid(true);
  ns.set_uts(true);
  ns.set_hostname("box");
  return ns;
}

TEST(NamespacesRestore, RenumbersToTheIdsInside) {
  ImageSet set = NamespacedSet();
  ASSERT_TRUE(ApplyNamespacesToSet(PidNs(), set).ok());
  EXPECT_EQ(set.processes[0].pid(), 1u);
  EXPECT_EQ(set.processes[0].file_pid(), 500u);
  EXPECT_EQ(set.processes[1].entry.ppid(), 1u);
  EXPECT_EQ(set.processes[1].entry.sid(), 1u);
  EXPECT_EQ(set.processes[1].entry.pgid(), 3u);
  EXPECT_EQ(set.processes[1].core.pid(), 3u);
  EXPECT_EQ(set.processes[1].core.threads(1).tid(), 4u);
  EXPECT_EQ(set.processes[1].entry.threads(1), 4u);
  EXPECT_EQ(set.processes[2].entry.ppid(), 3u);
  EXPECT_EQ(set.processes[2].file_pid(), 700u);
  EXPECT_EQ(set.IndexOf(3), 1);
  EXPECT_EQ(set.IndexOf(600), -1);
}

TEST(NamespacesRestore, RefusesBadIds) {
  {
    ImageSet set = NamespacedSet();
    set.processes[0].entry.set_ns_pid(2);
    set.processes[0].entry.set_ns_threads(0, 2);
    EXPECT_FALSE(ApplyNamespacesToSet(PidNs(), set).ok()) << "root is not pid 1";
  }
  {
    ImageSet set = NamespacedSet();
    set.processes[1].entry.set_ns_threads(1, 1);
    EXPECT_FALSE(ApplyNamespacesToSet(PidNs(), set).ok()) << "a tid used twice";
  }
  {
    ImageSet set = NamespacedSet();
    set.processes[1].entry.clear_ns_threads();
    EXPECT_FALSE(ApplyNamespacesToSet(PidNs(), set).ok()) << "thread ids missing";
  }
  {
    ImageSet set = NamespacedSet();
    set.processes[2].entry.set_ns_pid(0);
    EXPECT_FALSE(ApplyNamespacesToSet(PidNs(), set).ok()) << "pid 0 inside";
  }
  {
    ImageSet set = NamespacedSet();
    img::Namespaces no_pid = PidNs();
    no_pid.set_pid(false);
    EXPECT_FALSE(ApplyNamespacesToSet(no_pid, set).ok()) << "ids inside without a pid namespace";
  }
  {
    ImageSet set = NamespacedSet();
    img::Namespaces ns = PidNs();
    ns.set_hostname(std::string(65, 'h'));
    EXPECT_FALSE(ApplyNamespacesToSet(ns, set).ok()) << "host name too long";
  }
  {
    ImageSet set = NamespacedSet();
    img::Namespaces ns = PidNs();
    ns.add_links()->set_name("lo");
    EXPECT_FALSE(ApplyNamespacesToSet(ns, set).ok()) << "links without a net namespace";
  }
}

TEST(NamespacesRestore, LocksFollowTheirHolderInside) {
  ImageSet set = NamespacedSet();
  img::FileLock lock;
  lock.set_pid(600);
  set.file_locks.push_back(lock);
  ASSERT_TRUE(ApplyNamespacesToSet(PidNs(), set).ok());
  EXPECT_EQ(set.file_locks[0].pid(), 3u) << "taken again by the holder, known by its id inside";

  ImageSet stray = NamespacedSet();
  lock.set_pid(999);
  stray.file_locks.push_back(lock);
  auto r = ApplyNamespacesToSet(PidNs(), stray);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("file-locks.img"), std::string::npos) << r.error().message();
}

TEST(NamespacesRestore, ImageRoundTrips) {
  img::Namespaces ns = PidNs();
  ns.set_net(true);
  img::NetLink* lo = ns.add_links();
  lo->set_name("lo");
  lo->set_flags(1);
  img::NetAddress* a = lo->add_addresses();
  a->set_family(2);
  a->set_address(std::string("\x0a\x0b\x0c\x0d", 4));
  a->set_prefix_len(24);
  const std::string file = images::EncodeMessageImage(images::ImageKind::kNamespaces, {ns.SerializeAsString()});
  auto back = images::ParseMessages<img::Namespaces>(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(file.data()), file.size()),
      images::ImageKind::kNamespaces, "ns.img");
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->size(), 1u);
  EXPECT_EQ((*back)[0].SerializeAsString(), ns.SerializeAsString());
  EXPECT_STREQ(images::ImageKindName(images::ImageKind::kNamespaces), "ns");
  EXPECT_NE((NamespacePlan{true, ns}.clone_flags()), 0);
}

}  // namespace
}  // namespace stasis::restore
