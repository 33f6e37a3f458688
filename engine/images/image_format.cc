#include "engine/images/image_format.h"

#include <cstring>

#include "engine/common/crc32c.h"

namespace stasis::images {
namespace {

void PutU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}
void PutU64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}
uint32_t GetU32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
uint64_t GetU64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

std::string At(std::string_view name, size_t offset) {
  return std::string(name) + " at byte " + std::to_string(offset);
}

}  // namespace

const char* ImageKindName(ImageKind kind) {
  switch (kind) {
    case ImageKind::kInventory: return "inventory";
    case ImageKind::kPstree: return "pstree";
    case ImageKind::kCore: return "core";
    case ImageKind::kMm: return "mm";
    case ImageKind::kPagemap: return "pagemap";
    case ImageKind::kPages: return "pages";
    case ImageKind::kFdinfo: return "fdinfo";
    case ImageKind::kFiles: return "files";
    case ImageKind::kPipeData: return "pipes-data";
    case ImageKind::kMemfdData: return "memfd-data";
    case ImageKind::kGhostData: return "ghost-data";
    case ImageKind::kNamespaces: return "ns";
    case ImageKind::kTimers: return "timers";
    case ImageKind::kFileLocks: return "file-locks";
    case ImageKind::kIpcNamespace: return "ipc-ns";
  }
  return "unknown";
}

std::string EncodeHeader(const ImageHeader& h) {
  std::string out(kImageMagic, sizeof kImageMagic);
  PutU32(out, h.version);
  PutU32(out, static_cast<uint32_t>(h.kind));
  PutU64(out, h.payload_size);
  PutU32(out, h.payload_crc);
  PutU32(out, Crc32c(0, out.data(), out.size()));
  return out;
}

Result<ImageHeader> DecodeHeader(std::span<const uint8_t> b, ImageKind expected,
                                 std::string_view name) {
  const std::string n(name);
  if (b.size() < kImageHeaderSize)
    return Corrupt(n + ": truncated header (" + std::to_string(b.size()) + " of " +
                   std::to_string(kImageHeaderSize) + " bytes)");
  if (std::memcmp(b.data(), kImageMagic, sizeof kImageMagic) != 0)
    return Corrupt(n + ": bad magic, not a stasis image");
  ImageHeader h;
  h.version = GetU32(b.data() + 8);
  uint32_t kind = GetU32(b.data() + 12);
  h.payload_size = GetU64(b.data() + 16);
  h.payload_crc = GetU32(b.data() + 24);
  uint32_t header_crc = GetU32(b.data() + 28);
  if (Crc32c(0, b.data(), 28) != header_crc) return Corrupt(n + ": header checksum mismatch");
  if (h.version != kImageFormatVersion)
    return Corrupt(n + ": unsupported format version " + std::to_string(h.version) +
                   " (this stasis reads version " + std::to_string(kImageFormatVersion) + ")");
  if (kind != static_cast<uint32_t>(expected))
    return Corrupt(n + ": image kind " + std::to_string(kind) + ", expected " +
                   ImageKindName(expected));
  h.kind = expected;
  return h;
}

std::string EncodeMessageImage(ImageKind kind, const std::vector<std::string>& messages) {
  std::string payload;
  for (const auto& m : messages) {
    PutVarint(payload, m.size());
    payload += m;
  }
  ImageHeader h;
  h.kind = kind;
  h.payload_size = payload.size();
  h.payload_crc = Crc32c(0, payload.data(), payload.size());
  return EncodeHeader(h) + payload;
}

Result<std::vector<std::span<const uint8_t>>> DecodeMessageImage(std::span<const uint8_t> file,
                                                                 ImageKind expected,
                                                                 std::string_view name) {
  const std::string n(name);
  ImageHeader h = STASIS_VALUE(DecodeHeader(file, expected, name));
  const uint64_t actual = file.size() - kImageHeaderSize;
  if (h.payload_size != actual)
    return Corrupt(n + ": header promises " + std::to_string(h.payload_size) +
                   " payload bytes, file has " + std::to_string(actual));
  auto payload = file.subspan(kImageHeaderSize);
  if (Crc32c(0, payload.data(), payload.size()) != h.payload_crc)
    return Corrupt(n + ": payload checksum mismatch");

  std::vector<std::span<const uint8_t>> out;
  size_t pos = 0;
  while (pos < payload.size()) {
    const size_t start = pos;
    uint64_t len = 0;
    int shift = 0;
    for (;;) {
      if (pos >= payload.size()) return Corrupt(At(name, kImageHeaderSize + start) + ": truncated length");
      if (shift > 35) return Corrupt(At(name, kImageHeaderSize + start) + ": length varint too long");
      uint8_t byte = payload[pos++];
      len |= static_cast<uint64_t>(byte & 0x7F) << shift;
      shift += 7;
      if (!(byte & 0x80)) break;
    }
    if (len > kMaxMessageSize)
      return Corrupt(At(name, kImageHeaderSize + start) + ": message of " + std::to_string(len) +
                     " bytes exceeds the limit of " + std::to_string(kMaxMessageSize));
    if (len > payload.size() - pos)
      return Corrupt(At(name, kImageHeaderSize + start) + ": message length " + std::to_string(len) +
                     " runs past the end of the file");
    if (out.size() >= kMaxMessagesPerImage)
      return Corrupt(n + ": more than " + std::to_string(kMaxMessagesPerImage) + " messages");
    out.push_back(payload.subspan(pos, len));
    pos += len;
  }
  return out;
}

}  // namespace stasis::images
