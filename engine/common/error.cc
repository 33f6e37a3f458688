#include "engine/common/error.h"

namespace stasis {

const char* ErrorKindName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kIO: return "I/O error";
    case ErrorKind::kCorruption: return "corrupt image";
    case ErrorKind::kNotSupported: return "not supported";
    case ErrorKind::kInvalidArgument: return "invalid argument";
    case ErrorKind::kNotFound: return "not found";
    case ErrorKind::kInternal: return "internal error";
  }
  return "error";
}

Error Error::FromErrno(std::string what, int sys_errno) {
  ErrorKind kind = (sys_errno == ENOENT || sys_errno == ESRCH) ? ErrorKind::kNotFound
                   : (sys_errno == ENOSYS || sys_errno == EOPNOTSUPP) ? ErrorKind::kNotSupported
                                                                      : ErrorKind::kIO;
  return Error(kind, what + ": " + std::strerror(sys_errno), sys_errno);
}

}  // namespace stasis
