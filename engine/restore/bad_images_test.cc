// Hand-made bad image sets on disk through LoadImageSet (and BuildPlan), one defect at a time:
// each must be refused with exactly the message a user would see after "restore: ".
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "engine/common/crc32c.h"
#include "engine/images/image_format.h"
#include "engine/images/image_io.h"
#include "engine/restore/image_set.h"
#include "engine/restore/plan.h"

namespace stasis::restore {
namespace {

namespace fs = std::filesystem;
using images::ImageKind;

constexpr uint64_t kPage = images::kPageSize;

template <typename Msg>
std::string Encode(ImageKind kind, const std::vector<Msg>& msgs) {
  std::vector<std::string> bodies;
  for (const Msg& m : msgs) bodies.push_back(m.SerializeAsString());
  return images::EncodeMessageImage(kind, bodies);
}

void PutU32(std::string& s, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) s[at + i] = static_cast<char>(v >> (8 * i));
}

// Recomputes the header CRC after a header field was edited on purpose.
void ResealHeader(std::string& image) { PutU32(image, 28, Crc32c(0, image.data(), 28)); }

// A valid dump of pid 42 (threads 42, 43) and its child 50, written to a fresh directory.
class BadImages : public ::testing::Test {
 protected:
  img::Inventory inventory;
  std::vector<img::ProcessEntry> pstree;
  std::vector<img::FileEntry> files;
  std::map<uint32_t, img::TaskCore> cores;
  std::map<uint32_t, img::MmCore> mms;
  std::map<uint32_t, std::vector<img::PagemapEntry>> pagemaps;
  std::map<uint32_t, uint64_t> pages;
  std::map<uint32_t, std::vector<img::FdEntry>> fdinfos;
  std::string dir;

  void SetUp() override {
    char tmpl[] = "/tmp/stasis-bad-images.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir = tmpl;
    inventory.set_root_pid(42);
    AddProcess(42, 0, {42, 43});
    AddProcess(50, 42, {50});
    img::FileEntry& f = files.emplace_back();
    f.set_id(7);
    f.mutable_reg()->set_path("/dev/null");
    for (uint32_t pid : {42u, 50u}) {
      fdinfos[pid].emplace_back().set_fd(0);
      fdinfos[pid].back().set_file_id(7);
    }
  }
  void TearDown() override { fs::remove_all(dir); }

  void AddProcess(uint32_t pid, uint32_t ppid, std::vector<uint32_t> threads) {
    img::ProcessEntry& e = pstree.emplace_back();
    e.set_pid(pid);
    e.set_ppid(ppid);
    e.set_pgid(42);
    e.set_sid(42);
    img::TaskCore& core = cores[pid];
    core.set_pid(pid);
    for (uint32_t tid : threads) {
      e.add_threads(tid);
      core.add_threads()->set_tid(tid);
    }
    img::MmCore& mm = mms[pid];
    AddVma(mm, 0x400000, 0x401000, img::VMA_FILE_PRIVATE)->set_path("/usr/bin/true");
    AddVma(mm, 0x10000000, 0x10004000, img::VMA_ANON_PRIVATE);
    img::PagemapEntry& run = pagemaps[pid].emplace_back();
    run.set_vaddr(0x10001000);
    run.set_nr_pages(2);
    pages[pid] = 2 * kPage;
  }

  static img::Vma* AddVma(img::MmCore& mm, uint64_t start, uint64_t end, img::VmaKind kind) {
    img::Vma* v = mm.add_vmas();
    v->set_start(start);
    v->set_end(end);
    v->set_kind(kind);
    v->set_prot(3);
    return v;
  }

  // Every image file of the set, by name; pages files as their full contents.
  std::map<std::string, std::string> Images() {
    std::map<std::string, std::string> out;
    out["pstree.img"] = Encode(ImageKind::kPstree, pstree);
    out["files.img"] = Encode(ImageKind::kFiles, files);
    for (auto& [pid, c] : cores) out[images::ImageFileName("core", pid)] = Encode(ImageKind::kCore, std::vector{c});
    for (auto& [pid, m] : mms) out[images::ImageFileName("mm", pid)] = Encode(ImageKind::kMm, std::vector{m});
    for (auto& [pid, r] : pagemaps) out[images::ImageFileName("pagemap", pid)] = Encode(ImageKind::kPagemap, r);
    for (auto& [pid, f] : fdinfos) out[images::ImageFileName("fdinfo", pid)] = Encode(ImageKind::kFdinfo, f);
    for (auto& [pid, bytes] : pages) {
      images::ImageHeader h;
      h.kind = ImageKind::kPages;
      h.payload_size = bytes;
      std::string file = images::EncodeHeader(h);
      file.resize(kPage + bytes, '\0');
      out[images::ImageFileName("pages", pid)] = file;
    }
    inventory.clear_images();
    for (const auto& [name, bytes] : out) inventory.add_images(name);
    out["inventory.img"] = Encode(ImageKind::kInventory, std::vector{inventory});
    return out;
  }

