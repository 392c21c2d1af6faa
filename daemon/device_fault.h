// Survive a device that shrinks under the daemon (issue 11 item 5).
//
// The device is mapped shared. When an emulated device file is truncated (or
// a dax device resized) under the mapping, touching a page past the new end
// raises SIGBUS, which would kill the daemon in the middle of a copy, a
// replay or a superblock check. A DeviceFaultGuard registers the mapping;
// a process-wide SIGBUS handler that finds the faulting address inside a
// registered mapping replaces the rest of that mapping (from the faulting
// page on) with anonymous zero pages, marks the guard faulted and returns,
// so the interrupted access completes (reading zeros, or writing into
// memory nobody sees) instead of crashing. The owner (FsState) checks
// faulted() after each access to device memory and stops serving: nothing
// read from a faulted mapping is ever returned to a caller.
//
// A SIGBUS at any other address restores the default action and returns, so
// the access faults again and the process dies as it would have without the
// guard (core dump included).
#pragma once

#include <cstddef>
#include <cstdint>

namespace famfs::daemon {

class DeviceFaultGuard {
public:
    DeviceFaultGuard() = default;
    // Registers [base, base + len). Installs the handler on first use.
    DeviceFaultGuard(void* base, size_t len);
    ~DeviceFaultGuard();
    DeviceFaultGuard(const DeviceFaultGuard&) = delete;
    DeviceFaultGuard& operator=(const DeviceFaultGuard&) = delete;

    // True once a SIGBUS hit the registered mapping (it stays true).
    bool faulted() const;
    // SIGBUSes absorbed by every guard of the process.
    static uint64_t total_faults();

private:
    int slot_ = -1;
};

}  // namespace famfs::daemon
