// fuzz_pages: the header page of pages-PID.img. Input: the file size (8 bytes, little endian),
// then the first bytes of the file; the raw pages themselves are never parsed.
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/images/show.h"
#include "fuzz/fuzz_support.h"

namespace stasis::fuzz {
namespace {

void CheckPagesHeader(const std::string& head, uint64_t file_size) {
  const auto* kind = images::FindImageKindByName("pages-1.img");
  auto decoded = images::DecodeImage(*kind, Bytes(head), file_size, "pages-1.img");
  if (!decoded.ok()) {
    CheckErrorLine(decoded.error());
    return;
  }
  Check(decoded->messages.empty(), "a pages image decoded into messages");
  Check(file_size >= images::kPageSize, "accepted a file shorter than its header page");
  Check((decoded->page_count + 1) * images::kPageSize == file_size,
        "page count does not match the file size");
  Check(images::FormatImageJson(*decoded).ok(), "show cannot print a valid pages header");
  (void)images::FormatImageText(*decoded);
}

}  // namespace
}  // namespace stasis::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 8) return 0;
  uint64_t file_size = 0;
  for (int i = 7; i >= 0; --i) file_size = (file_size << 8) | data[i];
  const std::string head(reinterpret_cast<const char*>(data + 8), size - 8);
  stasis::fuzz::CheckPagesHeader(head, file_size);
  const std::string repaired = stasis::fuzz::WithValidChecksums(head);
  if (repaired != head) stasis::fuzz::CheckPagesHeader(repaired, file_size);
  return 0;
}
