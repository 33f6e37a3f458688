#include "engine/restore/image_set.h"

#include <gtest/gtest.h>

#include "engine/images/image_format.h"
#include "engine/images/image_io.h"
#include "engine/restore/plan.h"

namespace stasis::restore {
namespace {

using images::ImageKind;

constexpr uint64_t kPage = 4096;

// A hand-made dump of one process (pid 42, threads 42 and 43) with one anonymous VMA holding
// two dumped pages, a file mapping, a vDSO, and one fd. Tests break one thing at a time.
struct Dump {
  img::Inventory inventory;
  std::vector<img::ProcessEntry> pstree;
  std::vector<img::FileEntry> files;
  std::map<uint32_t, img::TaskCore> cores;
  std::map<uint32_t, img::MmCore> mms;
  std::map<uint32_t, std::vector<img::PagemapEntry>> pagemaps;
  std::map<uint32_t, uint64_t> pages_bytes;
  std::map<uint32_t, std::vector<img::FdEntry>> fdinfos;

  Dump() {
    inventory.set_root_pid(42);
    img::ProcessEntry& e = pstree.emplace_back();
    e.set_pid(42);
    e.set_pgid(42);
    e.set_sid(42);
    e.add_threads(42);
    e.add_threads(43);

    img::TaskCore& core = cores[42];
    core.set_pid(42);
    core.set_comm("sleep");
    for (uint32_t tid : {42u, 43u}) core.add_threads()->set_tid(tid);

    img::MmCore& mm = mms[42];
    AddVma(mm, 0x400000, 0x401000, img::VMA_FILE_PRIVATE, "/usr/bin/true");
    AddVma(mm, 0x10000000, 0x10004000, img::VMA_ANON_PRIVATE);
    AddVma(mm, 0x7fff0000, 0x7fff2000, img::VMA_VDSO);

    img::PagemapEntry& run = pagemaps[42].emplace_back();
    run.set_vaddr(0x10001000);
    run.set_nr_pages(2);
    pages_bytes[42] = 2 * kPage;

    img::FileEntry& f = files.emplace_back();
    f.set_id(7);
    f.mutable_reg()->set_path("/dev/null");
    img::FdEntry& fd = fdinfos[42].emplace_back();
    fd.set_fd(0);
    fd.set_file_id(7);
  }

  static img::Vma* AddVma(img::MmCore& mm, uint64_t start, uint64_t end, img::VmaKind kind,
                          const std::string& path = "") {
    img::Vma* v = mm.add_vmas();
    v->set_start(start);
    v->set_end(end);
    v->set_kind(kind);
    v->set_prot(3);
    v->set_path(path);
    return v;
  }

  template <typename Msg>
  static std::string Encode(ImageKind kind, const std::vector<Msg>& msgs) {
    std::vector<std::string> bodies;
    for (const Msg& m : msgs) bodies.push_back(m.SerializeAsString());
    return images::EncodeMessageImage(kind, bodies);
  }

  std::map<std::string, std::string> Files() {
    std::map<std::string, std::string> out;
    auto put = [&](const std::string& name, std::string bytes) {
      out[name] = std::move(bytes);
      inventory.add_images(name);
    };
    inventory.clear_images();
    put("pstree.img", Encode(ImageKind::kPstree, pstree));
    put("files.img", Encode(ImageKind::kFiles, files));
    for (auto& [pid, core] : cores) put(images::ImageFileName("core", pid), Encode(ImageKind::kCore, std::vector{core}));
    for (auto& [pid, mm] : mms) put(images::ImageFileName("mm", pid), Encode(ImageKind::kMm, std::vector{mm}));
    for (auto& [pid, runs] : pagemaps) put(images::ImageFileName("pagemap", pid), Encode(ImageKind::kPagemap, runs));
    for (auto& [pid, fds] : fdinfos) put(images::ImageFileName("fdinfo", pid), Encode(ImageKind::kFdinfo, fds));
    for (auto& [pid, bytes] : pages_bytes) {
      images::ImageHeader h;
      h.kind = ImageKind::kPages;
      h.payload_size = bytes;
      std::string page = images::EncodeHeader(h);
      page.resize(kPage, '\0');
      put(images::ImageFileName("pages", pid), page);
    }
    out["inventory.img"] = Encode(ImageKind::kInventory, std::vector{inventory});
    return out;
  }
};

// Expects ParseImageSet to fail with a message containing every one of `parts`.
void ExpectError(Dump& d, std::initializer_list<const char*> parts) {
  auto r = ParseImageSet(d.Files());
  ASSERT_FALSE(r.ok()) << "parsed an invalid image set";
  for (const char* part : parts) EXPECT_NE(r.error().message().find(part), std::string::npos)
      << "message: " << r.error().message() << "\nmissing: " << part;
}

TEST(ParseImageSetTest, AcceptsAValidSet) {
  Dump d;
  auto r = ParseImageSet(d.Files());
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_EQ(r->processes.size(), 1u);
  EXPECT_EQ(r->processes[0].run_offsets, std::vector<uint64_t>{0});
  EXPECT_EQ(r->processes[0].pages_bytes, 2 * kPage);
  EXPECT_EQ(r->files.count(7), 1u);
}

TEST(ParseImageSetTest, MissingImageIsNamed) {
  Dump d;
  auto files = d.Files();
  files.erase("core-42.img");
  auto r = ParseImageSet(files);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("core-42.img"), std::string::npos) << r.error().message();
}

TEST(ParseImageSetTest, InventoryNamesMustBePlainFileNames) {
  Dump d;
  auto files = d.Files();
  d.inventory.add_images("../../etc/passwd");
  files["inventory.img"] = Dump::Encode(ImageKind::kInventory, std::vector{d.inventory});
  auto r = ParseImageSet(files);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("not a plain file name"), std::string::npos) << r.error().message();
}

