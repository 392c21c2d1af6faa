#include "famfs/tree.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>

namespace famfs {

std::string_view to_string(IssueKind k) {
    switch (k) {
        case IssueKind::Corrupt:
            return "corrupt";
        case IssueKind::Rejected:
            return "rejected";
        case IssueKind::Collision:
            return "collision";
        case IssueKind::TornTail:
            return "torn-tail";
        case IssueKind::Neutralised:
            return "neutralised";
        case IssueKind::Repaired:
            return "repaired";
    }
    return "?";
}

std::string describe(const Issue& i) {
    std::string where =
        i.index == kNoLogIndex ? std::string("log") : fmt::format("entry {}", i.index);
    return fmt::format("{}: {}: {}: {}", where, to_string(i.kind), i.field, i.message);
}

// Only permission and sticky bits: setuid/setgid from another host's log
// are never served (replay strips them too; this is the last line).
mode_t Node::st_mode() const { return (is_dir() ? S_IFDIR : S_IFREG) | (mode & 01777); }

std::vector<std::string_view> split_path(std::string_view path) {
    std::vector<std::string_view> parts;
    size_t start = 0;
    while (start <= path.size()) {
        size_t slash = path.find('/', start);
        if (slash == std::string_view::npos) slash = path.size();
        parts.push_back(path.substr(start, slash - start));
        start = slash + 1;
    }
    return parts;
}

std::string check_relpath(std::string_view path) {
    if (path.empty()) return "empty path";
    if (path.size() >= kMaxPathLen)
        return fmt::format("path is {} bytes; famfs allows at most {}", path.size(),
                           kMaxPathLen - 1);
    if (path.front() == '/') return "absolute path";
    for (std::string_view part : split_path(path)) {
        if (part.empty()) return "empty path component";
        if (part == "." || part == "..") return fmt::format("'{}' path component", part);
        if (part.size() > kMaxNameLen) return "path component longer than 79 bytes";
    }
    return {};
}

void for_each_extent(const Fmap& m, const std::function<void(uint64_t, uint64_t)>& f) {
    if (m.ext_type == ExtentType::Simple) {
        for (uint32_t i = 0; i < std::min<uint32_t>(m.count, kMaxSimpleExtents); ++i)
            f(m.se[i].offset, m.se[i].len);
    } else if (m.ext_type == ExtentType::Interleave && m.count >= 1) {
        const InterleavedExtent& ie = m.ie[0];
        for (uint64_t i = 0; i < std::min<uint64_t>(ie.nstrips, kMaxStrips); ++i)
            f(ie.strips[i].offset, ie.strips[i].len);
    }
}

uint64_t fmap_capacity(const Fmap& m) {
    if (m.ext_type == ExtentType::Interleave && m.count >= 1) {
        // Striping uses whole rows: every strip holds the same number of chunks.
        const InterleavedExtent& ie = m.ie[0];
        if (ie.nstrips == 0 || ie.chunk_size == 0) return 0;
        uint64_t min_len = ~0ULL;
        for (uint64_t i = 0; i < std::min<uint64_t>(ie.nstrips, kMaxStrips); ++i)
            min_len = std::min(min_len, ie.strips[i].len);
        return min_len / ie.chunk_size * ie.chunk_size * ie.nstrips;
    }
    uint64_t total = 0;
    for_each_extent(m, [&](uint64_t, uint64_t len) { total += len; });
    return total;
}

bool fmap_resolve(const Fmap& m, uint64_t off, uint64_t& dev_off, uint64_t& contiguous) {
    if (m.ext_type == ExtentType::Simple) {
        uint64_t base = 0;
        for (uint32_t i = 0; i < std::min<uint32_t>(m.count, kMaxSimpleExtents); ++i) {
            const SimpleExtent& e = m.se[i];
            if (off < base + e.len) {
                dev_off = e.offset + (off - base);
                contiguous = e.len - (off - base);
                return true;
            }
            base += e.len;
        }
        return false;
    }
    if (off >= fmap_capacity(m)) return false;
    const InterleavedExtent& ie = m.ie[0];
    const uint64_t chunk = off / ie.chunk_size;
    const uint64_t strip = chunk % ie.nstrips;
    const uint64_t row = chunk / ie.nstrips;
    const uint64_t within = off % ie.chunk_size;
    dev_off = ie.strips[strip].offset + row * ie.chunk_size + within;
    contiguous = ie.chunk_size - within;
    return true;
}

MetaTree::MetaTree(uint64_t device_size, uint64_t log_len)
    : device_size_(device_size), log_len_(log_len) {
    auto root = std::make_unique<Node>();
    root->ino = kRootIno;
    root->type = NodeType::Directory;
    root->parent = kRootIno;
    root->mode = 0755;
    nodes_.emplace(kRootIno, std::move(root));
}

const Node* MetaTree::get(uint64_t ino) const {
    auto it = nodes_.find(ino);
    return it == nodes_.end() ? nullptr : it->second.get();
}

const Node* MetaTree::lookup(uint64_t parent, std::string_view name) const {
    const Node* dir = get(parent);
    if (!dir || !dir->is_dir()) return nullptr;
    if (name == ".") return dir;
    if (name == "..") return get(dir->parent);
    auto it = dir->by_name.find(std::string(name));
    return it == dir->by_name.end() ? nullptr : get(it->second);
}

const Node* MetaTree::resolve(std::string_view relpath) const {
    const Node* n = &root();
    if (relpath.empty()) return n;
    for (std::string_view part : split_path(relpath)) {
        if (part.empty()) continue;  // tolerate "a//b" and a trailing slash in lookups
        n = lookup(n->ino, part);
        if (!n) return nullptr;
    }
    return n;
}

std::string MetaTree::path_of(const Node& n) const {
    std::vector<std::string_view> parts;
    for (const Node* p = &n; p->ino != kRootIno; p = get(p->parent)) parts.push_back(p->name);
    std::string out;
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
        if (!out.empty()) out += '/';
        out += *it;
    }
    return out;
}

