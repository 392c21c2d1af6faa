// The metadata files every famfs mount shows, as upstream famfs does:
//
//   /.meta              directory, root:root 0700
//   /.meta/.superblock  the device's superblock region [0, 2 MiB), 0444
//   /.meta/.log         the log region [2 MiB, 2 MiB + log_len), 0644 on the
//                       owner host, 0444 on clients
//
// They are not log entries: the daemon synthesizes them. In famfs mode their
// GET_FMAP replies carry file_type 1 (superblock) and 2 (log) and map those
// device regions, so a process that mmaps them reaches the device directly;
// that is how the CLI and the daemon itself read and append the log when the
// device is bound to fsdev_dax and refuses raw mmap. In compat mode reads and
// writes of them are served from the daemon's device mapping.
//
// This class holds no locks and no device: it answers from the geometry it is
// given (set_log_len, set_owner) and FsState turns its answers into replies.
#pragma once

#include <fuse_lowlevel.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdint>
#include <string_view>

#include "kernel_proto_fmap.h"
#include "status.h"

namespace famfs::daemon {

// Inode numbers far above any log entry's (entry i is inode i + 2).
inline constexpr uint64_t kMetaDirIno = 0xffffffffffffff00ULL;
inline constexpr uint64_t kMetaSuperblockIno = kMetaDirIno + 1;
inline constexpr uint64_t kMetaLogIno = kMetaDirIno + 2;
inline constexpr std::string_view kMetaDirName = ".meta";
inline constexpr std::string_view kMetaSuperblockName = ".superblock";
inline constexpr std::string_view kMetaLogName = ".log";

class MetaFiles {
public:
    static bool owns(uint64_t ino) { return ino >= kMetaDirIno && ino <= kMetaLogIno; }
    static bool is_meta_name(uint64_t parent, std::string_view name);

    // Geometry and role; until set_log_len, .meta/.log does not exist (the
    // daemon is still reading the superblock through .meta/.superblock).
    void set_log_len(uint64_t log_len) { log_len_.store(log_len, std::memory_order_release); }
    uint64_t log_len() const { return log_len_.load(std::memory_order_acquire); }
    void set_owner(bool owner) { owner_.store(owner, std::memory_order_release); }
    void set_read_only(bool ro) { read_only_ = ro; }

    // lookup(parent, name): OK with `out` filled for a .meta name, ENOENT for
    // another name under .meta. Callers check is_meta_name / owns first.
    Status lookup(uint64_t parent, std::string_view name, fuse_entry_param& out,
                  double attr_timeout, double entry_timeout) const;
    Status getattr(uint64_t ino, struct stat& out) const;
    // Entries of .meta: ".", "..", ".superblock", ".log" (cookies 1..4).
    // emit(name, attr, next_cookie) returns false when the buffer is full.
    template <typename Emit>
    Status readdir(uint64_t ino, uint64_t offset, Emit emit) const;
    Status open(uint64_t ino, int flags) const;
    // The device byte range a .meta file covers: [offset, offset + size).
    Status region(uint64_t ino, uint64_t& offset, uint64_t& size) const;
    // GET_FMAP for a .meta file: one simple extent over its region.
    Status fmap(uint64_t ino, kernel_proto::FmapInfo& out) const;
    // The root's attributes while the tree is not replayed yet (bootstrap).
    static void bootstrap_root_attr(struct stat& out);

private:
    std::atomic<uint64_t> log_len_{0};
    std::atomic<bool> owner_{false};
    bool read_only_ = false;
};

template <typename Emit>
Status MetaFiles::readdir(uint64_t ino, uint64_t offset, Emit emit) const {
    if (ino != kMetaDirIno) return Status::Error(ENOTDIR);
    struct stat st;
    const struct {
        std::string_view name;
        uint64_t ino;
    } entries[] = {{".", kMetaDirIno},
                   {"..", 1},
                   {kMetaSuperblockName, kMetaSuperblockIno},
                   {kMetaLogName, kMetaLogIno}};
    for (uint64_t i = offset; i < std::size(entries); ++i) {
        if (entries[i].ino == kMetaLogIno && log_len() == 0) break;
        if (entries[i].ino == 1) {
            bootstrap_root_attr(st);
        } else if (!getattr(entries[i].ino, st).ok()) {
            continue;
        }
        if (!emit(entries[i].name, st, entries[i].ino, i + 1)) break;
    }
    return Status::OK();
}

}  // namespace famfs::daemon
