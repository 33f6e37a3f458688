#include "engine/net/unix_addr.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>

namespace stasis::net {

std::string NormalizeUnixName(std::string name) {
  if (IsAbstractName(name)) return name;
  while (!name.empty() && name.back() == '\0') name.pop_back();
  return name;
}

std::string PrintableUnixName(const std::string& name) {
  if (name.empty()) return "(unnamed)";
  if (!IsAbstractName(name)) return name;
  std::string out = "@";
  for (size_t i = 1; i < name.size(); ++i) out += name[i] == '\0' ? '@' : name[i];
  return out;
}

Result<sockaddr_un> MakeUnixAddr(const std::string& name, socklen_t* len) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (name.empty() || name.size() > sizeof addr.sun_path)
    return Corrupt("unix socket name of " + std::to_string(name.size()) + " bytes");
  if (!IsAbstractName(name) && name.find('\0') != std::string::npos)
    return Corrupt("unix socket path with a NUL byte inside");
  std::memcpy(addr.sun_path, name.data(), name.size());
  *len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
  return addr;
}

Status BindUnix(int fd, const std::string& name, bool then_unlink, const std::string& what) {
  socklen_t len = 0;
  sockaddr_un addr = STASIS_VALUE_CTX(MakeUnixAddr(name, &len), what);
  const std::string printable = PrintableUnixName(name);
  if (!IsAbstractName(name)) {
    struct stat st {};
    if (::lstat(name.c_str(), &st) == 0) {
      if (!S_ISSOCK(st.st_mode))
        return Error(ErrorKind::kInvalidArgument, what + ": " + printable + " exists and is not a socket");
      if (::unlink(name.c_str()) != 0) return SysError(what + ": unlink stale " + printable);
    }
  }
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0) return SysError(what + ": bind " + printable);
  if (then_unlink && !IsAbstractName(name) && ::unlink(name.c_str()) != 0)
    return SysError(what + ": unlink " + printable + " (removed at dump)");
  return Status::Ok();
}

Status ConnectUnix(int fd, const std::string& name, const std::string& what) {
  socklen_t len = 0;
  sockaddr_un addr = STASIS_VALUE_CTX(MakeUnixAddr(name, &len), what);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), len) == 0) return Status::Ok();
  if (errno == ECONNREFUSED || errno == ENOENT)
    return SysError(what + ": connect " + PrintableUnixName(name) +
                    " (the socket it was connected to is not restored yet, or is gone)");
  return SysError(what + ": connect " + PrintableUnixName(name));
}

}  // namespace stasis::net