TEST(ParseImageSetTest, RunOutsideEveryVma) {
  Dump d;
  d.pagemaps[42][0].set_vaddr(0x20000000);
  ExpectError(d, {"pagemap-42.img", "run 0 (0x20000000+2 pages)", "outside every VMA"});
}

TEST(ParseImageSetTest, RunInAVmaThatCannotHoldPages) {
  Dump d;
  d.pagemaps[42][0].set_vaddr(0x7fff0000);
  ExpectError(d, {"pagemap-42.img", "VMA_VDSO"});
}

TEST(ParseImageSetTest, RunPastTheEndOfItsVma) {
  Dump d;
  d.pagemaps[42][0].set_vaddr(0x10003000);
  ExpectError(d, {"run 0", "outside every VMA"});
}

TEST(ParseImageSetTest, RunsMustBeSortedAndDisjoint) {
  Dump d;
  img::PagemapEntry second = d.pagemaps[42][0];
  second.set_nr_pages(1);
  d.pagemaps[42].push_back(second);
  d.pages_bytes[42] = 3 * kPage;
  ExpectError(d, {"run 1", "overlaps"});
}

TEST(ParseImageSetTest, PageCountMustMatchThePagesFile) {
  Dump d;
  d.pages_bytes[42] = 3 * kPage;
  ExpectError(d, {"pagemap-42.img", "2 pages", "pages-42.img holds 3"});
  d.pages_bytes[42] = 1 * kPage;
  ExpectError(d, {"runs past"});
}

TEST(ParseImageSetTest, PagesFileSizeMustBeWholePages) {
  Dump d;
  d.pages_bytes[42] = 2 * kPage + 1;
  ExpectError(d, {"pages-42.img", "whole number of pages"});
}

TEST(ParseImageSetTest, VmasMustBeAlignedSortedDisjointAndInUserSpace) {
  {
    Dump d;
    d.mms[42].mutable_vmas(1)->set_start(0x10000010);
    ExpectError(d, {"mm-42.img", "VMA 1", "not page-aligned"});
  }
  {
    Dump d;
    d.mms[42].mutable_vmas(1)->set_start(0x400000);
    ExpectError(d, {"mm-42.img", "VMA 1", "overlaps"});
  }
  {
    Dump d;
    Dump::AddVma(d.mms[42], 0x7ffffffff000, 0x800000001000, img::VMA_ANON_PRIVATE);
    ExpectError(d, {"VMA 3", "beyond the user address space"});
  }
  {
    Dump d;   // [vsyscall] lives above user space legitimately
    Dump::AddVma(d.mms[42], 0xffffffffff600000, 0xffffffffff601000, img::VMA_VSYSCALL);
    auto r = ParseImageSet(d.Files());
    EXPECT_TRUE(r.ok()) << r.error().message();
  }
  {
    Dump d;
    d.mms[42].mutable_vmas(0)->set_path("relative/path");
    ExpectError(d, {"VMA 0", "unusable file path"});
  }
}

TEST(ParseImageSetTest, PidsAndTidsAreUnique) {
  Dump d;
  img::ProcessEntry& child = d.pstree.emplace_back();
  child.set_pid(43);   // already a tid of 42
  child.set_ppid(42);
  child.set_state(img::TASK_ZOMBIE);
  ExpectError(d, {"pstree.img", "pid 43", "used twice"});
}

