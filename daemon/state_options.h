// What FsState is told at start (parsed from -o by options.cc). Its own
// header, so options.h does not pull in FUSE.
#pragma once

#include <optional>
#include <string>

namespace famfs::daemon {

struct StateOptions {
    bool read_only = false;        // -o ro: no data writes at all
    // Seconds the kernel may cache attributes and names (positive entries
    // only). Long: a famfs name is never removed and a file's attributes
    // never change once logged; directories gain entries, and every refresh
    // drops the kernel's attributes of those that did (and a stop drops all
    // it holds, so nothing is answered from the cache after it).
    double attr_timeout = 3600.0;
    double entry_timeout = 3600.0;
    std::string system_uuid_file;  // empty: $FAMFS_SYSTEM_UUID_FILE or the default
    std::optional<bool> coherent;  // unset: coherent for emulated devices only
    // Reads answered with iovecs into the device mapping (no copy in the
    // daemon). Unset: only for emulated devices. The kernel pins the pages a
    // reply points at, and pinning devdax pages whose struct pages live on
    // the device (ndctl's default -M dev) oopses some kernels (Debian 6.1,
    // __gup_device_huge, seen in test/vm).
    std::optional<bool> zero_copy_reads;
};

}  // namespace famfs::daemon
