// A dry run of a batch of creations (creat --multi, mkdir, cp -r): every check
// the library would make, plus allocation on a copy of the free-space map and
// the log's free slots, done before the first entry is appended. A command
// either passes the whole plan or fails without changing the device.
#pragma once

#include <optional>
#include <string>
#include <unordered_map>

#include "famfs/allocator.h"
#include "famfs/fs.h"

namespace famfs::cli {

class Plan {
public:
    // Call while holding the batch (lock taken, log caught up).
    explicit Plan(const Filesystem& fs);

    enum class Kind { None, Dir, File };
    // What `relpath` is (or will be, once the plan runs). "" is the root.
    Kind kind(const std::string& relpath) const;
    // Size of an existing or planned file.
    uint64_t file_size(const std::string& relpath) const;

    // Plans one directory; `parents` adds missing ancestors (mkdir -p); an
    // existing directory is fine when `exist_ok`. Returns false when nothing
    // needs to be created. Throws CommandError with the reason otherwise.
    bool add_dir(const std::string& relpath, bool parents, bool exist_ok);
    // Plans one file: the path must be free, its parent a (planned) directory,
    // and there must be room on the device and in the log.
    void add_file(const FileSpec& spec);

    uint64_t entries() const { return entries_; }

private:
    void take_slot(const std::string& what);

    const Filesystem& fs_;
    Allocator alloc_;
    uint64_t free_slots_;
    uint64_t entries_ = 0;
    std::unordered_map<std::string, uint64_t> planned_files_;  // relpath -> size
    std::unordered_map<std::string, bool> planned_dirs_;
};

}  // namespace famfs::cli
