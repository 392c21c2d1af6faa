#include "plan.h"

#include "cli.h"
#include "famfs/tree.h"

namespace famfs::cli {

Plan::Plan(const Filesystem& fs)
    : fs_(fs),
      alloc_(fs.allocator_snapshot()),
      free_slots_(fs.log().capacity() - fs.tree().next_index()) {}

Plan::Kind Plan::kind(const std::string& relpath) const {
    if (const Node* n = fs_.tree().resolve(relpath)) return n->is_dir() ? Kind::Dir : Kind::File;
    if (planned_dirs_.count(relpath)) return Kind::Dir;
    if (planned_files_.count(relpath)) return Kind::File;
    return Kind::None;
}

uint64_t Plan::file_size(const std::string& relpath) const {
    if (const Node* n = fs_.tree().resolve(relpath)) return n->size;
    auto it = planned_files_.find(relpath);
    return it == planned_files_.end() ? 0 : it->second;
}

void Plan::take_slot(const std::string& what) {
    if (free_slots_ == 0)
        command_error(
            "the famfs log is full: no slot left for '{}' ({} entries in this command "
            "fit); nothing was created",
            what, entries_);
    --free_slots_;
    ++entries_;
}

static std::string parent_of(const std::string& relpath) {
    const size_t slash = relpath.rfind('/');
    return slash == std::string::npos ? std::string() : relpath.substr(0, slash);
}

bool Plan::add_dir(const std::string& relpath, bool parents, bool exist_ok) {
    if (relpath.empty()) {
        if (exist_ok || parents) return false;
        command_error("'/': the root directory already exists");
    }
    if (std::string why = check_relpath(relpath); !why.empty())
        command_error("invalid famfs path '{}': {}", relpath, why);
    switch (kind(relpath)) {
        case Kind::Dir:
            if (exist_ok || parents) return false;
            command_error("'{}' already exists", relpath);
        case Kind::File:
            command_error("'{}' exists and is not a directory", relpath);
        case Kind::None:
            break;
    }
    const std::string parent = parent_of(relpath);
    switch (kind(parent)) {
        case Kind::Dir:
            break;
        case Kind::File:
            command_error("'{}' is not a directory", parent);
        case Kind::None:
            if (!parents)
                command_error("parent directory '{}' does not exist (use mkdir -p)", parent);
            add_dir(parent, true, true);
            break;
    }
    take_slot(relpath);
    planned_dirs_[relpath] = true;
    return true;
}

void Plan::add_file(const FileSpec& spec) {
    if (std::string why = check_relpath(spec.relpath); !why.empty())
        command_error("invalid famfs path '{}': {}", spec.relpath, why);
    if (spec.size == 0)
        command_error("'{}': famfs files are pre-allocated; give a size > 0", spec.relpath);
    if (kind(spec.relpath) != Kind::None) command_error("'{}' already exists", spec.relpath);
    const std::string parent = parent_of(spec.relpath);
    switch (kind(parent)) {
        case Kind::Dir:
            break;
        case Kind::File:
            command_error("'{}' is not a directory", parent);
        case Kind::None:
            command_error("parent directory '{}' does not exist (famfs mkdir -p it first)", parent);
    }
    std::optional<Fmap> m;
    if (spec.interleave) {
        const Superblock& sb = fs_.superblock();
        if (std::string why = check_interleave(*spec.interleave, sb.daxdev.size, sb.log_len);
            !why.empty())
            command_error("'{}': interleave parameters: {}", spec.relpath, why);
        m = alloc_.allocate_interleaved(spec.size, *spec.interleave);
    } else {
        m = alloc_.allocate(spec.size);
    }
    if (!m)
        command_error("no room for '{}' ({} bytes): {} bytes free; nothing was created",
                      spec.relpath, spec.size, alloc_.free_bytes());
    take_slot(spec.relpath);
    planned_files_[spec.relpath] = spec.size;
}

}  // namespace famfs::cli
