#include "engine/files/sharing.h"

namespace stasis::files {

std::string DescribeKey(const ShareKey& key) {
  return std::string(key.kind) + " dev " + std::to_string(key.dev) + " inode " +
         std::to_string(key.inode) + " part " + std::to_string(key.part);
}

Status LocalFdExchange::Share(const ShareKey& key, UniqueFd fd) {
  auto [it, inserted] =
      fds_.try_emplace(Key(std::string(key.kind), key.dev, key.inode, key.part), std::move(fd));
  if (!inserted) return Internal("share " + DescribeKey(key) + ": already shared");
  return Status::Ok();
}

Result<UniqueFd> LocalFdExchange::Take(const ShareKey& key) {
  auto it = fds_.find(Key(std::string(key.kind), key.dev, key.inode, key.part));
  if (it == fds_.end())
    return Error(ErrorKind::kNotFound, "take " + DescribeKey(key) + ": nothing shared");
  UniqueFd fd = std::move(it->second);
  fds_.erase(it);
  return fd;
}

}  // namespace stasis::files
