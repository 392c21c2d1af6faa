#include "famfs/replay.h"

#include <cstring>

#include "famfs/cache.h"

namespace famfs {

ReplayResult replay(const LogView& log, MetaTree& tree, bool torn_tail_is_final) {
    ReplayResult r;
    r.published = log.published_count();
    if (r.published > tree.next_index()) tree.reserve(r.published - tree.next_index());
    for (uint64_t i = tree.next_index(); i < r.published; ++i) {
        // Checked and applied from a private copy: the device is shared, and
        // bytes that change between the crc check and their use would
        // otherwise be served unchecked.
        LogEntry e;
        const LogEntry& live = log.entry(i);
        invalidate(&live, sizeof live);
        std::memcpy(&e, &live, sizeof e);
        if (auto p = check_entry(e, i)) {
            const bool tail = i + 1 == r.published;
            if (tail && !torn_tail_is_final) {
                // Published but not valid: on memory that is not coherent the
                // header can become visible before the entry. Retry later.
                r.torn_tail = true;
                break;
            }
            tree.skip(i, {IssueKind::Corrupt, i, p->field, p->detail});
            continue;
        }
        tree.apply(e, i);
        ++r.applied;
    }
    return r;
}

}  // namespace famfs
