// The daemon's multi-threaded session loop: one reader of /dev/fuse at a
// time, which answers short requests itself and hands the reader role to
// another thread only before a request that may take long.
//
// Why not fuse_session_loop_mt: libfuse keeps every idle worker blocked in
// read() on /dev/fuse, and the kernel wakes them first-in first-out, so a
// sequential caller (a stat loop, `ls -l`) has each request woken on a
// thread that has been asleep, never on the one that just replied and is
// about to read again. On the 2-CPU test machine cold stat through the mount
// ran at 5,000-12,000/s with libfuse's loop (its pool grows to max_threads
// under load) against 27,000-42,000/s single-threaded (docs/performance.md,
// "Metadata at scale"). Here the thread that answered a short request reads
// the next one itself (often already queued: no sleep, no wake-up), and the
// other threads wait on their own condition variable, the most recently idle
// first, until a long request (data I/O, anything before the tree is ready)
// needs the reader role passed on.
#pragma once

#include <fuse_lowlevel.h>
#include <linux/fuse.h>

#include <functional>

namespace famfs::daemon {

// Whether the request (its header at the start of the buffer) is answered
// by the reading thread itself. Called on the reading thread.
using InlinePredicate = std::function<bool(const fuse_in_header& h)>;

// Serves `se` with up to `max_threads` threads until the session exits (the
// file system unmounted, or a signal handled by libfuse's handlers).
// Returns 0 when unmounted, the signal number when stopped by one, or a
// negative errno when reading the device failed. Signals are taken on the
// calling thread only (the workers block them).
int run_session_loop(fuse_session* se, unsigned max_threads, InlinePredicate inline_ok);

// The opcodes the daemon answers without blocking on I/O: metadata from the
// tree in memory.
bool is_short_request(uint32_t opcode);

}  // namespace famfs::daemon