bool MetaTree::has_corruption() const {
    return std::any_of(issues_.begin(), issues_.end(), [](const Issue& i) {
        return i.kind == IssueKind::Corrupt || i.kind == IssueKind::Collision;
    });
}

Node& MetaTree::make_node(uint64_t ino, NodeType type, Node& parent, std::string name) {
    auto node = std::make_unique<Node>();
    node->ino = ino;
    node->type = type;
    node->parent = parent.ino;
    node->name = name;
    Node& ref = *node;
    parent.children.push_back(ino);
    parent.by_name.emplace(std::move(name), ino);
    nodes_.emplace(ino, std::move(node));
    if (type == NodeType::Directory) {
        ++dirs_;
        ++parent.subdirs;
    } else
        file_order_.push_back(ino);
    return ref;
}

// Walks (creating implicit directories) to the parent of the last component.
// Returns nullptr and records an issue when a component is a file.
Node* MetaTree::ensure_parent_dirs(const std::vector<std::string_view>& parts, uint64_t index) {
    Node* dir = nodes_.at(kRootIno).get();
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
        auto it = dir->by_name.find(std::string(parts[i]));
        if (it == dir->by_name.end()) {
            Node& d = make_node(next_implicit_++, NodeType::Directory, *dir, std::string(parts[i]));
            d.mode = 0755;
            d.implicit = true;
            dir = &d;
            continue;
        }
        Node* next = nodes_.at(it->second).get();
        if (!next->is_dir()) {
            issues_.push_back({IssueKind::Rejected, index, "relpath",
                               fmt::format("'{}' is a file, so nothing can be created under it",
                                           path_of(*next))});
            return nullptr;
        }
        dir = next;
    }
    return dir;
}

