// `stasis show`: which names are which images, the text and JSON views of a whole directory,
// and one clear error for anything wrong.
#include "engine/images/show.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "engine/images/core.pb.h"
#include "engine/images/files.pb.h"
#include "engine/images/image_io.h"
#include "engine/images/inventory.pb.h"
#include "engine/images/mm.pb.h"
#include "engine/images/pstree.pb.h"

namespace stasis::images {
namespace {

class TempDir {
 public:
  TempDir() {
    char templ[] = "/tmp/stasis-show-test-XXXXXX";
    if (mkdtemp(templ) != nullptr) path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void WriteRaw(const std::string& dir, const std::string& name, const std::string& bytes) {
  ASSERT_TRUE(WriteImageBytes(dir, name, bytes).ok());
}

// A pages image: the header page, then `pages` pages of data.
std::string PagesImage(uint64_t pages, uint64_t claimed_pages) {
  ImageHeader h;
  h.kind = ImageKind::kPages;
  h.payload_size = claimed_pages * kPageSize;
  std::string out = EncodeHeader(h);
  out.resize(kPageSize + pages * kPageSize, '\x5a');
  std::fill(out.begin() + kImageHeaderSize, out.begin() + kPageSize, '\0');
  return out;
}

// A small but complete image set of one process, pid 42, and a second core, pid 7.
void WriteImageSet(const std::string& dir) {
  img::Inventory inv;
  inv.set_root_pid(42);
  inv.set_kernel_release("6.18.0-test");
  ASSERT_TRUE(WriteMessage(dir, "inventory.img", ImageKind::kInventory, inv).ok());
  img::ProcessEntry p;
  p.set_pid(42);
  p.set_pgid(42);
  p.set_sid(42);
  p.add_threads(42);
  ASSERT_TRUE(WriteMessage(dir, "pstree.img", ImageKind::kPstree, p).ok());
  img::TaskCore core;
  core.set_pid(42);
  core.set_comm("sleeper");
  core.add_threads()->mutable_regs()->set_ip(0x401000);
  ASSERT_TRUE(WriteMessage(dir, "core-42.img", ImageKind::kCore, core).ok());
  core.set_pid(7);
  ASSERT_TRUE(WriteMessage(dir, "core-7.img", ImageKind::kCore, core).ok());
  img::MmCore mm;
  auto* vma = mm.add_vmas();
  vma->set_start(0x400000);
  vma->set_end(0x402000);
  vma->set_name("[heap]");
  ASSERT_TRUE(WriteMessage(dir, "mm-42.img", ImageKind::kMm, mm).ok());
  img::PagemapEntry pm1, pm2;
  pm1.set_vaddr(0x400000);
  pm1.set_nr_pages(1);
  pm2.set_vaddr(0x401000);
  pm2.set_nr_pages(1);
  ASSERT_TRUE(WriteMessages<img::PagemapEntry>(dir, "pagemap-42.img", ImageKind::kPagemap, {&pm1, &pm2}).ok());
  WriteRaw(dir, "pages-42.img", PagesImage(2, 2));
  img::FdEntry fd;
  fd.set_fd(1);
  fd.set_file_id(5);
  ASSERT_TRUE(WriteMessage(dir, "fdinfo-42.img", ImageKind::kFdinfo, fd).ok());
  img::FileEntry file;
  file.set_id(5);
  file.mutable_reg()->set_path("/dev/null");
  ASSERT_TRUE(WriteMessage(dir, "files.img", ImageKind::kFiles, file).ok());
  WriteRaw(dir, "notes.txt", "not an image\n");
  ASSERT_EQ(mkdir((dir + "/parent").c_str(), 0700), 0);
}

std::string Show(const std::string& path, bool json = false) {
  auto r = RenderShow({path, json});
  return r.ok() ? *r : "ERROR: " + r.error().message();
}

TEST(ImageNames, PerProcessAndSingleImages) {
  uint32_t pid = 0;
  const ImageKindInfo* k = FindImageKindByName("core-42.img", &pid);
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->kind, ImageKind::kCore);
  EXPECT_EQ(pid, 42u);
  ASSERT_NE(FindImageKindByName("pages-4194304.img"), nullptr);
  EXPECT_EQ(FindImageKindByName("pages-4194304.img")->kind, ImageKind::kPages);
  EXPECT_EQ(FindImageKindByName("pagemap-1.img")->kind, ImageKind::kPagemap);
  EXPECT_EQ(FindImageKindByName("fdinfo-1.img")->kind, ImageKind::kFdinfo);
  EXPECT_EQ(FindImageKindByName("mm-1.img")->kind, ImageKind::kMm);
  EXPECT_EQ(FindImageKindByName("inventory.img")->kind, ImageKind::kInventory);
  EXPECT_EQ(FindImageKindByName("pstree.img")->kind, ImageKind::kPstree);
  EXPECT_EQ(FindImageKindByName("files.img")->kind, ImageKind::kFiles);
  EXPECT_EQ(FindImageKindByName("pipes-data.img")->kind, ImageKind::kPipeData);
  EXPECT_EQ(FindImageKindByName("memfd-data.img")->kind, ImageKind::kMemfdData);
  EXPECT_EQ(FindImageKindByName("core-4294967295.img")->kind, ImageKind::kCore);
  for (const char* bad : {"core.img", "core-.img", "core-0.img", "core-042.img", "core--1.img",
                          "core-+1.img", "core-4294967296.img", "core-42.img.bak", "core-42",
                          "coredump-1.img", "inventory-1.img", "pstree", "", ".img", "core-1x.img", "pipes-data-1.img", "pipes.img"})
    EXPECT_EQ(FindImageKindByName(bad), nullptr) << bad;
}

TEST(ImageNames, EveryKindHasOneRow) {
  for (const ImageKindInfo& info : KnownImageKinds()) {
    EXPECT_EQ(FindImageKind(info.kind), &info) << info.stem;
    const std::string name = info.per_pid ? std::string(info.stem) + "-1.img" : std::string(info.stem) + ".img";
    EXPECT_EQ(FindImageKindByName(name), &info) << name;
  }
}

TEST(Show, DirectoryAsText) {
  TempDir d;
  WriteImageSet(d.path());
  const std::string out = Show(d.path());
  // Registry order, pids numerically, skipped entries last.
  const char* order[] = {"=== inventory.img (inventory, 1 message)\n--- Inventory 0\nroot_pid: 42\n",
                         "=== pstree.img (pstree, 1 message)",
                         "=== files.img (files, 1 message)",
                         "=== core-7.img (core, 1 message)",
                         "=== core-42.img (core, 1 message)\n--- TaskCore 0\npid: 42\ncomm: \"sleeper\"\n",
                         "=== mm-42.img (mm, 1 message)",
                         "=== pagemap-42.img (pagemap, 2 messages)",
                         "=== pages-42.img (pages)\nformat version 1, 2 pages (8192 bytes of page data)\n",
                         "=== fdinfo-42.img (fdinfo, 1 message)",
                         "=== notes.txt: skipped (not an image name)\n",
                         "=== parent: skipped (not a regular file)\n"};
  size_t pos = 0;
  for (const char* part : order) {
    size_t at = out.find(part);
    ASSERT_NE(at, std::string::npos) << "missing: " << part << "\nin:\n" << out;
    EXPECT_GE(at, pos) << "out of order: " << part;
    pos = at;
  }
  EXPECT_NE(out.find("ip: 4198400"), std::string::npos) << out;
  EXPECT_NE(out.find("path: \"/dev/null\""), std::string::npos) << out;
}

TEST(Show, DirectoryAsOneJsonDocument) {
  TempDir d;
  WriteImageSet(d.path());
  const std::string out = Show(d.path(), true);
  google::protobuf::Struct doc;
  auto status = google::protobuf::util::JsonStringToMessage(out, &doc);
  ASSERT_TRUE(status.ok()) << status.message() << "\n" << out;
  const auto& f = doc.fields();
  EXPECT_EQ(f.size(), 11u);
  ASSERT_TRUE(f.contains("inventory.img"));
  const auto& inv = f.at("inventory.img").list_value();
  ASSERT_EQ(inv.values_size(), 1);
  EXPECT_EQ(inv.values(0).struct_value().fields().at("root_pid").number_value(), 42);
  EXPECT_EQ(inv.values(0).struct_value().fields().at("kernel_release").string_value(), "6.18.0-test");
  // Zero fields are printed too: a reader should not have to know proto3 hides them.
  EXPECT_TRUE(inv.values(0).struct_value().fields().contains("shell_job"));
  EXPECT_EQ(f.at("pagemap-42.img").list_value().values_size(), 2);
  const auto& pages = f.at("pages-42.img").list_value().values(0).struct_value().fields();
  EXPECT_EQ(pages.at("pages").number_value(), 2);
  EXPECT_EQ(pages.at("payload_size").number_value(), 8192);
  EXPECT_EQ(f.at("notes.txt").struct_value().fields().at("skipped").string_value(), "not an image name");
  const auto& core = f.at("core-42.img").list_value().values(0).struct_value().fields();
  EXPECT_EQ(core.at("comm").string_value(), "sleeper");
  // uint64 is a string in protobuf's JSON mapping (JavaScript numbers are doubles).
  EXPECT_EQ(core.at("threads").list_value().values(0).struct_value().fields().at("regs")
                .struct_value().fields().at("ip").string_value(), "4198400");
}

TEST(Show, EmptyDirectory) {
  TempDir d;
  EXPECT_EQ(Show(d.path()), "");
  EXPECT_EQ(Show(d.path(), true), "{}\n");
}

TEST(Show, OneFile) {
  TempDir d;
  WriteImageSet(d.path());
  const std::string out = Show(d.path() + "/pagemap-42.img");
  EXPECT_EQ(out,
            "=== pagemap-42.img (pagemap, 2 messages)\n"
            "--- PagemapEntry 0\nvaddr: 4194304\nnr_pages: 1\n"
            "--- PagemapEntry 1\nvaddr: 4198400\nnr_pages: 1\n");
  EXPECT_EQ(Show(d.path() + "/pages-42.img", true),
            "{\n\"pages-42.img\": [{\"kind\":\"pages\",\"version\":1,\"payload_size\":8192,\"pages\":2}]\n}\n");
}

TEST(Show, RenamedFileIsRecognisedByItsHeader) {
  TempDir d;
  WriteImageSet(d.path());
  std::filesystem::rename(d.path() + "/mm-42.img", d.path() + "/saved-copy");
  const std::string out = Show(d.path() + "/saved-copy");
  EXPECT_EQ(out.rfind("=== saved-copy (mm, 1 message)\n", 0), 0u) << out;
  WriteRaw(d.path(), "junk", "hello world, this is not an image at all");
  EXPECT_EQ(Show(d.path() + "/junk"), "ERROR: junk: neither the name nor the header says which image this is");
}

TEST(Show, CorruptImageIsOneError) {
  TempDir d;
  WriteImageSet(d.path());
  auto bytes = ReadImageBytes(d.path(), "core-42.img");
  ASSERT_TRUE(bytes.ok());
  bytes->back() ^= 1;
  WriteRaw(d.path(), "core-42.img", *bytes);
  EXPECT_EQ(Show(d.path()), "ERROR: core-42.img: payload checksum mismatch");
  EXPECT_EQ(Show(d.path(), true), "ERROR: core-42.img: payload checksum mismatch");
}

TEST(Show, MismatchedKindIsOneError) {
  TempDir d;
  WriteImageSet(d.path());
  std::filesystem::copy_file(d.path() + "/mm-42.img", d.path() + "/core-9.img");
  EXPECT_EQ(Show(d.path() + "/core-9.img"), "ERROR: core-9.img: image kind 4, expected core");
}

TEST(Show, BadPagesImages) {
  TempDir d;
  WriteRaw(d.path(), "pages-1.img", PagesImage(2, 3));
  EXPECT_EQ(Show(d.path()), "ERROR: pages-1.img: header promises 12288 bytes of page data, file has 8192");
  WriteRaw(d.path(), "pages-1.img", PagesImage(0, 0).substr(0, 100));
  EXPECT_EQ(Show(d.path()), "ERROR: pages-1.img: truncated header page (100 of 4096 bytes)");
  WriteRaw(d.path(), "pages-1.img", PagesImage(0, 0).substr(0, 20));
  EXPECT_EQ(Show(d.path()), "ERROR: pages-1.img: truncated header (20 of 32 bytes)");
  ImageHeader h;
  h.kind = ImageKind::kPages;
  h.payload_size = 100;
  std::string odd = EncodeHeader(h);
  odd.resize(kPageSize + 100);
  WriteRaw(d.path(), "pages-1.img", odd);
  EXPECT_EQ(Show(d.path()), "ERROR: pages-1.img: page data of 100 bytes is not a whole number of pages");
  WriteRaw(d.path(), "pages-1.img", PagesImage(0, 0));
  EXPECT_EQ(Show(d.path()), "=== pages-1.img (pages)\nformat version 1, 0 pages (0 bytes of page data)\n");
}

TEST(Show, MissingPath) {
  EXPECT_EQ(Show("/nonexistent/stasis-images"), "ERROR: /nonexistent/stasis-images: No such file or directory");
  EXPECT_EQ(Show("/dev/null"), "ERROR: /dev/null: not an image file or directory");
}

TEST(Show, UnprintableFileNameStaysValidJson) {
  TempDir d;
  WriteRaw(d.path(), std::string("we\"ird\x01\xff.txt"), "x");
  const std::string out = Show(d.path(), true);
  EXPECT_EQ(out, "{\n\"we\\\"ird\\u0001\\u00ff.txt\": {\"skipped\":\"not an image name\"}\n}\n");
  google::protobuf::Struct doc;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(out, &doc).ok()) << out;
}

// Kernel names are bytes: UTF-8 shows as text, anything else as \xNN, never as base64, and the
// JSON document stays valid.
TEST(Show, PathBytesAreReadable) {
  TempDir d;
  img::TaskCore core;
  core.set_pid(5);
  core.set_cwd("/tmp/caf\xc3\xa9");  // UTF-8 "café"
  core.set_root("/tmp/caf\xe9");     // Latin-1 "café": not UTF-8
  core.add_threads()->set_comm("a\"b\\c");
  ASSERT_TRUE(WriteMessage(d.path(), "core-5.img", ImageKind::kCore, core).ok());

  const std::string text = Show(d.path());
  EXPECT_NE(text.find("cwd: \"/tmp/caf\xc3\xa9\"\n"), std::string::npos) << text;
  EXPECT_NE(text.find("root: \"/tmp/caf\\xe9\"\n"), std::string::npos) << text;
  EXPECT_NE(text.find("comm: \"a\\\"b\\\\c\"\n"), std::string::npos) << text;

  const std::string json = Show(d.path(), true);
  google::protobuf::Struct doc;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &doc).ok()) << json;
  const auto& core_json = doc.fields().at("core-5.img").list_value().values(0).struct_value();
  EXPECT_EQ(core_json.fields().at("cwd").string_value(), "/tmp/caf\xc3\xa9");
  EXPECT_EQ(core_json.fields().at("root").string_value(), "/tmp/caf\\xe9");
  EXPECT_EQ(core_json.fields().at("threads").list_value().values(0).struct_value().fields()
                .at("comm").string_value(), "a\"b\\c");
  EXPECT_EQ(core_json.fields().at("comm").string_value(), "");
}

}  // namespace
}  // namespace stasis::images
