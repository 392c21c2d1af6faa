#include "kernel_proto_revision.h"

#include <fmt/format.h>
#include <sys/utsname.h>

#include <bit>
#include <cstdio>
#include <fstream>
#include <string_view>

namespace famfs::kernel_proto {

KernelEvidence probe_kernel() {
    KernelEvidence ev;
    utsname u{};
    if (uname(&u) == 0) sscanf(u.release, "%d.%d", &ev.release_major, &ev.release_minor);
    // famfs-in-fuse functions (fs/fuse/famfs.c) are named famfs_*; they sit in
    // the kernel image or in the [fuse] module. The standalone famfs module
    // ([famfs]) does not count: it does not speak FUSE.
    std::ifstream syms("/proc/kallsyms");
    std::string line;
    while (std::getline(syms, line)) {
        auto name_at = line.find(' ', line.find(' ') + 1);
        if (name_at == std::string::npos) continue;
        std::string_view rest(line.c_str() + name_at + 1);
        if (!rest.starts_with("famfs_")) continue;
        auto mod = rest.find('[');
        if (mod == std::string_view::npos || rest.substr(mod).starts_with("[fuse]")) {
            ev.famfs_symbols = true;
            break;
        }
    }
    return ev;
}

namespace {

bool release_at_least(const KernelEvidence& ev, int major, int minor) {
    return ev.release_major > major || (ev.release_major == major && ev.release_minor >= minor);
}

// Does the kernel offer this revision's famfs bit at this revision's minor?
bool offers(const InitOffer& o, const Revision& r) {
    return (o.flags & kFlagInitExt) && (o.flags64() & r.dax_fmap_flag) && o.minor >= r.minor &&
           o.minor <= r.max_minor;
}

}  // namespace

RevisionDecision choose_revision(const InitOffer& o, RevisionChoice choice,
                                 const KernelEvidence& ev) {
    if (o.major != kKernelMajor)
        return {nullptr, fmt::format("kernel speaks FUSE {}.{}", o.major, o.minor)};
    if (!(o.flags & kFlagInitExt))
        return {nullptr, "kernel offered no extended INIT flags (no famfs support)"};
    if (choice != RevisionChoice::Auto) {
        const Revision& r = choice == RevisionChoice::V10 ? kV10 : kProject73;
        if (!offers(o, r))
            return {nullptr, fmt::format("kernel does not offer famfs revision {} (FUSE {}.{}, "
                                         "flags2 0x{:x}; needs 7.{}..7.{} and bit {})",
                                         r.name, o.major, o.minor, o.flags2, r.minor, r.max_minor,
                                         std::countr_zero(r.dax_fmap_flag))};
        return {&r, fmt::format("revision {} chosen by option, offered by the kernel", r.name)};
    }
    // Auto: a bit is only trusted when the kernel provably has famfs and its
    // release and minor fit exactly one revision.
    const bool any_bit = offers(o, kV10) || offers(o, kProject73);
    if (!ev.famfs_symbols)
        return {nullptr, any_bit ? "kernel has no famfs symbols in /proc/kallsyms: its flag bits "
                                   "are not famfs (choose a revision explicitly to override)"
                                 : "kernel does not offer FUSE_DAX_FMAP (no famfs support, or "
                                   "the daemon lacks CAP_SYS_RAWIO)"};
    const bool v10 = offers(o, kV10) && !release_at_least(ev, 7, 3);
    const bool p73 = offers(o, kProject73) && release_at_least(ev, 7, 3);
    if (v10 == p73)
        return {nullptr, fmt::format("cannot tell the famfs revision of kernel {}.{} speaking "
                                     "FUSE 7.{} with flags2 0x{:x}; choose one explicitly",
                                     ev.release_major, ev.release_minor, o.minor, o.flags2)};
    const Revision& r = v10 ? kV10 : kProject73;
    return {&r, fmt::format("famfs kernel {}.{}, FUSE 7.{}: revision {}", ev.release_major,
                            ev.release_minor, o.minor, r.name)};
}

}  // namespace famfs::kernel_proto
