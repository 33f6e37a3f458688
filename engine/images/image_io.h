// Reading and writing whole image files of protobuf messages in an images directory.
#pragma once

#include <fcntl.h>

#include <string>
#include <vector>

#include "engine/common/error.h"
#include "engine/common/fd.h"
#include "engine/images/image_format.h"

namespace stasis::images {

// Per-process file names: ImageFileName("core", 42) == "core-42.img".
std::string ImageFileName(const std::string& stem, uint32_t pid);

// Reads a whole file (capped at max_bytes) from dir/name.
Result<std::string> ReadImageBytes(const std::string& dir, const std::string& name,
                                   size_t max_bytes = 256u << 20);

// Writes dir/name atomically enough for us (O_CREAT|O_TRUNC, mode 0600) and fsyncs it.
Status WriteImageBytes(const std::string& dir, const std::string& name, const std::string& bytes);

template <typename Msg>
Status WriteMessages(const std::string& dir, const std::string& name, ImageKind kind,
                     const std::vector<const Msg*>& messages) {
  std::vector<std::string> bodies;
  bodies.reserve(messages.size());
  for (const Msg* m : messages) {
    std::string s;
    if (!m->SerializeToString(&s)) return Internal(name + ": cannot serialize message");
    bodies.push_back(std::move(s));
  }
  return WriteImageBytes(dir, name, EncodeMessageImage(kind, bodies));
}

template <typename Msg>
Status WriteMessage(const std::string& dir, const std::string& name, ImageKind kind, const Msg& m) {
  return WriteMessages<Msg>(dir, name, kind, {&m});
}

// Parses every message of an image held in memory. Pure: used by the loader and the fuzzers.
template <typename Msg>
Result<std::vector<Msg>> ParseMessages(std::span<const uint8_t> file, ImageKind kind,
                                       const std::string& name) {
  auto bodies = STASIS_VALUE(DecodeMessageImage(file, kind, name));
  std::vector<Msg> out(bodies.size());
  for (size_t i = 0; i < bodies.size(); ++i) {
    if (!out[i].ParseFromArray(bodies[i].data(), static_cast<int>(bodies[i].size())))
      return Corrupt(name + ": message " + std::to_string(i) + " is not a valid " +
                     Msg::descriptor()->name());
  }
  return out;
}

template <typename Msg>
Result<std::vector<Msg>> ReadMessages(const std::string& dir, const std::string& name, ImageKind kind) {
  std::string bytes = STASIS_VALUE(ReadImageBytes(dir, name));
  return ParseMessages<Msg>(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), kind, name);
}

// Exactly one message expected.
template <typename Msg>
Result<Msg> ReadMessage(const std::string& dir, const std::string& name, ImageKind kind) {
  auto all = STASIS_VALUE(ReadMessages<Msg>(dir, name, kind));
  if (all.size() != 1)
    return Corrupt(name + ": expected exactly one " + Msg::descriptor()->name() + ", found " +
                   std::to_string(all.size()));
  return std::move(all[0]);
}

}  // namespace stasis::images
