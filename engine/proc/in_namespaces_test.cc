#include "engine/proc/in_namespaces.h"

#include <gtest/gtest.h>
#include <sys/utsname.h>
#include <unistd.h>

namespace stasis::proc {
namespace {

TEST(RunInNamespaces, BringsBackWhatTheWorkProduced) {
  auto r = RunInNamespaces(::getpid(), {"uts", "ipc"}, ErrorKind::kIO, []() -> Result<std::string> {
    utsname u{};
    if (::uname(&u) != 0) return SysError("uname");
    return std::string(u.nodename) + std::string(1, '\0') + "tail";
  });
  ASSERT_TRUE(r.ok()) << r.error().message();
  utsname u{};
  ASSERT_EQ(::uname(&u), 0);
  EXPECT_EQ(*r, std::string(u.nodename) + std::string(1, '\0') + "tail") << "bytes, NULs included";
}

TEST(RunInNamespaces, ErrorsComeBackWithTheGivenKind) {
  auto r = RunInNamespaces(::getpid(), {"net"}, ErrorKind::kNotSupported,
                           []() -> Result<std::string> { return Corrupt("no such thing here"); });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::kNotSupported);
  EXPECT_EQ(r.error().message(), "no such thing here");
}

TEST(RunInNamespaces, AMissingProcessIsAClearError) {
  auto r = RunInNamespaces(0x3fffffff, {"uts"}, ErrorKind::kIO, []() -> Result<std::string> { return std::string(); });
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("/proc/1073741823/ns/uts"), std::string::npos) << r.error().message();
}

}  // namespace
}  // namespace stasis::proc
