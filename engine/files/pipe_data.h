// The bytes in flight in a pipe or FIFO: read without consuming them at dump, written back
// into the new pipe at restore. Shared by the pipe and FIFO modules.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "engine/common/error.h"
#include "engine/images/object_data.pb.h"

namespace stasis::files {

// The capacity we can give a pipe here: /proc/sys/fs/pipe-max-size without CAP_SYS_RESOURCE.
inline constexpr uint32_t kMinPipeSize = 4096;
inline constexpr uint32_t kMaxPipeSize = 1u << 31;

// Reads everything queued in the pipe behind `fd` (either end, or a FIFO) without consuming
// it: tee() into a scratch pipe of the same capacity, then read the scratch pipe.
Result<std::string> PeekPipeData(int fd, const std::string& what);

// Pure: the chunks of one pipe must be contiguous from offset 0 and fit in pipe_size.
Status CheckPipeChunks(std::span<const img::ObjectData> chunks, uint32_t pipe_size,
                       const std::string& what);

// Gives the pipe behind write_fd (a fresh one) its capacity and then its bytes. write_fd must
// be O_NONBLOCK: data that does not fit is an error, never a hang.
Status RefillPipe(int write_fd, uint32_t pipe_size, std::span<const img::ObjectData> chunks,
                  const std::string& what);

}  // namespace stasis::files
