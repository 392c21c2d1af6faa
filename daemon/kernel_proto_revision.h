// Kernel protocol layer: the revision rule. Which famfs protocol revision
// (kernel_proto_format.h) the kernel speaks, from its INIT and from evidence
// about the running kernel; nullptr means compat mode on this connection.
// docs/kernel-protocol.md explains the rule.
#pragma once

#include <cstdint>
#include <string>

#include "kernel_proto_format.h"

namespace famfs::kernel_proto {

enum class RevisionChoice { Auto, V10, Project73 };

// Evidence about the running kernel that a flag bit alone cannot give.
struct KernelEvidence {
    bool famfs_symbols = false;  // famfs_* symbols of fs/fuse in /proc/kallsyms
    int release_major = 0;       // from uname -r, e.g. 7.3.4 -> 7, 3
    int release_minor = 0;
};
KernelEvidence probe_kernel();

// What the kernel's INIT offered.
struct InitOffer {
    uint32_t major = 0;
    uint32_t minor = 0;
    uint32_t flags = 0;
    uint32_t flags2 = 0;  // 0 unless flags has INIT_EXT
    uint64_t flags64() const { return uint64_t(flags2) << 32 | flags; }
};

struct RevisionDecision {
    const Revision* revision = nullptr;  // nullptr: no famfs on this connection
    std::string reason;
};
// An explicit choice is trusted if the kernel offers that revision's bit at
// its minor; Auto needs famfs symbols in the kernel plus a release and minor
// that only one revision fits, because bit 43 is FUSE_DAX_FMAP on V10 but
// HAS_IO_URING_BUFPOOL on 7.3.
RevisionDecision choose_revision(const InitOffer& offer, RevisionChoice choice,
                                 const KernelEvidence& evidence);

}  // namespace famfs::kernel_proto
