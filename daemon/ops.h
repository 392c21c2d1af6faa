// The FUSE lowlevel ops table: one function per op, each a thin wrapper that
// turns a request into an FsState call and the result into a reply.
#pragma once

#include "fs_state.h"
#include "kernel_proto_session.h"

namespace famfs::daemon {

// The session's userdata: the state, plus what init() negotiates.
struct OpsContext {
    FsState* state = nullptr;
    unsigned max_write = 1u << 20;  // 1 MiB: libfuse 3.14's buffer limit (256 pages)
    bool readdirplus = true;
    // The kernel protocol layer's connection: READ/WRITE are refused when the
    // kernel maps data itself (famfs mode). nullptr: never refused.
    kernel_proto::Connection* kernel = nullptr;
};

// The table, filled in one place (ops.cc).
const fuse_lowlevel_ops& lowlevel_ops();

}  // namespace famfs::daemon
