// Every file class's module, one accessor each; registry.cc lists them in one table.
#pragma once

#include "engine/files/file_kind.h"

namespace stasis::files {

const FileKind& PipeKind();      // pipe.cc
const FileKind& FifoKind();      // fifo.cc
const FileKind& EventfdKind();   // eventfd.cc
const FileKind& SignalfdKind();  // signalfd.cc
const FileKind& TimerfdKind();   // timerfd.cc
const FileKind& EpollKind();     // epoll.cc
const FileKind& InotifyKind();   // inotify.cc
const FileKind& MemfdKind();     // memfd.cc

}  // namespace stasis::files
