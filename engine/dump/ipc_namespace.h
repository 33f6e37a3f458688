// SysV IPC objects (shared memory segments, semaphore sets, message queues) of an ipc
// namespace, read with the *_STAT, GETALL and msgrcv(MSG_COPY) calls.
//
// Only the tree's own ipc namespace is dumped (the "ns" flavor): the host's holds objects of
// every other program. The namespace collector calls DumpIpcNamespace from its helper process
// after setns() into the tree's ipc namespace; the result is written as ipc-ns.img.
#pragma once

#include "engine/common/error.h"
#include "engine/images/ipc.pb.h"

namespace stasis::dump {

// Segments above this are refused for now: their contents travel inside one image message.
inline constexpr uint64_t kMaxDumpedShmBytes = 8u << 20;

// Every object of the CALLER's ipc namespace. Attaching a segment to copy it updates its
// shm_atime/shm_nattch history, nothing else. A segment already removed (IPC_RMID) but still
// attached somewhere is refused: it lives only through mappings, which are not dumped yet.
Result<img::IpcNamespace> DumpIpcNamespace();

}  // namespace stasis::dump
