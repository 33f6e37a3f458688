#include "fuzz/fuzz_support.h"

#include <google/protobuf/stubs/logging.h>

#include <cstdio>
#include <cstdlib>

#include "engine/common/crc32c.h"
#include "engine/images/image_format.h"

namespace stasis::fuzz {
namespace {

constexpr size_t kMaxErrorLine = 1024;
constexpr size_t kMaxNamedFiles = 4096;

void PutU32(std::string& s, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) s[at + i] = static_cast<char>(v >> (8 * i));
}
void PutU64(std::string& s, size_t at, uint64_t v) {
  for (int i = 0; i < 8; ++i) s[at + i] = static_cast<char>(v >> (8 * i));
}
uint32_t GetU32(const std::string& s, size_t at) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(s[at + i]);
  return v;
}

}  // namespace

void Fail(const std::string& what) {
  std::fprintf(stderr, "fuzz invariant broken: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

void CheckErrorLine(const Error& error) {
  const std::string& m = error.message();
  if (m.empty()) Fail("empty error message");
  if (m.size() > kMaxErrorLine) Fail("error message of " + std::to_string(m.size()) + " bytes: " + m.substr(0, 200));
  for (unsigned char c : m)
    if (c < 0x20 || c == 0x7F) Fail("control character in error message: " + m);
}

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string WithValidChecksums(std::string image) {
  using images::kImageHeaderSize;
  if (image.size() < kImageHeaderSize) return image;
  if (GetU32(image, 12) != static_cast<uint32_t>(images::ImageKind::kPages)) {
    const size_t payload = image.size() - kImageHeaderSize;
    PutU64(image, 16, payload);
    PutU32(image, 24, Crc32c(0, image.data() + kImageHeaderSize, payload));
  }
  PutU32(image, 28, Crc32c(0, image.data(), 28));
  return image;
}

std::map<std::string, std::string> SplitNamedFiles(std::span<const uint8_t> input) {
  const std::string_view all(reinterpret_cast<const char*>(input.data()), input.size());
  std::map<std::string, std::string> files;
  size_t at = all.find(kFileMarker);
  while (at != std::string_view::npos && files.size() < kMaxNamedFiles) {
    const size_t name_start = at + kFileMarker.size();
    const size_t name_end = all.find('\n', name_start);
    if (name_end == std::string_view::npos) break;
    const size_t next = all.find(kFileMarker, name_end + 1);
    const size_t data_end = next == std::string_view::npos ? all.size() : next;
    files.emplace(std::string(all.substr(name_start, name_end - name_start)),
                  std::string(all.substr(name_end + 1, data_end - name_end - 1)));
    at = next;
  }
  return files;
}

bool JoinNamedFiles(const std::map<std::string, std::string>& files, std::string* out) {
  out->clear();
  for (const auto& [name, data] : files) {
    if (name.find('\n') != std::string::npos) return false;
    if (data.find(kFileMarker) != std::string::npos) return false;
    *out += kFileMarker;
    *out += name;
    *out += '\n';
    *out += data;
  }
  return true;
}

void SilenceProtobufLogs() {
  google::protobuf::SetLogHandler([](google::protobuf::LogLevel, const char*, int, const std::string&) {});
}

}  // namespace stasis::fuzz