TEST(ParseImageSetTest, ParentMustComeFirst) {
  Dump d;
  img::ProcessEntry& child = d.pstree.emplace_back();
  child.set_pid(50);
  child.set_ppid(99);
  child.set_state(img::TASK_ZOMBIE);
  ExpectError(d, {"pstree.img", "pid 50", "parent 99"});
}

TEST(ParseImageSetTest, RootMustMatchInventory) {
  Dump d;
  d.inventory.set_root_pid(41);
  ExpectError(d, {"pstree.img", "root pid 41"});
}

TEST(ParseImageSetTest, CoreThreadsMustMatchPstree) {
  Dump d;
  d.cores[42].mutable_threads(1)->set_tid(44);
  ExpectError(d, {"core-42.img", "thread 1 is tid 44"});
  Dump e;
  e.cores[42].mutable_threads()->RemoveLast();
  ExpectError(e, {"core-42.img", "1 threads"});
}

TEST(ParseImageSetTest, XstateSizeIsCapped) {
  Dump d;
  d.cores[42].mutable_threads(0)->set_xstate(std::string(kMaxXstateSize + 1, '\0'));
  ExpectError(d, {"core-42.img", "thread 42", "xstate"});
}

TEST(ParseImageSetTest, PendingSiginfoMustBe128Bytes) {
  Dump d;
  d.cores[42].add_shared_pending(std::string(64, '\0'));
  ExpectError(d, {"core-42.img", "64 bytes of siginfo"});
}

TEST(ParseImageSetTest, FdsAreUniqueAndReferToKnownFiles) {
  {
    Dump d;
    d.fdinfos[42][0].set_file_id(8);
    ExpectError(d, {"fdinfo-42.img", "fd 0", "file id 8"});
  }
  {
    Dump d;
    d.fdinfos[42].push_back(d.fdinfos[42][0]);
    ExpectError(d, {"fdinfo-42.img", "fd 0", "twice"});
  }
  {
    Dump d;
    d.fdinfos[42][0].set_fd(kMaxFdNumber);
    ExpectError(d, {"fdinfo-42.img", "too large"});
  }
}

TEST(ParseImageSetTest, RejectsGarbageWithoutCrashing) {
  Dump d;
  auto files = d.Files();
  for (auto& [name, bytes] : files) {
    auto copy = files;
    copy[name] = bytes.substr(0, bytes.size() / 2);
    EXPECT_FALSE(ParseImageSet(copy).ok()) << name << " truncated was accepted";
  }
}

TEST(BuildPlanTest, TerminalNeedsShellJob) {
  Dump d;
  d.files[0].clear_reg();
  d.files[0].mutable_tty()->set_index(3);
  auto set = ParseImageSet(d.Files());
  ASSERT_TRUE(set.ok()) << set.error().message();
  auto refused = BuildPlan(*set, PlanOptions{false});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("--shell-job"), std::string::npos);
  auto plan = BuildPlan(*set, PlanOptions{true});
  ASSERT_TRUE(plan.ok()) << plan.error().message();
  EXPECT_EQ(plan->processes[0].fds[0].source, FdSource::kTerminal);
}

TEST(BuildPlanTest, SharedFilesAndSessions) {
  Dump d;
  d.fdinfos[42].emplace_back().set_fd(5);
  d.fdinfos[42].back().set_file_id(7);
  img::ProcessEntry& child = d.pstree.emplace_back();
  child.set_pid(60);
  child.set_ppid(42);
  child.set_pgid(42);
  child.set_sid(42);
  child.add_threads(60);
  d.cores[60].set_pid(60);
  d.cores[60].add_threads()->set_tid(60);
  d.mms[60] = d.mms[42];
  d.pagemaps[60] = {};
  d.pages_bytes[60] = 0;
  d.fdinfos[60].emplace_back().set_fd(1);
  d.fdinfos[60].back().set_file_id(7);
  auto set = ParseImageSet(d.Files());
  ASSERT_TRUE(set.ok()) << set.error().message();
  auto plan = BuildPlan(*set, PlanOptions{});
  ASSERT_TRUE(plan.ok()) << plan.error().message();
  const ProcessPlan& root = plan->processes[0];
  EXPECT_EQ(root.session, SessionStep::kNewSession);
  EXPECT_EQ(root.children, std::vector<int>{1});
  EXPECT_EQ(root.fds[0].source, FdSource::kOpen);
  EXPECT_EQ(root.fds[1].source, FdSource::kDupLocal);
  EXPECT_EQ(root.control_fd_floor, 6);
  const ProcessPlan& kid = plan->processes[1];
  EXPECT_EQ(kid.session, SessionStep::kInherit);
  EXPECT_EQ(kid.group, GroupStep::kInherit);
  ASSERT_EQ(kid.fds.size(), 1u);
  EXPECT_EQ(kid.fds[0].source, FdSource::kFromPeer);
  EXPECT_EQ(kid.fds[0].peer_pid, 42u);
  EXPECT_EQ(kid.fds[0].from_fd, 0);
}

