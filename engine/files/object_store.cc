#include "engine/files/object_store.h"

#include <algorithm>
#include <array>

#include "engine/images/image_io.h"

namespace stasis::files {
namespace {

constexpr std::array kObjectImages = {
    ObjectImage{images::ImageKind::kPipeData, "pipes-data.img"},
    ObjectImage{images::ImageKind::kMemfdData, "memfd-data.img"},
    ObjectImage{images::ImageKind::kGhostData, "ghost-data.img"},
};

std::string Describe(const img::ObjectData& c) {
  return "object dev " + std::to_string(c.dev()) + " inode " + std::to_string(c.inode());
}

}  // namespace

std::span<const ObjectImage> ObjectImages() { return kObjectImages; }

bool CollectContext::FirstSight(std::string_view what, ObjectKey key) {
  return seen_.emplace(std::string(what), key).second;
}

void CollectContext::AddData(images::ImageKind image, ObjectKey key, uint64_t offset,
                             std::string_view bytes) {
  auto& chunks = data_[image];
  for (size_t done = 0; done < bytes.size(); done += kObjectChunkSize) {
    img::ObjectData c;
    c.set_dev(key.dev);
    c.set_inode(key.inode);
    c.set_offset(offset + done);
    c.set_data(std::string(bytes.substr(done, kObjectChunkSize)));
    chunks.push_back(std::move(c));
  }
}

std::map<std::string, std::string> CollectContext::EncodeImages() const {
  std::map<std::string, std::string> out;
  for (const ObjectImage& image : kObjectImages) {
    auto it = data_.find(image.kind);
    if (it == data_.end() || it->second.empty()) continue;
    std::vector<std::string> bodies;
    bodies.reserve(it->second.size());
    for (const auto& c : it->second) bodies.push_back(c.SerializeAsString());
    out[image.file_name] = images::EncodeMessageImage(image.kind, bodies);
  }
  return out;
}

Status CollectContext::WriteImages(const std::string& dir) const {
  for (const auto& [name, bytes] : EncodeImages())
    STASIS_TRY(images::WriteImageBytes(dir, name, bytes));
  return Status::Ok();
}

Result<ObjectStore> ObjectStore::Load(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const ObjectImage& image : kObjectImages) {
    auto bytes = images::ReadImageBytes(dir, image.file_name);
    if (!bytes.ok()) {
      if (bytes.error().kind() == ErrorKind::kNotFound) continue;
      return std::move(bytes).error();
    }
    files[image.file_name] = std::move(*bytes);
  }
  return Parse(files);
}

Result<ObjectStore> ObjectStore::Parse(const std::map<std::string, std::string>& files) {
  ObjectStore store;
  for (const ObjectImage& image : kObjectImages) {
    auto it = files.find(image.file_name);
    if (it == files.end()) continue;
    const std::string& bytes = it->second;
    auto chunks = STASIS_VALUE(images::ParseMessages<img::ObjectData>(
        {reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}, image.kind,
        image.file_name));
    for (auto& c : chunks) STASIS_TRY(store.Add(image.kind, std::move(c), image.file_name));
  }
  // Chunks of one object must not overlap: sort by offset and compare neighbours.
  for (auto& [key, chunks] : store.objects_) {
    std::sort(chunks.begin(), chunks.end(),
              [](const img::ObjectData& a, const img::ObjectData& b) { return a.offset() < b.offset(); });
    for (size_t i = 1; i < chunks.size(); ++i) {
      if (chunks[i - 1].offset() + chunks[i - 1].data().size() > chunks[i].offset())
        return Corrupt(std::string(images::ImageKindName(key.first)) + ": " +
                       Describe(chunks[i]) + ": chunk at offset " +
                       std::to_string(chunks[i].offset()) + " overlaps the one before it");
    }
  }
  return store;
}

Status ObjectStore::Add(images::ImageKind image, img::ObjectData chunk, const std::string& file_name) {
  if (chunk.data().empty())
    return Corrupt(file_name + ": " + Describe(chunk) + ": empty chunk");
  if (chunk.offset() > UINT64_MAX - chunk.data().size())
    return Corrupt(file_name + ": " + Describe(chunk) + ": chunk offset " +
                   std::to_string(chunk.offset()) + " overflows");
  objects_[{image, ObjectKey{chunk.dev(), chunk.inode()}}].push_back(std::move(chunk));
  return Status::Ok();
}

std::span<const img::ObjectData> ObjectStore::Chunks(images::ImageKind image, ObjectKey key) const {
  auto it = objects_.find({image, key});
  if (it == objects_.end()) return {};
  return it->second;
}

uint64_t ObjectStore::DataEnd(images::ImageKind image, ObjectKey key) const {
  auto chunks = Chunks(image, key);
  if (chunks.empty()) return 0;
  return chunks.back().offset() + chunks.back().data().size();
}

}  // namespace stasis::files
