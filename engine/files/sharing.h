// Handing fds between the openers of one multi-ended object at restore. pipe2() creates both
// ends at once: the first opener keeps its end and shares the other under a key; the opener of
// the other end, maybe in another process, takes it. The restore pipeline implements the
// cross-process version (the taker pidfd_getfd's the fd from the sharer); LocalFdExchange is
// the in-process one.
//
// Contract for the pipeline: whatever is still shared once every file of every process is open
// must be closed before the tree resumes (an unclaimed pipe end must not keep a reader from
// seeing EOF).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <tuple>

#include "engine/common/error.h"
#include "engine/common/fd.h"

namespace stasis::files {

struct ShareKey {
  std::string_view kind;   // the FileKind's name(): a static string
  uint64_t dev = 0;        // the object's identity at dump
  uint64_t inode = 0;
  uint32_t part = 0;       // which piece: a pipe's read (0) or write (1) end, ...
};

class FdExchange {
 public:
  virtual ~FdExchange() = default;
  // Deposits fd under key. Fails if something is already shared under that key.
  virtual Status Share(const ShareKey& key, UniqueFd fd) = 0;
  // Removes and returns what was shared under key: an error of kind kNotFound if nothing is.
  virtual Result<UniqueFd> Take(const ShareKey& key) = 0;
};

class LocalFdExchange final : public FdExchange {
 public:
  Status Share(const ShareKey& key, UniqueFd fd) override;
  Result<UniqueFd> Take(const ShareKey& key) override;
  size_t size() const { return fds_.size(); }
  // Closes everything left (see the contract above).
  void Clear() { fds_.clear(); }

 private:
  using Key = std::tuple<std::string, uint64_t, uint64_t, uint32_t>;
  std::map<Key, UniqueFd> fds_;
};

// "pipe dev 15 inode 4711 part 1", for errors.
std::string DescribeKey(const ShareKey& key);

}  // namespace stasis::files