TEST(BuildPlanTest, SessionOutsideTheTreeNeedsShellJob) {
  Dump d;
  d.pstree[0].set_sid(7);
  d.pstree[0].set_pgid(7);
  auto set = ParseImageSet(d.Files());
  ASSERT_TRUE(set.ok()) << set.error().message();
  EXPECT_FALSE(BuildPlan(*set, PlanOptions{false}).ok());
  EXPECT_TRUE(BuildPlan(*set, PlanOptions{true}).ok());
}

TEST(FreeAreaCandidatesTest, CandidatesAvoidEveryVma) {
  Dump d;
  const img::MmCore& mm = d.mms[42];
  auto c = FreeAreaCandidates(mm, 3 * kPage, 32);
  ASSERT_FALSE(c.empty());
  for (uint64_t a : c) {
    EXPECT_EQ(a % kPage, 0u);
    EXPECT_GE(a, 0x10000u);
    EXPECT_LE(a + 3 * kPage, kTaskSize);
    for (const img::Vma& v : mm.vmas()) EXPECT_TRUE(a + 3 * kPage <= v.start() || a >= v.end()) << std::hex << a;
  }
}


// Module-handled files are opened by their FileKind; an epoll comes after every other fd of
// its process, whatever its number, and a dup of it after it.
TEST(BuildPlanTest, EpollIsPlacedAfterTheOtherFds) {
  Dump d;
  img::FileEntry& ep = d.files.emplace_back();
  ep.set_id(8);
  ep.mutable_epoll()->set_flags(02000000);
  img::EpollTarget* target = ep.mutable_epoll()->add_targets();
  target->set_fd(4);
  target->set_events(1);
  img::FileEntry& ev = d.files.emplace_back();
  ev.set_id(9);
  ev.mutable_eventfd()->set_count(5);
  for (auto [fd, id] : {std::pair{3u, 8u}, std::pair{4u, 9u}, std::pair{6u, 8u}}) {
    d.fdinfos[42].emplace_back().set_fd(fd);
    d.fdinfos[42].back().set_file_id(id);
  }
  auto set = ParseImageSet(d.Files());
  ASSERT_TRUE(set.ok()) << set.error().message();
  auto plan = BuildPlan(*set, PlanOptions{});
  ASSERT_TRUE(plan.ok()) << plan.error().message();
  const std::vector<FdStep>& fds = plan->processes[0].fds;
  ASSERT_EQ(fds.size(), 4u);
  EXPECT_EQ(fds[0].fd, 0);
  EXPECT_EQ(fds[0].source, FdSource::kOpen);
  EXPECT_EQ(fds[1].fd, 4);
  EXPECT_EQ(fds[1].source, FdSource::kKind);
  EXPECT_EQ(fds[2].fd, 3);
  EXPECT_EQ(fds[2].source, FdSource::kKind);
  EXPECT_TRUE(fds[2].after_others);
  EXPECT_EQ(fds[3].fd, 6);
  EXPECT_EQ(fds[3].source, FdSource::kDupLocal);
  EXPECT_EQ(fds[3].from_fd, 3);
  EXPECT_EQ(plan->processes[0].control_fd_floor, 7);
}

// A deleted file's stored contents may not exceed the size it claims.
TEST(ParseImageSetTest, GhostFileDataMustFitItsSize) {
  Dump d;
  img::RegFile* reg = d.files[0].mutable_reg();
  reg->set_path("/tmp/gone");
  reg->set_ghost(true);
  reg->set_dev(1);
  reg->set_inode(2);
  reg->set_size(3);
  img::ObjectData chunk;
  chunk.set_dev(1);
  chunk.set_inode(2);
  chunk.set_data("four");
  auto files = d.Files();
  files["ghost-data.img"] = Dump::Encode(ImageKind::kGhostData, std::vector{chunk});
  auto refused = ParseImageSet(files);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("/tmp/gone"), std::string::npos) << refused.error().message();
  d.files[0].mutable_reg()->set_size(4);
  files = d.Files();
  files["ghost-data.img"] = Dump::Encode(ImageKind::kGhostData, std::vector{chunk});
  auto accepted = ParseImageSet(files);
  EXPECT_TRUE(accepted.ok()) << accepted.error().message();
}
}  // namespace
}  // namespace stasis::restore
