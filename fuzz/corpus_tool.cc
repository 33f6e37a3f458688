// stasis_fuzz_corpus: makes the fuzzers' seed corpora.
//   synth DIR                 writes each synthetic image set (synth_images.h) to DIR/<scenario>/
//   seeds OUT IMAGES_DIR...   turns image directories (real dumps or synthetic) into seed inputs:
//                             OUT/fuzz_<kind>/<set>-<file> for every image, OUT/fuzz_image_set/<set>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>

#include "engine/images/image_format.h"
#include "engine/images/show.h"
#include "engine/restore/image_set.h"
#include "engine/restore/plan.h"
#include "fuzz/fuzz_support.h"
#include "fuzz/synth_images.h"

namespace stasis::fuzz {
namespace {

namespace fs = std::filesystem;

bool WriteFile(const fs::path& path, const std::string& bytes) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) std::fprintf(stderr, "stasis_fuzz_corpus: cannot write %s\n", path.c_str());
  return static_cast<bool>(out);
}

bool ReadFile(const fs::path& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return true;
}

std::string LeU64(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>(v >> (8 * i));
  return s;
}

// What the loader sees of a set: pages images cut to their header page.
std::map<std::string, std::string> LoaderView(const std::map<std::string, std::string>& files) {
  std::map<std::string, std::string> out = files;
  for (auto& [name, bytes] : out) {
    const images::ImageKindInfo* kind = images::FindImageKindByName(name);
    if (kind != nullptr && kind->kind == images::ImageKind::kPages && bytes.size() > images::kPageSize)
      bytes.resize(images::kPageSize);
  }
  return out;
}

// Says so when a synthetic set no longer passes the loader: its seeds would stop early.
void WarnIfNotLoadable(const std::string& name, const std::map<std::string, std::string>& files) {
  auto set = restore::ParseImageSet(LoaderView(files));
  if (!set.ok()) {
    std::fprintf(stderr, "warning: synthetic set %s does not load: %s\n", name.c_str(),
                 set.error().message().c_str());
    return;
  }
  auto plan = restore::BuildPlan(*set, {.shell_job = set->inventory.shell_job()});
  if (!plan.ok())
    std::fprintf(stderr, "warning: synthetic set %s has no plan: %s\n", name.c_str(),
                 plan.error().message().c_str());
}

int Synth(const fs::path& dir) {
  for (const SynthScenario& s : SynthesizeImageSets()) {
    WarnIfNotLoadable(s.name, s.files);
    for (const auto& [name, bytes] : s.files)
      if (!WriteFile(dir / s.name / name, bytes)) return 1;
  }
  return 0;
}

int Seeds(const fs::path& out, const fs::path& images_dir) {
  const std::string set_name = images_dir.filename().empty() ? images_dir.parent_path().filename().string()
                                                             : images_dir.filename().string();
  std::map<std::string, std::string> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(images_dir, ec)) {
    if (!entry.is_regular_file(ec)) continue;
    const std::string name = entry.path().filename().string();
    const images::ImageKindInfo* kind = images::FindImageKindByName(name);
    if (kind == nullptr) continue;
    std::string bytes;
    if (!ReadFile(entry.path(), &bytes)) {
      std::fprintf(stderr, "stasis_fuzz_corpus: cannot read %s\n", entry.path().c_str());
      return 1;
    }
    std::string target_name = std::string("fuzz_") + kind->stem;  // pipes-data -> fuzz_pipes_data
    std::replace(target_name.begin(), target_name.end(), '-', '_');
    const fs::path target = out / target_name;
    if (kind->kind == images::ImageKind::kPages) {
      const uint64_t size = bytes.size();
      bytes.resize(std::min<size_t>(bytes.size(), images::kPageSize));
      if (!WriteFile(target / (set_name + "-" + name), LeU64(size) + bytes)) return 1;
    } else if (!WriteFile(target / (set_name + "-" + name), bytes)) {
      return 1;
    }
    files[name] = std::move(bytes);
  }
  if (ec) {
    std::fprintf(stderr, "stasis_fuzz_corpus: %s: %s\n", images_dir.c_str(), ec.message().c_str());
    return 1;
  }
  std::string packed;
  if (!JoinNamedFiles(files, &packed)) {
    std::fprintf(stderr, "stasis_fuzz_corpus: %s: an image contains the file marker; set skipped\n",
                 images_dir.c_str());
    return 0;
  }
  return WriteFile(out / "fuzz_image_set" / set_name, packed) ? 0 : 1;
}

}  // namespace
}  // namespace stasis::fuzz

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "synth") == 0) return stasis::fuzz::Synth(argv[2]);
  if (argc >= 4 && std::strcmp(argv[1], "seeds") == 0) {
    for (int i = 3; i < argc; ++i)
      if (int rc = stasis::fuzz::Seeds(argv[2], argv[i]); rc != 0) return rc;
    return 0;
  }
  std::fputs("usage: stasis_fuzz_corpus synth DIR\n"
             "       stasis_fuzz_corpus seeds OUT IMAGES_DIR...\n", stderr);
  return 2;
}
