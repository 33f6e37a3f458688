// `stasis show DIR|FILE [--json]`: decode any image (like crit), and the table that says
// which file name holds which image kind and message type.
#pragma once

#include <google/protobuf/message.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/common/error.h"
#include "engine/images/image_format.h"

namespace stasis::images {

// One row of the image-kind registry (kImageKinds in show.cc). Adding an image kind to
// `stasis show`, its tests and its fuzz target is one line there.
struct ImageKindInfo {
  const char* stem;   // "core": core-PID.img when per_pid, else core.img
  bool per_pid;
  ImageKind kind;
  // The message every record of the image is; nullptr for pages-PID.img (raw pages).
  const google::protobuf::Message* prototype;
};

std::span<const ImageKindInfo> KnownImageKinds();
// "inventory.img", "core-42.img", ...; nullptr when the name is not one of ours. The pid,
// when there is one, goes to *pid.
const ImageKindInfo* FindImageKindByName(std::string_view file_name, uint32_t* pid = nullptr);
const ImageKindInfo* FindImageKind(ImageKind kind);

// One image file, decoded and verified.
struct DecodedImage {
  std::string name;
  const ImageKindInfo* info = nullptr;
  ImageHeader header;
  std::vector<std::unique_ptr<google::protobuf::Message>> messages;  // empty for pages
  uint64_t page_count = 0;                                           // pages only
};

// Pure: decodes an image held in memory. For a pages image `bytes` may be just the header
// page and `file_size` is the size of the whole file; for every other kind the two agree.
Result<DecodedImage> DecodeImage(const ImageKindInfo& info, std::span<const uint8_t> bytes,
                                 uint64_t file_size, std::string_view name);

// protobuf text format, headed by a line naming the file and its kind.
std::string FormatImageText(const DecodedImage& image);
// A JSON array with one element per message (for pages: one object with header and count).
Result<std::string> FormatImageJson(const DecodedImage& image);

struct ShowOptions {
  std::string path;   // an images directory or one image file
  bool json = false;  // JSON instead of protobuf text format
};

// The whole output of `stasis show`, or the first error (naming the file and the problem).
Result<std::string> RenderShow(const ShowOptions& options);

// Prints to stdout; returns the exit code. Errors are one line on stderr.
int RunShow(const ShowOptions& options);

}  // namespace stasis::images