std::string MetaTree::check_fmap(const FileEntry& fe) const {
    const Fmap& m = fe.fmap;
    auto check_ext = [&](const SimpleExtent& e, std::string_view what) -> std::string {
        if (e.devindex != 0)
            return fmt::format("{} devindex {}: only device 0 is supported", what, e.devindex);
        if (e.len == 0) return fmt::format("{} has length 0", what);
        if (e.offset % kAllocUnit || e.len % kAllocUnit)
            return fmt::format("{} 0x{:x}+0x{:x} is not 2 MiB aligned", what, e.offset, e.len);
        if (e.offset > device_size_ || e.len > device_size_ - e.offset)
            return fmt::format("{} 0x{:x}+0x{:x} is past the end of the device (0x{:x})", what,
                               e.offset, e.len, device_size_);
        return {};
    };
    if (m.ext_type == ExtentType::Simple) {
        if (m.count == 0 || m.count > kMaxSimpleExtents)
            return fmt::format("nextents {} (must be 1..{})", m.count, kMaxSimpleExtents);
        for (uint32_t i = 0; i < m.count; ++i)
            if (auto why = check_ext(m.se[i], fmt::format("extent {}", i)); !why.empty())
                return why;
    } else if (m.ext_type == ExtentType::Interleave) {
        if (m.count != 1) return fmt::format("niext {} (must be 1)", m.count);
        const InterleavedExtent& ie = m.ie[0];
        if (ie.nstrips == 0 || ie.nstrips > kMaxStrips)
            return fmt::format("nstrips {} (must be 1..{})", ie.nstrips, kMaxStrips);
        if (ie.chunk_size == 0 || ie.chunk_size % kAllocUnit ||
            (ie.chunk_size & (ie.chunk_size - 1)))
            return fmt::format("chunk_size 0x{:x} is not a power-of-two multiple of 2 MiB",
                               ie.chunk_size);
        for (uint64_t i = 0; i < ie.nstrips; ++i)
            if (auto why = check_ext(ie.strips[i], fmt::format("strip {}", i)); !why.empty())
                return why;
    } else {
        return fmt::format("ext_type {} is unknown", static_cast<uint32_t>(m.ext_type));
    }
    if (fmap_capacity(m) < fe.size)
        return fmt::format("extents cover {} bytes but the file size is {}", fmap_capacity(m),
                           fe.size);
    return {};
}

std::string MetaTree::check_claims(const Fmap& m) const {
    const uint64_t reserved = data_offset(log_len_);
    std::vector<std::pair<uint64_t, uint64_t>> own;  // this map's extents so far
    std::string why;
    for_each_extent(m, [&](uint64_t off, uint64_t len) {
        if (!why.empty()) return;
        const uint64_t end = off + len;  // check_fmap bounded both by the device size
        if (off < reserved) {
            why = fmt::format(
                "extent 0x{:x}+0x{:x} overlaps the superblock/log region [0, 0x{:x}); not served",
                off, len, reserved);
            return;
        }
        for (auto [o, e] : own)
            if (off < e && o < end) {
                why = fmt::format("extent 0x{:x}+0x{:x} overlaps another extent of the same file; "
                                  "not served",
                                  off, len);
                return;
            }
        own.emplace_back(off, end);
        auto next = claims_.lower_bound(off);
        const Claim* hit = nullptr;
        uint64_t hit_start = 0;
        if (next != claims_.end() && next->first < end) {
            hit = &next->second;
            hit_start = next->first;
        } else if (next != claims_.begin() && std::prev(next)->second.end > off) {
            hit = &std::prev(next)->second;
            hit_start = std::prev(next)->first;
        }
        if (hit) {
            const Node* owner = get(kFirstEntryIno + hit->index);
            why = fmt::format(
                "extent 0x{:x}+0x{:x} overlaps another file: 0x{:x}+0x{:x} of '{}' (entry {}) "
                "owns it; not served",
                off, len, hit_start, hit->end - hit_start, owner ? path_of(*owner) : "?",
                hit->index);
        }
    });
    return why;
}

void MetaTree::claim(const Fmap& m, uint64_t index) {
    for_each_extent(m, [&](uint64_t off, uint64_t len) { claims_[off] = {off + len, index}; });
}

