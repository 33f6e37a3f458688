#include "zdtm/runner/caps.h"

#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace zdtm::runner {
namespace {

// In a child: the parent's own sets must not change.
TEST(LimitCapabilities, DropsFromEverySetButKeepsTheRest) {
  if (prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) != 1) GTEST_SKIP() << "needs CAP_SYS_ADMIN to drop";
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const uint64_t keep = ~(1ull << CAP_NET_RAW);
    std::string error;
    if (!LimitCapabilities(keep, &error)) _exit(10);
    if (prctl(PR_CAPBSET_READ, CAP_NET_RAW, 0, 0, 0) != 0) _exit(11);
    if (prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) != 1) _exit(12);
    __user_cap_header_struct h{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct d[2]{};
    if (syscall(SYS_capget, &h, d) != 0) _exit(13);
    if (d[0].permitted & (1u << CAP_NET_RAW)) _exit(14);
    if (d[0].effective & (1u << CAP_NET_RAW)) _exit(15);
    if (!(d[0].permitted & (1u << CAP_SYS_ADMIN))) _exit(16);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "10: failed, 11-16: a set is wrong";
}

}  // namespace
}  // namespace zdtm::runner