  void Write(const std::map<std::string, std::string>& images) {
    for (const auto& [name, bytes] : images) {
      std::ofstream f(dir + "/" + name, std::ios::binary | std::ios::trunc);
      f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
      ASSERT_TRUE(f.good()) << name;
    }
  }

  // The message LoadImageSet refuses the directory with ("" when it accepts it).
  std::string LoadError() {
    auto set = LoadImageSet(dir);
    return set.ok() ? "" : set.error().message();
  }
  std::string LoadError(const std::map<std::string, std::string>& images) {
    Write(images);
    return LoadError();
  }
  // Loads (which must succeed) and returns the message BuildPlan refuses the set with.
  std::string PlanError() {
    Write(Images());
    auto set = LoadImageSet(dir);
    if (!set.ok()) return "load failed: " + set.error().message();
    auto plan = BuildPlan(*set, PlanOptions{});
    return plan.ok() ? "" : plan.error().message();
  }
};

TEST_F(BadImages, TheUndamagedSetLoadsAndPlans) {
  EXPECT_EQ(LoadError(Images()), "");
  EXPECT_EQ(PlanError(), "");
}

TEST_F(BadImages, TruncatedFile) {
  auto images = Images();
  images["core-42.img"].resize(20);
  EXPECT_EQ(LoadError(images), "core-42.img: truncated header (20 of 32 bytes)");
  images = Images();
  const size_t size = images["mm-50.img"].size();
  images["mm-50.img"].resize(size - 1);
  EXPECT_EQ(LoadError(images), "mm-50.img: header promises " + std::to_string(size - 32) +
                                   " payload bytes, file has " + std::to_string(size - 33));
}

TEST_F(BadImages, EmptyFile) {
  auto images = Images();
  images["fdinfo-50.img"].clear();
  EXPECT_EQ(LoadError(images), "fdinfo-50.img: truncated header (0 of 32 bytes)");
}

TEST_F(BadImages, TruncatedPagesFile) {
  auto images = Images();
  images["pages-42.img"].resize(kPage + kPage);
  EXPECT_EQ(LoadError(images), "pages-42.img: header promises 8192 bytes of pages, file has 4096");
  images["pages-42.img"].resize(kPage - 1);
  EXPECT_EQ(LoadError(images), "pages-42.img: shorter than its header page");
}

TEST_F(BadImages, WrongMagic) {
  auto images = Images();
  images["pstree.img"][0] = 'X';
  EXPECT_EQ(LoadError(images), "pstree.img: bad magic, not a stasis image");
}

TEST_F(BadImages, WrongVersion) {
  auto images = Images();
  PutU32(images["mm-42.img"], 8, 2);
  ResealHeader(images["mm-42.img"]);
  EXPECT_EQ(LoadError(images), "mm-42.img: unsupported format version 2 (this stasis reads version 1)");
}

TEST_F(BadImages, WrongKind) {
  auto images = Images();
  images["core-50.img"] = images["mm-50.img"];
  EXPECT_EQ(LoadError(images), "core-50.img: image kind 4, expected core");
}

TEST_F(BadImages, HeaderChecksumMismatch) {
  auto images = Images();
  images["inventory.img"][16] ^= 1;   // payload size, under the header CRC
  EXPECT_EQ(LoadError(images), "inventory.img: header checksum mismatch");
}

TEST_F(BadImages, PayloadChecksumMismatch) {
  auto images = Images();
  images["fdinfo-42.img"].back() ^= 0x40;
  EXPECT_EQ(LoadError(images), "fdinfo-42.img: payload checksum mismatch");
}

TEST_F(BadImages, MessageLengthPastTheEnd) {
  // One message claiming 100 bytes with 3 present, every checksum valid.
  images::ImageHeader h;
  h.kind = ImageKind::kFiles;
  const std::string payload = std::string(1, '\x64') + "abc";
  h.payload_size = payload.size();
  h.payload_crc = Crc32c(0, payload.data(), payload.size());
  auto images = Images();
  images["files.img"] = images::EncodeHeader(h) + payload;
  EXPECT_EQ(LoadError(images), "files.img at byte 32: message length 100 runs past the end of the file");
}

TEST_F(BadImages, PagesHeaderPaddingMustBeZero) {
  auto images = Images();
  images["pages-50.img"][100] = 1;
  EXPECT_EQ(LoadError(images), "pages-50.img: non-zero byte at offset 100 in the padding of the header page");
}

TEST_F(BadImages, DuplicatePid) {
  AddProcess(50, 42, {50});
  EXPECT_EQ(LoadError(Images()), "pstree.img: pid 50: pid used twice");
}

TEST_F(BadImages, PidEqualToAnotherProcesssThread) {
  pstree[1].set_pid(43);
  pstree[1].set_threads(0, 43);
  EXPECT_EQ(LoadError(Images()), "pstree.img: pid 43: pid used twice");
}

TEST_F(BadImages, ThreadIdUsedTwice) {
  pstree[1].add_threads(43);
  EXPECT_EQ(LoadError(Images()), "pstree.img: pid 50: tid 43 used twice");
}

TEST_F(BadImages, ParentMissingOrLater) {
  pstree[1].set_ppid(99);
  EXPECT_EQ(LoadError(Images()), "pstree.img: pid 50: parent 99 is not in the dumped tree");
  std::swap(pstree[0], pstree[1]);   // the child first: also no longer the inventory's root
  pstree[0].set_ppid(42);
  pstree[1].set_ppid(0);
  inventory.set_root_pid(50);
  EXPECT_EQ(LoadError(Images()), "pstree.img: pid 50: the root has parent 42");
}

TEST_F(BadImages, ParentCycle) {
  AddProcess(60, 70, {60});
  AddProcess(70, 60, {70});
  EXPECT_EQ(LoadError(Images()), "pstree.img: pid 60: parent 70 is listed after it");
}

TEST_F(BadImages, FdPointsAtAMissingFileEntry) {
  fdinfos[50][0].set_file_id(8);
  EXPECT_EQ(LoadError(Images()), "fdinfo-50.img: fd 0: file id 8 is not in files.img");
}

TEST_F(BadImages, FdNumberTwice) {
  fdinfos[42].push_back(fdinfos[42][0]);
  EXPECT_EQ(LoadError(Images()), "fdinfo-42.img: fd 0: appears twice");
}

TEST_F(BadImages, FileEntryTwice) {
  files.push_back(files[0]);
  EXPECT_EQ(LoadError(Images()), "files.img: file id 7: appears twice");
}

TEST_F(BadImages, PageRangeOutsideEveryVma) {
  pagemaps[42][0].set_vaddr(0x20000000);
  EXPECT_EQ(LoadError(Images()), "pagemap-42.img: run 0 (0x20000000+2 pages): lies outside every VMA");
  pagemaps[42][0].set_vaddr(0x10003000);   // starts inside, ends past the VMA
  EXPECT_EQ(LoadError(Images()), "pagemap-42.img: run 0 (0x10003000+2 pages): lies outside every VMA");
}

TEST_F(BadImages, PageRangeInAFileSharedVma) {
  AddVma(mms[50], 0x20000000, 0x20002000, img::VMA_FILE_SHARED)->set_path("/tmp/x");
  pagemaps[50][0].set_vaddr(0x20000000);
  EXPECT_EQ(LoadError(Images()),
            "pagemap-50.img: run 0 (0x20000000+2 pages): lies in a VMA_FILE_SHARED VMA, which cannot "
            "hold dumped pages");
}

TEST_F(BadImages, PagemapRunsOverlap) {
  img::PagemapEntry second = pagemaps[42][0];
  second.set_vaddr(0x10002000);
  pagemaps[42].push_back(second);
  pages[42] = 4 * kPage;
  EXPECT_EQ(LoadError(Images()), "pagemap-42.img: run 1 (0x10002000+2 pages): overlaps run 0");
  pagemaps[42][1].set_vaddr(0x10000000);
  pagemaps[42][1].set_nr_pages(1);
  pages[42] = 3 * kPage;
  EXPECT_EQ(LoadError(Images()), "pagemap-42.img: run 1 (0x10000000+1 pages): not sorted: starts below run 0");
}

TEST_F(BadImages, PagemapAndPagesDisagree) {
  pages[50] = 3 * kPage;
  EXPECT_EQ(LoadError(Images()), "pagemap-50.img: runs hold 2 pages, pages-50.img holds 3");
}

TEST_F(BadImages, OverlappingVmas) {
  AddVma(mms[42], 0x10003000, 0x10005000, img::VMA_ANON_PRIVATE);
  EXPECT_EQ(LoadError(Images()),
            "mm-42.img: VMA 2 (0x10003000-0x10005000): overlaps VMA 1 (0x10000000-0x10004000)");
}

TEST_F(BadImages, VmasNotSorted) {
  AddVma(mms[50], 0x300000, 0x301000, img::VMA_ANON_PRIVATE);
  EXPECT_EQ(LoadError(Images()),
            "mm-50.img: VMA 2 (0x300000-0x301000): not sorted: starts below VMA 1 (0x10000000-0x10004000)");
}

TEST_F(BadImages, ProcessGroupLeaderMissing) {
  pstree[1].set_pgid(77);
  EXPECT_EQ(PlanError(),
            "pstree.img: pid 50 is in process group 77, whose leader is not in the dumped tree; not "
            "supported yet");
}

TEST_F(BadImages, SessionLeaderAndGroupOutOfRange) {
  pstree[1].set_sid(kMaxPid);
  EXPECT_EQ(LoadError(Images()),
            "pstree.img: pid 50: invalid process group 42 or session " + std::to_string(kMaxPid));
}

TEST_F(BadImages, CoreDisagreesWithPstree) {
  cores[50].set_pid(51);
  EXPECT_EQ(LoadError(Images()), "core-50.img: describes pid 51, pstree.img says 50");
}

TEST_F(BadImages, MissingImage) {
  auto images = Images();
  Write(images);
  fs::remove(dir + "/pagemap-50.img");
  auto set = LoadImageSet(dir);
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.error().message(),
            "pagemap-50.img: open " + dir + "/pagemap-50.img: No such file or directory");
}

}  // namespace
}  // namespace stasis::restore
