// Real-process tests: a child blocked in a syscall is seized, has syscalls injected, and must
// continue exactly as if nothing happened.
#include "engine/inject/syscall_injector.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "engine/inject/seized_task.h"

namespace stasis::inject {
namespace {

// A child blocked in read() on a pipe; whatever it reads it echoes back, prefixed by the
// read's return value, so a broken restart (EINTR, -512) shows.
struct EchoChild {
  pid_t pid = -1;
  int to_child = -1;
  int from_child = -1;

  EchoChild() {
    int in[2], out[2];
    EXPECT_EQ(pipe(in), 0);
    EXPECT_EQ(pipe(out), 0);
    pid = fork();
    if (pid == 0) {
      close(in[1]);
      close(out[0]);
      char buf[64];
      ssize_t n = read(in[0], buf, sizeof buf);
      long report[2] = {static_cast<long>(n), n < 0 ? errno : 0};
      (void)!write(out[1], report, sizeof report);
      _exit(0);
    }
    close(in[0]);
    close(out[1]);
    to_child = in[1];
    from_child = out[0];
    usleep(50 * 1000);  // let it block in read()
  }
  ~EchoChild() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
    close(to_child);
    close(from_child);
  }
  // Sends 3 bytes and returns what the child's read() returned.
  long Poke() {
    EXPECT_EQ(write(to_child, "abc", 3), 3);
    long report[2] = {0, 0};
    EXPECT_EQ(read(from_child, report, sizeof report), static_cast<ssize_t>(sizeof report));
    waitpid(pid, nullptr, 0);
    pid = -1;
    return report[0];
  }
};

TEST(SyscallInjector, InjectsIntoBlockedThreadAndRestartsItsSyscall) {
  EchoChild child;
  {
    auto seized = SeizedThread::Seize(child.pid);
    ASSERT_TRUE(seized.ok()) << seized.error().message();
    auto insn = FindVdsoSyscall(child.pid);
    ASSERT_TRUE(insn.ok()) << insn.error().message();
    auto inj = SyscallInjector::Create(child.pid, *insn);
    ASSERT_TRUE(inj.ok()) << inj.error().message();
    auto got = inj->Syscall(SYS_getpid);
    ASSERT_TRUE(got.ok()) << got.error().message();
    EXPECT_EQ(*got, child.pid);

    auto scratch = RemoteScratch::Map(*inj, 4096);
    ASSERT_TRUE(scratch.ok()) << scratch.error().message();
    const char msg[] = "hello";
    ASSERT_TRUE(WriteRemote(child.pid, scratch->addr(), msg, sizeof msg).ok());
    char back[sizeof msg] = {};
    ASSERT_TRUE(ReadRemote(child.pid, scratch->addr(), back, sizeof back).ok());
    EXPECT_STREQ(back, msg);
    ASSERT_TRUE(scratch->Unmap().ok());

    auto bad = inj->Checked("close", SYS_close, 12345);
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().message().find("Bad file descriptor"), std::string::npos);
    ASSERT_TRUE(inj->Restore().ok());
  }  // detach
  EXPECT_EQ(child.Poke(), 3);  // read() restarted, not failed with EINTR
}

TEST(SeizedThread, VanishedPidIsNotFound) {
  pid_t pid = fork();
  if (pid == 0) _exit(0);
  waitpid(pid, nullptr, 0);
  auto seized = SeizedThread::Seize(pid);
  ASSERT_FALSE(seized.ok());
  EXPECT_EQ(seized.error().kind(), ErrorKind::kNotFound);
}

}  // namespace
}  // namespace stasis::inject
