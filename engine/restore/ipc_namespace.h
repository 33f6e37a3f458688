// SysV IPC objects recreated in a restored ipc namespace with their dumped ids, keys, owners,
// permissions and contents (see engine/dump/ipc_namespace.h).
#pragma once

#include <string>

#include "engine/common/error.h"
#include "engine/images/ipc.pb.h"

namespace stasis::restore {

inline constexpr size_t kMaxIpcObjects = 1u << 15;   // IPCMNI: ids per kind in one namespace

// Pure: ids unique per kind and in range, sizes and counts capped, contents within their
// segment. `name` is the image file name.
Status CheckIpcNamespace(const img::IpcNamespace& ns, const std::string& name);

// Creates every object in the CALLER's ipc namespace, which must hold none of these ids yet
// (a fresh namespace). Ids are chosen through /proc/sys/kernel/{shm,sem,msg}_next_id. The
// creator uid/gid become the caller's; a message queue limit above msgmnb needs
// CAP_SYS_RESOURCE and is kept at the default otherwise, when its messages fit.
Status RestoreIpcNamespace(const img::IpcNamespace& ns);

}  // namespace stasis::restore
