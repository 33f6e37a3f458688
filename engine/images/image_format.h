// The on-disk container of every image file. Pure functions over byte spans: no I/O.
//
//   header (32 bytes, little endian)
//     u8[8] magic "STASIS\0\1"
//     u32   format version (kImageFormatVersion)
//     u32   ImageKind
//     u64   payload size in bytes
//     u32   CRC-32C of the payload
//     u32   CRC-32C of the 28 bytes before it
//   payload: messages, each a varint length (<= kMaxMessageSize) and that many bytes.
//
// pages-PID.img is the exception: a 4096-byte header page (the same header, payload size =
// raw bytes that follow, payload CRC = 0) and then raw pages; each run carries its own CRC in
// the pagemap image.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/common/error.h"

namespace stasis::images {

inline constexpr char kImageMagic[8] = {'S', 'T', 'A', 'S', 'I', 'S', '\0', '\1'};
inline constexpr uint32_t kImageFormatVersion = 1;
inline constexpr size_t kImageHeaderSize = 32;
inline constexpr size_t kPageSize = 4096;
inline constexpr size_t kMaxMessageSize = 16u << 20;    // no single message may claim more
inline constexpr size_t kMaxMessagesPerImage = 1u << 20;

enum class ImageKind : uint32_t {
  kInventory = 1,
  kPstree = 2,
  kCore = 3,
  kMm = 4,
  kPagemap = 5,
  kPages = 6,
  kFdinfo = 7,
  kFiles = 8,
  kPipeData = 9,    // pipes-data.img: ObjectData, bytes in flight per pipe/FIFO
  kMemfdData = 10,  // memfd-data.img: ObjectData, memfd contents per inode
  kGhostData = 11,  // ghost-data.img: ObjectData, contents of files deleted while open
  kNamespaces = 30,  // ns.img: Namespaces, the tree's own pid/net/ipc/uts namespaces
  kTimers = 40,      // timers-PID.img: TaskTimers, itimers and POSIX timers
  kFileLocks = 41,   // file-locks.img: FileLock, flock/POSIX/OFD locks held (--file-locks)
  kIpcNamespace = 42,  // ipc-ns.img: IpcNamespace, the SysV objects of the tree's ipc namespace
  // Issue 3 and later add theirs here; numbers are never reused.
};

const char* ImageKindName(ImageKind kind);

struct ImageHeader {
  uint32_t version = kImageFormatVersion;
  ImageKind kind = ImageKind::kInventory;
  uint64_t payload_size = 0;
  uint32_t payload_crc = 0;
};

std::string EncodeHeader(const ImageHeader& header);
// Checks magic, version, kind (== expected) and the header CRC. `name` is used in errors.
Result<ImageHeader> DecodeHeader(std::span<const uint8_t> bytes, ImageKind expected,
                                 std::string_view name);

// A whole message image: header + length-delimited messages.
std::string EncodeMessageImage(ImageKind kind, const std::vector<std::string>& messages);
// Verifies everything the header promises and splits the payload into message bodies
// (views into `file`). Errors name `name` and say what is wrong.
Result<std::vector<std::span<const uint8_t>>> DecodeMessageImage(std::span<const uint8_t> file,
                                                                 ImageKind expected,
                                                                 std::string_view name);

}  // namespace stasis::images
