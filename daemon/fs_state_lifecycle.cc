// FsState's lifecycle: publishing the replayed filesystem (at start, or once
// a bootstrap through the mount has read it), the checks that stop serving
// when the device changes identity or shrinks, and refresh from the log.
// The ops are in fs_state.cc.
#include <sys/stat.h>
#include <time.h>

#include <algorithm>
#include <cstring>
#include <spdlog/spdlog.h>

#include "famfs/cache.h"
#include "fs_state.h"

namespace famfs::daemon {

void FsState::publish(std::unique_ptr<Filesystem> fs) {
    fs_ = std::move(fs);
    coherent_ = opt_.coherent.value_or(fs_->device().kind() == DeviceKind::EmulatedFile);
    set_coherent(coherent_);
    zero_copy_reads_ =
        opt_.zero_copy_reads.value_or(fs_->device().kind() == DeviceKind::EmulatedFile);
    const Device& d = fs_->device();
    fault_guard_ = std::make_unique<DeviceFaultGuard>(d.base(), d.size());
    std::memcpy(&opened_sb_, &fs_->superblock(), sizeof opened_sb_);
    needed_size_ = std::max<uint64_t>(opened_sb_.daxdev.size, data_offset(opened_sb_.log_len));
    meta_.set_read_only(opt_.read_only);
    meta_.set_owner(fs_->role() == Role::Owner);
    meta_.set_log_len(fs_->superblock().log_len);
    {
        std::lock_guard g(ready_mu_);
        ready_.store(true, std::memory_order_release);
    }
    ready_cv_.notify_all();
}

Status FsState::wait_ready() const {
    if (ready()) return Status::OK();
    std::unique_lock g(ready_mu_);
    ready_cv_.wait_for(g, std::chrono::seconds(30), [&] { return ready() || bootstrap_failed_; });
    return ready() ? Status::OK()
                   : Status::Error(EIO, "the filesystem is not readable through the mount yet");
}

// ---- identity and device size ---------------------------------------------------

std::string FsState::identity_problem() {
    const Device& d = fs_->device();
    auto faulted = [&] {
        return fmt::format("{}: the device shrank under the mount (SIGBUS in its mapping)", d.path());
    };
    if (fault_guard_->faulted()) return faulted();
    bool suspect = false;
    if (d.kind() == DeviceKind::EmulatedFile) {
        struct stat st;
        suspect = fstat(d.fd(), &st) != 0 || static_cast<uint64_t>(st.st_size) < needed_size_;
    } else {
        // libdaxctl walks sysfs: re-read a dax device's size now and then.
        timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        const int64_t now = ts.tv_sec * 1000000000LL + ts.tv_nsec;
        int64_t last = last_size_check_ns_.load(std::memory_order_relaxed);
        if (now - last >= 100000000LL &&
            last_size_check_ns_.compare_exchange_strong(last, now, std::memory_order_relaxed))
            suspect = true;
    }
    if (!suspect) {
        // The superblock's bytes as opened: a re-format changes the fs uuid
        // and crc, damage the crc. 200 bytes, so cheap enough for every op.
        if (!coherent_) invalidate(d.base(), sizeof opened_sb_);
        suspect = std::memcmp(d.base(), &opened_sb_, sizeof opened_sb_) != 0;
        if (fault_guard_->faulted()) return faulted();
    }
    if (!suspect) return {};
    std::string why = fs_->check_identity();
    if (why.empty() && fault_guard_->faulted()) return faulted();
    return why;  // "" also when only bytes no check covers changed
}

void FsState::halt(const std::string& why) {
    {
        std::lock_guard g(halt_mu_);
        if (halted_.load(std::memory_order_relaxed)) return;
        halt_reason_ = why;
        halted_.store(true, std::memory_order_release);
    }
    spdlog::error("stopped serving: {}; every request now fails with EIO (unmount, then mount "
                  "the device again)",
                  why);
    // Attributes are cached for long (state_options.h): drop those of every
    // inode the kernel holds, so a stat asks (and gets EIO) instead of
    // showing the old filesystem from the cache.
    if (invalidate_dir_) {
        std::vector<uint64_t> held{kRootIno};
        {
            std::lock_guard lg(lookup_mu_);
            held.reserve(nlookup_.size() + 1);
            for (const auto& [ino, n] : nlookup_) held.push_back(ino);
        }
        for (uint64_t ino : held) invalidate_dir_(ino);
    }
}

std::string FsState::stopped_reason() const {
    std::lock_guard g(halt_mu_);
    return halt_reason_;
}

Status FsState::check_device() {
    // Bootstrapping through the mount (meta_bootstrap.cc): nothing is mapped
    // yet; the .meta answers need no device, the rest waits in wait_ready().
    if (!ready()) return Status::OK();
    if (!halted_.load(std::memory_order_acquire)) {
        std::string why = identity_problem();
        if (why.empty()) return Status::OK();
        halt(why);
    }
    return Status::Error(EIO);
}

// ---- refresh -------------------------------------------------------------------

uint64_t FsState::refresh_if_needed() {
    if (!ready() || released_.load(std::memory_order_acquire)) return 0;
    refresh_checks_.fetch_add(1, std::memory_order_relaxed);
    if (!check_device().ok() || !refresh_pending()) return 0;
    std::vector<uint64_t> changed;
    ReplayResult r;
    {
        std::unique_lock g(tree_mu_);
        const MetaTree& tree = fs_->tree();
        const uint64_t first = tree.next_index();
        r = fs_->refresh();
        if (r.applied) refresh_count_.fetch_add(1, std::memory_order_relaxed);
        if (invalidate_dir_) changed = dirs_changed_since_locked(first);
    }
    // A shrink while replaying read zeros (a torn tail to replay): stop.
    if (!check_device().ok()) return 0;
    for (uint64_t ino : changed) invalidate_dir_(ino);
    return r.applied;
}

std::vector<uint64_t> FsState::dirs_changed_since_locked(uint64_t first) const {
    // Entry i created inode i + 2 (if replay accepted it), so its parent
    // gained a child; an implicit parent is new itself, so its own parent
    // changed too.
    const MetaTree& tree = fs_->tree();
    std::vector<uint64_t> changed;
    for (uint64_t i = first; i < tree.next_index(); ++i) {
        const Node* n = tree.get(kFirstEntryIno + i);
        if (!n) continue;
        for (const Node* p = tree.get(n->parent); p; p = p->implicit ? tree.get(p->parent) : nullptr) {
            changed.push_back(p->ino);
            if (p->ino == kRootIno) break;
        }
    }
    std::sort(changed.begin(), changed.end());
    changed.erase(std::unique(changed.begin(), changed.end()), changed.end());
    return changed;
}

void FsState::set_dir_invalidator(std::function<void(uint64_t ino)> invalidate) {
    invalidate_dir_ = std::move(invalidate);
}

}  // namespace famfs::daemon
