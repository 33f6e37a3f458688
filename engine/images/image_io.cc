#include "engine/images/image_io.h"

#include <sys/stat.h>
#include <unistd.h>

namespace stasis::images {

std::string ImageFileName(const std::string& stem, uint32_t pid) {
  return stem + "-" + std::to_string(pid) + ".img";
}

Result<std::string> ReadImageBytes(const std::string& dir, const std::string& name, size_t max_bytes) {
  auto r = ReadFileToString(dir + "/" + name, max_bytes);
  if (!r.ok()) return std::move(r.error().Context(name));
  return r;
}

Status WriteImageBytes(const std::string& dir, const std::string& name, const std::string& bytes) {
  const std::string path = dir + "/" + name;
  auto fd = OpenFile(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (!fd.ok()) return std::move(fd).error();
  STASIS_TRY(WriteAll(fd->get(), bytes.data(), bytes.size(), path));
  if (::fsync(fd->get()) != 0) return SysError("fsync " + path);
  return Status::Ok();
}

}  // namespace stasis::images
