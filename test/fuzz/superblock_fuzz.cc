// Fuzz target: superblock + log header decode. The input is the first 200
// bytes of the superblock followed by the 48-byte log header (shorter inputs
// overwrite a prefix). Checks, the LogView constructor and fsck must reject or
// accept without crashing or reading outside the device.
#include <cstddef>
#include <cstdint>

#include "famfs/error.h"
#include "famfs/fsck.h"
#include "famfs/log.h"
#include "fuzz_device.h"

using namespace famfs;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto& fd = fuzz::device();
    Device& dev = fd.dev();
    const size_t sb_n = std::min(size, sizeof(Superblock));
    std::memcpy(dev.base(), data, sb_n);
    if (size > sb_n)
        std::memcpy(dev.base() + kLogOffset, data + sb_n,
                    std::min(size - sb_n, sizeof(LogHeader)));
    // Keep most published counts small: fsck checks every published entry,
    // and 15,420 zeroed slots per input would make this target crawl. Counts
    // past the end of the log are kept (they must be refused).
    auto* hdr = dev.at<LogHeader>(kLogOffset);
    if (hdr->next_index > 64 && hdr->next_index <= log_last_index(kDefaultLogLen) + 1)
        hdr->next_index %= 65;
    try {
        LogView log(dev);
        MetaTree tree(log.superblock().daxdev.size, log.superblock().log_len);
        (void)log.published_count();
    } catch (const Error&) {
    }
    FsckOptions o;
    o.torn_tail_retries = 0;
    FsckReport r = fsck(dev, o);
    for (const FsckProblem& p : r.problems) (void)describe(p);
    fd.reset(0);
    return 0;
}
