// Replay: bring a MetaTree up to date with the log on the device.
#pragma once

#include <cstdint>

#include "famfs/log.h"
#include "famfs/tree.h"

namespace famfs {

struct ReplayResult {
    uint64_t applied = 0;    // entries applied by this call
    uint64_t published = 0;  // the log's next_index as read
    bool torn_tail = false;  // the last published entry is not valid (yet)
};

// Applies entries [tree.next_index(), published) from `log`. A bad entry in
// the middle is recorded as corruption and skipped; a bad *last* entry is
// treated as still being written: replay stops before it (torn_tail) and a
// later call retries it. `torn_tail_is_final` turns that into corruption
// (the writer itself holds the lock, so nothing can still be in flight).
ReplayResult replay(const LogView& log, MetaTree& tree, bool torn_tail_is_final = false);

}  // namespace famfs
