// Per-object data: state that belongs to a kernel object rather than to one open file of it
// (the bytes in a pipe, a memfd's contents). Recorded once per object at dump however many
// fds and processes share it, written as its own image, and looked up by (dev, inode) at restore.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/common/error.h"
#include "engine/images/image_format.h"
#include "engine/images/object_data.pb.h"

namespace stasis::files {

// A kernel object as identified at dump time.
struct ObjectKey {
  uint64_t dev = 0;
  uint64_t inode = 0;
  auto operator<=>(const ObjectKey&) const = default;
};

// The images that hold ObjectData messages, with their file names.
struct ObjectImage {
  images::ImageKind kind;
  const char* file_name;   // "pipes-data.img"
};
std::span<const ObjectImage> ObjectImages();

// Chunks are at most this big, well below the container's per-message cap.
inline constexpr size_t kObjectChunkSize = 1u << 20;

// Dump side: what the modules record while the pipeline walks the open files.
class CollectContext {
 public:
  // True only the first time (what, key) is asked about: e.g. FirstSight("pipe data", key)
  // lets the first sharer of a pipe record its bytes and every later one skip them. `what`
  // is a module's own tag.
  bool FirstSight(std::string_view what, ObjectKey key);
  // Appends `bytes` found at `offset` of the object, split into chunks of kObjectChunkSize.
  void AddData(images::ImageKind image, ObjectKey key, uint64_t offset, std::string_view bytes);

  // Every object image with its encoded contents (header and messages), by file name. Images
  // with no data are left out.
  std::map<std::string, std::string> EncodeImages() const;
  // Writes EncodeImages() into dir.
  Status WriteImages(const std::string& dir) const;

 private:
  std::set<std::pair<std::string, ObjectKey>> seen_;
  std::map<images::ImageKind, std::vector<img::ObjectData>> data_;
};

// Restore side: the object images of one image set, validated.
class ObjectStore {
 public:
  // Reads every object image present in dir (an absent file means no such objects).
  static Result<ObjectStore> Load(const std::string& dir);
  // Pure: builds the store from image files held in memory, by file name. Files that are not
  // object images are ignored. Refuses overlapping or overflowing chunks.
  static Result<ObjectStore> Parse(const std::map<std::string, std::string>& files);

  // The object's chunks ordered by offset; empty when it had no data.
  std::span<const img::ObjectData> Chunks(images::ImageKind image, ObjectKey key) const;
  // The end of its last chunk (0 when none): how many bytes the object's data spans.
  uint64_t DataEnd(images::ImageKind image, ObjectKey key) const;

 private:
  Status Add(images::ImageKind image, img::ObjectData chunk, const std::string& file_name);
  std::map<std::pair<images::ImageKind, ObjectKey>, std::vector<img::ObjectData>> objects_;
};

}  // namespace stasis::files
