#include "engine/dump/image_writer.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "engine/common/fd.h"
#include "engine/images/image_io.h"
#include "engine/images/inventory.pb.h"
#include "engine/images/pstree.pb.h"

namespace stasis::dump {
namespace {

using images::ImageKind;

template <typename Msg>
Status Write(DumpContext& ctx, const std::string& name, ImageKind kind, const std::vector<const Msg*>& msgs) {
  ctx.images_written.push_back(name);
  return images::WriteMessages<Msg>(ctx.options.images_dir, name, kind, msgs);
}

template <typename Msg>
std::vector<const Msg*> Pointers(const std::vector<Msg>& v) {
  std::vector<const Msg*> out;
  out.reserve(v.size());
  for (const Msg& m : v) out.push_back(&m);
  return out;
}

img::ProcessEntry PstreeEntry(const FrozenProcess& p) {
  img::ProcessEntry e;
  e.set_pid(static_cast<uint32_t>(p.pid));
  e.set_ppid(static_cast<uint32_t>(p.ppid));
  e.set_pgid(static_cast<uint32_t>(p.stat.pgrp));
  e.set_sid(static_cast<uint32_t>(p.stat.session));
  e.set_exit_signal(static_cast<uint32_t>(p.stat.exit_signal));
  if (p.zombie) {
    e.set_state(img::TASK_ZOMBIE);
    e.set_exit_code(p.stat.exit_code);
    e.set_comm(p.stat.comm);  // zombies have no core image to carry their name
    return e;
  }
  for (const auto& t : p.threads) e.add_threads(static_cast<uint32_t>(t->tid()));
  if (p.stop_signal != 0) {
    e.set_state(img::TASK_STOPPED);
    e.set_stop_signal(static_cast<uint32_t>(p.stop_signal));
  } else {
    e.set_state(img::TASK_ALIVE);
  }
  return e;
}

}  // namespace

Status WriteTreeImages(DumpContext& ctx, const FrozenTree& tree) {
  std::vector<img::ProcessEntry> pstree;
  for (const FrozenProcess& p : tree.processes()) pstree.push_back(PstreeEntry(p));
  STASIS_TRY(AddNsPids(ctx.namespaces, &pstree));
  if (ctx.namespaces.any) STASIS_TRY(Write<img::Namespaces>(ctx, "ns.img", ImageKind::kNamespaces, {&ctx.namespaces.image}));
  if (ctx.namespaces.any && ctx.namespaces.image.ipc())
    STASIS_TRY(Write<img::IpcNamespace>(ctx, "ipc-ns.img", ImageKind::kIpcNamespace, {&ctx.namespaces.sysv}));
  STASIS_TRY(Write(ctx, "pstree.img", ImageKind::kPstree, Pointers(pstree)));
  STASIS_TRY(Write(ctx, "files.img", ImageKind::kFiles, Pointers(ctx.files)));
  if (!ctx.file_locks.empty())
    STASIS_TRY(Write(ctx, "file-locks.img", ImageKind::kFileLocks, Pointers(ctx.file_locks)));
  for (const ProcessImages& p : ctx.processes) {
    const auto pid = static_cast<uint32_t>(p.pid);
    STASIS_TRY(Write<img::TaskCore>(ctx, images::ImageFileName("core", pid), ImageKind::kCore, {&p.core}));
    STASIS_TRY(Write<img::MmCore>(ctx, images::ImageFileName("mm", pid), ImageKind::kMm, {&p.mm}));
    STASIS_TRY(Write(ctx, images::ImageFileName("pagemap", pid), ImageKind::kPagemap, Pointers(p.pagemap)));
    STASIS_TRY(Write(ctx, images::ImageFileName("fdinfo", pid), ImageKind::kFdinfo, Pointers(p.fds)));
    if (p.timers.itimers_size() != 0 || p.timers.posix_size() != 0)
      STASIS_TRY(Write<img::TaskTimers>(ctx, images::ImageFileName("timers", pid), ImageKind::kTimers, {&p.timers}));
  }
  // Per-object data (pipe bytes, memfd and ghost file contents), listed in the inventory too.
  for (const auto& [name, bytes] : ctx.objects.EncodeImages()) {
    ctx.images_written.push_back(name);
    const std::string path = ctx.options.images_dir + "/" + name;
    auto fd = STASIS_VALUE(OpenFile(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    STASIS_TRY(WriteAll(fd.get(), bytes.data(), bytes.size(), path));
  }
  return Status::Ok();
}

Status WriteInventory(DumpContext& ctx, uint64_t dump_time_ns) {
  img::Inventory inv;
  inv.set_root_pid(static_cast<uint32_t>(ctx.options.pid));
  utsname u{};
  if (::uname(&u) != 0) return SysError("uname");
  inv.set_kernel_release(u.release);
  inv.set_engine_version(STASIS_VERSION);
  inv.set_xfeatures(ctx.xfeatures);
  inv.set_xstate_size(ctx.xstate_size);
  inv.set_shell_job(ctx.options.shell_job);
  inv.set_dump_time_ns(dump_time_ns);
  for (const std::string& name : ctx.images_written) inv.add_images(name);
  ctx.images_written.push_back("inventory.img");
  return images::WriteMessage(ctx.options.images_dir, "inventory.img", ImageKind::kInventory, inv);
}

void RemoveWrittenImages(DumpContext& ctx) {
  for (const std::string& name : ctx.images_written) {
    const std::string path = ctx.options.images_dir + "/" + name;
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
      ctx.log.Warn("cannot remove %s: %s", path.c_str(), std::strerror(errno));
  }
  ctx.images_written.clear();
}

}  // namespace stasis::dump
