// An inotify instance keeps its watches (a directory and a file, with their masks and watch
// descriptors) and reports events after the restore.
#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "zdtm/lib/zdtm.h"

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  mkdir("inotify00.dir", 0700);
  int f = open("inotify00.dir/watched", O_RDWR | O_CREAT | O_TRUNC, 0600);
  int in = inotify_init1(IN_NONBLOCK);
  if (f < 0 || in < 0) t.Fail("set-up: %s", std::strerror(errno));
  int wd_dir = inotify_add_watch(in, "inotify00.dir", IN_CREATE);
  int wd_file = inotify_add_watch(in, "inotify00.dir/watched", IN_MODIFY);
  if (wd_dir < 0 || wd_file < 0) t.Fail("inotify_add_watch");

  t.Ready();
  t.WaitForTerm();

  alignas(inotify_event) char buf[4096];
  ssize_t n = read(in, buf, sizeof buf);
  if (n != -1 || errno != EAGAIN) t.Fail("events before any change, or not O_NONBLOCK");
  close(open("inotify00.dir/new", O_CREAT | O_WRONLY, 0600));
  if (write(f, "x", 1) != 1) t.Fail("write");
  usleep(10000);
  n = read(in, buf, sizeof buf);
  bool created = false, modified = false;
  for (ssize_t off = 0; off < n;) {
    auto* e = reinterpret_cast<inotify_event*>(buf + off);
    if (e->wd == wd_dir && (e->mask & IN_CREATE) && e->len && strcmp(e->name, "new") == 0) created = true;
    if (e->wd == wd_file && (e->mask & IN_MODIFY)) modified = true;
    off += static_cast<ssize_t>(sizeof(inotify_event) + e->len);
  }
  if (!created) t.Fail("no IN_CREATE on the directory watch (wd %d)", wd_dir);
  if (!modified) t.Fail("no IN_MODIFY on the file watch (wd %d)", wd_file);
  unlink("inotify00.dir/new");
  t.Pass();
}