void MetaTree::apply(const LogEntry& e, uint64_t index) {
    next_index_ = index + 1;
    if (e.type == EntryType::AddDaxdev) return;  // single-device filesystems only for now
    if (e.type != EntryType::File && e.type != EntryType::Mkdir) {
        issues_.push_back({IssueKind::Rejected, index, "type",
                           fmt::format("entry type {} ignored", static_cast<uint32_t>(e.type))});
        return;
    }
    const char* raw = e.type == EntryType::File ? e.file.relpath : e.mkdir.relpath;
    if (strnlen(raw, kMaxPathLen) == kMaxPathLen) {
        issues_.push_back({IssueKind::Rejected, index, "relpath", "path is not NUL-terminated"});
        return;
    }
    std::string_view path(raw);
    if (std::string why = check_relpath(path); !why.empty()) {
        issues_.push_back(
            {IssueKind::Rejected, index, "relpath", fmt::format("'{}': {}", path, why)});
        return;
    }
    if (e.type == EntryType::File) {
        if (std::string why = check_fmap(e.file); !why.empty()) {
            issues_.push_back(
                {IssueKind::Rejected, index, "fmap", fmt::format("'{}': {}", path, why)});
            return;
        }
        // A map over the superblock/log would let anyone who can write the
        // file rewrite the metadata of every host; one over another file's
        // space would serve (and overwrite) its bytes. First owner wins.
        if (std::string why = check_claims(e.file.fmap); !why.empty()) {
            issues_.push_back(
                {IssueKind::Collision, index, "fmap", fmt::format("'{}': {}", path, why)});
            return;
        }
    }
    const uint32_t raw_mode = e.type == EntryType::File ? e.file.mode : e.mkdir.mode;
    const uint32_t mode = raw_mode & 01777;
    const uint32_t type_bits = raw_mode & S_IFMT;
    const uint32_t own_type = e.type == EntryType::File ? S_IFREG : S_IFDIR;
    if ((raw_mode & 06000) || (raw_mode & ~(S_IFMT | 07777)) ||
        (type_bits && type_bits != own_type))
        issues_.push_back({IssueKind::Neutralised, index, "mode",
                           fmt::format("'{}': mode 0{:o} served as 0{:o} (setuid/setgid, "
                                       "file-type and unknown bits are never served)",
                                       path, raw_mode, mode)});
    auto parts = split_path(path);
    Node* dir = ensure_parent_dirs(parts, index);
    if (!dir) return;
    std::string name(parts.back());
    if (auto it = dir->by_name.find(name); it != dir->by_name.end()) {
        Node& existing = *nodes_.at(it->second);
        if (e.type == EntryType::Mkdir && existing.is_dir() && existing.implicit) {
            // An explicit MKDIR after a file implied the directory: adopt its
            // attributes, keep the inode.
            existing.implicit = false;
            existing.mode = mode;
            existing.uid = e.mkdir.uid;
            existing.gid = e.mkdir.gid;
            existing.log_index = index;
            return;
        }
        issues_.push_back({IssueKind::Rejected, index, "relpath",
                           fmt::format("'{}' already exists (entry {}); the first one is kept",
                                       path, existing.log_index)});
        return;
    }
    const uint64_t ino = kFirstEntryIno + index;
    if (e.type == EntryType::Mkdir) {
        Node& d = make_node(ino, NodeType::Directory, *dir, std::move(name));
        d.mode = mode;
        d.uid = e.mkdir.uid;
        d.gid = e.mkdir.gid;
        d.log_index = index;
    } else {
        Node& f = make_node(ino, NodeType::File, *dir, std::move(name));
        f.mode = mode;
        f.uid = e.file.uid;
        f.gid = e.file.gid;
        f.size = e.file.size;
        f.flags = e.file.flags;
        f.fmap = e.file.fmap;
        f.log_index = index;
        claim(f.fmap, index);
    }
}

void MetaTree::skip(uint64_t index, Issue issue) {
    next_index_ = index + 1;
    issues_.push_back(std::move(issue));
}

void MetaTree::for_each_file(const std::function<void(const Node&)>& f) const {
    for (const auto& [ino, node] : nodes_)
        if (!node->is_dir()) f(*node);
}

}  // namespace famfs
